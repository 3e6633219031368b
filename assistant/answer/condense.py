"""Step 1: a follow-up becomes a standalone question, so retrieval sees what "it" refers to."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answer.patterns import pattern
from assistant.core.text import is_chinese

LOOK_BACK = 2  # "the former" / "它" may point past the last question to the one before it

CONDENSE_PROMPT = (
    "Rewrite the user's last message as one standalone question that names what it refers to, using the "
    "conversation. Keep the user's language. Output only the question."
)


def user_questions(history: Sequence[dict[str, str]] | None) -> list[str]:
    return [t["content"].strip() for t in (history or []) if t.get("role") == "user" and t.get("content")]


def is_follow_up(question: str, history: Sequence[dict[str, str]] | None) -> bool:
    if not user_questions(history):
        return False
    short = len(question) <= (8 if is_chinese(question) else 20)  # "为什么？", "具体说说", "And Douban?"
    return short or bool(pattern("follow_up").search(question))


def earlier_questions(question: str, history: Sequence[dict[str, str]] | None) -> list[str]:
    """The previous user questions a follow-up leans on: the last one, and the one before it when the
    last was itself a follow-up (a three-turn conversation's "它" names the first turn's company)."""
    previous = user_questions(history)
    if not previous or not is_follow_up(question.strip(), history):
        return []
    chosen = [previous[-1]]
    for depth in range(2, LOOK_BACK + 1):
        if len(previous) < depth or not is_follow_up(chosen[0], [{"role": "user", "content": "x"}]):
            break
        chosen.insert(0, previous[-depth])
    return [q[:300] for q in chosen]


def condense_question(
    question: str,
    history: Sequence[dict[str, str]] | None = None,
    names_in: Callable[[str], list[str]] | None = None,
) -> str:
    """Rule-based standalone question: a follow-up is merged with what it leans on.

    When the earlier questions name companies (`names_in`), their names stand in for "它" and the
    earlier wording stays out: "那它现在主要靠什么赚钱？" after a question on 小红书's community
    atmosphere retrieves its revenue, not its atmosphere again. Otherwise the earlier questions are
    prefixed whole."""
    question = question.strip()
    earlier = earlier_questions(question, history)
    if not earlier:
        return question
    names = list(dict.fromkeys(n for q in earlier for n in (names_in(q) if names_in else [])))
    if names and not (names_in and names_in(question)):
        return " ".join([*(_pointed_at(question, earlier, names_in) or names), question])
    return " ".join([*earlier, question])


def _pointed_at(
    question: str, earlier: Sequence[str], names_in: Callable[[str], list[str]] | None
) -> list[str]:
    """ "前者" / "the latter": the first or the last company of the latest earlier question that named
    two or more (names come in order of mention)."""
    if names_in is None:
        return []
    pairs = [found for found in (names_in(q) for q in reversed(earlier)) if len(found) >= 2]
    if not pairs:
        return []
    if pattern("former").search(question):
        return pairs[0][:1]
    if pattern("latter").search(question):
        return pairs[0][-1:]
    return []


def condense_with_llm(llm: BaseChatModel, question: str, history: Sequence[dict[str, str]]) -> str:
    """With an LLM: rewrite the follow-up from the last exchanges; fall back to the rule on bad output."""
    if not history:
        return question
    turns = "\n".join(f"{t['role']}: {t['content'][:300]}" for t in list(history)[-2 * LOOK_BACK :])
    try:
        reply = llm.invoke(
            [
                SystemMessage(CONDENSE_PROMPT),
                HumanMessage(f"{turns}\nuser: {question}\n\nStandalone question:"),
            ],
            max_tokens=60,
        )
        content = str(reply.content).strip()
        rewrite = content.splitlines()[0].strip() if content else ""
    except Exception:  # the rewrite is an optimisation; never fail the answer because of it
        rewrite = ""
    if not (4 <= len(rewrite) <= 300):
        return condense_question(question, history)
    return rewrite
