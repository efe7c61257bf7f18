"""A case worker process: parses, checks and decides cases sent over its pipe, one at a time.

Started by ``kb.case_pool`` (spawn). Before anything else it cuts itself off the network where the
host allows it (``kb.store.sandbox``; case parsing never fetches anything anyway) and lowers its
scheduling priority, so that on a busy machine the service's event loop and the store come first.
Then it loads the ontology and shapes once (``load_knowledge``: parsed, class closure computed,
shapes harvested), says ``ready``, and serves ``(job name, args)`` requests: the reply is
``(leaving, ("ok", result))``, ``(leaving, ("refused", kind, fields))`` for an engine error, or
``(leaving, ("error", text))``. ``leaving`` is true when the worker grew past its memory limit (or
hit a MemoryError) and exits after this reply; the pool then starts a fresh one. The parent enforces
the time limit by killing the process.
"""

from __future__ import annotations

import contextlib
import os
from multiprocessing.connection import Connection
from typing import Any

from kb.gc_settle import settle
from kb.proc_name import CASE_WORKER, set_process_name
from kb.store.sandbox import SandboxError, enter_network_sandbox


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def serve(conn: Connection, nice: int, max_rss_bytes: int) -> None:  # pragma: no cover - runs in the child
    set_process_name(CASE_WORKER)
    with contextlib.suppress(SandboxError):
        enter_network_sandbox()
    if nice > 0:
        with contextlib.suppress(OSError):
            os.nice(nice)
    from kb.casework import JOBS, error_payload
    from kb.errors import KnowledgeGraphError
    from kb.knowledge import load_knowledge
    from kb.pipeline.validation import warm_up

    try:
        knowledge = load_knowledge()
        warm_up(knowledge)  # no client's case pays the first parse of a constraint
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    settle()  # the knowledge stays for the process's life: keep it out of every later collection
    conn.send(("ready", os.getpid()))
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return  # the service closed the pipe (or died): nothing left to do
        leaving = False
        reply: tuple[Any, ...]
        try:
            reply = ("ok", JOBS[name](*args, knowledge))
        except KnowledgeGraphError as exc:
            reply = ("refused", *error_payload(exc))
        except MemoryError:
            reply, leaving = ("error", "the case worker ran out of memory"), True
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        leaving = leaving or rss_bytes() > max_rss_bytes
        try:
            conn.send((leaving, reply))
        except (OSError, EOFError):
            return
        if leaving:
            return
