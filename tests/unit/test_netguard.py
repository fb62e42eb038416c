"""The guard that every other test relies on must itself work."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from anyllm_netguard import NetworkBlocked


def test_outbound_connections_are_blocked_and_recorded(netguard_log: Path) -> None:
    with socket.socket() as sock, pytest.raises(NetworkBlocked):
        sock.connect(("93.184.216.34", 443))
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("pypi.org", 443)
    assert "93.184.216.34" in netguard_log.read_text() and "pypi.org" in netguard_log.read_text()
    netguard_log.unlink()  # expected attempts: do not fail this test


def test_loopback_stays_allowed() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close())
    accepted.start()
    with socket.create_connection(("localhost", port), timeout=5):
        pass
    accepted.join(5)
    server.close()
