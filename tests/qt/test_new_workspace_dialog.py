"""The new-workspace dialog: the location fields appear for a bucket, a wrong address is
named before anything is created, and the chosen location and its secret are kept apart (the
location in the library's database, the secret in the secret store). Reaching a store runs
off the GUI thread; a shared workspace's settings show where its index is."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from anyllm_desktop.services.api_server.server import free_port
from anyllm_desktop.store.locations import StoreLocation, location_of, remember, secret_name
from anyllm_desktop.store.secrets import SecretStore
from anyllm_desktop.ui.new_workspace_dialog import NewWorkspaceDialog
from tests.qt.helpers import ready_window


def test_a_bucket_location_is_checked_and_kept_apart_from_its_secret(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    dialog = NewWorkspaceDialog()
    qtbot.addWidget(dialog)
    assert not dialog.uri.isVisibleTo(dialog)  # this computer: no location fields
    dialog.name.setText("Team docs")
    dialog.kind.setCurrentIndex(1)
    assert dialog.uri.isVisibleTo(dialog) and dialog.uri.text() == "s3://"

    dialog._check()
    assert "names no bucket" in dialog.problem.text()
    assert dialog.result() != NewWorkspaceDialog.DialogCode.Accepted
    dialog.uri.setText("s3://team/docs")
    dialog.endpoint.setText("minio.example.org")
    dialog._check()
    assert "must start with http" in dialog.problem.text()
    dialog.endpoint.setText("https://minio.example.org:9000")
    dialog._check()
    assert "secret key" in dialog.problem.text()
    dialog.access_key_id.setText("AK1")
    dialog.secret.setText("s3cr3t-value")
    dialog._check()
    assert dialog.result() == NewWorkspaceDialog.DialogCode.Accepted

    location = dialog.location()
    remember(anyllm_home, "uid1", location, dialog.secret.text())
    assert location_of(anyllm_home, "uid1") == location
    assert location_of(anyllm_home, "other").remote is False
    assert SecretStore(anyllm_home).get(secret_name("uid1")) == "s3cr3t-value"
    database = (anyllm_home / "library.sqlite3").read_bytes()
    assert b"minio.example.org" in database and b"s3cr3t-value" not in database


def test_a_store_is_reached_off_the_gui_thread_and_a_shared_location_is_shown(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    made: list[str] = []
    refused: list[str] = []
    nowhere = StoreLocation("s3://team/docs", f"http://127.0.0.1:{free_port()}", "us-east-1", "AK")
    backend.create_workspace_at("Team", nowhere, "s3cr3t", lambda w: made.append(w.name),
                                refused.append)  # fmt: skip
    assert not refused  # not answered on the GUI thread: a worker is connecting
    qtbot.waitUntil(lambda: bool(refused), timeout=60_000)
    assert "Could not reach s3://team/docs" in refused[0] and not made
    assert "Team" not in [w.name for w, _ in backend.workspaces()]

    backend.create_workspace_at("Here", StoreLocation(), None, lambda w: made.append(w.name),
                                refused.append)  # fmt: skip
    assert made == ["Here"]  # this computer: at once
    # As a workspace that joined a bucket keeps it: the settings show where, and keep its model.
    shared = StoreLocation("s3://team/docs", "https://minio.example.org:9000", "eu-1", "AK")
    remember(anyllm_home, backend.workspace("Here").uid, shared, "s3cr3t")
    window.navigator.select_workspace("Here")
    bar = window.conversation.repair_bar
    qtbot.waitUntil(bar.isVisible, timeout=30_000)  # offline mode keeps it from that host
    assert "offline mode" in bar.text.text() and "minio.example.org" in bar.text.text()
    assert not bar.button.isVisible()  # re-indexing would not bring the store back
    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    assert dialog.location.text() == "s3://team/docs via https://minio.example.org:9000"
    assert not dialog.embedder.isEnabled()
    dialog.reject()
    window.close()
