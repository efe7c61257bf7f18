"""Load test: the service on a fresh embedded store, N Locust clients for a duration, and a summary.

Usage: scripts/load.sh [--users 50] [--duration 10m] [--spawn-rate 5] [--out var/load]

Starts the service like ./scripts/run.sh (embedded store, example cases preloaded) on a temporary
data directory, runs ``benchmarks/locustfile.py`` headless against it (``--mix mixed``, or
``--mix read-only``: no new determinations, only reads, SPARQL and /health), samples the resident
memory of every process of the service (API, store writer, SPARQL read workers, case workers) every
few seconds, stops the service, and writes
``summary.md`` and ``summary.json`` in the output directory: requests per second, p50/p95/p99 per
endpoint, the share of 5xx answers, requests over their limit (``benchmarks/load-targets.json``),
memory by role over time (and its growth per 1,000 stored determinations), and each target met or not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TARGETS = json.loads((ROOT / "benchmarks" / "load-targets.json").read_text(encoding="utf-8"))
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh]?)", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 10m or 1h")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        children = _children(pending.pop())
        found += children
        pending += children
    return found


ROLES = {"ipkg-store": "store", "ipkg-reader": "reader", "ipkg-sparql": "sparql", "ipkg-case": "case"}
ROLE_TITLES = {
    "api": "API (service process)",
    "store": "store writer",
    "reader": "store readers",
    "sparql": "SPARQL read workers",
    "case": "case workers",
    "other": "other (multiprocessing's resource tracker)",
}


def _role(pid: int) -> str:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "other"
    return ROLES.get(name, "other")


class MemorySampler(threading.Thread):
    """RSS of every process of the service every ``interval`` seconds: the service (API) process and
    each of its descendants, grouped by role (``/proc/<pid>/comm``, set by ``kb.proc_name``)."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.wall_started = time.time()
        self._halt = threading.Event()

    def sample(self) -> dict[str, Any]:
        processes: dict[str, dict[str, Any]] = {str(self.pid): {"role": "api", "mib": round(_rss(self.pid) / MIB, 1)}}
        for child in _descendants(self.pid):
            processes[str(child)] = {"role": _role(child), "mib": round(_rss(child) / MIB, 1)}
        roles = {role: 0.0 for role in ROLE_TITLES}
        counts = {role: 0 for role in ROLE_TITLES}
        for process in processes.values():
            roles[process["role"]] += process["mib"]
            counts[process["role"]] += 1
        load = float(Path("/proc/loadavg").read_text().split()[0])
        return {
            "t": round(time.monotonic() - self.started, 1),
            "service_mib": roles["api"],
            "store_mib": roles["store"],
            "total_mib": round(sum(roles.values()), 1),
            "roles_mib": {role: round(value, 1) for role, value in roles.items()},
            "counts": counts,
            "processes": processes,
            "load": load,
        }

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(self.sample())
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    rank = max(1, min(len(values), round(share * len(values) + 0.5)))
    return values[rank - 1]


def _below(value: float | None, limit: float) -> bool | None:
    """Whether a figure is under its target; None when the run did not measure it."""
    return None if value is None else value < limit


def _disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / MIB


Sample = tuple[str, float, int, float]  # endpoint, milliseconds, status, wall-clock time the request ended


