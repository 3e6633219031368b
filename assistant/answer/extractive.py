"""The `none` backend: a deterministic answer made of the selected source sentences, no LLM."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from assistant.answer.context import LIST_PREFIX, EmbedPassages
from assistant.answer.gate import covered_share
from assistant.answer.grounding import CITATION
from assistant.answer.patterns import text
from assistant.answer.points import choose_points, with_rank_prior
from assistant.answer.state import Citation
from assistant.core.text import detect_lang, is_chinese, source_sentences, split_sentences, without_names

LANGUAGE_BONUS = 0.03  # an English question prefers an English sentence of equal relevance
FIGURE_BONUS = 0.06  # a figure question prefers a sentence stating a figure of the kind asked


def extractive_answer(
    question_vector: np.ndarray,
    lang: str,
    sources: Sequence[Citation],
    embed_passages: EmbedPassages,
    max_points: int = 3,
    *,
    question_words: dict[str, float] | None = None,
    names: Sequence[str] = (),
    nameless_question_vector: np.ndarray | None = None,
    answers_figure: Callable[[str], bool] | None = None,
) -> str:
    """One sentence that answers (the source sentence most relevant to the question, see `relevance`),
    then up to `max_points - 1` further cited points; sentences of better-ranked passages are preferred
    (`with_rank_prior`). For a question asking for a figure, `answers_figure` tells a sentence stating
    one of the kind asked, and such a sentence gains FIGURE_BONUS: "Spotify有多少月活用户？" led with the
    metric's definition ("月活用户数（MAU）：衡量整体用户规模…") above the row that states it."""
    rows: list[tuple[float, int, int, str]] = []
    for source in sources:
        for position, sentence in enumerate(split_sentences(source.quote)):
            if _is_prose(sentence):
                rows.append((0.0, source.n, position, sentence.strip("… ")))
    if not rows:
        return ""
    texts = [r[3] for r in rows]
    vectors = np.asarray(embed_passages(texts), dtype=np.float32)
    scores, _ = relevance(
        texts, vectors, question_vector, embed_passages, question_words, names, nameless_question_vector
    )
    relevant = [
        float(v)
        + (LANGUAGE_BONUS if detect_lang(row[3]) == lang else 0.0)
        + (FIGURE_BONUS if answers_figure and answers_figure(row[3]) else 0.0)
        for v, row in zip(scores, rows, strict=True)
    ]
    prior = with_rank_prior(np.asarray(relevant), [row[1] for row in rows])
    document = {s.n: s.pair_id or s.doc_id for s in sources}
    picked = choose_points(
        prior, relevant, [document[row[1]] for row in rows], [row[3] for row in rows], max_points
    )
    chosen = [rows[i] for i in picked]
    lead, *points = chosen
    lines = [text("extractive_lead", lang) + _cite(lead[3], lead[1])]
    lines += [f"- {_cite(p[3], p[1])}" for p in sorted(points, key=lambda p: (p[1], p[2]))]
    return "\n".join(lines)


def _is_prose(sentence: str) -> bool:
    """A sentence worth quoting: long enough to say something, not a table row or a heading. A list
    item's label ("- Open platform and low-code. Open interfaces…", "- 合作伙伴计划（YPP）。2007年…") splits
    off as a sentence of its own and says nothing alone: four words, or under 12 characters, is a label."""
    sentence = sentence.strip("… ")
    if not sentence or sentence[0] in "|#" or sentence.count("|") >= 2:
        return False
    content = sentence.strip("*").rstrip("。！？.!?；;：:*").strip()
    return len(content) >= 12 and (is_chinese(content) or len(content.split()) >= 5)


def _cite(sentence: str, n: int) -> str:
    sentence = CITATION.sub("", sentence).strip()
    end = len(sentence.rstrip("。！？.!?；;"))
    closing = sentence[end:] or ("。" if is_chinese(sentence) else ".")
    return f"{sentence[:end]}[{n}]{closing}"


# e5 passage-to-passage cosine above which a source sentence repeats an answer sentence. Paraphrases
# scored 0.96 in the same language and 0.88 across languages; related but different sentences of the
# same passage 0.90-0.93 and 0.81 (a handful of hand pairs, so the margins are kept wide).
REPEATS_SAME_LANGUAGE = 0.945
REPEATS_OTHER_LANGUAGE = 0.86
WORD_BONUS = 0.05  # added to the cosine for a sentence holding all the question's words
NEAR_THE_BEST = 0.03  # a further point scores at most this much below the best candidate...
NEAR_THE_BEST_WITH_WORD = 0.06  # ...or this much when it shares a word with the question (dev-tuned)


