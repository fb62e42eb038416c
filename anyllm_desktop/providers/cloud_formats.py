"""The three wire formats: OpenAI-compatible chat completions (OpenAI, Azure OpenAI, Ollama,
LM Studio, vLLM, llama.cpp server, OpenRouter, Groq, Mistral, Together, DeepSeek), Anthropic
Messages, and Google Gemini ``streamGenerateContent``. Each builds a streaming request and reads
one server-sent event.

A JSON schema in the options (a workflow's extract or classify step) becomes each API's own
structured output: OpenAI-compatible ``response_format`` (strict ``json_schema``), Gemini
``responseMimeType``/``responseSchema``, and for Anthropic, which has no JSON mode, one tool whose
``input_schema`` is the schema and which the model is made to call (``tool_choice``); its
arguments stream as the answer. A forced tool rather than a prefilled ``{``: the prefill only
starts a JSON text, the tool call is held to the schema's fields, types and enums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.providers.cloud_http import (
    Chunk,
    CloudChatProvider,
    ProviderError,
    bearer_headers,
)

_FINISH = {"stop": "stop", "length": "length", "end_turn": "stop", "max_tokens": "length",
           "STOP": "stop", "MAX_TOKENS": "length", "stop_sequence": "stop",
           "tool_use": "stop"}  # fmt: skip

#: What OpenAI's strict structured output accepts; it refuses a schema with others (HTTP 400).
_OPENAI_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
    "description", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
})  # fmt: skip
#: Gemini's ``Schema`` (a subset of OpenAPI's): the keywords it reads.
_GEMINI_KEYWORDS = frozenset({
    "type", "format", "description", "nullable", "enum", "properties", "required", "items",
    "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "anyOf",
})  # fmt: skip
#: The one tool an Anthropic model is made to call when the answer has a schema.
ANSWER_TOOL = "answer"


def _sub_schemas(schema: Mapping[str, Any], convert: Any) -> dict[str, Any]:
    """The nested parts of ``schema`` converted by ``convert``."""
    out: dict[str, Any] = {}
    if isinstance(schema.get("properties"), Mapping):
        out["properties"] = {k: convert(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), Mapping):
        out["items"] = convert(schema["items"])
    if isinstance(schema.get("anyOf"), list):
        out["anyOf"] = [convert(v) for v in schema["anyOf"]]
    return out


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as OpenAI's strict mode wants it: every object closed and all its fields
    required (the step reads every field anyway), keywords it refuses (``maxLength``) left out."""
    out = {k: v for k, v in schema.items() if k in _OPENAI_KEYWORDS}
    out.update(_sub_schemas(schema, strict_schema))
    if out.get("type") == "object":
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as Gemini's ``responseSchema``: its keywords only, types in capitals, the
    fields in the schema's order (``propertyOrdering``; Gemini sorts them otherwise)."""
    out = {k: v for k, v in schema.items() if k in _GEMINI_KEYWORDS}
    out.update(_sub_schemas(schema, gemini_schema))
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].upper()
    if "properties" in out:
        out["propertyOrdering"] = list(out["properties"])
    return out


def _data_ids(body: dict[str, Any]) -> list[str]:
    """Model ids from an OpenAI- or Anthropic-style list: ``{"data": [{"id": ...}]}``."""
    return [str(m["id"]) for m in body.get("data") or [] if "id" in m]


def _system_text(messages: Sequence[ChatMessage]) -> str:
    """The system messages as one text, for APIs that take the system prompt apart."""
    return "\n\n".join(m.content for m in messages if m.role == "system")


class OpenAICompatibleProvider(CloudChatProvider):
    name = "openai-compatible"

    def request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        headers = bearer_headers(self.endpoint)
        body = {
            "model": self.endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            body["seed"] = options.seed
        if options.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": ANSWER_TOOL, "schema": strict_schema(options.json_schema),
                                "strict": True},
            }  # fmt: skip
        return f"{self.endpoint.base_url.rstrip('/')}/chat/completions", headers, body

    def models_request(self) -> tuple[str, dict[str, str]]:
        url, headers, _ = self.request([], GenerationOptions())
        return url.replace("/chat/completions", "/models", 1), headers

    def read_models(self, body: dict[str, Any]) -> list[str]:
        return _data_ids(body)

    def read(self, event: dict[str, Any]) -> Chunk:
        chunk = Chunk()
        for choice in event.get("choices") or []:
            chunk.text += (choice.get("delta") or {}).get("content") or ""
            if choice.get("finish_reason"):
                chunk.finish_reason = _FINISH.get(choice["finish_reason"], "stop")
        usage = event.get("usage") or {}
        chunk.prompt_tokens = usage.get("prompt_tokens")
        chunk.completion_tokens = usage.get("completion_tokens")
        return chunk


