"""What an LLM adds to model fit, every part checked: the profile as JSON whose values must be spans of
the description (the ranking then reads those spans), and a summary and rationale that keep only the
sentences the answer package's grounding check finds supported by the sources they cite."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.answer.grounding import GroundingChecker
from assistant.answer.state import Citation
from assistant.core.text import is_chinese, join_sentences
from assistant.fit.memo import model_name
from assistant.fit.schema import FitAnalysis
from assistant.resources import load_yaml

MAX_SENTENCES = 3


@cache
def prompt(key: str) -> str:
    return load_yaml("fit/prompts.yaml")[key]


class ProfileSpans(BaseModel):
    """The LLM's reading: per field a phrase of the description, or ""."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    sells: str = ""
    customers: str = ""
    earns: str = ""
    growth: str = ""
    resources: str = ""
    stage: str = ""


def parse_spans(reply: str, description: str) -> dict[str, str] | None:
    """The JSON object in a reply (small models wrap it in prose or fences), keeping only values that
    occur in the description word for word; None when there is no valid object."""
    match = re.search(r"\{.*\}", reply, re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
        if not isinstance(data, dict):
            return None
        spans = ProfileSpans.model_validate({k: "" if v is None else str(v) for k, v in data.items()})
    except (ValueError, ValidationError):
        return None
    text = " ".join(description.split()).lower()
    return {
        k: v for k, v in spans.model_dump().items() if len(v) >= 2 and " ".join(v.split()).lower() in text
    }


def llm_profile_spans(llm: Any, description: str) -> dict[str, str]:
    """The fields the LLM finds in the description (spans of it); one retry on invalid JSON, {} on failure."""
    from langchain_core.messages import HumanMessage, SystemMessage

    for _ in range(2):
        try:
            reply = llm.invoke(
                [SystemMessage(prompt("profile")), HumanMessage(f"Description:\n{description[:1500]}")],
                max_tokens=220,
            )
        except Exception:
            return {}
        spans = parse_spans(str(reply.content), description)
        if spans is not None:
            return spans
    return {}


def checked_llm_text(
    llm: Any,
    checker: GroundingChecker,
    system: str,
    user: str,
    sources: list[Citation],
    zh: bool,
    max_tokens: int,
) -> str:
    """Ask with the sources renumbered 1..n; keep the sentences the grounding check finds supported (in
    the memo's language), with the memo's reference numbers; '' when none pass."""
    from langchain_core.messages import HumanMessage, SystemMessage

    if not sources:
        return ""
    numbered = [c.model_copy(update={"n": i}) for i, c in enumerate(sources, start=1)]
    mapping = {i: c.n for i, c in enumerate(sources, start=1)}
    blocks = "\n\n".join(f"[{c.n}] {c.title}\n{c.text}" for c in numbered)
    message = f"<sources>\n{blocks}\n</sources>\n\n{user}"
    for _ in range(2):  # one retry: small local models sometimes answer off-format
        try:
            reply = llm.invoke([SystemMessage(system), HumanMessage(message)], max_tokens=max_tokens)
        except Exception:
            return ""
        text = str(reply.content).strip()
        end = max(text.rfind(p) for p in "。！？.!?")
        if end > 0 and not re.search(r"[。！？.!?]\s*(\[\d+\])*\s*$", text):
            text = text[: end + 1]  # cut off at max_tokens: whole sentences only
        if not text:
            continue
        checked = checker.check(_plain(text), numbered)
        kept = _framework_claims(checker, checked.text)
        if kept and checked.cited and is_chinese(kept) == zh:
            return re.sub(r"\[(\d+)\]", lambda g: f"[{mapping.get(int(g.group(1)), g.group(1))}]", kept)
    return ""


def _plain(text: str) -> str:
    """Markdown emphasis, list markers and lead-ins ("理由：") out: the memo's cells take sentences."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)、])\s*", "", line) for line in text.splitlines()]
    lines = [re.sub(r"\*\*(.+?)\*\*\s*[：:]?\s*", "", line) for line in lines]
    return " ".join(line for line in lines if line.strip() and not line.strip().endswith(("：", ":")))


def _framework_claims(checker: GroundingChecker, text: str, limit: int = MAX_SENTENCES) -> str:
    """The supported sentences that name no company: an LLM sentence naming a case can pass the check
    on the case's passage and still pin the case's facts on the user's business, and the memo names its
    analogous cases itself, from their own text."""
    from assistant.core.text import split_sentences

    kept = [s for s in split_sentences(text) if not checker.companies_in(s)][:limit]
    return join_sentences(kept)


def llm_rationale(llm: Any, analysis: FitAnalysis, checker: GroundingChecker, rank: int = 0) -> str:
    score = analysis.ranking[rank]
    zh = analysis.profile.lang == "zh"
    name = model_name(score.model, analysis.profile.lang) + ("模式" if zh else " model")
    system = prompt("rationale").format(language="Chinese" if zh else "English", model=name)
    user = f"Business: {analysis.profile.description[:800]}"
    return checked_llm_text(llm, checker, system, user, score.citations[:3], zh, max_tokens=120)


def llm_summary(llm: Any, analysis: FitAnalysis, checker: GroundingChecker) -> str:
    zh = analysis.profile.lang == "zh"
    cited = {c.chunk_id for r in analysis.ranking[:2] for c in r.citations}
    sources = [c for c in analysis.references if c.chunk_id in cited][:4]
    ranking = ", ".join(f"{r.model} {r.score}" for r in analysis.ranking)
    user = f"Business: {analysis.profile.description}\nRanking: {ranking}"
    system = prompt("summary").format(language="Chinese" if zh else "English")
    return checked_llm_text(llm, checker, system, user, sources, zh, max_tokens=160)


def enrich_with_llm(llm: Any, analysis: FitAnalysis, checker: GroundingChecker) -> FitAnalysis:
    """A checked rationale for the primary model and a checked summary; either is skipped when nothing
    passes. The ranking is not touched here (the LLM's part in it is the profile's spans)."""
    analysis = analysis.model_copy(update={"ranking": list(analysis.ranking)})
    why = llm_rationale(llm, analysis, checker)
    if why:
        first = analysis.ranking[0]
        analysis.ranking[0] = first.model_copy(update={"rationale": f"{first.rationale} {why}".strip()})
    analysis.summary = llm_summary(llm, analysis, checker)
    return analysis
