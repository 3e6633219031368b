"""Retrieval: filters, dense + BM25 candidates, one rank fusion, named-company rankings, hits."""

from assistant.retrieval.filters import SearchFilters
from assistant.retrieval.hits import Hit
from assistant.retrieval.hybrid import HybridRetriever, KnowledgeRetriever, Mode

__all__ = ["Hit", "HybridRetriever", "KnowledgeRetriever", "Mode", "SearchFilters"]
