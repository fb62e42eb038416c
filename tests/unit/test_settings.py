from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from anyllm_desktop.core.settings import SETTINGS_VERSION, Settings, SettingsStore
from anyllm_desktop.services.runtime import Runtime


def test_missing_file_gives_defaults_without_warnings(tmp_path: Path) -> None:
    result = SettingsStore(tmp_path / "settings.json").load()
    assert result.settings == Settings()
    assert result.warnings == []


def test_round_trip_keeps_every_value(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    changed = replace(
        Settings(),
        offline_mode=False,
        theme="dark",
        font_size=14,
        threads=3,
        context_size=8192,
        window_geometry="AdnQywAD",
    )
    store.save(changed)
    assert store.load().settings == changed
    assert json.loads(store.path.read_text())["version"] == SETTINGS_VERSION
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp files left


def test_corrupt_file_is_backed_up_and_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"theme": ', encoding="utf-8")
    result = SettingsStore(path).load()
    assert result.settings == Settings()
    assert result.backup is not None and result.backup.read_text() == '{"theme": '
    assert len(result.warnings) == 1
    assert str(path) in result.warnings[0] and result.backup.name in result.warnings[0]
    assert "nothing could be recovered" in result.warnings[0]


GOOD = {"name": "work", "kind": "openai", "base_url": "", "model": "gpt-4o-mini"}
OTHER = {"name": "home-lab", "kind": "ollama", "base_url": "http://nas:11434/v1", "model": "qwen"}


def test_a_cut_off_file_keeps_every_setting_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    whole = json.dumps({"offline_mode": False, "providers": [GOOD, OTHER], "theme": "dark"})
    damaged = whole[: whole.index('"qwen"') + 3]  # cut inside the second provider
    path.write_text(damaged, encoding="utf-8")
    result = SettingsStore(path).load()
    assert result.settings.offline_mode is False
    assert result.settings.providers == [GOOD]
    assert result.settings.theme == Settings().theme
    assert result.backup is not None and result.backup.read_text() == damaged
    warning = " ".join(result.warnings)
    assert result.backup.name in warning and "recovered" in warning and "offline_mode" in warning
    assert f"cp {result.backup} {path}" in warning  # how to go back to the old file
    # What was recovered is what the next start sees: no silent fall-back to defaults.
    again = SettingsStore(path).load()
    assert again.warnings == [] and again.settings == result.settings


def test_saving_never_replaces_an_unreadable_file_without_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    store = SettingsStore(path)
    store.save(Settings())
    path.write_text('{"providers": [oops', encoding="utf-8")  # broken after it was loaded
    backup = store.save(replace(Settings(), theme="dark"))
    assert backup is not None and backup.read_text() == '{"providers": [oops'
    assert store.load().settings.theme == "dark"


def test_one_bad_provider_entry_drops_only_that_entry(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    no_model = {"name": "broken", "kind": "openai", "base_url": ""}
    twice = {**OTHER, "model": "llama"}
    path.write_text(json.dumps({"providers": [GOOD, no_model, OTHER, 7, twice]}))
    result = SettingsStore(path).load()
    assert result.settings.providers == [GOOD, OTHER]
    assert len(result.warnings) == 3
    assert any("'broken'" in w and "'model'" in w for w in result.warnings)
    assert any("entry 4" in w for w in result.warnings)
    assert any("'home-lab'" in w and "twice" in w for w in result.warnings)


def test_a_provider_of_an_unknown_kind_is_left_out_with_a_word(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    future = {"name": "future", "kind": "hal-9000", "base_url": "", "model": "m"}
    (home / "settings.json").write_text(json.dumps({"providers": [future, GOOD]}))
    runtime = Runtime.open(home)
    assert runtime.settings.providers == [GOOD]
    assert any("'future'" in w and "hal-9000" in w for w in runtime.warnings)


def test_binary_garbage_and_non_object_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert SettingsStore(path).load().backup is not None
    path.write_text("[1, 2, 3]")
    result = SettingsStore(path).load()
    assert result.backup is not None and "not a JSON object" in result.warnings[0]
    assert len(list(tmp_path.glob("settings.corrupt-*.json"))) == 2


def test_invalid_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {"version": 1, "theme": "purple", "font_size": True, "threads": 4, "context_size": 10}
        )
    )
    result = SettingsStore(path).load()
    assert result.settings.threads == 4
    assert result.settings.theme == "system"
    assert result.settings.font_size == Settings().font_size
    assert result.settings.context_size == Settings().context_size
    assert len(result.warnings) == 3
    assert any("'theme'" in w and "purple" in w for w in result.warnings)


def test_newer_version_warns_and_keeps_unknown_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"version": SETTINGS_VERSION + 1, "theme": "light", "future_option": [1, 2]})
    )
    result = SettingsStore(path).load()
    assert result.settings.theme == "light"
    assert result.settings.extra == {"future_option": [1, 2]}
    assert "newer version" in result.warnings[0]
    SettingsStore(path).save(result.settings)
    assert SettingsStore(path).load().settings.extra == {"future_option": [1, 2]}


def test_an_unknown_model_id_falls_back_to_the_embedded_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text(
        json.dumps({"version": 1, "chat_model": "embedded:gone", "embedding_model": "x:y"})
    )
    runtime = Runtime.open(home)
    assert runtime.settings.chat_model == Settings().chat_model
    assert runtime.settings.embedding_model == Settings().embedding_model
    assert any("'embedded:gone'" in w and "unknown" in w for w in runtime.warnings)
    assert len(runtime.warnings) == 2
    (home / "settings.json").write_text(json.dumps({"version": 1, "chat_model": "/m/a.gguf"}))
    assert Runtime.open(home).settings.chat_model == "/m/a.gguf"  # a file: its load says more
