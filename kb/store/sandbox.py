"""Cutting a process off the network, by two independent means.

1. A new, empty network namespace (Linux ``unshare``). In there is no interface but a loopback that
   is down, so every ``connect`` fails ("Network is unreachable"), 127.0.0.1 included. As root
   ``unshare(CLONE_NEWNET)`` is enough; an unprivileged process first enters a new user namespace
   (``CLONE_NEWUSER | CLONE_NEWNET``), which the kernel allows only to a single-threaded process.
2. A seccomp filter that makes ``socket``, ``socketpair``, ``connect`` and ``io_uring_setup`` fail
   with EPERM, so the process cannot create a socket at all (the pipe to its parent exists before).
   It needs no privilege (``PR_SET_NO_NEW_PRIVS``) and also works in containers that forbid new
   namespaces; it is inherited by every thread started afterwards.

``enter_network_sandbox`` applies both where it can and succeeds when at least one is in force and
checked. It must run first thing in a fresh process, before any thread exists.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import socket
import struct

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
# Per architecture: the audit arch value and the numbers of socket, socketpair, connect, io_uring_setup.
SYSCALLS = {
    "x86_64": (0xC000003E, (41, 53, 42, 425)),
    "aarch64": (0xC00000B7, (198, 199, 203, 425)),
}
X32_SYSCALL_BIT = 0x40000000


class SandboxError(OSError):
    """The process could not be cut off from the network."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _only_loopback_interface() -> bool:
    """This process's network namespace has no interface but ``lo`` (read from /proc, no socket used)."""
    try:
        with open("/proc/self/net/dev", encoding="ascii") as dev:
            names = {line.split(":", 1)[0].strip() for line in dev.read().splitlines()[2:] if ":" in line}
    except OSError:
        return False
    return names <= {"lo"}


def _sockets_refused() -> bool:
    """Creating a socket fails with EPERM (the seccomp filter is in force)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    except PermissionError:
        return True
    return False


def enter_network_namespace() -> str:
    """Move this process into an empty network namespace; SandboxError if the kernel refuses."""
    if not os.path.exists("/proc/self/ns/net"):
        raise SandboxError("network namespaces need Linux")
    before = os.readlink("/proc/self/ns/net")
    libc = _libc()
    failures = []
    for flags, how in ((CLONE_NEWNET, "network namespace"), (CLONE_NEWUSER | CLONE_NEWNET, "user and network namespace")):
        if libc.unshare(ctypes.c_int(flags)) == 0:
            if os.readlink("/proc/self/ns/net") == before or not _only_loopback_interface():
                raise SandboxError(f"unshare({how}) left this process with a network interface")
            return how
        failures.append(f"{how}: {os.strerror(ctypes.get_errno())}")
    raise SandboxError("; ".join(failures))


def install_socket_filter() -> str:
    """Forbid creating or connecting sockets for the rest of this process's life (seccomp)."""
    machine = platform.machine()
    if machine not in SYSCALLS or not os.path.exists("/proc/self/status"):
        raise SandboxError(f"no seccomp socket filter for {machine or 'this platform'}")
    arch, numbers = SYSCALLS[machine]
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    program: list[tuple[int, int, int, int]] = [
        (BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (BPF_JEQ_K, 1, 0, arch),
        (BPF_RET_K, 0, 0, deny),  # a foreign ABI: refuse every call made through it
        (BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        program.append((BPF_JGE_K, len(numbers) + 1, 0, X32_SYSCALL_BIT))  # x32 calls: refused below
    for index, number in enumerate(numbers):
        program.append((BPF_JEQ_K, len(numbers) - index, 0, number))
    program += [(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), (BPF_RET_K, 0, 0, deny)]
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    filters = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.cast(filters, ctypes.c_void_p))
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxError(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise SandboxError(f"seccomp filter: {os.strerror(ctypes.get_errno())}")
    if not _sockets_refused():
        raise SandboxError("the seccomp filter is installed but a socket could still be created")
    return "seccomp socket filter"


def enter_network_sandbox() -> str:
    """Apply both means where possible; returns what is in force, raises SandboxError if neither is.

    Each means checks itself once applied (a new namespace with no interface but loopback; a socket
    that cannot be created), without opening a connection.
    """
    applied, failures = [], []
    for apply in (enter_network_namespace, install_socket_filter):
        try:
            applied.append(apply())
        except SandboxError as exc:
            failures.append(str(exc))
    if not applied:
        raise SandboxError("cannot cut this process off the network (" + "; ".join(failures) + ")")
    return " and ".join(applied)
