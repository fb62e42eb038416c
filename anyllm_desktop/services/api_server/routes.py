"""The Starlette app: OpenAI's routes and error shape, the key checked on every request, and
one log line per request (method, path, model, status, ms, tokens) — never its text or key."""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.services.api_server.auth import authorized
from anyllm_desktop.services.api_server.engine import Engine, EngineError, Reply
from anyllm_desktop.services.api_server.model_queue import QueueClosedError, RequestQueue
from anyllm_desktop.services.api_server.validation import (
    ChatRequest,
    RequestError,
    chat_request,
    embedding_request,
)

log = logging.getLogger("anyllm.api")


def error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return JSONResponse(body, status_code=status)


def _log(request: Request, started: float, status: int, model: str = "",
         usage: tuple[int, int] = (0, 0)) -> None:  # fmt: skip
    log.info(
        "%s %s model=%s status=%d ms=%d prompt_tokens=%d completion_tokens=%d",
        request.method, request.url.path, model or "-", status,
        (time.perf_counter() - started) * 1000, *usage,
    )  # fmt: skip


def _chunk(ident: str, model: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:  # fmt: skip
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [choice], **extra}  # fmt: skip
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _usage(reply: Reply) -> dict[str, int]:
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens}  # fmt: skip


def _extras(reply: Reply) -> dict[str, Any]:
    return {"citations": reply.citations, "evidence": reply.evidence}


def _reply(engine: Engine, request: ChatRequest) -> Reply:
    """A whole answer: the Reply that ends the chat's pieces."""
    return next(p for p in engine.chat(request, CancelToken()) if isinstance(p, Reply))


def build_app(requests: RequestQueue[Engine], key: str) -> Starlette:
    """The app over ``requests`` (the one queue to the library and model), guarded by ``key``."""

    def refused(request: Request, started: float) -> Response | None:
        if authorized(request.headers.get("authorization"), key):
            return None
        _log(request, started, 401)
        return error(401, "Missing or wrong API key: send 'Authorization: Bearer KEY' with the "
                     "key `anyllm serve` printed (a new one: `anyllm serve --rotate-key`).",
                     "invalid_api_key")  # fmt: skip

    def failed(request: Request, started: float, exc: Exception, model: str) -> JSONResponse:
        if isinstance(exc, RequestError):
            _log(request, started, 400, model)
            return error(400, exc.message, "invalid_request_error", exc.param)
        if isinstance(exc, EngineError):
            _log(request, started, exc.status, model)
            return error(exc.status, exc.message, exc.kind)
        if isinstance(exc, QueueClosedError):
            _log(request, started, 503, model)
            return error(503, "The API server is shutting down; try again.", "server_error")
        log.exception("request failed")
        _log(request, started, 500, model)
        return error(500, f"The server failed: {exc}", "server_error")

    async def models(request: Request) -> Response:
        started = time.perf_counter()
        if (response := refused(request, started)) is not None:
            return response
        rows = await run_in_threadpool(requests.run, lambda engine: engine.models())
        _log(request, started, 200)
        return JSONResponse({"object": "list", "data": rows})

    async def embeddings(request: Request) -> Response:
        started = time.perf_counter()
        if (response := refused(request, started)) is not None:
            return response
        model = ""
        try:
            parsed = embedding_request(await request.body())
            model = parsed.model
            body = await run_in_threadpool(requests.run, lambda engine: engine.embed(parsed))
        except Exception as exc:
            return failed(request, started, exc, model)
        _log(request, started, 200, model, (body["usage"]["prompt_tokens"], 0))
        return JSONResponse(body)

    def streamed(request: Request, started: float, parsed: ChatRequest,
                 pieces: Iterator[Any], cancel: CancelToken) -> Iterator[str]:  # fmt: skip
        """SSE chunks; a client that leaves early (this generator closed) stops its answer."""
        ident, status, usage = f"chatcmpl-{uuid.uuid4().hex}", 200, (0, 0)
        try:
            yield _chunk(ident, parsed.model, {"role": "assistant", "content": ""})
            for piece in pieces:
                if isinstance(piece, Reply):
                    usage = (piece.prompt_tokens, piece.completion_tokens)
                    yield _chunk(ident, parsed.model, {}, piece.finish_reason,
                                 usage=_usage(piece), **_extras(piece))  # fmt: skip
                else:
                    yield _chunk(ident, parsed.model, {"content": piece})
        except GeneratorExit:
            cancel.cancel()
            status = 499  # the client closed the request
            raise
        except Exception as exc:  # the headers are sent: the error travels as an event
            status = exc.status if isinstance(exc, EngineError) else 500
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            yield f"data: {json.dumps({'error': {'message': message, 'type': 'server_error'}})}\n\n"
        finally:
            _log(request, started, status, parsed.model, usage)
        yield "data: [DONE]\n\n"

    async def chat(request: Request) -> Response:
        started = time.perf_counter()
        if (response := refused(request, started)) is not None:
            return response
        model = ""
        try:
            parsed = chat_request(await request.body())
            model = parsed.model
            if parsed.stream:
                cancel = CancelToken()  # set when the client leaves before the end
                pieces = requests.stream(lambda engine: engine.chat(parsed, cancel))
                # The first piece before the headers: a request that fails at once (no such
                # model) is answered with its status, not with an error inside a 200 stream.
                first = await run_in_threadpool(next, pieces)
                pieces = itertools.chain([first], pieces)
                return StreamingResponse(streamed(request, started, parsed, pieces, cancel),
                                         media_type="text/event-stream")  # fmt: skip
            reply = await run_in_threadpool(requests.run, lambda engine: _reply(engine, parsed))
        except Exception as exc:
            return failed(request, started, exc, model)
        _log(request, started, 200, model, (reply.prompt_tokens, reply.completion_tokens))
        message = {"role": "assistant", "content": reply.text}
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": _usage(reply), **_extras(reply),
        })  # fmt: skip

    async def not_found(request: Request) -> Response:
        return error(404, f"There is no route {request.url.path}; this server offers "
                     "/v1/models, /v1/chat/completions and /v1/embeddings.",
                     "invalid_request_error")  # fmt: skip

    return Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/{path:path}", not_found, methods=["GET", "POST"]),
        ]
    )
