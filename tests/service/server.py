"""A real uvicorn process on loopback, for tests that drive the service over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
READ_TOKEN = "test-read-token"
WRITE_TOKEN = "test-write-token"
TOKENS = {
    READ_TOKEN: {"name": "test-reader", "scopes": ["read"]},
    WRITE_TOKEN: {"name": "test-writer", "scopes": ["read", "write"]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    directory: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def audit_log(self) -> Path:
        return self.directory / "audit.log"

    def start(self, timeout: float = 90.0) -> Server:
        env = dict(os.environ)
        env.update(
            {
                "IPKG_STORE_PATH": str(self.directory / "store"),
                "IPKG_AUDIT_LOG": str(self.audit_log),
                "IPKG_TOKENS": json.dumps(TOKENS),
                "IPKG_CASE_WORKERS": "1",  # one case worker process to start per service: these decide few cases
                **self.env_overrides,
            }
        )
        log = (self.directory / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {(self.directory / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server and the store process it owns (its whole process group is not used)."""
        if self.process is not None:
            children = _children(self.process.pid)
            self.process.kill()
            self.process.wait(30)
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process = None


@contextmanager
def running(directory: Path, env: dict[str, str] | None = None, timeout: float = 90.0) -> Iterator[Server]:
    """A started server, stopped when the block ends."""
    server = Server(directory, env or {}).start(timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


PRELOADED = {"IPKG_PRELOAD_EXAMPLES": "true"}


def _children(pid: int) -> list[int]:
    result = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
            except OSError:
                continue
            if int(stat[3]) == pid:
                result.append(int(entry.name))
    return result


def auth(token: str = WRITE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
