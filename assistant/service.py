"""The one service object both front ends (CLI and Gradio) share: they hold no logic of their own."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from assistant.answer import Answer, AnswerChain
from assistant.answer.gate import GateThresholds
from assistant.catalog import DocumentInfo, catalog, document_body
from assistant.config import Settings, apply_offline_env
from assistant.corpus import user_doc_id
from assistant.errors import check_text
from assistant.evaluation import ReportView, read_report, run_retrieval_eval
from assistant.feedback import Feedback, append_feedback
from assistant.fit import (
    FitAnalysis,
    FitAnalyzer,
    FitInputError,
    SelectionFactors,
    enrich_with_llm,
    llm_profile_spans,
)
from assistant.logs import configure_logging
from assistant.onboarding import MODULE_KEYS, Lang, LearningModule, QuizQuestion, build_quiz, learning_path
from assistant.onboarding.practice import PracticeCase, PracticeCases, PracticeFeedback
from assistant.onboarding.quiz import grade, question_bank
from assistant.onboarding.scenario import scenario_questions
from assistant.onboarding.schema import QuizResult
from assistant.retrieval import Hit, HybridRetriever, Mode, SearchFilters
from assistant.security import load_logins
from assistant.services import learning
from assistant.services.conversations import Conversations
from assistant.services.database import LOCAL_USER, Database
from assistant.services.gaps import Gaps
from assistant.services.knowledge import ChunkView, watch_folder
from assistant.services.progress import ProgressStore, ProgressSummary
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import IngestProgress, IngestReport, StoredChunk
from assistant.uploads import RemoveResult, UploadResult, check_upload, safe_filename, store_upload

log = logging.getLogger("yunying.service")


QuizKind = Literal["recall", "scenario"]


class Yunying:
    """Owns the index and the retriever for one process; loads the embedding model once, lazily."""

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
            return self.index.ingest(paths, progress=progress)

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
        return Conversations(self.database)

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
        from assistant.memo import render_markdown

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

    # ---- the knowledge catalogue, users' files

    def documents(self) -> list[DocumentInfo]:
        """Every stored document with its metadata and chunk count (framework, cases, then users')."""
        return catalog(self.index.chunk_metadatas())

    def document(self, doc_id: str) -> tuple[DocumentInfo, str]:
        """One document's metadata and whole text (Markdown); KeyError when the store has no such id."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        info = catalog(c.metadata for c in chunks)[0]
        body = document_body(info, [(int(c.metadata.get("position", 0)), c.text) for c in chunks])
        return info, body

    def add_user_files(
        self, paths: Sequence[Path], progress: Callable[[float, str], None] | None = None
    ) -> list[UploadResult]:
        """Check each file (extension, size, readable, no knowledge front matter), copy the good ones to
        DATA_DIR/uploads under a sanitised name, then ingest them incrementally. One result per file."""
        uploads = self.settings.uploads_dir
        results: list[UploadResult] = []
        stored: list[tuple[UploadResult, Path]] = []
        total = max(1, len(paths))
        for i, path in enumerate(paths):
            path = Path(path)
            name = safe_filename(path.name)
            if progress:
                progress(i / total * 0.5, f"checking {name}")
            reason = check_upload(path, name, self.settings.max_file_mb)
            if reason:
                log.info("upload rejected: %s: %s", name, reason)
                results.append(UploadResult(name=name, status="rejected", reason=reason))
                continue
            result = UploadResult(name=name, status="accepted", stored_as=str(uploads / name))
            results.append(result)
            if any(r.name == name for r, _ in stored):
                result.status, result.reason = "rejected", "the same name twice in one upload"
                continue
            stored.append((result, store_upload(path, uploads, name)))
        if not stored:
            return results
        if progress:
            progress(0.5, "indexing")
        report = self.ingest([target for _, target in stored])
        failed = {str(Path(f.path).resolve()): f.error for f in report.failed}
        for result, target in stored:
            doc_id = user_doc_id(target)
            result.doc_id = doc_id
            if str(target.resolve()) in failed:
                target.unlink(missing_ok=True)
                result.status = "rejected"
                result.reason = failed[str(target.resolve())].replace(str(target.resolve()), result.name)
                result.reason = result.reason.removeprefix(f"{result.name}: ")
                result.doc_id = ""
            elif doc_id in report.unchanged:
                result.status = "unchanged"
            elif doc_id in report.updated:
                result.status = "updated"
        for result in results:
            if result.doc_id:
                chunks = self.index.document_chunks(result.doc_id)
                result.chunks = len(chunks)
                result.title = str(chunks[0].metadata.get("title", "")) if chunks else ""
        if progress:
            progress(1.0, "done")
        return results

    def remove_user_document(self, doc_id: str) -> RemoveResult:
        """Delete one of the users' documents: its chunks, and its file when it is an upload. Framework and
        case documents cannot be removed here (ValueError); an unknown id is a KeyError. BM25 and the
        onboarding results follow (both are rebuilt when the store's write counter moves); there is no
        answer cache to clear."""
        info, _ = self.document(doc_id)
        if info.kind != "user":
            raise ValueError(f"{doc_id} is a {info.kind} document; only your own documents can be removed")
        with self._write_lock:
            removed = self.index.remove_document(doc_id)
        source = Path(info.source)
        uploads = self.settings.uploads_dir.resolve()
        deleted = False
        if info.source and uploads in source.resolve().parents and source.is_file():
            source.unlink()  # only our copy; a file ingested from the user's own folder stays where it is
            deleted = True
        return RemoveResult(doc_id=doc_id, title=info.title, chunks_removed=removed, file_deleted=deleted)

    def document_chunks(self, doc_id: str) -> list[ChunkView]:
        """One document's chunks as stored, in reading order; KeyError when the store has no such id."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        return [ChunkView.of(c) for c in chunks]

    def reindex_document(self, doc_id: str) -> IngestReport:
        """Read one document's file again and re-embed it, replacing its chunks (a changed chunk size, a
        damaged document). KeyError: unknown id; FileNotFoundError: its file is gone (delete it instead)."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        source = Path(str(chunks[0].metadata.get("source", "")))
        if not source.is_file():
            raise FileNotFoundError(f"{doc_id}: its file {source} is gone; remove the document instead")
        with self._write_lock:
            return self.index.ingest([source], force=[doc_id])

    def watch_folder(
        self,
        folder: Path,
        on_report: Callable[[IngestReport], None],
        stop: threading.Event | None = None,
        interval: float = 1.0,
    ) -> None:
        """Keep the store in step with a shared folder until `stop` is set or Ctrl-C (services.knowledge)."""
        watch_folder(folder, lambda root: self.ingest([root]), on_report, stop=stop, interval=interval)

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

    def document_titles(self, doc_ids: Sequence[str]) -> list[str]:
        """The titles of the stored documents among `doc_ids`, in their order (unknown ids left out)."""
        titles = []
        for doc_id in dict.fromkeys(doc_ids):
            chunks = self.index.document_chunks(doc_id)
            if chunks:
                titles.append(str(chunks[0].metadata.get("title", doc_id)))
        return list(dict.fromkeys(titles))

    def write_memo(self, analysis: FitAnalysis, stem: str | None = None) -> tuple[Path, Path]:
        """The memo as Markdown and DOCX under DATA_DIR/memos (one pair per analysis)."""
        from assistant.memo import export

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

    def _store_chunks(self) -> tuple[tuple[int, int], list[StoredChunk]]:
        """The stored chunks and a fingerprint of the store (this process's write counter and the chunk
        count), so onboarding results are recomputed after an ingest, here or in another process."""
        fingerprint = (self.index.version, self.index.count())
        with self._onboarding_lock:
            cached = self._onboarding.get(("chunks",))
            if cached is not None and cached[0] == fingerprint:
                return cached
        chunks = self.index.all_chunks()
        with self._onboarding_lock:
            self._onboarding = {("chunks",): (fingerprint, chunks)}  # drop results of an older store
        return fingerprint, chunks

    def _cached(self, key: tuple, compute: Any) -> Any:
        fingerprint, chunks = self._store_chunks()
        with self._onboarding_lock:
            hit = self._onboarding.get((fingerprint, *key))
        if hit is None:
            hit = compute(chunks)
            with self._onboarding_lock:
                self._onboarding[(fingerprint, *key)] = hit
        return hit

    def learning_path(self, lang: Lang = "zh") -> list[LearningModule]:
        """The onboarding path (overview -> value loop -> five models -> support -> selection -> trends),
        summarised and cited from the stored framework documents."""
        path = self._cached(("path", lang), lambda chunks: learning_path(chunks, lang))
        return [m.model_copy(deep=True) for m in path]

    def quiz(
        self,
        lang: Lang = "zh",
        module: str | None = None,
        n: int = 10,
        seed: int = 0,
        kind: QuizKind = "recall",
    ) -> list[QuizQuestion]:
        """A deterministic quiz from the knowledge base (no LLM): the same seed gives the same questions
        and option order. `recall` asks what the documents state; `scenario` gives a situation and asks
        which model it belongs to. Raises ValueError for an unknown module, language or kind."""
        if kind == "scenario":
            return self._scenario_quiz(lang, module, n, seed)
        if kind != "recall":
            raise ValueError(f"unknown quiz type '{kind}': use recall or scenario")
        questions = self._cached(
            ("quiz", lang, module, n, seed),
            lambda chunks: build_quiz(chunks, lang, module=module, n=n, seed=seed),
        )
        return [q.model_copy(deep=True) for q in questions]

    def _scenario_quiz(self, lang: Lang, module: str | None, n: int, seed: int) -> list[QuizQuestion]:
        embed = self.index.embedder.embed_query
        bank = self._cached(
            ("scenario", lang, seed), lambda chunks: scenario_questions(chunks, lang, seed=seed, embed=embed)
        )
        if module is not None:
            if module not in {q.module for q in bank}:
                known = (
                    ", ".join(sorted({q.module for q in bank})) or "none (is the knowledge base ingested?)"
                )
                raise ValueError(f"no scenario questions for module '{module}': use one of {known}")
            bank = [q for q in bank if q.module == module]
        drawn = random.Random(seed).sample(bank, min(n, len(bank)))
        return [q.model_copy(deep=True) for q in drawn]

    # ------------------------------------------------------------ practice cases and progress (issue 18)

    @cached_property
    def progress_store(self) -> ProgressStore:
        return ProgressStore(self.database)

    def _practice(self) -> PracticeCases:
        return self._cached(("practice",), lambda chunks: learning.build_practice(self.index, chunks))

    def practice_round(
        self, lang: Lang = "zh", n: int = 1, seed: int = 0, user: str = LOCAL_USER
    ) -> list[PracticeCase]:
        """Practice cases, names hidden: the user's due (missed) cases first, then a seeded draw."""
        due = [d.item_id for d in self.progress_store.due(user, kind="practice", lang=lang)]
        return learning.practice_round(self._practice(), lang, n, seed, due)

    def practice_case(self, case_id: str, lang: Lang = "zh") -> PracticeCase:
        return self._practice().case(case_id, lang)

    def review_practice(
        self, case_id: str, answer: str, lang: Lang = "zh", model: str | None = None, user: str = LOCAL_USER
    ) -> PracticeFeedback:
        """Feedback on a practice answer (label, cited reasoning, criteria used or missed), recorded."""
        feedback = self._practice().review(case_id, answer, lang, model)
        correct = feedback.verdict == "right"
        self.progress_store.record_result(
            "practice", case_id, feedback.actual_model, correct, lang, user, feedback.verdict
        )
        return feedback

    def answer_quiz(
        self, question: QuizQuestion, chosen: int, kind: QuizKind = "recall", user: str = LOCAL_USER
    ) -> QuizResult:
        """Grade one quiz answer and record it (a miss comes back later)."""
        result = grade(question, chosen)
        self.progress_store.record_result(
            kind, question.id, question.module, result.correct, question.lang, user
        )
        return result

    def record_reading(self, module: str, user: str = LOCAL_USER) -> None:
        """Mark a module of the learning path as read."""
        if module not in MODULE_KEYS:
            raise ValueError(f"unknown module '{module}': use one of {', '.join(MODULE_KEYS)}")
        self.progress_store.record_read(module, user)

    def progress(self, lang: Lang = "zh", user: str = LOCAL_USER) -> learning.LearnerProgress:
        """The user's progress, with the path's readings for their weak topics."""
        return learning.learner_progress(self.progress_store.summary(user), self.learning_path(lang))

    def due_questions(self, lang: Lang = "zh", user: str = LOCAL_USER) -> list[QuizQuestion]:
        """The user's missed recall and scenario questions that are due again."""
        banks = {
            "recall": self._cached(("bank", lang), lambda chunks: question_bank(chunks, lang)),
            "scenario": self._scenario_quiz(lang, None, 10_000, 0),
        }
        return learning.due_questions(self.progress_store.due(user, lang=lang), banks)

    def team_progress(self, users: Sequence[str] | None = None) -> list[ProgressSummary]:
        """The manager view: each user's summary (default: every configured login); logins must be on."""
        logins = load_logins(self.settings)
        if not logins:
            raise ValueError("the team view needs logins: set YUNYING_AUTH or YUNYING_AUTH_FILE")
        return self.progress_store.team(list(users) if users is not None else [name for name, _ in logins])

    def warm_up(self) -> None:
        """Load the model, jieba and BM25 now, so the first user query is not the slow one."""
        self.index.embedder.embed_query(["warm up"])
        self.retriever.refresh()
