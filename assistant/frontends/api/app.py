"""The API's routes over the shared service: they validate, queue and translate; the answer chain does the
work, exactly as for the Gradio chat (same history format, same grounding check)."""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answer import Answer
from assistant.core.errors import InputError, check_text
from assistant.frontends.api.queue import AnswerQueue
from assistant.frontends.api.schema import (
    AnswerFields,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    Delta,
    ErrorBody,
    ErrorResponse,
    ModelCard,
    ModelList,
    SavedConversation,
    Usage,
)
from assistant.frontends.web.app import queue_concurrency
from assistant.frontends.web.render import unlink_citations
from assistant.services.database import LOCAL_USER
from assistant.services.yunying import Yunying

log = logging.getLogger("yunying.api")

MODEL_ID = "yunying"
CONVERSATION_HEADER = "X-Yunying-Conversation"  # names the saved conversation a request belongs to
QUEUE_POSITION_HEADER = "X-Yunying-Queue-Position"  # where a request without a stream stood in line
STARTED = int(time.time())
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class ApiError(Exception):
    """An error the client gets as OpenAI does: an HTTP status and {"error": {message, type, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorResponse(error=ErrorBody(message=message, type=kind, param=param, code=code))

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body.model_dump(), status_code=self.status, headers=headers)


def split_messages(messages: Sequence[ChatMessage], max_chars: int) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the earlier user/assistant turns as the chain's history.
    System messages are ignored: Yunying answers with its own fixed prompt, from its sources only."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not any(m.role == "user" for m in turns):
        raise ApiError(400, "messages holds no user message", code="no_user_message", param="messages")
    if turns[-1].role != "user":
        raise ApiError(
            400, "the last user or assistant message must be the user's question", param="messages"
        )
    question = turns[-1].text()
    try:
        question = check_text(question, what="question", limit=max_chars, setting="MAX_QUESTION_CHARS")
    except InputError as exc:
        code = "context_length_exceeded" if question.strip() else "empty_content"
        raise ApiError(400, str(exc), code=code, param="messages") from exc
    history = [
        {"role": m.role, "content": unlink_citations(m.text())} for m in turns[:-1] if m.text().strip()
    ]
    return question, history


def _sse(payload: Any) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class ChatCompletions:
    """`POST /v1/chat/completions`. Answers run `queue_concurrency` at a time (one with the local model,
    which serves one request at a time): the others wait their turn, first come first served, instead of
    being refused, and a streamed request is told its place in line (`queue_position`). They wait on the
    event loop, so a waiting request holds no worker thread (the threads are shared with the Gradio app's
    queue)."""

    def __init__(self, service: Yunying) -> None:
        self.service = service
        self.queue = AnswerQueue(queue_concurrency(service.settings))

    async def __call__(self, body: ChatCompletionRequest, conversation_header: str | None = None) -> Any:
        if body.model != MODEL_ID:
            raise ApiError(
                400, f"the model {body.model!r} does not exist; use {MODEL_ID!r}", code="model_not_found",
                param="model",
            )  # fmt: skip
        question, history = split_messages(body.messages, self.service.settings.max_question_chars)
        saved = await run_in_threadpool(self.conversation, body, conversation_header)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        headers = {CONVERSATION_HEADER: saved.id} if saved else {}
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            events = self.stream(question, history, completion_id, include_usage, saved)
            headers["Cache-Control"] = "no-cache"
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        async with self.queue.turn() as turn:
            try:
                answer = await run_in_threadpool(self.service.ask, question, **self.turn_of(history, saved))
            except Exception as exc:
                raise self.failure(exc) from exc
        headers[QUEUE_POSITION_HEADER] = str(turn.joined_at)
        completion = ChatCompletion(
            id=completion_id,
            created=int(time.time()),
            model=MODEL_ID,
            choices=[Choice(message=AssistantMessage(content=answer.answer))],
            usage=Usage.of(answer),
            queue_position=turn.joined_at,
            **AnswerFields.of(answer),
            **({"conversation_id": saved.id} if saved else {}),
        )
        return JSONResponse(completion.model_dump(), headers=headers)

    def conversation(self, body: ChatCompletionRequest, header: str | None) -> SavedConversation | None:
        """The saved conversation the request belongs to (docs/api.md): `X-Yunying-Conversation` or
        `metadata.conversation_id`, owned by the request's `user` (the local user when none is given);
        `new` starts one. None when the request names none: nothing is saved."""
        wanted = (header or "").strip() or str((body.metadata or {}).get("conversation_id") or "").strip()
        if not wanted:
            return None
        user = (body.user or "").strip() or LOCAL_USER
        conversations = self.service.conversations
        if wanted == "new":
            return SavedConversation(id=conversations.create(user).id, user=user)
        try:
            conversations.summary(wanted, user)
        except KeyError:
            raise ApiError(
                404, f"no saved conversation {wanted!r} for this user; send 'new' to start one",
                code="conversation_not_found", param=CONVERSATION_HEADER,
            ) from None  # fmt: skip
        return SavedConversation(id=wanted, user=user)

    @staticmethod
    def turn_of(history: list[dict[str, str]], saved: SavedConversation | None) -> dict[str, Any]:
        """The service's keyword arguments: a saved conversation's own turns are the history when the
        request sends only the question, and the answer is saved to it."""
        if saved is None:
            return {"history": history}
        return {"history": history or None, "conversation_id": saved.id, "user": saved.user}

    def answer_events(
        self, question: str, history: list[dict[str, str]], saved: SavedConversation | None = None
    ) -> Iterator[str | Answer]:
        yield from self.service.stream_answer(question, **self.turn_of(history, saved))

    def failure(self, exc: Exception) -> ApiError:
        """The chain failed (the model server is down, ...): a 502 with one redacted line, never a trace."""
        log.exception("answer failed")
        text = self.service.settings.redact(" ".join(str(exc).split()) or exc.__class__.__name__)[:300]
        return ApiError(502, f"the answer failed: {text}", kind="server_error", code="answer_failed")

    async def stream(
        self,
        question: str,
        history: list[dict[str, str]],
        completion_id: str,
        include_usage: bool,
        saved: SavedConversation | None = None,
    ) -> AsyncIterator[str]:
        """The answer's text as it is produced, then a last chunk with the citations and `answer`, the
        checked text. With an LLM the streamed draft can hold sentences the grounding check then removes
        (listed in `unsupported_sentences`); `answer` is what a client should keep.

        The first chunk (the role) carries `queue_position`: 0 when the answer starts at once, else the
        request's place in line (1 = next). While it waits, a content-less chunk brings each new position,
        down to 0 when its turn comes."""

        def chunk(delta: Delta, finish: bool = False, **extra: Any) -> str:
            choice = ChunkChoice(delta=delta, finish_reason="stop" if finish else None)
            event = ChatCompletionChunk(
                id=completion_id, created=int(time.time()), model=MODEL_ID, choices=[choice], **extra
            )
            return _sse(event.model_dump(exclude_none=True))

        turn = self.queue.join()
        streamed, final = "", None
        try:
            yield chunk(Delta(role="assistant", content=""), queue_position=turn.position)  # accepted
            async for position in turn.moves():
                yield chunk(Delta(), queue_position=position)
            try:
                async for event in iterate_in_threadpool(self.answer_events(question, history, saved)):
                    if isinstance(event, Answer):
                        final = event
                    elif event:
                        streamed += event
                        yield chunk(Delta(content=event))
            except Exception as exc:
                yield _sse(self.failure(exc).body.model_dump())
                yield "data: [DONE]\n\n"
                return
        finally:
            turn.done()  # answered, failed, or the client went away while it waited
        assert final is not None
        rest = final.answer[len(streamed) :] if final.answer.startswith(streamed) else ""
        extra = {"conversation_id": saved.id} if saved else {}
        yield chunk(
            Delta(content=rest or None), finish=True, answer=final.answer, **AnswerFields.of(final), **extra
        )
        if include_usage:
            usage = ChatCompletionChunk(
                id=completion_id, created=int(time.time()), model=MODEL_ID, choices=[], usage=Usage.of(final)
            )
            yield _sse(usage.model_dump(exclude_none=True))
        yield "data: [DONE]\n\n"


def key_check(api_keys: Sequence[str]) -> Any:
    """A dependency: with keys configured, every request needs `Authorization: Bearer <one of them>`."""
    expected = [key.encode() for key in api_keys]

    def require_key(request: Request) -> None:
        if not expected:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        # compare with every key, always: how long a check takes must not tell which key nearly matched
        matches = [hmac.compare_digest(given, key) for key in expected]
        if scheme.lower() != "bearer" or not any(matches):
            raise ApiError(
                401,
                "missing or invalid API key: send the header Authorization: Bearer <key>",
                code="invalid_api_key",
            )

    return require_key


def install_error_handlers(app: FastAPI) -> None:
    """Every error in the OpenAI shape; a malformed body is a 400 (FastAPI's default would be a 422)."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid")
        return ApiError(400, f"invalid request body: {message}", param=where or None).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return ApiError(exc.status_code, str(exc.detail), kind=kind).response()


def create_api(service: Yunying, api_keys: Sequence[str] | None = None) -> FastAPI:
    """A FastAPI app with the `/v1` routes; `api_keys` empty or None: open (loopback only, see `serve`)."""
    app = FastAPI(title="Yunying API", docs_url=None, redoc_url=None, openapi_url="/v1/openapi.json")
    install_error_handlers(app)
    guard = [Depends(key_check(list(api_keys or [])))]
    completions = ChatCompletions(service)
    app.state.answer_queue = completions.queue  # its status() is what a monitor (or a test) reads

    @app.get("/v1/models", dependencies=guard)
    def list_models() -> ModelList:
        return ModelList(data=[ModelCard(id=MODEL_ID, created=STARTED)])

    @app.post("/v1/chat/completions", dependencies=guard, response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        return await completions(body, request.headers.get(CONVERSATION_HEADER))

    # anything else under /v1 is answered here in OpenAI's form, not by the Gradio app mounted at /
    @app.api_route("/v1/{rest:path}", methods=[*METHODS], dependencies=guard, include_in_schema=False)
    def unknown_route(rest: str, request: Request) -> None:
        raise ApiError(
            404,
            f"no route {request.method} /v1/{rest}: this API serves GET /v1/models and POST "
            "/v1/chat/completions",
            code="unknown_url",
        )

    return app
