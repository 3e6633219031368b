"""The composition root: the one service object every front end shares (they hold no logic of their own).

It applies the process environment once and builds the store, the retriever and the models once,
lazily; the knowledge admin (services.library) and onboarding (services.training) halves are mixins."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.answer import Answer, AnswerChain
from assistant.answer.gate import GateThresholds
from assistant.core.errors import check_text
from assistant.core.schema import Hit
from assistant.core.settings import Settings, apply_offline_env
from assistant.fit import (
    FitAnalysis,
    FitAnalyzer,
    FitInputError,
    SelectionFactors,
    enrich_with_llm,
    llm_profile_spans,
)
from assistant.ingest.pipeline import ingest_files
from assistant.retrieval import HybridRetriever, Mode, SearchFilters
from assistant.services.conversations import Conversations
from assistant.services.database import LOCAL_USER, Database
from assistant.services.feedback import Feedback, append_feedback
from assistant.services.gaps import Gaps
from assistant.services.library import KnowledgeLibrary
from assistant.services.logs import configure_logging
from assistant.services.training import LearningDesk, QuizKind
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import IngestProgress, IngestReport
from assistant.tools.evaluation import ReportView, read_report, run_retrieval_eval

log = logging.getLogger("yunying.service")

__all__ = ["QuizKind", "Yunying"]


class Yunying(KnowledgeLibrary, LearningDesk):
    def __init__(self, settings: Settings | None = None, embedder: Any | None = None) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        configure_logging(self.settings)
        self._embedder = embedder  # another service's loaded model, shared (the eval store)
        self._write_lock = threading.Lock()
        self._eval_lock = threading.Lock()
        self._chat_models: dict[str, Any] = {}
        self._onboarding_lock = threading.Lock()
        self._onboarding: dict[tuple, Any] = {}

    @cached_property
    def index(self) -> KnowledgeIndex:
        return KnowledgeIndex(self.settings, embedder=self._embedder)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.index, self.settings)

    def ingest(
        self, paths: Sequence[Path] | None = None, *, progress: IngestProgress | None = None
    ) -> IngestReport:
        with self._write_lock:  # two concurrent ingests would race on the same documents
            return ingest_files(self.index, paths, progress=progress)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        query = check_text(
            query, what="query", limit=self.settings.max_question_chars, setting="MAX_QUESTION_CHARS"
        )
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def chat_model(self, backend: str | None = None) -> Any:
        """The chat model of a backend, created once per process (the local model takes seconds to load)."""
        backend = backend or self.settings.llm
        if backend not in self._chat_models:
            from assistant.llm import make_chat_model

            self._chat_models[backend] = make_chat_model(self.settings.model_copy(update={"llm": backend}))
        return self._chat_models[backend]

    def answer_chain(self, backend: str | None = None) -> AnswerChain:
        backend = backend or self.settings.llm
        llm = None if backend == "none" else self.chat_model(backend)
        return AnswerChain(
            self.retriever,
            llm,
            backend=backend,
            max_sources=self.settings.answer_max_sources,
            context_tokens=self.settings.answer_context_tokens,
            gate=GateThresholds(
                min_coverage_zh=self.settings.gate_min_coverage,
                min_dense_zh=self.settings.gate_min_dense,
                min_coverage_en=self.settings.gate_min_coverage_en,
                min_dense_en=self.settings.gate_min_dense_en,
            ),
            max_tokens=self.settings.llm_max_tokens,
            max_question_chars=self.settings.max_question_chars,
            llm_condense=self.settings.answer_llm_condense,
        )

    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        backend: str | None = None,
        *,
        conversation_id: str | None = None,
        user: str = LOCAL_USER,
    ) -> Answer:
        """The answer; with `conversation_id` the turn is saved (and the saved turns are the history when
        none is given). Refused and partly unsupported answers go to the knowledge-gap queue."""
        answer = None
        for event in self.stream_answer(
            question, history, backend, conversation_id=conversation_id, user=user
        ):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream_answer(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        backend: str | None = None,
        filters: SearchFilters | None = None,
        *,
        conversation_id: str | None = None,
        user: str = LOCAL_USER,
    ) -> Iterator[str | Answer]:
        """The chain's stream (text pieces, then the Answer); once the Answer is out, the turn is saved to
        the conversation and any knowledge gap recorded (`after_answer`). KeyError: unknown conversation."""
        if conversation_id and history is None:
            history = self.conversations.get(conversation_id, user).history()
        elif conversation_id:
            self.conversations.summary(conversation_id, user)  # fail before answering, not after
        for event in self.answer_chain(backend).stream(question, history, filters):
            if isinstance(event, Answer):
                self.after_answer(event, conversation_id=conversation_id, user=user)
            yield event

    def after_answer(
        self, answer: Answer, *, conversation_id: str | None = None, user: str = LOCAL_USER
    ) -> None:
        """Save the turn when the answer belongs to a saved conversation; queue a knowledge gap when the
        answer was refused or had unsupported sentences (a failure to record never loses the answer)."""
        if conversation_id:
            self.conversations.append(conversation_id, answer.question, answer, user)
        try:
            self.gaps.record_answer(answer, user)
        except Exception:
            log.exception("recording a knowledge gap failed")

    # ---- the team's lasting state: one SQLite file under DATA_DIR

    @cached_property
    def database(self) -> Database:
        return Database(self.settings.data_dir)

    @cached_property
    def conversations(self) -> Conversations:
        """Saved conversations: create, append, list, get, rename, delete (services.conversations)."""
        return Conversations(self.database, stored=lambda doc_ids: self.index.stored_doc_ids(doc_ids))

    @cached_property
    def gaps(self) -> Gaps:
        """The knowledge-gap queue: entries, grouped, resolve (services.gaps)."""
        return Gaps(self.database)

    def export_conversation(self, conversation_id: str, path: Path, user: str = LOCAL_USER) -> Path:
        """A saved conversation as .md or .docx with numbered references; KeyError for an unknown id."""
        from assistant.services.export import write_conversation

        return write_conversation(self.conversations.get(conversation_id, user), path)

    def fit(
        self,
        description: str,
        backend: str | None = None,
        factors: SelectionFactors | dict[str, str] | None = None,
    ) -> FitAnalysis:
        """Rank the five operating models for a business and draft the memo. With `none` the reading and
        the scoring are deterministic; an LLM backend reads the profile as spans of the description and
        adds a grounding-checked rationale and summary. `factors` are the optional selection factors
        (business_type, resources, target_users, stage) of the app's form."""
        from assistant.fit.export import render_markdown

        if isinstance(factors, dict):
            try:
                factors = SelectionFactors(**{k: (v or "") for k, v in factors.items()})
            except ValidationError as exc:
                error = exc.errors()[0]
                raise FitInputError(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from exc
        if (description or "").strip() or not (factors and factors.given()):  # the form's fields alone do
            description = check_text(
                description,
                what="business description",
                limit=self.settings.max_description_chars,
                setting="MAX_DESCRIPTION_CHARS",
            )
        backend = backend or self.settings.llm
        analyzer = FitAnalyzer(self.retriever, backend)
        if backend == "none":
            analysis = analyzer.analyze(description, factors)
        else:
            started = time.perf_counter()
            llm = self.chat_model(backend)
            spans = llm_profile_spans(llm, description) if description else {}
            analysis = analyzer.analyze(description, factors, spans)
            analysis = enrich_with_llm(llm, analysis, self.grounding_checker)
            analysis.seconds = round(time.perf_counter() - started, 2)
        analysis.memo_markdown = render_markdown(analysis)
        return analysis

    @cached_property
    def grounding_checker(self) -> Any:
        from assistant.answer.grounding import GroundingChecker

        embedder = self.index.embedder
        return GroundingChecker(embedder.embed_query, embedder.embed_passages, self.retriever.companies_in)

    # ---- feedback, memos, eval

    def record_feedback(
        self,
        question: str,
        answer: str,
        liked: bool,
        comment: str = "",
        citations: Sequence[str] = (),
        backend: str | None = None,
        feedback_id: str | None = None,
    ) -> Feedback:
        """Append one feedback line to DATA_DIR/feedback.jsonl (a later comment reuses the thumb's id)."""
        feedback = Feedback(
            question=question,
            answer=answer,
            liked=liked,
            comment=comment.strip()[:2000],
            citations=list(dict.fromkeys(citations)),
            backend=backend or self.settings.llm,
        )
        if feedback_id:
            feedback.id = feedback_id
        saved = append_feedback(self.settings.feedback_path, feedback)
        if not liked:
            try:
                topics = self.document_titles(saved.citations)
                if not topics and question.strip() and self.index.count():
                    topics = [h.title for h in self.search(question, k=3)]  # what it should have used
                self.gaps.record_thumbs_down(saved.id, question, answer, topics, saved.comment)
            except Exception:
                log.exception("recording a thumbs-down in the gap queue failed")
        return saved

    def write_memo(self, analysis: FitAnalysis, stem: str | None = None) -> tuple[Path, Path]:
        """The memo as Markdown and DOCX under DATA_DIR/memos (one pair per analysis)."""
        from assistant.fit.export import export

        stem = stem or time.strftime("memo-%Y%m%d-%H%M%S-") + f"{time.perf_counter_ns() % 10_000:04d}"
        folder = self.settings.memos_dir
        return export(analysis, folder / f"{stem}.md"), export(analysis, folder / f"{stem}.docx")

    def latest_eval_report(self) -> ReportView | None:
        return read_report(self.settings.eval_report_dir)

    def run_retrieval_eval(self, progress: Callable[[int, int], None] | None = None) -> ReportView:
        """Re-measure retrieval over the golden set into DATA_DIR/eval/latest (one run at a time)."""
        if not self._eval_lock.acquire(blocking=False):
            raise RuntimeError("an eval is already running")
        try:
            run_retrieval_eval(self.settings, self, self.settings.eval_report_dir, progress)
        finally:
            self._eval_lock.release()
        view = self.latest_eval_report()
        assert view is not None
        return view

    def warm_up(self) -> None:
        """Load the model, jieba and BM25 now, so the first user query is not the slow one; and build
        the practice cases, so the first practice round and its first answer are not either."""
        self.index.embedder.embed_query(["warm up"])
        self.retriever.refresh()
        self.prepare_practice()