def _memory(memory: list[dict[str, Any]], samples: list[Sample], wall_started: float) -> dict[str, Any]:
    """Memory by role: the mean of the first and of the last fifth of the run after the first minute
    (warm-up), the growth between them, and the growth per 1,000 determinations stored in between."""
    steady = [m for m in memory if m["t"] >= 60] or memory
    fifth = max(1, len(steady) // 5)
    early, late = steady[:fifth], steady[-fifth:]

    def mean(rows: list[dict[str, Any]], role: str | None) -> float:
        if not rows:
            return 0.0
        return float(sum(r["total_mib"] if role is None else r["roles_mib"][role] for r in rows)) / len(rows)

    def middle(rows: list[dict[str, Any]]) -> float:
        return wall_started + sum(r["t"] for r in rows) / len(rows) if rows else wall_started

    begin, finish = middle(early), middle(late)
    stored = sum(
        1 for name, _, status, at in samples if name == "POST /determinations" and status == 201 and begin <= at <= finish
    )
    roles: dict[str, Any] = {}
    for role in [*ROLE_TITLES, None]:
        first, last = mean(early, role), mean(late, role)
        roles[role or "total"] = {
            "early_mib": round(first, 1),
            "late_mib": round(last, 1),
            "growth_percent": round(100 * (last - first) / first, 1) if first else 0.0,
            "per_1000_determinations_mib": round(1000 * (last - first) / stored, 1) if stored else None,
            "max_mib": round(max((m["total_mib"] if role is None else m["roles_mib"][role] for m in memory), default=0.0), 1),
        }
    peak: dict[str, float] = {}
    for m in memory:
        for pid, process in m["processes"].items():
            key = f"{process['role']} {pid}"
            peak[key] = max(peak.get(key, 0.0), process["mib"])
    return {
        "samples": memory,
        "roles": roles,
        "determinations_between_windows": stored,
        "window_seconds": [round(begin - wall_started, 1), round(finish - wall_started, 1)],
        "process_peaks_mib": peak,
        "growth_percent": roles["total"]["growth_percent"],
    }


def _process_starts(memory: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Processes first seen after the first sample (replacements of recycled or killed workers), with the
    run time of the sample that first saw them."""
    starts: list[dict[str, Any]] = []
    seen = set(memory[0]["processes"]) if memory else set()
    for sample in memory[1:]:
        for pid, process in sample["processes"].items():
            if pid not in seen:
                seen.add(pid)
                starts.append({"role": process["role"], "pid": int(pid), "first_seen_s": round(sample["t"], 1)})
    return starts


def _over_limit(samples: list[Sample], wall_started: float) -> list[dict[str, Any]]:
    """Each request over its limit: endpoint, time, status, and when in the run it was sent."""
    limits: dict[str, float] = TARGETS["limits_ms"]
    over = [s for s in samples if s[0] in limits and s[1] > limits[s[0]]]
    return [
        {"endpoint": name, "ms": round(ms, 1), "status": status, "sent_s": round(ended - ms / 1000 - wall_started, 2)}
        for name, ms, status, ended in sorted(over, key=lambda s: s[3])
    ]


def summarize(samples: list[Sample], memory: list[dict[str, Any]], seconds: float, wall_started: float) -> dict[str, Any]:
    limits: dict[str, float] = TARGETS["limits_ms"]
    endpoints: dict[str, Any] = {}
    for name in sorted({s[0] for s in samples}):
        times = sorted(t for n, t, _, _ in samples if n == name)
        statuses = [status for n, _, status, _ in samples if n == name]
        limit = limits.get(name)
        endpoints[name] = {
            "requests": len(times),
            "per_second": round(len(times) / seconds, 2),
            "p50_ms": round(_percentile(times, 0.50), 1),
            "p95_ms": round(_percentile(times, 0.95), 1),
            "p99_ms": round(_percentile(times, 0.99), 1),
            "max_ms": round(times[-1], 1),
            "5xx_percent": round(100 * sum(1 for s in statuses if s >= 500) / len(statuses), 3),
            "no_answer": sum(1 for s in statuses if s == 0),
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "limit_ms": limit,
            "over_limit": sum(1 for t in times if limit is not None and t > limit),
        }
    total = len(samples)
    five = sum(1 for _, _, s, _ in samples if s >= 500)
    mem = _memory(memory, samples, wall_started)
    growth = mem["growth_percent"]
    health = endpoints.get("GET /health", {})
    post = endpoints.get("POST /determinations", {})
    targets = TARGETS["targets"]
    return {
        "requests": total,
        "seconds": round(seconds, 1),
        "per_second": round(total / seconds, 2),
        "5xx_percent": round(100 * five / total, 3) if total else 0.0,
        "over_limit": sum(e["over_limit"] for e in endpoints.values()),
        "over_limit_requests": _over_limit(samples, wall_started),
        "process_starts": _process_starts(memory),
        "endpoints": endpoints,
        "memory": mem,
        "load_average": round(sum(m["load"] for m in memory) / len(memory), 1) if memory else 0.0,
        "targets": {
            "no 5xx": (100 * five / total if total else 0.0) <= targets["max_5xx_percent"],
            "no request over its limit": sum(e["over_limit"] for e in endpoints.values()) == 0,
            f"/health p99 < {targets['health_p99_ms']} ms": _below(health.get("p99_ms"), targets["health_p99_ms"]),
            f"POST /determinations p95 < {targets['determinations_post_p95_ms']} ms": _below(
                post.get("p95_ms"), targets["determinations_post_p95_ms"]
            ),
            f"memory flat (growth < {targets['max_memory_growth_percent']} %)": growth < targets["max_memory_growth_percent"],
        },
    }


def markdown(summary: dict[str, Any], header: dict[str, str]) -> str:
    lines = [f"- {key}: {value}" for key, value in header.items()]
    lines += [
        f"- requests: {summary['requests']} in {summary['seconds']} s, {summary['per_second']} requests/s, "
        f"{summary['5xx_percent']} % 5xx, {summary['over_limit']} over their limit",
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | 5xx % | limit ms | over limit | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in summary["endpoints"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in e["statuses"].items())
        lines.append(
            f"| {name} | {e['requests']} | {e['per_second']} | {e['p50_ms']} | {e['p95_ms']} | {e['p99_ms']} | "
            f"{e['max_ms']} | {e['5xx_percent']} | {e['limit_ms']} | {e['over_limit']} | {statuses} |"
        )
    memory = summary["memory"]
    begin, finish = memory["window_seconds"]
    lines += [
        "",
        f"Resident memory by role, mean of the first and of the last fifth of the run after its first minute "
        f"(windows centred at {begin:.0f} s and {finish:.0f} s; {memory['determinations_between_windows']} "
        f"determinations stored between them). Store on disk: {summary['store_disk_mib']['start']} MiB at the "
        f"start, {summary['store_disk_mib']['end']} MiB at the end. Mean 1-minute load average of the machine "
        f"during the run: {summary['load_average']} (on {os.cpu_count()} cores).",
        "",
        "| processes | early MiB | late MiB | growth | per 1,000 determinations | max MiB |",
        "|---|---|---|---|---|---|",
    ]
    for role, row in memory["roles"].items():
        per = "—" if row["per_1000_determinations_mib"] is None else f"{row['per_1000_determinations_mib']:+} MiB"
        title = ROLE_TITLES.get(role, "all processes")
        lines.append(
            f"| {title} | {row['early_mib']} | {row['late_mib']} | {row['growth_percent']:+} % | {per} | {row['max_mib']} |"
        )
    lines += [
        "",
        "| minute | API MiB | store writer MiB | store readers MiB (n) | SPARQL workers MiB (n) | case workers MiB (n) "
        "| all MiB | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shown = -1
    for sample in memory["samples"]:
        minute = int(sample["t"] // 60)
        if minute != shown:
            shown = minute
            r, n = sample["roles_mib"], sample["counts"]
            lines.append(
                f"| {minute} | {r['api']:.0f} | {r['store']:.0f} | {r['reader']:.0f} ({n['reader']}) | "
                f"{r['sparql']:.0f} ({n['sparql']}) | "
                f"{r['case']:.0f} ({n['case']}) | {sample['total_mib']:.0f} | {sample['load']:.1f} |"
            )
    lines += ["", "| process (role, pid) | first sample MiB | last sample MiB | peak MiB |", "|---|---|---|---|"]
    for key, peak in memory["process_peaks_mib"].items():
        pid = key.rsplit(" ", 1)[1]
        seen = [m["processes"][pid]["mib"] for m in memory["samples"] if pid in m["processes"]]
        lines.append(f"| {key} | {seen[0]} | {seen[-1]} | {peak} |")
    if summary.get("over_limit_requests"):
        lines += [
            "",
            "Requests over their limit, with the processes first seen within 10 s of them (memory samples: a "
            "replaced worker, for instance):",
            "",
            "| sent at s | endpoint | ms | status | processes started nearby |",
            "|---|---|---|---|---|",
        ]
        for row in summary["over_limit_requests"]:
            nearby = [
                f"{p['role']} {p['pid']} at {p['first_seen_s']} s"
                for p in summary["process_starts"]
                if abs(p["first_seen_s"] - row["sent_s"]) <= 10
            ]
            lines.append(
                f"| {row['sent_s']} | {row['endpoint']} | {row['ms']} | {row['status']} | {', '.join(nearby) or '—'} |"
            )
    if summary.get("errors"):
        lines += ["", "| 5xx answers (endpoint, status, problem title) | count |", "|---|---|"]
        lines += [f"| {key} | {count} |" for key, count in summary["errors"].items()]
    lines += ["", "| target | met |", "|---|---|"]
    verdict = {True: "yes", False: "no", None: "not measured"}
    lines += [f"| {name} | {verdict[met]} |" for name, met in summary["targets"].items()]
    return "\n".join(lines) + "\n"


def _start_service(directory: Path, port: int, token: str, examples: bool) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "IPKG_STORE_PATH": str(directory / "store"),
            "IPKG_AUDIT_LOG": str(directory / "audit.log"),
            "IPKG_TOKENS": json.dumps({token: {"name": "load-test", "scopes": ["read", "write"]}}),
            "IPKG_PRELOAD_EXAMPLES": "true" if examples else "false",
        }
    )
    log = (directory / "service.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the service exited while starting; see service.log")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the service did not start in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test of the service (see docs/benchmark.md).")
    parser.add_argument("--users", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="clients started per second (default 5)")
    parser.add_argument("--duration", type=_seconds, default=600, help="run time: 90s, 10m, 1h (default 10m)")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "load", help="directory for the summary")
    parser.add_argument("--no-examples", action="store_true", help="start on an empty store")
    parser.add_argument("--memory-interval", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument(
        "--mix",
        choices=["mixed", "read-only"],
        default="mixed",
        help="mixed: determinations, reads, SPARQL and /health; read-only: the same without POST /determinations",
    )
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = " ".join(["scripts/load.sh", *(argv if argv is not None else sys.argv[1:])])
    with tempfile.TemporaryDirectory(prefix="ipkg-load-") as tmp:
        directory = Path(tmp)
        service = _start_service(directory, port, token, not args.no_examples)
        try:
            print(f"starting the service on {url} (loading the example cases) ...", file=sys.stderr, flush=True)
            _wait_healthy(url, service, timeout=900)
            disk_start = _disk_mib(directory / "store")
            sampler = MemorySampler(service.pid, args.memory_interval)
            sampler.start()
            samples_file = directory / "samples.json"
            env = dict(os.environ, IPKG_LOAD_TOKEN=token, IPKG_LOAD_SUMMARY=str(samples_file))
            user_class = {"mixed": "ServiceClient", "read-only": "ReadOnlyClient"}[args.mix]
            started = time.monotonic()
            locust = subprocess.run(
                [
                    str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
                    "--headless", "--host", url, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
                    "--run-time", f"{args.duration}s", "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "30",
                    user_class,
                ],
                cwd=ROOT, env=env, check=False,
            )
            seconds = time.monotonic() - started
            sampler.stop()
            disk_end = _disk_mib(directory / "store")
        finally:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(60)
            except subprocess.TimeoutExpired:
                service.kill()
        (args.out / "service.log").write_bytes((directory / "service.log").read_bytes())
        if not samples_file.exists():
            print(f"locust exited with {locust.returncode} and wrote no samples", file=sys.stderr)
            return 1
        recorded = json.loads(samples_file.read_text(encoding="utf-8"))
        samples: list[Sample] = [(n, t, s, at) for n, t, s, at in recorded["samples"]]
    summary = summarize(samples, sampler.samples, seconds, sampler.wall_started)
    summary["errors"] = dict(sorted(recorded["errors"].items()))
    summary["store_disk_mib"] = {"start": round(disk_start, 1), "end": round(disk_end, 1)}
    header = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"`{command}`",
        "clients": str(args.users),
        "mix": args.mix,
        "duration": f"{args.duration} s",
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}",
    }
    text = markdown(summary, header)
    (args.out / "summary.json").write_text(json.dumps({"header": header, **summary}, indent=1), encoding="utf-8")
    (args.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if locust.returncode in (0, 1) and summary["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
