"""The new-workspace dialog: the location fields appear for a bucket, a wrong address is
named before anything is created, and the chosen location and its secret are kept apart (the
location in the library's database, the secret in the secret store)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from anyllm_desktop.store.locations import location_of, remember, secret_name
from anyllm_desktop.store.secrets import SecretStore
from anyllm_desktop.ui.new_workspace_dialog import NewWorkspaceDialog


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
