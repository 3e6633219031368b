"""Practice cases (issue 18): a business from knowledge/cases described by its facts, its names hidden;
the learner writes which model is primary and why; the feedback gives the case's label and reasoning
(the cited primary-model passage) and which of the framework's criteria the learner's sentences used or
missed. The criteria are the fit package's (each model document's core idea, operating priorities and
where it fits); a sentence uses a criterion when e5 finds it the sentence's closest one and it stands
out from the rest (resources/onboarding/practice.yaml: matching), not by shared keywords."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.core.text import detect_lang, join_sentences, split_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.fit.criteria import Criteria
from assistant.onboarding.kb import KnowledgeDoc, short
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.practice_config import practice_config
from assistant.onboarding.practice_feedback import (
    CaseDocs,
    CriterionMatch,
    CriterionUse,
    FeedbackComposer,
    PracticeFeedback,
    criterion_groups,
    criterion_sentences,
)
from assistant.store.records import StoredChunk

Embed = Callable[[Sequence[str]], Sequence[np.ndarray]]


class PracticeCase(BaseModel):
    """What the learner sees: the task and the business, its names hidden."""

    id: str = Field(description="The case's id (the Chinese original's, e.g. case-keep) in both languages.")
    lang: str
    task: str
    description: str
    choices: list[str] = Field(description="The five models' labels, in the framework's order.")


def _case_docs(chunks: Sequence[StoredChunk]) -> dict[tuple[str, str], CaseDocs]:
    """(pair id, lang) -> the case document in that language (the original or its translated twin)."""
    docs: dict[str, KnowledgeDoc] = {}
    for chunk in chunks:
        meta = chunk.metadata
        if meta.get("kind") == "case" and meta.get("models"):
            doc_id = str(meta.get("doc_id", ""))
            docs.setdefault(doc_id, KnowledgeDoc(doc_id, meta)).chunks.append(chunk)
    config = practice_config()
    out: dict[tuple[str, str], CaseDocs] = {}
    for doc in sorted(docs.values(), key=lambda d: d.doc_id):
        doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
        pair, meta = str(doc.meta.get("pair") or doc.doc_id), doc.meta
        if pair in config.skip_cases:
            continue
        company = [meta.get("company"), meta.get("company_zh"), *str(meta.get("aliases", "")).split("|")]
        company_names = {str(n).strip() for n in company if n} - set(config.not_hidden)
        other_names = set(config.hidden_names.get(pair, [])) - company_names
        out[(pair, str(meta.get("lang", "zh")))] = CaseDocs(
            pair, doc, sorted(n for n in company_names if len(n) >= 2), sorted(other_names)
        )
    return out


def _name_pattern(name: str, any_case: bool) -> re.Pattern[str]:
    """A Latin name matches as a word (in any case when `any_case`), a Chinese name anywhere."""
    if not name.isascii():
        return re.compile(re.escape(name))
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", re.I if any_case else 0)


def hide_names(text: str, names: Sequence[str], company_names: Sequence[str], lang: str) -> str:
    """The text with every name (longest first) replaced by a placeholder, and the model names blanked.
    A company name is hidden in any case ("bilibili") unless it is also an ordinary word (Keep); the
    other names (products, people: Prime, Moments) only as written."""
    config = practice_config()
    for name in sorted(names, key=len, reverse=True):
        is_company = name in company_names
        stand_in = getattr(config.placeholder.company if is_company else config.placeholder.other, lang)
        any_case = is_company and name not in config.ordinary_words
        text = _name_pattern(name, any_case).sub(stand_in, text)
    return mask_models(text)


def _section_sentences(doc: KnowledgeDoc, heading: str) -> list[str]:
    """A section's sentences in order, each once (neighbouring chunks overlap)."""
    sentences: list[str] = []
    for chunk in doc.chunks:
        if str(chunk.metadata.get("heading", "")) == heading:
            sentences.extend(s for s in split_sentences(chunk.text) if s not in sentences)
    return sentences


def describe(case: CaseDocs, lang: str) -> str:
    """The business by its facts: the configured sections, each a paragraph, names hidden."""
    config = practice_config()
    paragraphs = []
    for heading in config.description_sections[lang]:
        text = join_sentences(_section_sentences(case.doc, heading))
        if not text:
            continue
        label = heading.split(" > ")[-1] if " > " in heading and config.label_sub_sections else ""
        paragraphs.append(f"{label}{'：' if lang == 'zh' else ': '}{text}" if label else text)
    return hide_names("\n\n".join(paragraphs), case.names, case.company_names, lang)


def named_model(answer: str) -> str | None:
    """The model the learner's text names first (either language), or None."""
    first: tuple[int, str] | None = None
    for lang_patterns in practice_config().model_names.values():
        for model, pattern in lang_patterns.items():
            match = re.search(pattern, answer, re.I)
            if match and (first is None or match.start() < first[0]):
                first = (match.start(), model)
    return first[1] if first else None


def reason_clauses(answer: str) -> list[str]:
    """The answer's clauses: a sentence of several clauses counts as its clauses, each matched alone."""
    split = re.compile(practice_config().matching.clause_split)
    out: list[str] = []
    for sentence in split_sentences(" ".join(answer.split())):
        parts = [p.strip(" 。.!?！？") for p in split.split(sentence)]
        parts = [p for p in parts if p]
        out.extend(parts if len(parts) > 1 else [sentence])
    return list(dict.fromkeys(out))


def _says_why(masked: str, lang: str) -> bool:
    """A clause long enough to give a reason; one that names a model needs more ("主导模式是____" only
    states the label)."""
    settings = practice_config().matching
    rest = masked.replace("____", "").strip()
    least = settings.min_chars_naming_a_model if "____" in masked else settings.min_chars
    return len(rest) >= least[lang]