class AzureOpenAIProvider(OpenAICompatibleProvider):
    """Azure OpenAI: ``base_url`` is the deployment's URL
    (``https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT``); the key goes in
    ``api-key``."""

    name = "azure-openai"
    api_version = "2024-10-21"

    def request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        url, _, body = super().request(messages, options)
        return f"{url}?api-version={self.api_version}", {"api-key": self.endpoint.api_key}, body


class AnthropicProvider(CloudChatProvider):
    name = "anthropic"

    def request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        system = _system_text(messages)
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [
                {"role": m.role, "content": m.content} for m in messages if m.role != "system"
            ],
            "max_tokens": options.max_tokens,
            "temperature": min(options.temperature, 1.0),
            "stream": True,
        }
        if system:
            body["system"] = system
        if options.json_schema is not None:
            body["tools"] = [{"name": ANSWER_TOOL, "description": "Give the answer.",
                              "input_schema": dict(options.json_schema)}]  # fmt: skip
            body["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        headers = {"x-api-key": self.endpoint.api_key, "anthropic-version": "2023-06-01"}
        return f"{self.endpoint.base_url.rstrip('/')}/v1/messages", headers, body

    def models_request(self) -> tuple[str, dict[str, str]]:
        url, headers, _ = self.request([], GenerationOptions())
        return url.replace("/v1/messages", "/v1/models", 1), headers

    def read_models(self, body: dict[str, Any]) -> list[str]:
        return _data_ids(body)

    def read(self, event: dict[str, Any]) -> Chunk:
        kind = event.get("type")
        if kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            return Chunk(prompt_tokens=usage.get("input_tokens"))
        if kind == "content_block_delta":  # text, or the forced tool call's JSON arguments
            delta = event.get("delta") or {}
            return Chunk(text=delta.get("text") or delta.get("partial_json") or "")
        if kind == "message_delta":
            reason = (event.get("delta") or {}).get("stop_reason")
            usage = event.get("usage") or {}
            return Chunk(completion_tokens=usage.get("output_tokens"),
                         finish_reason=_FINISH.get(reason or ""))  # fmt: skip
        if kind == "message_stop":
            return Chunk(done=True)
        if kind == "ping":
            return Chunk(keepalive=True)
        if kind == "error":
            message = (event.get("error") or {}).get("message", "unknown error")
            raise ProviderError(f"{self.endpoint.label} stopped with an error: {message}")
        return Chunk()


class GeminiProvider(CloudChatProvider):
    name = "gemini"

    def request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        system = _system_text(messages)
        body: dict[str, Any] = {
            "contents": [
                {
                    "role": "model" if m.role == "assistant" else "user",
                    "parts": [{"text": m.content}],
                }
                for m in messages
                if m.role != "system"
            ],
            "generationConfig": {
                "temperature": options.temperature,
                "topP": options.top_p,
                "maxOutputTokens": options.max_tokens,
            },
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if options.json_schema is not None:
            body["generationConfig"]["responseMimeType"] = "application/json"
            body["generationConfig"]["responseSchema"] = gemini_schema(options.json_schema)
        base = self.endpoint.base_url.rstrip("/")
        url = f"{base}/v1beta/models/{self.endpoint.model}:streamGenerateContent?alt=sse"
        return url, {"x-goog-api-key": self.endpoint.api_key}, body

    def models_request(self) -> tuple[str, dict[str, str]]:
        base = self.endpoint.base_url.rstrip("/")
        return f"{base}/v1beta/models", {"x-goog-api-key": self.endpoint.api_key}

    def read_models(self, body: dict[str, Any]) -> list[str]:
        return [str(m["name"]).removeprefix("models/") for m in body.get("models") or []]

    def read(self, event: dict[str, Any]) -> Chunk:
        chunk = Chunk()
        for candidate in event.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                chunk.text += part.get("text") or ""
            if candidate.get("finishReason"):
                chunk.finish_reason = _FINISH.get(candidate["finishReason"], "stop")
        usage = event.get("usageMetadata") or {}
        chunk.prompt_tokens = usage.get("promptTokenCount")
        chunk.completion_tokens = usage.get("candidatesTokenCount")
        return chunk
