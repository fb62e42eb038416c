"""Greedy decoding under a grammar, the likeliest token checked first, gives the tokens that
llama-cpp-python's sampler chain gives (the grammar applied to the whole vocabulary), with the
real embedded model: JSON under a schema's grammar, a label grammar, the max_tokens cut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Token
from anyllm_desktop.models.embedded import smollm2_chat
from anyllm_desktop.providers import llama_local
from anyllm_desktop.providers.base import Completion, GenerationOptions
from anyllm_desktop.providers.llama_constrained import greedy_constrained
from anyllm_desktop.providers.llama_local import LocalLlamaProvider, json_schema_grammar
from anyllm_desktop.services.workflows.steps import label_grammar

pytestmark = pytest.mark.e2e

SCHEMA = {
    "type": "object",
    "properties": {
        "customer": {"type": "string", "maxLength": 30},
        "product": {"type": "string", "maxLength": 30},
        "amount": {"type": "number"},
    },
}
TEXTS = [
    "Hello, this is Mei Chen about my coffee grinder. It stopped working after three days. "
    "I paid 54.90 euros. Regards, Mei Chen",
    "Review of the rain jacket by Jonas Keller: dry in a storm, and only 89 euros. Über gut!",
]


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalLlamaProvider]:
    model = LocalLlamaProvider(smollm2_chat().files[0].path, context_size=2048)
    model.load()
    yield model
    model.unload()


def _answer(provider: LocalLlamaProvider, messages: list[ChatMessage],
            options: GenerationOptions) -> tuple[Completion, str]:  # fmt: skip
    streamed, done = "", None
    for event in provider.stream(messages, options, CancelToken()):
        if isinstance(event, Token):
            streamed += event.text
        elif isinstance(event, Done):
            done = event.result
    assert isinstance(done, Completion)
    return done, streamed


def _sampler_chain(provider: LocalLlamaProvider, messages: list[ChatMessage],
                   grammar: str, max_tokens: int) -> str:  # fmt: skip
    """The same answer through llama-cpp-python's own sampling (the grammar on every token)."""
    from llama_cpp import LlamaGrammar

    llama = provider._llama
    tokens, stop = provider._format(messages)
    llama.reset()
    rules = LlamaGrammar.from_string(grammar, verbose=False)
    out = llama.create_completion(prompt=tokens, temperature=0.0, repeat_penalty=1.0,
                                  max_tokens=max_tokens, stop=stop, grammar=rules)  # fmt: skip
    return str(out["choices"][0]["text"])  # type: ignore[index]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("kind", ["json", "labels", "cut"])
def test_the_same_answer_as_the_sampler_chain(provider: LocalLlamaProvider, text: str,
                                              kind: str, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:  # fmt: skip
    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return greedy_constrained(*args)

    monkeypatch.setattr(llama_local, "greedy_constrained", counted)
    if kind == "labels":
        grammar, task = label_grammar(("positive", "neutral", "negative")), "The sentiment?"
    else:
        grammar, task = json_schema_grammar(SCHEMA), "Customer, product and amount as JSON."
    max_tokens = 6 if kind == "cut" else 64
    messages = [ChatMessage("system", "You answer briefly."),
                ChatMessage("user", f"{task}\n\nText:\n{text}")]  # fmt: skip
    options = GenerationOptions(temperature=0.0, repeat_penalty=1.0, max_tokens=max_tokens,
                                grammar=grammar)  # fmt: skip
    done, streamed = _answer(provider, messages, options)
    assert calls == [1]  # the answer came from greedy_constrained, not the sampler chain
    assert done.text == streamed == _sampler_chain(provider, messages, grammar, max_tokens)
    assert done.finish_reason == ("length" if kind == "cut" else "stop")
    if kind == "cut":
        assert done.completion_tokens == max_tokens
    elif kind == "labels":
        assert done.text in {"positive", "neutral", "negative"}


def test_cancel_stops_the_constrained_answer(provider: LocalLlamaProvider) -> None:
    cancel = CancelToken()
    options = GenerationOptions(temperature=0.0, repeat_penalty=1.0, max_tokens=64,
                                grammar=json_schema_grammar(SCHEMA))  # fmt: skip
    messages = [ChatMessage("user", f"As JSON:\n{TEXTS[0]}")]
    tokens = 0
    for event in provider.stream(messages, options, cancel):
        if isinstance(event, Token):
            tokens += 1
            cancel.cancel()
        elif isinstance(event, Done):
            assert event.result.stopped
    assert tokens == 1
