"""Cutting a process off the network: a new, empty network namespace (Linux ``unshare``).

In a fresh network namespace there is no interface but a loopback that is down, so every
``connect`` fails ("Network is unreachable"), 127.0.0.1 included, and nothing the process
evaluates can reach another host or a local service. As root ``unshare(CLONE_NEWNET)`` is enough;
an unprivileged process first enters a new user namespace (``CLONE_NEWUSER | CLONE_NEWNET``),
which the kernel allows only to a single-threaded process, so this must run first thing in a
freshly started process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


class SandboxError(OSError):
    """The process could not be put in an empty network namespace."""


def _unshare(flags: int) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) == 0:
        return 0
    return ctypes.get_errno()


def _network_is_gone() -> bool:
    """A connection attempt to loopback fails with ENETUNREACH (checked, not assumed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(("127.0.0.1", 9))
        except OSError as exc:
            return exc.errno == errno.ENETUNREACH
    return False


def enter_network_sandbox() -> str:
    """Move this process into an empty network namespace; returns how, raises SandboxError if it cannot."""
    if not os.path.exists("/proc/self/ns/net"):
        raise SandboxError("network namespaces need Linux")
    failures = []
    for flags, how in ((CLONE_NEWNET, "network namespace"), (CLONE_NEWUSER | CLONE_NEWNET, "user and network namespace")):
        code = _unshare(flags)
        if code == 0:
            if not _network_is_gone():
                raise SandboxError(f"unshare({how}) succeeded but loopback is still reachable")
            return how
        failures.append(f"{how}: {os.strerror(code)}")
    raise SandboxError("cannot enter an empty network namespace (" + "; ".join(failures) + ")")
