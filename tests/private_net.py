"""A private network namespace for a run (benchmarks/bench_fetch_web.py and its test).

`unshare -rnm` gives an unprivileged user new user, network and mount namespaces: inside, the
user is root of its own namespace, the only network is a loopback device (down until brought
up; then all of 127.0.0.0/8 is local) and mounts are private. `enter()` then brings loopback up
and bind-mounts a resolv.conf (and an nsswitch.conf: files, then DNS, nothing else) of the
run's own over the machine's, so every process started inside resolves names through the run's
DNS server, while the machine's resolver settings stay untouched outside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import tempfile

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_MS_BIND = 4096


def unshare_command() -> list[str]:
    """The command prefix that starts a process in new user, network and mount namespaces."""
    return ["unshare", "--map-root-user", "--net", "--mount", "--"]


def unavailable_reason() -> str:
    """'' where `unshare -rnm` works for this user, else why not (for a skip or an error)."""
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    try:
        result = subprocess.run([*unshare_command(), "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare -rnm failed: {exc}"
    if result.returncode != 0:
        return f"unshare -rnm failed: {result.stderr.strip() or f'exit {result.returncode}'} (user namespaces disabled?)"
    return ""


def loopback_up() -> None:
    """`ip link set lo up`, without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


def bind_file(content: str, target: str) -> None:
    """Mount a file holding `content` over `target` (visible in this mount namespace only)."""
    handle, source = tempfile.mkstemp(prefix="wit-netns-")
    with os.fdopen(handle, "w") as file:
        file.write(content)
    os.chmod(source, 0o644)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    try:
        if libc.mount(source.encode(), target.encode(), None, _MS_BIND, None) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"bind-mounting over {target}: {os.strerror(errno)}")
    finally:
        os.unlink(source)  # the mount holds the file itself; no name left behind in /tmp


def in_private_namespace() -> bool:
    """True where the only network device is loopback (what `enter` expects)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def enter(nameserver: str = "127.0.0.1", resolver_options: str = "") -> None:
    """Inside a fresh namespace: loopback up, and names resolved by `nameserver` alone."""
    if not in_private_namespace():
        raise RuntimeError(f"refusing to change resolver settings outside a private network namespace "
                           f"(network devices here: {[n for _, n in socket.if_nameindex()]})")
    loopback_up()
    resolv = f"nameserver {nameserver}\n" + (f"options {resolver_options}\n" if resolver_options else "")
    bind_file(resolv, "/etc/resolv.conf")
    if os.path.exists("/etc/nsswitch.conf"):
        # mdns, systemd-resolved or nscd modules would reach services outside the namespace.
        with open("/etc/nsswitch.conf") as file:
            lines = [line for line in file if not line.lstrip().startswith("hosts:")]
        bind_file("".join(lines) + "hosts: files dns\n", "/etc/nsswitch.conf")
