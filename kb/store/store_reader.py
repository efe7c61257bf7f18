"""A store reader process: answers the service's own reads (a graph, graph names, a query) on a snapshot.

The service's reads (GET /determinations and /determinations/{id}, the health check, the case and
report reads) do not wait behind the store writer: a pool of these processes
(``kb.store.read_pool``) answers them on read-only snapshots (``kb.store.snapshots``). Requests come
one at a time over the pipe as ``(snapshot directory, op, args)``; the reply is ``(leaving,
(status, detail))`` with the store writer's statuses (``ok``, ``syntax``, ``rowcap``, ``error``).
The reader opens a snapshot read-only and keeps it open until it is sent a newer one. The parent
enforces the time limit by killing the process; a reader that grew past ``max_rss_bytes``, or has
opened ``max_opens`` snapshots (each open leaves some memory behind that closing it does not give
back; ``benchmarks/snapshot_memory.py``), exits after its reply and is replaced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from kb.gc_settle import settle
from kb.proc_name import STORE_READER, set_process_name
from kb.store import oxigraph_reads
from kb.store.base import QuerySyntaxError
from kb.store.sandbox import SandboxError, enter_network_sandbox
from kb.store.sparql_worker import OpenSnapshot, rss_bytes

OPS: dict[str, Callable[..., Any]] = {
    "graph": oxigraph_reads.graph,
    "names": oxigraph_reads.graph_names,
    "query": oxigraph_reads.query,
}


def answer(store: Any, op: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """One read on an open store, as ``(status, detail)``."""
    try:
        return ("ok", OPS[op](store, *args))
    except QuerySyntaxError as exc:
        return ("syntax", str(exc))
    except oxigraph_reads.RowCapError as exc:
        return ("rowcap", str(exc))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")


def serve(  # pragma: no cover - runs in the reader process
    conn: Connection, require_sandbox: bool, max_rss_bytes: int, max_opens: int = 0
) -> None:
    set_process_name(STORE_READER)
    with contextlib.suppress(SandboxError):
        enter_network_sandbox()  # it runs only the service's own reads, and needs no network
    opened = OpenSnapshot()
    settle()
    conn.send(("ready", "store reader"))
    while True:
        try:
            snapshot, op, args = conn.recv()
        except (EOFError, OSError):
            break
        error = opened.use(snapshot)
        if error is not None:
            conn.send((False, ("error", error)))
            continue
        reply = answer(opened.store, op, args)
        leaving = rss_bytes() > max_rss_bytes or 0 < max_opens <= opened.opens
        conn.send((leaving, reply))
        if leaving:
            break
