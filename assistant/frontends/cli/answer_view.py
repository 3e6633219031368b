"""How `yunying ask` shows an answer in a terminal.

The chain streams the model's draft and then yields the checked Answer, which may differ from the draft
(unsupported sentences removed with a notice, or a refusal). A terminal cannot take streamed text back,
so: on a terminal the draft streams as it is written and, when the checked answer differs, the checked
answer follows under a rule that says so; piped output gets the checked answer alone, never the draft.
Nothing is wrapped (soft_wrap): a line break inside "[1]" or a sentence breaks whoever reads the output."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from assistant.answer import Answer

CHECKED_RULE = {
    "zh": "核对来源后的回答（草稿中来源不支持的部分已去掉）：",
    "en": "The answer as checked against the sources (what they do not support is left out):",
}


def show_answer(
    events: Iterable[str | Answer], console: Console, *, stream: bool | None = None
) -> Answer | None:
    """Print the stream of an answer; `stream` defaults to whether the console is a terminal.
    Returns the checked Answer (None if the chain yielded none)."""
    stream = console.is_terminal if stream is None else stream
    draft: list[str] = []
    final: Answer | None = None
    for event in events:
        if isinstance(event, Answer):
            final = event
            continue
        draft.append(event)
        if stream:
            console.print(event, end="", markup=False, highlight=False, soft_wrap=True)
    if final is None:
        console.print()
        return None
    streamed = "".join(draft).strip()
    if stream:
        console.print()
        if streamed != final.answer.strip():
            console.print(f"\n[dim]— {CHECKED_RULE[final.lang]}[/]")
            console.print(final.answer, markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(final.answer, markup=False, highlight=False, soft_wrap=True)
    if final.citations:
        console.print("\n[bold]Sources[/]")  # the heading as it always was (scripts look for it)
        for c in final.citations:
            console.print(
                f"[{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f"  ({c.doc_id})",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    return final
