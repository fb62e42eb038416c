"""Fail any network connection that leaves this machine, and record the attempt.

Installed for the test process by ``tests/conftest.py`` and for child processes by the
``sitecustomize.py`` beside this file (put this folder on ``PYTHONPATH``). Loopback and Unix
sockets stay allowed: tests run real servers on 127.0.0.1. Attempts are appended to the file named
by ``ANYLLM_NETGUARD_LOG`` so a test can prove that none happened.

``cloud.test`` (a name reserved for tests, RFC 6761) stands in for a cloud provider's host: to
the app it is another machine (offline mode refuses it, the first use asks for agreement, the
outbound log names it), while the guard resolves it to 127.0.0.1, where the test's server runs.
A server addressed as 127.0.0.1 is, as for the app, this computer.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

LOG_ENV = "ANYLLM_NETGUARD_LOG"
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}
CLOUD_STAND_IN = "cloud.test"


class NetworkBlocked(RuntimeError):
    pass


def _is_local_host(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(what + "\n")


def _check(family: int, address: object) -> None:
    if family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local_host(host):
        _record(f"connect {address!r}")
        raise NetworkBlocked(f"outbound network connection blocked in tests: {address!r}")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _connect(self: socket.socket, address: object) -> None:
    _check(self.family, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: object) -> int:
    _check(self.family, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
    if host in (CLOUD_STAND_IN, CLOUD_STAND_IN.encode()):
        host = "127.0.0.1"
    if not _is_local_host(host):
        _record(f"resolve {host!r}")
        raise NetworkBlocked(f"name lookup blocked in tests: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]
