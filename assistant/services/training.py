"""The onboarding half of the service: learning path, quizzes, practice cases and progress.

A mixin of `Yunying` (services.yunying): results are computed from the stored chunks and cached until
the store changes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.core.errors import InputError
from assistant.core.settings import Settings
from assistant.onboarding import MODULE_KEYS, Lang, LearningModule, QuizQuestion, build_quiz, learning_path
from assistant.onboarding.practice import PracticeCase, PracticeCases, PracticeFeedback
from assistant.onboarding.quiz import grade, question_bank
from assistant.onboarding.scenario import mixed_draw, scenario_questions
from assistant.onboarding.schema import QuizResult, QuizType
from assistant.services import learning
from assistant.services.database import LOCAL_USER, Database
from assistant.services.progress import ProgressStore, ProgressSummary
from assistant.services.security import TeamAccess, load_logins, team_access
from assistant.store.records import StoredChunk

if TYPE_CHECKING:
    from assistant.store.chroma import KnowledgeIndex

QuizKind = QuizType


class TeamAccessError(InputError):
    """The team's progress asked for by someone who may not see it; `reason` says why (logins-off or
    not-manager) for the front end to put in its own words."""

    def __init__(self, reason: TeamAccess, user: str) -> None:
        super().__init__(f"{user!r} may not see the team's progress ({reason}): see YUNYING_MANAGERS")
        self.reason = reason


class LearningDesk:
    """What a new hire works through, from the knowledge base and their saved progress."""

    settings: Settings
    index: KnowledgeIndex
    database: Database
    _onboarding_lock: threading.Lock
    _onboarding: dict[tuple, Any]

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
        which model it is a failure of, which value-loop link to check first, or which operating focus it
        falls under. Raises ValueError for an unknown module, language or kind."""
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
        drawn = mixed_draw(bank, n, seed)  # failure modes, value-loop links, operating focuses in turn
        return [q.model_copy(deep=True) for q in drawn]

    # ------------------------------------------------------------ practice cases and progress (issue 18)

    @cached_property
    def progress_store(self) -> ProgressStore:
        return ProgressStore(self.database)

    def _practice(self) -> PracticeCases:
        return self._cached(("practice",), lambda chunks: learning.build_practice(self.index, chunks))

    def prepare_practice(self) -> None:
        """Build the practice cases and embed what reviewing an answer needs, now (warm-up): otherwise
        the first practice round of the app pays for reading the criteria and the first answer for
        embedding their sentences."""
        self._practice().prepare()

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
        self,
        question: QuizQuestion,
        chosen: int,
        kind: QuizKind | None = None,
        user: str = LOCAL_USER,
        record: bool = True,
    ) -> QuizResult:
        """Grade one quiz answer and record it (a miss comes back later); `kind` defaults to the
        question's own quiz type. `record=False` only grades (a second try at a question answered)."""
        result = grade(question, chosen)
        if record:
            self.progress_store.record_result(
                kind or question.quiz_type, question.id, question.module, result.correct, question.lang, user
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

    def team_view(self, viewer: str) -> list[ProgressSummary]:
        """The team's progress for a manager (a login named in YUNYING_MANAGERS): every login with any
        progress, in the logins' order. Raises TeamAccessError for anyone else, and when logins are off."""
        access = team_access(self.settings, viewer)
        if access != "manager":
            raise TeamAccessError(access, viewer)
        return [s for s in self.team_progress() if s.modules_read or s.tallies or s.scheduled]
