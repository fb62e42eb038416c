"""The prompt library: saved prompt templates with variables, run from the chat as "/name".

A template is a name (``translate``: letters, digits, ``-`` and ``_``), a description and a
prompt with ``{{variables}}`` (the workflows' template syntax: ``{{text}}``, ``{{language}}``,
any name). They are kept in ``AppPaths.prompt_library`` (``prompts.json`` in the data folder).
The built-ins ``summarize``, ``translate`` and ``keypoints`` are always there: editing one keeps
the edit, deleting one brings its original back.

How a message "/name …" fills the template's variables:

- The words after ``/name`` on the message's first line fill the variables other than
  ``{{text}}``, one word each, in the order the prompt first names them: ``/translate French``
  gives ``{{language}}`` = French. A value of several words is quoted:
  ``/translate "Brazilian Portuguese"``.
- ``{{text}}`` is what is left of the message after those words (the rest of the first line and
  every further line) or, when nothing is left, the chat's last answer: ``/summarize`` alone
  summarizes the last answer, ``/summarize some text`` summarizes "some text".
- A variable left without a value is an error that names it and shows how to give it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

from anyllm_desktop.core.workflow_templates import TemplateError, references, render

TEXT = "text"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_COMMAND = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9_-]*)(?:[ \t]+|$|(?=\n))")


class PromptError(ValueError):
    """A template that cannot be saved or filled; the message says why and what to do."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    description: str
    prompt: str

    @property
    def variables(self) -> list[str]:
        """The variables the prompt names, each once, in order."""
        return list(dict.fromkeys(".".join(ref) for ref in references(self.prompt)))

    def usage(self) -> str:
        """How to call it: "/translate LANGUAGE [text]"."""
        words = [v.upper() for v in self.variables if v != TEXT]
        tail = ["[text, or the last answer]"] if TEXT in self.variables else []
        return " ".join([f"/{self.name}", *words, *tail])


BUILTINS: tuple[PromptTemplate, ...] = (
    PromptTemplate("summarize", "Summarize a text (or the last answer) in a few sentences",
                   "Summarize this text in a few sentences. Say only what the text says.\n\n"
                   "Text:\n{{text}}"),
    PromptTemplate("translate", "Translate a text (or the last answer) into a language",
                   "Translate this text into {{language}}. Answer with the translation only."
                   "\n\nText:\n{{text}}"),
    PromptTemplate("keypoints", "The key points of a text (or the last answer) as a list",
                   "List the key points of this text as short bullet points, most important "
                   "first.\n\nText:\n{{text}}"),
)  # fmt: skip
_BUILTIN_NAMES = {t.name for t in BUILTINS}


def check_template(template: PromptTemplate) -> None:
    """PromptError saying what is wrong with a template before it is saved."""
    if not _NAME.fullmatch(template.name):
        raise PromptError(f"“{template.name}” cannot be a template's name: use lower-case "
                          "letters, digits, - and _ (at most 40), like “translate”.")  # fmt: skip
    if not template.prompt.strip():
        raise PromptError(f"/{template.name} needs a prompt.")
    try:
        references(template.prompt)
    except TemplateError as exc:
        raise PromptError(f"The prompt of /{template.name} {exc}.") from exc
    if any("." in v for v in template.variables):
        raise PromptError(f"The prompt of /{template.name} names a variable with a dot; "
                          "use plain names like {{language}}.")  # fmt: skip


class PromptLibrary:
    """The templates in ``path`` over the built-ins (read on each call: a few lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _saved(self) -> list[PromptTemplate]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [PromptTemplate(str(t["name"]), str(t.get("description", "")),
                                   str(t["prompt"])) for t in data.get("prompts", [])]  # fmt: skip
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PromptError(f"The prompt library {self.path} cannot be read ({exc}); fix or "
                              "remove the file to start from the built-ins.") from exc  # fmt: skip

    def templates(self) -> list[PromptTemplate]:
        """Built-ins first (as edited), then the user's, by name."""
        saved = {t.name: t for t in self._saved()}
        builtins = [saved.pop(t.name, t) for t in BUILTINS]
        return builtins + sorted(saved.values(), key=lambda t: t.name)

    def get(self, name: str) -> PromptTemplate | None:
        return next((t for t in self.templates() if t.name == name), None)

    def is_builtin(self, name: str) -> bool:
        return name in _BUILTIN_NAMES

    def save(self, template: PromptTemplate, replaces: str | None = None) -> None:
        """Add ``template``, or put it in the place of ``replaces`` (its old name)."""
        check_template(template)
        saved = [t for t in self._saved() if t.name not in (template.name, replaces)]
        if template.name != replaces and self.get(template.name) is not None:
            raise PromptError(f"There is already a template /{template.name}; choose another "
                              "name or edit that one.")  # fmt: skip
        self._write([*saved, template])

    def delete(self, name: str) -> None:
        """Remove a saved template; a built-in gets its original prompt back."""
        self._write([t for t in self._saved() if t.name != name])

    def _write(self, templates: list[PromptTemplate]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "prompts": [asdict(t) for t in templates]},
                          indent=2, ensure_ascii=False)  # fmt: skip
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text + "\n", encoding="utf-8")
        temporary.replace(self.path)

    def unknown(self, name: str) -> str:
        """What the chat says for a /name that is no template."""
        known = ", ".join(f"/{t.name}" for t in self.templates())
        return (f"There is no prompt template /{name}. The prompt library has: {known} "
                "(Tools → Prompt library… adds and edits them).")  # fmt: skip


def parse_command(message: str) -> tuple[str, str] | None:
    """("name", the rest) of a message starting with "/name"; None for any other message."""
    match = _COMMAND.match(message.strip())
    if match is None:
        return None
    return match.group(1).lower(), message.strip()[match.end() :]


def fill(template: PromptTemplate, rest: str, last_answer: str | None) -> str:
    """The prompt with its variables filled from the message's ``rest`` (see the module's
    docstring); PromptError naming a variable left without a value."""
    first, newline, later = rest.partition("\n")
    wanted = [v for v in template.variables if v != TEXT]
    values: dict[str, str] = {}
    if wanted:
        lexer = shlex.shlex(first, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        for name in wanted:
            try:
                word = lexer.get_token()
            except ValueError as exc:  # an unclosed quote
                raise PromptError(f"/{template.name}: {exc}; close the quote.") from exc
            if not word:
                raise PromptError(f"/{template.name} needs {{{{{name}}}}}: write "
                                  f"{template.usage()}.")  # fmt: skip
            values[name] = word
        first = lexer.instream.read()
    text = (first + newline + later).strip()
    if TEXT in template.variables:
        if not text:
            if not last_answer:
                raise PromptError(f"/{template.name} needs a text: write it after the command "
                                  f"({template.usage()}), or ask something first to use the "
                                  "answer.")  # fmt: skip
            text = last_answer
        values[TEXT] = text
    return render(template.prompt, values)
