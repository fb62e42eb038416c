"""Personal data removal and the rules for what may leave the machine."""

from __future__ import annotations

from pathlib import Path

from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import CONSENT_REQUIRED, LOCAL_ONLY
from anyllm_desktop.core.redaction import Redactions, redact
from anyllm_desktop.core.workspace import ChatSettings, Workspace
from anyllm_desktop.providers.cloud_embeddings import OpenAIEmbedder
from anyllm_desktop.providers.cloud_formats import OpenAICompatibleProvider
from anyllm_desktop.providers.cloud_http import Endpoint
from anyllm_desktop.services.outbound import (
    OutboundLog,
    embedding_consent_text,
    embedding_refusal,
    prepared,
    refusal,
)


def test_personal_data_is_removed_and_counted_but_numbers_that_are_not_stay() -> None:
    found = Redactions()
    text = (
        "Write to jane.doe@example.com or call +49 30 1234567 / (555) 123-4567. "
        "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111. "
        "Python 3.11.7 (2024), pages 12-14, ISBN 978-3-16-148410-0, order 1234567890123, "
        "not a card 4111 1111 1111 1112."
    )
    cleaned = redact(text, found)
    for secret in ("jane.doe", "1234567 ", "123-4567", "DE89", "4111 1111 1111 1111."):
        assert secret not in cleaned
    for kept in ("3.11.7", "2024", "12-14", "978-3-16-148410-0", "1234567890123",
                 "4111 1111 1111 1112"):  # fmt: skip
        assert kept in cleaned
    assert found.summary() == "1 e-mail address, 1 IBAN, 1 card number, 2 phone numbers"


def _workspace(**chat: object) -> Workspace:
    return Workspace(1, "Notes", 0.0, "m", "ws1_v1", chat=ChatSettings(**chat))  # type: ignore[arg-type]


def test_local_only_consent_and_what_leaves(tmp_path: Path) -> None:
    cloud = OpenAICompatibleProvider(Endpoint("Acme", "https://api.acme.test/v1", "m", "k"))
    cloud.name = "acme"
    assert refusal(_workspace(local_only=True), cloud)[1] == LOCAL_ONLY  # type: ignore[index]
    message, code = refusal(_workspace(), cloud)  # type: ignore[misc]
    assert code == CONSENT_REQUIRED and "api.acme.test" in message and "Notes" in message
    assert refusal(_workspace(cloud_consent=("acme",)), cloud) is None

    messages = [ChatMessage("user", "Mail bob@corp.test about it")]
    sent, found = prepared(messages, remove_personal_data=True)
    assert sent[0].content == "Mail [email removed] about it" and found.counts["email"] == 1
    assert prepared(messages, remove_personal_data=False)[0] == messages

    log = OutboundLog(tmp_path)
    log.record(cloud, "Notes", prompt_tokens=10, completion_tokens=3, redactions=found)
    log.record(cloud, "Notes", error="HTTP 500")
    newest, oldest = log.entries()
    assert (oldest["host"], oldest["prompt_tokens"], oldest["redactions"]) == (
        "api.acme.test", 10, {"email": 1}
    )  # fmt: skip
    assert newest["ok"] is False and "k" not in newest.values()


def test_the_cloud_embedding_agreement_says_what_goes_where() -> None:
    embedder = OpenAIEmbedder(Endpoint("Acme", "https://api.acme.test/v1", "emb-1", "k"),
                              name="acme")  # fmt: skip
    text = embedding_consent_text(_workspace(), embedder, 1234)
    assert text.startswith("Embedding “Notes” with emb-1 sends the text of all its 1,234")
    assert "acme (api.acme.test) now" in text and "every question asked in it." in text
    empty = embedding_consent_text(_workspace(redact_personal_data=True), embedder, 0)
    assert "passages" not in empty and "to acme (api.acme.test)." in empty
    assert empty.endswith("Personal data is removed first.")
    assert embedding_refusal(_workspace(), "acme") is None
    assert "locked to local models" in str(embedding_refusal(_workspace(local_only=True), "acme"))
