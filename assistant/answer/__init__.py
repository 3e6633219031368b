"""The answer step: condense -> guard -> retrieve -> gate -> select sentences -> prompt -> LLM ->
grounding check -> Answer, composed with LCEL in `chain`."""

from assistant.answer.chain import AnswerChain
from assistant.answer.state import Answer, Citation, Turn

__all__ = ["Answer", "AnswerChain", "Citation", "Turn"]
