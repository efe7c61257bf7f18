"""Names the service's child processes (``/proc/<pid>/comm``), so that ``ps`` and the load test tell them apart."""

from __future__ import annotations

import ctypes
import sys

PR_SET_NAME = 15
STORE_WRITER = "ipkg-store"
STORE_READER = "ipkg-reader"
SPARQL_WORKER = "ipkg-sparql"
CASE_WORKER = "ipkg-case"


def set_process_name(name: str) -> None:
    """Set this process's kernel name (at most 15 bytes; Linux only, a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the running interpreter's symbols, libc's prctl among them
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode("ascii")[:15]), 0, 0, 0)
    except OSError:
        pass
