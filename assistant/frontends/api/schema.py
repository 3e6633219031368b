"""Request and response bodies of the OpenAI chat-completions protocol, as far as Yunying speaks it, plus
the fields it adds (citations, refused, unsupported_sentences). Unknown request fields (temperature,
max_tokens, ...) are accepted and ignored: the answer chain sets its own."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer import Answer, Citation


class ContentPart(BaseModel):
    """One part of a message's content list; only text parts carry a question."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str = ""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, description="The end user: who owns a saved conversation.")
    metadata: dict[str, Any] | None = Field(
        default=None, description="`conversation_id`: the saved conversation (as the header does)."
    )


class SavedConversation(BaseModel):
    """The saved conversation a request's turn goes to."""

    id: str
    user: str


class ApiCitation(BaseModel):
    """A numbered source of the answer: `[n]` in the text points at chunk `chunk_id` of document `doc_id`."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    quote: str
    kind: str = ""
    heading: str = ""

    @classmethod
    def of(cls, citation: Citation) -> ApiCitation:
        return cls(**citation.model_dump(include=set(cls.model_fields)))


class AnswerFields(BaseModel):
    """What Yunying adds to a completion (and to the last chunk of a stream)."""

    citations: list[ApiCitation] = Field(default_factory=list)
    refused: bool = False
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Draft sentences the sources do not support: not in the answer."
    )
    notice: str = ""
    nearest_topics: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, answer: Answer) -> dict[str, Any]:
        return cls(
            citations=[ApiCitation.of(c) for c in answer.citations],
            refused=answer.refused,
            unsupported_sentences=answer.unsupported_sentences,
            notice=answer.notice,
            nearest_topics=answer.nearest_topics,
        ).model_dump()


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, answer: Answer) -> Usage:
        """llama.cpp's own counts when the local model answered; zeros otherwise (no tokenizer here)."""
        prompt = int(answer.timings.get("prompt_tokens", 0))
        completion = int(answer.timings.get("completion_tokens", 0))
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class _Completion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class ChatCompletion(AnswerFields, _Completion):
    """A chat.completion object; Yunying's fields follow OpenAI's (pydantic orders the last base first).
    A turn saved to a conversation adds `conversation_id`."""

    model_config = ConfigDict(extra="allow")

    queue_position: int = Field(
        default=0,
        ge=0,
        description="Where the request stood in the answer queue when it arrived: 0 = answered at once, "
        "n = n-th in line (also the X-Yunying-Queue-Position header).",
    )


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event; the last one with choices also carries the AnswerFields and `answer`."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    queue_position: int | None = Field(
        default=None,
        ge=0,
        description="In the first chunk, and in one while the request waits: 0 = being answered, "
        "n = n-th in line.",
    )


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "yunying"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
