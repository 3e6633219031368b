"""The answer chain, composed with LCEL: each step adds one key to a typed state
(RunnablePassthrough.assign), a RunnableBranch picks how to respond, and the response streams
through the chain with the caller's config and callbacks passed on to the chat model.

    condense -> guard -> retrieve -> gate -> select sentences -> respond
    respond:  injection refusal | gate refusal | no case for the company | extractive | LLM + grounding
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial, reduce
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableConfig,
    RunnableGenerator,
    RunnablePassthrough,
)
from langchain_core.runnables.utils import AddableDict

from assistant.answer.address import address_the_asker, asks_as_we
from assistant.answer.condense import condense_question, condense_with_llm, earlier_questions
from assistant.answer.context import NOT_GUIDANCE, focus_hits, select_sentences, with_guidance
from assistant.answer.extractive import extractive_answer, related_points
from assistant.answer.gate import GateThresholds, gate_scores, should_refuse, word_weights
from assistant.answer.grounding import (
    GroundingChecker,
    GroundingThresholds,
    cited_in,
    claims,
    removed_notice,
)
from assistant.answer.guard import is_injection, strip_injection
from assistant.answer.intent import QuestionIntents
from assistant.answer.no_case import company_without_case, no_case_reply
from assistant.answer.patterns import text
from assistant.answer.prompt import NOT_COVERED, build_messages, scrub_prompt_leak
from assistant.answer.sides import uncovered_sides
from assistant.answer.state import Answer, AnswerState
from assistant.core.errors import check_text
from assistant.core.schema import Hit
from assistant.core.text import detect_lang, without_names
from assistant.llm.local import llama_timings
from assistant.retrieval import HybridRetriever, SearchFilters


def _merged(states: Iterator[AnswerState]) -> AnswerState:
    """A generator step receives the state as streamed chunks: add them up."""
    return reduce(operator.add, (AddableDict(s) for s in states))


def _only_injection(state: AnswerState) -> bool:
    """The question is an injection attempt and nothing else: no topics to offer."""
    return state["injection"] and len(state["query"]) < 4


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


class AnswerChain:
    """Grounded answers over the hybrid retriever, with an optional chat model (None = extractive)."""

    def __init__(
        self,
        retriever: HybridRetriever,
        llm: BaseChatModel | None = None,
        *,
        backend: str = "none",
        top_k: int = 8,
        max_sources: int = 6,
        context_tokens: int = 450,
        gate: GateThresholds | None = None,
        grounding: GroundingThresholds | None = None,
        max_tokens: int = 400,
        max_question_chars: int = 2000,
        llm_condense: bool = False,
        min_points: int = 5,
        answer_points: int = 5,
    ) -> None:
        self.retriever = retriever
        self.llm = llm
        self.backend = backend if llm is not None else "none"
        self.top_k = top_k
        self.max_sources = max_sources
        self.context_tokens = context_tokens
        self.gate_thresholds = gate or GateThresholds()
        self.max_tokens = max_tokens
        self.max_question_chars = max_question_chars
        self.llm_condense = llm_condense
        self.min_points = min_points
        self.answer_points = answer_points
        embedder = retriever.index.embedder
        self.embed_query = embedder.embed_query
        self.embed_passages = embedder.embed_passages
        self.checker = GroundingChecker(
            self.embed_query, self.embed_passages, retriever.companies_in, grounding
        )
        self.intents = QuestionIntents(self.embed_query)
        self.runnable: Runnable = self._compose()

    # ------------------------------------------------------------ composition

    def _compose(self) -> Runnable:
        prepare = (
            RunnablePassthrough.assign(
                lang=lambda s: detect_lang(s["question"]),
                earlier=lambda s: earlier_questions(s["question"], s["history"]),
                merged=lambda s: condense_question(
                    s["question"], s["history"], self.retriever.company_labels
                ),
            )
            | RunnablePassthrough.assign(standalone=self._standalone)
            | RunnablePassthrough.assign(
                injection=lambda s: is_injection(s["standalone"]),
                advice=lambda s: asks_as_we(s["question"], s["lang"]),
                query=lambda s: strip_injection(s["standalone"]),
                condensed_at=lambda s: time.perf_counter(),
            )
            | RunnablePassthrough.assign(hits=self._retrieve)
            | RunnablePassthrough.assign(
                retrieval_ms=lambda s: _ms(s["condensed_at"]),
                companies=lambda s: self.retriever.companies_in(s["query"]) if s["hits"] else [],
                intent=lambda s: self.intents.read(s["question"]),
                gate=self._gate_scores,
            )
            | RunnablePassthrough.assign(
                refuse=lambda s: (
                    not s["hits"]
                    or s["intent"].forecast
                    or should_refuse(s["gate"], s["lang"], self.gate_thresholds)
                ),
                no_case_for=self._no_case_for,
            )
            | RunnablePassthrough.assign(question_vector=self._question_vector, guidance=self._guidance)
            | RunnablePassthrough.assign(sources=self._select)
        )
        respond = RunnableBranch(
            (lambda s: _only_injection(s) or s["refuse"] or self._weak(s), RunnableGenerator(self._refuse)),
            (lambda s: bool(s["no_case_for"]), RunnableGenerator(self._no_case)),
            (lambda s: self.llm is None, RunnableGenerator(self._extractive)),
            RunnableGenerator(self._generate),
        )
        self.prepare = prepare  # everything before the response: the gate's calibration runs this alone
        self.respond = respond  # the response alone, over a prepared state (evals/collect_drafts.py)
        return (prepare | respond).with_config(run_name="yunying_answer")

    # ------------------------------------------------------------ preparing steps

    def _standalone(self, state: AnswerState) -> str:
        if self.llm_condense and self.llm is not None and state["history"] and state["earlier"]:
            return condense_with_llm(self.llm, state["question"], state["history"])
        return state["merged"]

    def _retrieve(self, state: AnswerState) -> list[Hit]:
        query, filters = state["query"], state.get("filters")
        if len(query) < 2:
            return []
        hits = self.retriever.search(query, k=self.top_k, filters=filters)
        merged = strip_injection(state["merged"])
        if hits and merged and merged != query:
            # a small model's rewrite sometimes drops the entity the follow-up is about; the rule-based
            # merge (earlier questions + this one) never does: both rankings are fused
            hits = self.retriever.fuse([hits, self.retriever.search(merged, k=self.top_k, filters=filters)])
        return hits

    def _gate_scores(self, state: AnswerState) -> dict[str, float]:
        bm25 = self.retriever.bm25_index()
        return gate_scores(state["query"], state["hits"], bm25.idf, bm25.max_idf)

    def _no_case_for(self, state: AnswerState) -> str:
        if not state["hits"] or state["injection"]:
            return ""
        args = (state["companies"], state["hits"], self.gate_thresholds, state["lang"])
        return company_without_case(state["query"], self.retriever, *args)

    def _guidance(self, state: AnswerState) -> list[Hit]:
        """An advice question's best framework passages (`with_guidance`), unless the caller filtered."""
        filtered = not (state.get("filters") or SearchFilters()).is_empty()
        if state["refuse"] or not state["hits"] or not state["advice"] or filtered:
            return []
        found = self.retriever.search(state["query"], k=4, filters=SearchFilters(kind="framework"))
        return [h for h in found if h.topic not in NOT_GUIDANCE][:2]

    def _question_vector(self, state: AnswerState) -> Any:
        if state["refuse"] or not state["hits"]:
            return None
        # the extractive answer chooses sentences for what this turn asks; retrieval used the merge,
        # which holds the earlier questions' wording unless the companies they named stand in for "它"
        # ("美团 它的核心用户是谁？" asks what this turn asks; the bare "它的核心用户是谁？" matches no
        # sentence well enough, and the answer was refused as weak)
        return self.embed_query([self._answered_text(state)])[0]

    def _answered_text(self, state: AnswerState) -> str:
        """What the answer's sentences are chosen for (the question vector embeds it)."""
        follow_up = bool(state["earlier"]) and self.llm is None and not state["companies"]
        return state["question"] if follow_up else state["query"]

    def _select(self, state: AnswerState) -> list:
        if state["question_vector"] is None:
            return []
        hits = focus_hits(state["hits"], state["companies"], self.max_sources)
        named = {c.lower() for c in state["companies"]}
        leading = len({(h.company or "").lower() for h in hits} & named) if len(named) > 1 else 0
        if state["advice"]:
            hits, leading = with_guidance(hits, state["guidance"], leading, self.max_sources)
        vector, budget = state["question_vector"], self.context_tokens
        sources = select_sentences(vector, hits, self.embed_passages, budget_tokens=budget, leading=leading)
        for source in sources:
            if source.pair_id:
                source.twin_text = self.retriever.index.twin_section_text(
                    source.pair_id, source.section, source.doc_id
                )
        return sources

    def _weak(self, state: AnswerState) -> bool:
        """No sentence of the chosen passages is close in meaning to the question: the knowledge base has
        words in common with it, but nothing that answers it ("明天上海会下雨吗？")."""
        best = max((s.relevance for s in state["sources"]), default=0.0)
        return best < self.gate_thresholds.min_sentence(state["lang"])

    # ------------------------------------------------------------ responses

    def _base(self, state: AnswerState) -> dict[str, Any]:
        return {
            "question": state["question"],
            "standalone_question": state["standalone"],
            "backend": self.backend,
            "gate": state.get("gate", {}),
            "lang": state["lang"],
        }

    def _timings(self, state: AnswerState, ttft_ms: float | None = None) -> dict[str, float]:
        total = _ms(state["started"])
        return {"retrieval_ms": state["retrieval_ms"], "ttft_ms": ttft_ms or total, "total_ms": total}

    def _nearest(self, hits: Sequence[Hit], limit: int = 3) -> list[str]:
        return list(dict.fromkeys(h.title for h in hits))[:limit]

    def _refusal(self, state: AnswerState, nearest: list[str], *, injection: bool = False, extra: str = ""):
        lang = state["lang"]
        body = text("injection" if injection else "forecast" if state["intent"].forecast else "refusal", lang)
        if extra:
            body += ("" if lang == "zh" else " ") + extra
        if nearest and not injection:
            joined = ("、" if lang == "zh" else "; ").join(nearest)
            body += "\n\n" + text("nearest_topics", lang) + joined
        return body

    def _refused(self, state: AnswerState, body: str, timings: dict[str, float] | None = None, **fields: Any):
        """The final chunk of a refusal: the Answer with its common fields, plus what this refusal adds."""
        answer = Answer(
            **self._base(state), answer=body, refused=True, timings=timings or self._timings(state), **fields
        )
        return AddableDict(answer=answer)

    def _refuse(self, states: Iterator[AnswerState]) -> Iterator[AddableDict]:
        state = _merged(states)
        nearest = [] if _only_injection(state) else self._nearest(state["hits"])
        body = self._refusal(state, nearest, injection=state["injection"])
        yield AddableDict(delta=body)
        yield self._refused(state, body, nearest_topics=nearest)

    def _no_case(self, states: Iterator[AnswerState]) -> Iterator[AddableDict]:
        """A company without a case: say so, and where it is mentioned or the nearest cases."""
        state = _merged(states)
        body, offered = no_case_reply(state["no_case_for"], state["lang"], state["hits"])
        yield AddableDict(delta=body)
        yield self._refused(state, body, nearest_topics=offered, no_case_for=state["no_case_for"])

    def _extractive(self, states: Iterator[AnswerState]) -> Iterator[AddableDict]:
        state = _merged(states)
        yield from self._finish(state, self._quoted(state), ttft_ms=_ms(state["started"]), stream_final=True)

    def _quoted(self, state: AnswerState) -> str:
        """The sources' own sentences most relevant to the question: the `none` backend's answer, and
        what stands in for a model's draft that could not be checked."""
        vector, lang, sources = state["question_vector"], state["lang"], state["sources"]
        # one sentence that answers, then up to four points, as a thin model answer gets (dev key points +0.1)
        figure = self._states_figure(state) if state["intent"].asks_figure else None
        relevance = {**self._relevance(state), "answers_figure": figure}
        return extractive_answer(vector, lang, sources, self.embed_passages, self.answer_points, **relevance)

    def _generate(self, states: Iterator[AnswerState], config: RunnableConfig) -> Iterator[AddableDict]:
        state = _merged(states)
        question = state["query"] if state["injection"] else state["question"]
        # the model answers what the user asked, with the earlier questions as context for "it": a
        # rewrite (the rule's, or a model's) serves retrieval only, so a rewrite that drifts back to
        # the earlier question (a small model's habit) cannot change what is answered
        figure = state["intent"].asks_figure
        messages = build_messages(
            question, state["sources"], state["lang"], state["earlier"], figure, advice=state["advice"]
        )
        raw, emitted, first = "", 0, None
        llm_timings: dict[str, float] = {}
        assert self.llm is not None
        for chunk in self.llm.stream(messages, config=config, max_tokens=self.max_tokens):
            llm_timings.update(llama_timings(chunk))
            piece = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
            if not piece:
                continue
            first = first or time.perf_counter()
            raw += piece
            if NOT_COVERED.startswith(raw.strip()) or NOT_COVERED in raw:
                continue  # hold back what may be the NOT_COVERED marker
            yield AddableDict(delta=raw[emitted:])
            emitted = len(raw)
        ttft = round((first - state["started"]) * 1000, 1) if first else None
        if not raw.strip() or NOT_COVERED in raw:
            # the gate found passages close to the question, and a 1.5B model declines answerable
            # questions (advice above all): the sources' own closest sentences are shown, saying why
            yield from self._finish(state, "", ttft_ms=ttft, llm_timings=llm_timings, model_declined=True)
            return
        draft = address_the_asker(raw, state["question"], state["lang"])
        yield from self._finish(state, draft, ttft_ms=ttft, llm_timings=llm_timings)

    def _finish(
        self,
        state: AnswerState,
        draft: str,
        *,
        ttft_ms: float | None,
        stream_final: bool = False,
        llm_timings: dict[str, float] | None = None,
        model_declined: bool = False,
    ) -> Iterator[AddableDict]:
        """The grounding check over a draft, and the final Answer. Front ends show the final answer in
        place of the streamed draft; when the check removed text, the answer says so. `model_declined`:
        the model wrote no draft (it judged the passages do not answer)."""
        lang, sources = state["lang"], state["sources"]
        grounded = self.checker.check(scrub_prompt_leak(draft), sources, state["question"])
        notice = removed_notice(len(grounded.unsupported), lang)
        fell_back = False
        if not grounded.cited and not stream_final and (draft.strip() or model_declined):
            # nothing the model wrote could be checked against the sources, but the gate found passages
            # close to the question: answer with their own sentences instead of refusing, and say why
            fallback = self.checker.check(self._quoted(state), sources, state["question"])
            if fallback.cited:
                grounded = fallback.model_copy(update={"unsupported": grounded.unsupported})
                notice, fell_back = text("model_declined" if model_declined else "unverified", lang), True
        by_n = {s.n: s for s in sources}
        timings = {**self._timings(state, ttft_ms), **(llm_timings or {})}
        if not grounded.cited:
            nearest = self._nearest(state["hits"])
            body = self._refusal(state, nearest, extra=text("withheld", lang) if draft.strip() else "")
            if stream_final:
                yield AddableDict(delta=body)
            yield self._refused(
                state, body, timings, nearest_topics=nearest, unsupported_sentences=grounded.unsupported
            )
            return
        body, cited = grounded.text, list(grounded.cited)
        # a figure asked for is "not stated" when the checked answer gives none of the kind asked about
        # what was asked (a count is no price, a valuation no seat price), or when the model's answer was
        # not shown at all (the quoted sentences were chosen for the topic, not the figure)
        not_stated = state["intent"].asks_figure and (fell_back or not self._states_figure(state)(body))
        # the model's thin answer gets further points; any answer to a comparison, the model's, the
        # quoted fallback's or the extractive one, gets each named company it left out
        more = self._more_points(state, body) if not stream_final and not fell_back else []
        # the other side of a comparison reads the points just added too: a point of the company left
        # out was quoted twice, once as a further point and once as that company's side
        more += self._missing_sides(state, "\n".join([body, *more]), [*cited, *cited_in(more)])
        if more:
            body += "\n" + text("more_from_sources", lang) + "\n" + "\n".join(more)
            cited = list(dict.fromkeys([*cited, *cited_in(more)]))  # two points of one source: one card
        gap = "" if lang == "zh" else " "
        lead = f"{text('not_stated', lang)}{gap}{text('not_stated_then', lang)}" if not_stated else ""
        body = f"{lead}\n{body}" if lead else body
        if notice:
            body += "\n\n" + notice
        if stream_final:
            yield AddableDict(delta=body)
        yield AddableDict(
            answer=Answer(
                **self._base(state),
                answer=body,
                refused=False,
                citations=[by_n[n] for n in cited],
                timings=timings,
                unsupported_sentences=grounded.unsupported,
                notice=notice,
                not_stated=not_stated,
                lead=lead,
            )
        )

    def _states_figure(self, state: AnswerState) -> Callable[[str], bool]:
        """Whether a text states a figure of the kind asked; the question is read once, not per sentence."""
        bm25, question = self.retriever.bm25_index(), state["question"]  # this turn's own words
        names = " ".join(self.retriever.names_of(state["companies"])).lower()
        about = self.intents.figure_words(question, bm25.idf, bm25.max_idf, names)
        kind = state["intent"].figure_kind
        return partial(self.intents.states_figure, question=question, kind=kind, about=about)

    def _more_points(self, state: AnswerState, body: str) -> list[str]:
        """A checked answer with fewer than `min_points` claims left gets the sources' own sentences
        that answer the question and say something new, up to `answer_points` in all."""
        said = claims(body)
        if len(said) >= self.min_points:
            return []
        return related_points(
            state["question_vector"],
            state["lang"],
            state["sources"],
            self.embed_passages,
            said,
            max_points=self.answer_points - len(said),
            min_relevance=self.gate_thresholds.min_sentence(state["lang"]),
            **self._relevance(state),
        )

    def _relevance(self, state: AnswerState) -> dict[str, Any]:
        """What ranks the sources' sentences beside e5's cosine to the question: the question's own words,
        and half the cosine measured without the company names, since a sentence that only introduces the
        company ("小红书由…领导", "Bilibili was founded by…") is close to any question naming it."""
        bm25, sources = self.retriever.bm25_index(), state["sources"]
        names = self.retriever.names_of([s.company for s in sources if s.company])
        leave_out = " ".join(f"{s.title} {s.company or ''}" for s in sources).lower()
        nameless = without_names(self._answered_text(state), names)
        return {
            "question_words": word_weights(state["question"], bm25.idf, bm25.max_idf, leave_out=leave_out),
            "names": names,
            "nameless_question_vector": self.embed_query([nameless])[0] if names else None,
        }

    def _missing_sides(self, state: AnswerState, body: str, cited: Sequence[int]) -> list[str]:
        """Each side the answer leaves out (`uncovered_sides`): its sentence closest to the question."""
        points: list[str] = []
        said = claims(body)
        for side in uncovered_sides(state["sources"], cited, state["companies"], state["advice"]):
            points += related_points(
                state["question_vector"],
                state["lang"],
                side,
                self.embed_passages,
                said,
                max_points=1,
                min_relevance=0.0,  # the question asks for this side: its best sentence is relevant
                **self._relevance(state),  # ranked as other points are, not for naming the company
            )
        return points

    # ------------------------------------------------------------ running

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        filters: SearchFilters | None = None,
        config: RunnableConfig | None = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text pieces as they are produced, then the final, checked Answer."""
        state = {
            "question": self._checked(question),
            "history": list(history or []),
            "filters": filters,
            "started": time.perf_counter(),
        }
        for chunk in self.runnable.stream(state, config=config):
            if chunk.get("delta"):
                yield chunk["delta"]
            if "answer" in chunk:
                yield chunk["answer"]

    def invoke(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        filters: SearchFilters | None = None,
        config: RunnableConfig | None = None,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, filters, config):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def _checked(self, question: str) -> str:
        limit = self.max_question_chars
        return check_text(question, what="question", limit=limit, setting="MAX_QUESTION_CHARS")

    def as_runnable(self) -> Runnable:
        """The whole chain as one Runnable: {"question", "history", "filters"?} -> stream of
        {"delta": str} chunks and a final {"answer": Answer}."""
        return (
            RunnablePassthrough.assign(
                question=lambda s: self._checked(s["question"]),
                history=lambda s: list(s.get("history") or []),
                filters=lambda s: s.get("filters"),
                started=lambda s: time.perf_counter(),
            )
            | self.runnable
        )