def related_points(
    question_vector: np.ndarray,
    lang: str,
    sources: Sequence[Citation],
    embed_passages: EmbedPassages,
    answer_sentences: Sequence[str],
    *,
    max_points: int,
    min_relevance: float,
    question_words: dict[str, float] | None = None,
    names: Sequence[str] = (),
    nameless_question_vector: np.ndarray | None = None,
) -> list[str]:
    """Source sentences, in the question's language, that answer the question and say something the
    answer does not yet: for a checked answer the grounding left thin. Each is a cited "- " line. They are
    ranked by `relevance` with the passages' rank prior (`with_rank_prior`), and only sentences near the
    best one are taken."""
    if max_points <= 0:
        return []
    rows: list[tuple[int, int, str]] = []
    for source in sources:
        text_in_lang = source.text if source.lang == lang else source.twin_text
        for position, sentence in enumerate(source_sentences(text_in_lang)):
            sentence = LIST_PREFIX.sub("", CITATION.sub("", sentence)).strip("… ")
            if _is_prose(sentence) and detect_lang(sentence) == lang:
                rows.append((source.n, position, sentence))
    rows = list({row[2]: row for row in rows}.values())
    if not rows:
        return []
    texts = [r[2] for r in rows]
    vectors = np.asarray(embed_passages(texts), dtype=np.float32)
    scores, shares = relevance(
        texts, vectors, question_vector, embed_passages, question_words, names, nameless_question_vector
    )
    # "near the best" is measured with the passages' rank prior, as the points are ordered: the items of
    # the best-ranked passage's list do not repeat the question's words and fell below a lower passage's
    # sentence that does; `min_relevance` stays an absolute bar on a sentence's own relevance
    ranked = with_rank_prior(scores, [row[0] for row in rows])
    best = float(ranked.max())
    eligible = (scores >= min_relevance) & (ranked >= best - NEAR_THE_BEST_WITH_WORD)
    if shares is not None:
        # a sentence sharing none of the question's own words must be very near the best: e5 alone
        # ranks "小红书由联合创始人…领导" close to a question about 小红书's community atmosphere
        eligible &= (shares > 0) | (ranked >= best - NEAR_THE_BEST)
    said = [CITATION.sub("", s).strip() for s in answer_sentences if s.strip()]
    said_vectors = np.asarray(embed_passages(said), dtype=np.float32) if said else np.zeros((0, 1))
    limits = np.array(
        [REPEATS_SAME_LANGUAGE if detect_lang(s) == lang else REPEATS_OTHER_LANGUAGE for s in said]
    )
    chosen: list[int] = []
    for i in np.argsort(-ranked, kind="stable"):
        if len(chosen) == max_points:
            break
        if not eligible[i]:
            continue
        if said and (said_vectors @ vectors[i] >= limits).any():
            continue  # the answer already says this
        if any(float(vectors[i] @ vectors[j]) >= REPEATS_SAME_LANGUAGE for j in chosen):
            continue
        chosen.append(int(i))
    chosen.sort(key=lambda i: (rows[i][0], rows[i][1]))
    return [f"- {_cite(rows[i][2], rows[i][0])}" for i in chosen]


def relevance(
    texts: Sequence[str],
    vectors: np.ndarray,
    question_vector: np.ndarray,
    embed_passages: EmbedPassages,
    question_words: dict[str, float] | None = None,
    names: Sequence[str] = (),
    nameless_question_vector: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """How well each sentence answers the question, and the share of the question's own words it holds.

    e5's cosine alone ranks a sentence that merely names the company ("小红书由…领导", "Bilibili was
    founded by…") beside one that answers, so with `names` (the sources' company names) and
    `nameless_question_vector` (the question embedded without them) the score is the mean of that cosine
    and the cosine with the names taken out of both, and the question's IDF-weighted words add a little."""
    scores = vectors @ np.asarray(question_vector, dtype=np.float32)
    if names and nameless_question_vector is not None:
        nameless = np.asarray(embed_passages([without_names(t, names) for t in texts]), dtype=np.float32)
        scores = (scores + nameless @ np.asarray(nameless_question_vector, dtype=np.float32)) / 2
    shares = np.array([covered_share(question_words, t.lower()) for t in texts]) if question_words else None
    if shares is not None:
        scores = scores + WORD_BONUS * shares
    return scores, shares
