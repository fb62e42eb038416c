"""Where a workspace's passages live: this machine (the default), an S3-compatible bucket
(``s3://bucket/prefix``) or LanceDB Cloud (``db://project``).

A location is chosen when the workspace is created and kept in the library's database, by the
workspace's uid, in ``workspace_locations`` (created here on first use: a table nobody else
reads, so no shared migration number is taken). The secret (the S3 secret access key, the
LanceDB Cloud API key) is never kept there: it lives in the secret store (keyring) under
``secret_name(uid)``; settings, logs and this table hold only the endpoint, region and key id.

LanceDB's commit protocol on S3 (checked for lance >= 0.24, bundled with lancedb 0.40): each
commit writes the next manifest version with a conditional put (``If-None-Match: *``); a
writer whose version was taken meanwhile gets 412 and retries on top of the newer version.
So two machines appending to one table need no lock of their own, as long as the store
honours conditional writes (AWS S3 since 2024, MinIO, moto 5; not every S3 clone does, e.g.
older Alibaba OSS). tests/e2e/test_shared_workspace.py checks two writers at once on moto.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from anyllm_desktop.core.hosts import is_loopback
from anyllm_desktop.store.database import SQLiteStore

SCHEMES: tuple[str, ...] = ("local", "s3", "db")
#: How soon an open table of a shared workspace sees what another machine wrote.
SEEN_AFTER = timedelta(seconds=5)


@dataclass(frozen=True)
class StoreLocation:
    """``uri`` is "" for this machine's library folder."""

    uri: str = ""
    #: S3: the endpoint URL ("" for AWS itself) and region; LanceDB Cloud: the region.
    endpoint: str = ""
    region: str = ""
    access_key_id: str = ""

    def __post_init__(self) -> None:
        if self.uri and self.scheme not in ("s3", "db"):
            raise ValueError(
                f"A workspace location is s3://bucket/prefix or db://project, not {self.uri!r}."
            )
        if self.scheme == "s3" and not urlsplit(self.uri).netloc:
            raise ValueError(f"{self.uri!r} names no bucket: use s3://bucket/prefix.")
        if self.endpoint and urlsplit(self.endpoint).scheme not in ("http", "https"):
            raise ValueError(f"The endpoint {self.endpoint!r} must start with http:// or https://.")

    @property
    def scheme(self) -> str:
        return urlsplit(self.uri).scheme if self.uri else "local"

    @property
    def remote(self) -> bool:
        return bool(self.uri)

    @property
    def host(self) -> str:
        """The host its requests go to ("" for this machine)."""
        if self.scheme == "s3":
            if self.endpoint:
                return urlsplit(self.endpoint).hostname or self.endpoint
            return f"s3.{self.region or 'us-east-1'}.amazonaws.com"
        if self.scheme == "db":
            return f"{urlsplit(self.uri).netloc}.{self.region or 'us-east-1'}.api.lancedb.com"
        return ""

    @property
    def loopback(self) -> bool:
        """Whether it stays on this machine (a local folder, or a store on a loopback host)."""
        return not self.remote or is_loopback(self.host)

    def describe(self) -> str:
        if not self.remote:
            return "this computer"
        where = f" via {self.endpoint}" if self.endpoint else ""
        return f"{self.uri}{where}"


def secret_name(uid: str) -> str:
    """The secret store entry of a workspace's store secret."""
    return f"workspace-store:{uid}"


def connect_arguments(location: StoreLocation, secret: str | None) -> dict[str, object]:
    """Keyword arguments for ``lancedb.connect`` (besides the uri)."""
    if location.scheme == "db":
        if not secret:
            raise ValueError(f"{location.uri} needs its LanceDB Cloud API key (not found).")
        return {"api_key": secret, "region": location.region or "us-east-1"}
    options: dict[str, str] = {}
    if location.endpoint:
        options["endpoint"] = location.endpoint
        options["allow_http"] = str(location.endpoint.startswith("http://")).lower()
    if location.region:
        options["region"] = location.region
    if location.access_key_id:
        options["access_key_id"] = location.access_key_id
    if secret:
        options["secret_access_key"] = secret
    # Other machines commit to these tables: an open one looks for their versions this often
    # (LanceDB's default for a path is never; LanceDB Cloud is always current).
    return {"storage_options": options, "read_consistency_interval": SEEN_AFTER}


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS workspace_locations (uid TEXT PRIMARY KEY, uri TEXT NOT NULL, "
    "endpoint TEXT NOT NULL, region TEXT NOT NULL, access_key_id TEXT NOT NULL)"
)


class WorkspaceLocations(SQLiteStore):
    """The location of every workspace not kept on this machine, by its uid."""

    def _ready(self) -> sqlite3.Connection:
        self._db.execute(_SCHEMA)
        return self._db

    def set(self, uid: str, location: StoreLocation) -> None:
        db = self._ready()
        if not location.remote:
            db.execute("DELETE FROM workspace_locations WHERE uid = ?", (uid,))
            return
        db.execute(
            "INSERT OR REPLACE INTO workspace_locations VALUES (?, ?, ?, ?, ?)",
            (uid, location.uri, location.endpoint, location.region, location.access_key_id),
        )

    def get(self, uid: str) -> StoreLocation:
        query = "SELECT uri, endpoint, region, access_key_id FROM workspace_locations WHERE uid = ?"
        row = self._ready().execute(query, (uid,)).fetchone()
        return StoreLocation(*row) if row else StoreLocation()


def remember(home: Path, uid: str, location: StoreLocation, secret: str | None) -> None:
    """Keep a new workspace's location in the library's database, its secret in the secret
    store."""
    from anyllm_desktop.store.secrets import SecretStore

    locations = WorkspaceLocations(home / "library.sqlite3")
    try:
        locations.set(uid, location)
    finally:
        locations.close()
    if location.remote and secret:
        SecretStore(home).set(secret_name(uid), secret)


def location_of(home: Path, uid: str) -> StoreLocation:
    locations = WorkspaceLocations(home / "library.sqlite3")
    try:
        return locations.get(uid)
    finally:
        locations.close()


def forget(home: Path, uid: str) -> None:
    """A deleted workspace's location and secret (its tables in the bucket stay: others may
    still use them)."""
    from anyllm_desktop.store.secrets import SecretStore

    remember(home, uid, StoreLocation(), None)
    SecretStore(home).delete(secret_name(uid))
