"""What e5 and the words cannot see in an answer sentence, checked by form against its source: a view
put in someone's mouth, a gloss taken from another term, a quotation the source never wrote. Each returns
what is wrong ('' when nothing is); grounding.GroundingChecker.specifics_missing calls them."""

from __future__ import annotations

import re

from assistant.answer.patterns import pattern


def misattributed_view(sentence: str, pool: str) -> str:
    """The attribution ("他们判断", "the founders believe") when the sentence gives someone a view that
    the source states only as its author's judgement ("笔者判断…", "(a judgement)"): the small model
    fuses "平台由毛文超和瞿芳领导。笔者判断，…" into "…领导，他们判断…", which e5 and the words accept.
    A source whose own text uses the verb outside the author's marks (someone else's view) settles
    nothing, and the sentence stands."""
    said = pattern("attributed_view").search(sentence)
    marks = [m.span() for m in pattern("author_view").finditer(pool)]
    if not said or not marks:
        return ""
    verb = (said.group("verb") or said.group("verb_en") or "").lower()
    stem = verb if not verb.isascii() else verb[:5]  # judge / judged / judgement, believe / believes
    for found in re.finditer(re.escape(stem), pool):
        if not any(start <= found.start() < end for start, end in marks):
            return ""  # the source gives this verb to someone other than its author
    return said.group(0)


# a short term in quotation marks: a name or the source's own word for something
_QUOTED = re.compile(r"[“「『\"]([^”」』\"]{2,24})[”」』\"]")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


def misquoted(sentence: str, pool: str) -> str:
    """A term the sentence puts in quotation marks that the source (or the question) never writes,
    compared without spaces and punctuation: quotation marks claim the source's own words. Stop 23's
    local test run showed "滴滴则通过在微信上建立“滴滴出行”社群…[2]" (no source names Didi) and
    "这套路在运营上叫“交易驱动模式”" pass e5 and the words; of the 169 quoted terms in the shown answers
    of that run and stop 22's dev run, these two and two punctuation variants were the only ones missing
    from the cited documents."""
    squeezed = _NOT_WORD.sub("", pool.lower())
    for term in _QUOTED.findall(sentence):
        core = _NOT_WORD.sub("", term.lower())
        if len(core) >= 2 and core not in squeezed:
            return term
    return ""


# an English phrase with its Chinese original in brackets: "premium membership (大会员)"
_GLOSS = re.compile(r"([A-Za-z][A-Za-z' -]{2,40}?)\s*[(（]\s*([\u4e00-\u9fff]{2,12})\s*[)）]")


def misglossed(sentence: str, pool: str) -> str:
    """The Chinese term of a gloss the source attaches to something else: the source writes "premium
    membership (大会员) … the merchandise store (会员购)" and the answer "premium membership (会员购)".
    A gloss counts as the source's when one of the phrase's last two words stands just before the same
    Chinese term in the source; a term the source does not gloss at all is left to the other checks."""
    for match in _GLOSS.finditer(sentence):
        words = [w for w in re.findall(r"[a-z]{3,}", match.group(1).lower())][-2:]
        term = match.group(2)
        before = [pool[max(0, m.start() - 40) : m.start()] for m in re.finditer(re.escape(term), pool)]
        glossed = [b for b in before if b.rstrip(" (（").endswith(tuple(")）abcdefghijklmnopqrstuvwxyz"))]
        if words and glossed and not any(w in b for b in glossed for w in words):
            return term
    return ""