class PracticeCases:
    """Every case the store describes, and the feedback on an answer; built once per store."""

    def __init__(self, chunks: Sequence[StoredChunk], criteria: Criteria, embed: Embed) -> None:
        self._cases = _case_docs(chunks)
        self._criteria = criteria
        self._embed = embed
        self._vague: np.ndarray | None = None

    def _vague_vectors(self) -> np.ndarray:
        """The content-free reasons of practice.yaml (both languages), embedded once, normalised."""
        if self._vague is None:
            reasons = [r for own in practice_config().matching.vague_reasons.values() for r in own]
            vectors = np.asarray(self._embed(reasons), dtype=np.float32)
            self._vague = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return self._vague

    def prepare(self) -> None:
        """Embed now what every review needs beyond the learner's own clauses: the content-free reasons
        (warm-up). The criterion sentences a quote is picked from stay lazy, a few passages per answer:
        all of them, both languages, are some 430 sentences, most of a minute on two cores."""
        self._vague_vectors()

    def hidden_names(self, case_id: str, lang: str) -> tuple[list[str], list[str]]:
        """The names a case's description hides: the company's (front matter) and the others'."""
        found = self._cases.get((case_id, lang))
        if found is None:
            raise ValueError(f"no practice case '{case_id}' in {lang}")
        return found.company_names, found.other_names

    def ids(self, lang: str) -> list[str]:
        return sorted(pair for pair, case_lang in self._cases if case_lang == lang)

    def case(self, case_id: str, lang: str) -> PracticeCase:
        found = self._cases.get((case_id, lang))
        if found is None:
            raise ValueError(f"no practice case '{case_id}' in {lang}")
        wording = practice_config().wording[lang]
        return PracticeCase(
            id=case_id,
            lang=lang,
            task=wording["task"],
            description=describe(found, lang),
            choices=[MODEL_LABELS[lang][k] for k in MODEL_KEYS],
        )

    def draw(self, lang: str, n: int = 1, seed: int = 0) -> list[PracticeCase]:
        """Up to n cases, deterministic for a seed."""
        if lang not in ("zh", "en"):
            raise ValueError(f"unknown language '{lang}': use zh or en")
        ids = self.ids(lang)
        return [self.case(i, lang) for i in random.Random(seed).sample(ids, min(max(n, 1), len(ids)))]

    def _matches(self, answer: str) -> list[CriterionMatch]:
        """Each reason sentence of the answer and the criterion it matches best, when it stands out."""
        lang = detect_lang(answer)
        settings = practice_config().matching
        # the model names are blanked before matching: "主导模式是产品驱动" names a label, not a reason,
        # and would match every criterion of that model
        pairs = [(c, mask_models(c)) for c in reason_clauses(answer)]
        pairs = [(c, m) for c, m in pairs if _says_why(m, lang)]
        reasons = [m for _, m in pairs]
        groups = criterion_groups(self._criteria, lang)
        columns = [(g, item) for g in groups for item in g.items]
        if not reasons or not columns:
            return []
        vectors = np.asarray(self._embed(reasons), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        matrix = np.stack([item.vector for _, item in columns]).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        similarities = vectors @ matrix.T  # reason sentences x criterion chunks
        vague = (vectors @ self._vague_vectors().T).max(axis=1)  # closest content-free reason
        found: list[CriterionMatch] = []
        found_vectors: list[np.ndarray] = []
        for i in range(len(reasons)):
            best = int(similarities[i].argmax())
            if vague[i] - similarities[i, best] >= settings.vague_margin:
                continue  # no reason given, only a content-free one
            if similarities[i, best] - float(np.median(similarities[i])) >= settings.margin:
                group, item = columns[best]
                found.append(CriterionMatch(group, item, pairs[i][0], float(similarities[i, best])))
                found_vectors.append(vectors[i])
        self._quote(found, found_vectors)
        return found

    def _quote(self, matches: list[CriterionMatch], clause_vectors: list[np.ndarray]) -> None:
        """Each match's quote: the sentence of its criterion passage closest to the learner's clause
        (one e5 batch for the matched passages' sentences)."""
        sentences = [criterion_sentences(m.item) for m in matches]
        flat = list(dict.fromkeys(s for own in sentences for s in own))
        if not flat:
            return
        embedded = np.asarray(self._embed(flat), dtype=np.float32)
        embedded /= np.linalg.norm(embedded, axis=1, keepdims=True)
        row = {s: embedded[k] for k, s in enumerate(flat)}
        for match, own, vector in zip(matches, sentences, clause_vectors, strict=True):
            if own:
                match.quote = short(max(own, key=lambda s: float(row[s] @ vector)), 160)

    def review(self, case_id: str, answer: str, lang: str, model: str | None = None) -> PracticeFeedback:
        """Feedback on the learner's answer to a case (`model` overrides the model the text names)."""
        case = self._cases.get((case_id, lang))
        if case is None:
            raise ValueError(f"no practice case '{case_id}' in {lang}")
        if not answer.strip():
            raise ValueError("the answer is empty: write which model is primary and why")
        if model is not None and model not in MODEL_KEYS:
            raise ValueError(f"unknown model '{model}': use one of {', '.join(MODEL_KEYS)}")
        named = model or named_model(answer)
        matches = self._matches(answer)
        return FeedbackComposer(
            case, lang, answer, named, matches, criterion_groups(self._criteria, detect_lang(answer))
        ).build()


__all__ = [
    "CriterionUse",
    "PracticeCase",
    "PracticeCases",
    "PracticeFeedback",
    "describe",
    "hide_names",
    "named_model",
    "practice_config",
    "reason_clauses",
]
