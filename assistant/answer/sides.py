"""The sides an answer must cover: each company a comparison names ("小红书和抖音…", "X vs Y"), and for
an advice question ("我们…应该…", "should we…") the framework's guidance beside the case. A checked answer
that cites none of a side's sources is half an answer: the chain adds that side's sentence closest to the
question (`related_points`)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer.state import Citation


def uncovered_sides(
    sources: Sequence[Citation], cited: Sequence[int], companies: Sequence[str], advice: bool
) -> list[list[Citation]]:
    """The sources of each side the answer does not cite: one list per company of a comparison (two or
    more companies named), and the framework passages of an advice question."""
    sides: list[list[Citation]] = []
    named = list(dict.fromkeys(c.lower() for c in companies))
    if len(named) >= 2:
        sides += [[s for s in sources if (s.company or "").lower() == company] for company in named]
    if advice:
        sides.append([s for s in sources if s.kind == "framework"])
    return [side for side in sides if side and not any(s.n in cited for s in side)]
