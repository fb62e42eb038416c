"""The prompt library without Qt: built-ins, saving and editing in the data folder, deleting
(a built-in comes back), and how a "/name …" message fills a template's variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.core.prompt_library import (
    PromptError,
    PromptLibrary,
    PromptTemplate,
    fill,
    parse_command,
)


@pytest.fixture
def library(anyllm_home: Path) -> PromptLibrary:
    return PromptLibrary(AppPaths(anyllm_home).prompt_library)


def test_builtins_are_there_and_a_saved_template_is_kept_in_the_data_folder(
    library: PromptLibrary, anyllm_home: Path
) -> None:
    assert [t.name for t in library.templates()] == ["summarize", "translate", "keypoints"]
    library.save(PromptTemplate("eli5", "For a child", "Explain to a child:\n\n{{text}}"))
    stored = json.loads((anyllm_home / "prompts.json").read_text(encoding="utf-8"))
    assert stored["prompts"][0]["name"] == "eli5"
    again = PromptLibrary(AppPaths(anyllm_home).prompt_library)
    assert again.get("eli5") is not None and again.get("eli5").variables == ["text"]  # type: ignore[union-attr]


def test_editing_renaming_and_deleting(library: PromptLibrary) -> None:
    library.save(PromptTemplate("tone", "", "Rewrite in a {{style}} tone:\n{{text}}"))
    library.save(PromptTemplate("voice", "", "Rewrite as {{style}}:\n{{text}}"), replaces="tone")
    assert library.get("tone") is None and library.get("voice") is not None
    with pytest.raises(PromptError, match="already a template /voice"):
        library.save(PromptTemplate("voice", "", "{{text}}"))
    edited = PromptTemplate("summarize", "mine", "One line:\n{{text}}")
    library.save(edited, replaces="summarize")
    assert library.get("summarize") == edited
    library.delete("summarize")  # the built-in's original comes back
    assert library.get("summarize").prompt.startswith("Summarize this text")  # type: ignore[union-attr]
    library.delete("voice")
    assert library.get("voice") is None


@pytest.mark.parametrize(("template", "says"), [
    (PromptTemplate("Bad Name", "", "{{text}}"), "cannot be a template's name"),
    (PromptTemplate("empty", "", "  "), "needs a prompt"),
    (PromptTemplate("brace", "", "Say {{text}"), "not a reference"),
])  # fmt: skip
def test_a_bad_template_is_refused_saying_why(library: PromptLibrary, template: PromptTemplate,
                                              says: str) -> None:  # fmt: skip
    with pytest.raises(PromptError, match=says):
        library.save(template)


def test_a_damaged_file_says_how_to_recover(library: PromptLibrary) -> None:
    library.path.parent.mkdir(parents=True, exist_ok=True)
    library.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PromptError, match="fix or remove the file"):
        library.templates()


def test_a_command_fills_the_words_then_the_text_or_the_last_answer(
    library: PromptLibrary,
) -> None:
    translate = library.get("translate")
    assert translate is not None
    assert parse_command("/translate French Bonjour") == ("translate", "French Bonjour")
    assert parse_command("what is /translate?") is None
    filled = fill(translate, "French Guten Tag\nund mehr", "the last answer")
    assert "into French." in filled and filled.endswith("Guten Tag\nund mehr")
    assert fill(translate, "French", "the last answer").endswith("the last answer")
    quoted = fill(translate, '"Brazilian Portuguese" hi', None)
    assert "into Brazilian Portuguese." in quoted and quoted.endswith("hi")
    with pytest.raises(PromptError, match=r"needs \{\{language\}\}: write /translate LANGUAGE"):
        fill(translate, "", "answer")
    summarize = library.get("summarize")
    assert summarize is not None
    with pytest.raises(PromptError, match="needs a text"):
        fill(summarize, "  ", None)


def test_an_unknown_name_lists_the_templates_there_are(library: PromptLibrary) -> None:
    message = library.unknown("nope")
    assert "/nope" in message and "/summarize, /translate, /keypoints" in message
