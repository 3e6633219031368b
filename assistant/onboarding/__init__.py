"""Onboarding: a learning path through the framework and quizzes generated from the knowledge base.

Nothing here is written by a language model: summaries are sentences extracted from the stored framework
chunks, quiz questions are built from front matter and from passages whose structure states the answer.
Which headings and sentence shapes those are is declared once, in resources/onboarding/contract.yaml
(read by `contract.py`), and tested against the knowledge base.

The first argument of the public functions is the `KnowledgeIndex` (or the list of its stored chunks):
onboarding reads the store as a whole and needs no search.
"""

from __future__ import annotations

from assistant.core.vocabulary import MODEL_LABELS
from assistant.onboarding.path import learning_path, module_keys
from assistant.onboarding.quiz import build_quiz, grade, question_bank
from assistant.onboarding.scenario import scenario_questions
from assistant.onboarding.schema import Lang, LearningModule, QuizQuestion, QuizResult

# The path's modules in order (resources/onboarding/wording.yaml).
MODULE_KEYS: tuple[str, ...] = module_keys()

__all__ = [
    "MODEL_LABELS",
    "MODULE_KEYS",
    "Lang",
    "LearningModule",
    "QuizQuestion",
    "QuizResult",
    "build_quiz",
    "grade",
    "learning_path",
    "question_bank",
    "scenario_questions",
]
