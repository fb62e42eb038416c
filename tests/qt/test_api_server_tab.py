"""Settings → API server, offscreen, with the real window: the server starts off the GUI thread
and answers with the window's own model host, its key shown once, rotated, and it stops."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from anyllm_desktop.services.api_server.server import free_port
from anyllm_desktop.store import secrets
from anyllm_desktop.store.secrets import SecretStore
from anyllm_desktop.ui.api_server_tab import ApiServerTab
from anyllm_desktop.workers.api_server import api_server_of
from tests.qt.helpers import ready_window
from tests.qt.test_settings_and_models import _header_only_gguf

pytestmark = pytest.mark.e2e


def _models(address: str, key: str) -> httpx.Response:
    return httpx.get(f"{address}/models", headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _chat(address: str, key: str, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{address}/chat/completions", headers=headers, json=body, timeout=120)


def test_the_tab_serves_shows_the_key_once_rotates_it_and_stops(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    window = ready_window(qtbot, anyllm_home)
    tab = ApiServerTab(window.backend)
    qtbot.addWidget(tab)
    port = free_port()
    tab.port.setValue(port)
    assert tab.address.text() == "not running"
    with qtbot.waitSignal(tab.server.address_changed, timeout=120_000):
        tab.enabled.setChecked(True)
    address = f"http://127.0.0.1:{port}/v1"
    assert tab.address.text() == address and not tab.port.isEnabled()
    assert "this computer only" in tab.status.text()
    key = tab.key.text()
    assert key.startswith("anyllm-")
    assert "workspace:" not in _models(address, key).text  # no workspace yet
    assert _models(address, key).status_code == 200
    assert _models(address, "wrong-key").status_code == 401
    # The answer comes from the window's model host (one owner thread for the loaded model).
    assert _chat(address, key, window.backend.served_model).status_code == 200
    # The window decides which model is loaded: the API does not switch it under the user.
    other = _header_only_gguf(window.backend.runtime.paths.models_dir / "other.gguf", "Other")
    refused = _chat(address, key, str(other))
    assert refused.status_code == 409 and "shares it" in refused.json()["error"]["message"]
    assert window.backend.served_model != str(other)
    stored = json.loads((anyllm_home / "settings.json").read_text())
    assert stored["api_server_enabled"] is True and stored["api_server_port"] == port
    assert key not in (anyllm_home / "settings.json").read_text()

    again = ApiServerTab(window.backend)  # the dialog opened again: running, key not shown
    qtbot.addWidget(again)
    assert again.enabled.isChecked() and again.address.text() == address
    assert again.key.text() == ""

    with qtbot.waitSignal(tab.server.address_changed, timeout=120_000,
                          check_params_cb=bool):  # fmt: skip
        tab.rotate.click()
    new_key = tab.key.text()
    assert new_key != key
    assert _models(address, key).status_code == 401
    assert _models(address, new_key).status_code == 200

    tab.enabled.setChecked(False)
    assert tab.address.text() == "not running"
    with pytest.raises(httpx.ConnectError):
        _models(address, new_key)
    assert json.loads((anyllm_home / "settings.json").read_text())["api_server_enabled"] is False
    window.close()


def test_the_server_starts_with_the_app_when_settings_say_so(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)
    window = ready_window(qtbot, anyllm_home)
    port = free_port()
    chosen = replace(window.backend.runtime.settings, api_server_enabled=True, api_server_port=port)
    window.backend.save_settings(chosen)
    server = api_server_of(window.backend)
    with qtbot.waitSignal(server.address_changed, timeout=120_000):
        server.start_if_enabled()
    key = SecretStore(anyllm_home).get("api-server")
    assert key is not None and _models(server.address, key).status_code == 200
    server.stop()  # what the app's quit does (QCoreApplication.aboutToQuit)
    with pytest.raises(httpx.ConnectError):
        _models(f"http://127.0.0.1:{port}/v1", key)
    window.close()
