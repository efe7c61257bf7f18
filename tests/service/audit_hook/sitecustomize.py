"""Loaded by every Python process of a service under test (PYTHONPATH): records what reaches outside.

Python's audit hooks (PEP 578) see every ``open`` and ``socket.connect`` made through the
interpreter. Each event is appended as one JSON line to the file named by ``IPKG_TEST_AUDIT_EVENTS``,
with the process id and a monotonic timestamp, so a test can check what the service and its worker
processes did while it sent its requests.
"""

from __future__ import annotations

import json
import os
import sys
import time

_PATH = os.environ.get("IPKG_TEST_AUDIT_EVENTS")


def _hook(event: str, args: tuple[object, ...]) -> None:
    if _PATH is None or event not in ("open", "socket.connect"):
        return
    if event == "open":
        target, mode = args[0], args[1]
        if isinstance(target, int):
            return
        record = {
            "event": event,
            "path": os.fsdecode(target) if isinstance(target, str | bytes) else str(target),
            "mode": str(mode),
        }
    else:
        sock, address = args[0], args[1]
        record = {"event": event, "family": int(getattr(sock, "family", -1)), "address": repr(address)}
    if record.get("path") == _PATH:
        return
    record.update({"pid": os.getpid(), "time": time.time()})
    line = json.dumps(record) + "\n"
    fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


if _PATH is not None:
    sys.addaudithook(_hook)
