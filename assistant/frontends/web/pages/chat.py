"""问答 Chat: questions answered through the service with a saved conversation, the source cards of every
turn, thumbs with a comment, and the user's conversations to reopen, rename, delete and export.

What a session has shown lives in its own `ChatSession` (a `gr.State`), never in the process: two users,
or two tabs of one user, do not see each other's answers."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import gradio as gr
from pydantic import BaseModel, Field

from assistant.answer import Answer, Citation
from assistant.frontends.web.pages.base import Labels, Page, user_of
from assistant.frontends.web.render import _text_of, link_citations, unlink_citations
from assistant.frontends.web.render_history import (
    answer_markdown,
    chat_messages,
    conversation_choices,
    conversation_sources_html,
)
from assistant.frontends.web.text import EXAMPLES, HIDDEN, KIND_CHOICES, MODEL_CHOICES, say, tr
from assistant.retrieval import SearchFilters

log = logging.getLogger("yunying.ui")

WAITING = "<div class='source-card'>…</div>"
ExportFormat = Literal["md", "docx"]


class ChatSession(BaseModel):
    """One browser session's chat: the saved conversation it writes to ('' until the first question) and
    the answers it shows, in turn order (turn n's [n] links and cards belong to answers[n - 1])."""

    conversation_id: str = ""
    answers: list[Answer] = Field(default_factory=list)

    def answer_shown_as(self, text: str) -> Answer | None:
        """The answer whose chat message is `text` (what a like event carries)."""
        for turn, answer in enumerate(self.answers, start=1):
            if answer_markdown(answer, turn) == text:
                return answer
        return None


Messages = list[dict[str, Any]]


class ChatPage(Page):
    # ---- answering

    def take_question(self, message: str, history: Messages | None) -> tuple[str, Messages, str]:
        """The question leaves the box and shows in the chat at once, before its answer is queued."""
        question = (message or "").strip()
        history = list(history or [])
        if question:
            history.append({"role": "user", "content": question})
        return "", history, question

    def take_example(self, history: Messages | None, evt: gr.SelectData) -> tuple[Messages, str]:
        value = evt.value if isinstance(evt.value, dict) else {}
        _, history, question = self.take_question(str(value.get("text", "")), history)
        return history, question

    def respond(
        self,
        question: str,
        history: Messages | None,
        session: ChatSession,
        kind: str,
        model: str,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Messages, str, ChatSession]]:
        """Stream the answer into the chat (history, sources panel, session); the turn is saved in the
        session's conversation, which the first question creates."""
        history = list(history or [])
        session = session or ChatSession()
        if not (question or "").strip():
            yield history, gr.skip(), session
            return
        user = user_of(request)
        try:
            current = self._session_for(session, user)
            if current is not session:  # a new conversation: the chat shows only its own turns
                history = history[-1:]
            session = current
            turn = len(session.answers) + 1
            earlier = conversation_sources_html(session.answers)
            filters = SearchFilters(kind=kind or None, models=[model] if model else [])  # type: ignore[arg-type]
            streamed = ""
            events = self.service.stream_answer(
                question, None, filters=filters, conversation_id=session.conversation_id, user=user
            )
            for event in events:
                if isinstance(event, Answer):
                    session = ChatSession(
                        conversation_id=session.conversation_id, answers=[*session.answers, event]
                    )
                    reply = {"role": "assistant", "content": answer_markdown(event, turn)}
                    sources = conversation_sources_html(session.answers, self.full_documents(event.citations))
                    yield [*history, reply], sources, session
                else:
                    streamed += event
                    partial = {"role": "assistant", "content": link_citations(streamed, turn)}
                    yield [*history, partial], WAITING + earlier, session
        except Exception as exc:  # the UI must never crash; the log keeps the details
            log.exception("answer failed")
            failed = {"role": "assistant", "content": f"出错了 / Something went wrong: {self.short(exc)}"}
            yield [*history, failed], gr.skip(), session

    def chat(
        self, message: str, session: ChatSession, kind: str, model: str, request: gr.Request | None = None
    ) -> tuple[str, str, ChatSession]:
        """The app's /chat API: (the answer with its [n] links, the source cards) of one question, saved in
        the caller's session's conversation like a question typed in the page."""
        _, history, question = self.take_question(message, [])
        if not question:
            return "请输入问题。Please type a question.", "", session
        *_, (messages, sources, session) = self.respond(question, history, session, kind, model, request)
        return _text_of(messages[-1]["content"]), sources if isinstance(sources, str) else "", session

    def _session_for(self, session: ChatSession, user: str) -> ChatSession:
        """The session itself while its conversation exists; else a session over a new conversation (the
        first question, or the conversation was deleted meanwhile, e.g. from another tab)."""
        if session.conversation_id:
            try:
                self.service.conversations.summary(session.conversation_id, user)
                return session
            except KeyError:
                log.info("conversation %s is gone; starting a new one", session.conversation_id)
        return ChatSession(conversation_id=self.service.conversations.create(user).id)

    def full_documents(self, citations: list[Citation]) -> dict[str, str]:
        bodies = {}
        for doc_id in dict.fromkeys(c.doc_id for c in citations if not c.deleted):
            try:
                bodies[doc_id] = self.service.document(doc_id)[1]
            except Exception:  # a card without "open the full document" is still a card
                log.warning("cannot read document %s", doc_id, exc_info=True)
        return bodies

    # ---- feedback

    def on_like(
        self, history: Messages | None, session: ChatSession, lang: str, data: gr.LikeData
    ) -> tuple[Any, Any, Any]:
        """Record a thumb on an answer of this session; returns (pending feedback, comment row, comment)."""
        try:
            if data.liked not in (True, False):  # a thumb taken back, or a custom flag: nothing to record
                return None, gr.update(visible=False), gr.update()
            index = data.index if isinstance(data.index, int) else data.index[0]
            text = _text_of(data.value)
            answer = (session or ChatSession()).answer_shown_as(text)
            question = ""
            for m in reversed((history or [])[:index]):
                if m.get("role") == "user":
                    question = _text_of(m.get("content"))
                    break
            feedback = self.service.record_feedback(
                question=answer.question if answer else question,
                answer=answer.answer if answer else unlink_citations(text),
                liked=bool(data.liked),
                citations=[c.doc_id for c in answer.citations] if answer else [],
                backend=answer.backend if answer else None,
            )
            gr.Info(say("feedback_thanks", lang))
            return feedback.model_dump(), gr.update(visible=True), gr.update(value="")
        except Exception as exc:
            log.exception("feedback failed")
            gr.Warning(say("feedback_failed", lang, error=self.short(exc)))
            return None, gr.update(), gr.update()

    def send_comment(self, pending: dict | None, comment: str, lang: str) -> tuple[Any, Any, Any]:
        if not pending or not (comment or "").strip():
            return pending, gr.update(visible=False), gr.update(value="")
        try:
            self.service.record_feedback(
                question=pending["question"],
                answer=pending["answer"],
                liked=pending["liked"],
                comment=comment,
                citations=pending.get("citations", []),
                backend=pending.get("backend"),
                feedback_id=pending.get("id"),
            )
            gr.Info(say("feedback_saved", lang))
        except Exception as exc:
            log.exception("feedback comment failed")
            gr.Warning(say("feedback_failed", lang, error=self.short(exc)))
        return None, gr.update(visible=False), gr.update(value="")

    # ---- saved conversations

    def conversation_list(self, session: ChatSession, lang: str, request: gr.Request | None = None) -> Any:
        """The user's conversations, the most recent first, the session's own selected."""
        try:
            summaries = self.service.conversations.list(user_of(request))
        except Exception as exc:
            log.exception("listing conversations failed")
            gr.Warning(self.short(exc))
            return gr.update()
        current = (session or ChatSession()).conversation_id
        known = {s.id for s in summaries}
        return gr.update(
            choices=conversation_choices(summaries, lang), value=current if current in known else None
        )

    def open_conversation(
        self, conversation_id: str | None, session: ChatSession, lang: str, request: gr.Request | None = None
    ) -> tuple[Any, Any, ChatSession, Any, str]:
        """(chat, sources, session, title box, status) of a saved conversation, its [n] links working."""
        if not conversation_id:
            return gr.update(), gr.update(), session, gr.update(), ""
        try:
            conversation = self.service.conversations.get(conversation_id, user_of(request))
        except KeyError:
            gone = say("conv_gone", lang)
            return gr.update(), gr.update(), session, gr.update(), gone
        except Exception as exc:
            log.exception("opening a conversation failed")
            return gr.update(), gr.update(), session, gr.update(), f"⚠ {self.short(exc)}"
        answers = [t.answer for t in conversation.turns]
        documents = self.full_documents(answers[-1].citations) if answers else {}
        opened = ChatSession(conversation_id=conversation.id, answers=answers)
        sources = conversation_sources_html(answers, documents) or tr("sources_hint", lang)
        return chat_messages(answers), sources, opened, conversation.title, ""

    def new_conversation(self, lang: str) -> tuple[Messages, str, ChatSession, str, str]:
        """An empty chat; its conversation is created by its first question."""
        return [], tr("sources_hint", lang), ChatSession(), "", ""

    def rename_conversation(
        self, session: ChatSession, title: str, lang: str, request: gr.Request | None = None
    ) -> str:
        if not (session and session.conversation_id):
            return say("conv_none_yet", lang)
        try:
            renamed = self.service.conversations.rename(
                session.conversation_id, title or "", user_of(request)
            )
        except KeyError:
            return say("conv_gone", lang)
        except ValueError:
            return say("conv_title_empty", lang)
        return say("conv_renamed", lang, title=renamed.title)

    def delete_conversation(
        self, session: ChatSession, lang: str, request: gr.Request | None = None
    ) -> tuple[Any, Any, ChatSession, Any, str]:
        """Delete the session's conversation; the chat starts afresh."""
        if not (session and session.conversation_id):
            status = say("conv_none_yet", lang)
            return gr.update(), gr.update(), session, gr.update(), status
        try:
            deleted = self.service.conversations.delete(session.conversation_id, user_of(request))
        except KeyError:
            deleted = None
        except Exception as exc:
            log.exception("deleting a conversation failed")
            return gr.update(), gr.update(), session, gr.update(), f"⚠ {self.short(exc)}"
        title = deleted.title if deleted else ""
        chat, sources, fresh, box, _ = self.new_conversation(lang)
        return chat, sources, fresh, box, say("conv_deleted", lang, title=title)

    def export_conversation(
        self, session: ChatSession, fmt: ExportFormat, lang: str, request: gr.Request | None = None
    ) -> tuple[Any, str]:
        """(the file to download, status): the conversation as Markdown or Word, references numbered."""
        if not (session and session.conversation_id):
            status = say("conv_none_yet", lang)
            return gr.update(value=None, visible=False), status
        suffix = "docx" if fmt == "docx" else "md"
        folder = Path(tempfile.mkdtemp(prefix="yunying-export-"))  # a place Gradio may serve files from
        target = folder / f"conversation-{session.conversation_id[:8]}.{suffix}"
        try:
            path = self.service.export_conversation(session.conversation_id, target, user_of(request))
        except KeyError:
            return gr.update(value=None, visible=False), say("conv_gone", lang)
        except Exception as exc:
            log.exception("export failed")
            return gr.update(value=None, visible=False), f"⚠ {self.short(exc)}"
        return gr.update(value=str(path), visible=True), say("conv_exported", lang, name=path.name)

    # ---- layout

    def render(self, lang: gr.Radio, labels: Labels) -> tuple[Any, list, list]:
        """The tab; returns (the conversation list's loader, its inputs, its outputs) for the page load."""
        session = gr.State(ChatSession())
        sources = gr.HTML(tr("sources_hint", "zh"), elem_id="sources", render=False)
        with gr.Row():
            with gr.Column(scale=3):
                saved = self._render_conversations(labels)
                chat = self._render_chat(labels)
            with gr.Column(scale=2):
                labels(gr.Markdown(tr("sources", "zh")), "sources", "value")
                sources.render()
        listing = (self.conversation_list, [session, lang], [saved.pick])
        self._wire_chat(chat, session, sources, lang, listing)
        self._wire_conversations(saved, chat.chatbot, session, sources, lang, listing)
        return listing

    def _render_conversations(self, labels: Labels) -> SimpleNamespace:
        """The conversation list with a "new" button, and a fold with rename, delete and export."""
        w = SimpleNamespace()
        with gr.Row(equal_height=True):
            w.pick = labels(
                gr.Dropdown([], value=None, label=tr("conv_list", "zh"), elem_id="conv-list", scale=4),
                "conv_list",
            )
            w.new = labels(
                gr.Button(tr("conv_new", "zh"), elem_id="conv-new", scale=1, size="sm"), "conv_new", "value"
            )
        with gr.Accordion(tr("conv_manage", "zh"), open=False, elem_id="conv-manage") as manage:
            with gr.Row(equal_height=True):
                w.title = labels(
                    gr.Textbox(label=tr("conv_title", "zh"), elem_id="conv-title", scale=3), "conv_title"
                )
                w.rename = labels(
                    gr.Button(tr("conv_rename", "zh"), elem_id="conv-rename", scale=1), "conv_rename", "value"
                )
                w.delete = labels(
                    gr.Button(tr("conv_delete", "zh"), variant="stop", elem_id="conv-delete", scale=1),
                    "conv_delete",
                    "value",
                )
            with gr.Row(equal_height=True):
                w.format = labels(
                    gr.Radio(
                        [("Markdown", "md"), ("Word (DOCX)", "docx")],
                        value="md",
                        label=tr("conv_format", "zh"),
                        elem_id="conv-format",
                        scale=2,
                    ),
                    "conv_format",
                )
                w.export = labels(
                    gr.Button(tr("conv_export", "zh"), elem_id="conv-export", scale=1), "conv_export", "value"
                )
            w.file = gr.File(visible=False, interactive=False, elem_id="conv-file", show_label=False)
        labels(manage, "conv_manage")
        w.status = gr.Markdown(elem_id="conv-status")
        return w

    def _render_chat(self, labels: Labels) -> SimpleNamespace:
        """Filters, the chat, the question box, the comment row a thumb opens, the hidden /chat API."""
        w = SimpleNamespace(asked=gr.State(""), pending=gr.State(None))
        with gr.Row():
            w.kind = labels(gr.Dropdown(KIND_CHOICES, value="", label=tr("kind", "zh"), scale=1), "kind")
            w.model = labels(gr.Dropdown(MODEL_CHOICES, value="", label=tr("model", "zh"), scale=1), "model")
        w.chatbot = labels(
            gr.Chatbot(
                label=tr("chatbot", "zh"),
                height=540,
                elem_id="chatbot",
                buttons=["copy", "copy_all"],
                feedback_options=("Like", "Dislike"),
                examples=[{"text": q, "display_text": f"{label} · {q}"} for label, q in EXAMPLES],
            ),
            "chatbot",
        )
        w.textbox = gr.Textbox(
            placeholder=tr("question_ph", "zh"),
            show_label=False,
            submit_btn=True,
            lines=1,
            elem_id="chat-input",
        )
        labels(w.textbox, "question_ph", "placeholder")
        with gr.Row(visible=False) as w.comment_row:
            w.comment = labels(
                gr.Textbox(label=tr("comment", "zh"), scale=4, elem_id="feedback-comment"), "comment"
            )
            w.send = labels(
                gr.Button(tr("send_comment", "zh"), scale=1, elem_id="feedback-send"), "send_comment", "value"
            )
        # the /chat API (message, kind, model) -> (answer, cards): a hidden button, as gr.ChatInterface does
        w.api_button, w.api_reply, w.api_cards = (
            gr.Button(visible=False),
            gr.Markdown(visible=False),
            gr.HTML(visible=False),
        )
        return w

    def _wire_chat(
        self, w: SimpleNamespace, session: gr.State, sources: gr.HTML, lang: gr.Radio, listing: tuple
    ) -> None:
        answer = {
            "inputs": [w.asked, w.chatbot, session, w.kind, w.model],
            "outputs": [w.chatbot, sources, session],
        }
        asked = [w.textbox, w.chatbot, w.asked]
        w.textbox.submit(
            self.take_question, [w.textbox, w.chatbot], asked, queue=False, api_visibility=HIDDEN
        ).then(self.respond, **answer, api_visibility=HIDDEN).then(*listing, api_visibility=HIDDEN)
        w.chatbot.example_select(
            self.take_example, [w.chatbot], [w.chatbot, w.asked], queue=False, api_visibility=HIDDEN
        ).then(self.respond, **answer, api_visibility=HIDDEN).then(*listing, api_visibility=HIDDEN)
        w.api_button.click(
            self.chat,
            [w.textbox, session, w.kind, w.model],
            [w.api_reply, w.api_cards, session],
            api_name="chat",
        )
        thumbs = [w.pending, w.comment_row, w.comment]
        w.chatbot.like(self.on_like, [w.chatbot, session, lang], thumbs, api_visibility=HIDDEN)
        for trigger in (w.send.click, w.comment.submit):
            trigger(self.send_comment, [w.pending, w.comment, lang], thumbs, api_visibility=HIDDEN)

    def _wire_conversations(
        self,
        w: SimpleNamespace,
        chatbot: gr.Chatbot,
        session: gr.State,
        sources: gr.HTML,
        lang: gr.Radio,
        listing: tuple,
    ) -> None:
        shown = [chatbot, sources, session, w.title, w.status]
        w.pick.input(self.open_conversation, [w.pick, session, lang], shown, api_visibility=HIDDEN)
        for trigger in (w.new.click, chatbot.clear):  # the chat's own clear button starts afresh too
            trigger(self.new_conversation, [lang], shown, api_visibility=HIDDEN).then(
                *listing, api_visibility=HIDDEN
            )
        w.rename.click(
            self.rename_conversation, [session, w.title, lang], w.status, api_visibility=HIDDEN
        ).then(*listing, api_visibility=HIDDEN)
        w.delete.click(self.delete_conversation, [session, lang], shown, api_visibility=HIDDEN).then(
            *listing, api_visibility=HIDDEN
        )
        w.export.click(
            self.export_conversation, [session, w.format, lang], [w.file, w.status], api_visibility=HIDDEN
        )
