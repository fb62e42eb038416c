"""Which hosts are this computer. Loopback (127.0.0.0/8, ::1, ``localhost``) is local: a
provider, an object store or the API server there never sends anything off the machine, so
offline mode allows it and no cloud agreement is asked for it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this computer."""
    host = host.strip().strip("[]").split("%")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this computer (False for one without a host)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return bool(host) and is_loopback(host or "")
