"""Retrieval: filters, dense + BM25 candidates, one rank fusion, named-company rankings, hits (the `Hit`
type is core/schema's)."""

from assistant.retrieval.filters import SearchFilters
from assistant.retrieval.hybrid import HybridRetriever, KnowledgeRetriever, Mode

__all__ = ["HybridRetriever", "KnowledgeRetriever", "Mode", "SearchFilters"]
