"""Benchmarks: retrieval latency (ours vs a plain dense LangChain + Chroma retriever on the same store),
ingest speed, a scale curve up to 100k chunks, the local LLM's time to first token, and peak memory.

Figures are printed, never asserted: speed goals are checked by reading them, not by timed tests.
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.settings import Settings
from assistant.ingest.pipeline import ingest_files
from assistant.store.embedder import E5_MODEL_NAME


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "n": len(ordered)}


def time_calls(fn: Callable[[str], Any], queries: list[str], warmup: int = 3) -> dict[str, float]:
    for query in queries[:warmup]:
        fn(query)
    samples = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def peak_memory_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_retrieval(service: Any, queries: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Ours (hybrid, filters off) and a plain LangChain dense retriever over the very same collection."""
    from langchain_huggingface import HuggingFaceEmbeddings

    service.warm_up()
    ours = time_calls(lambda q: service.search(q, k=5), queries)
    embeddings = HuggingFaceEmbeddings(
        model_name=str(service.settings.models_dir / E5_MODEL_NAME),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "prompt_name": "query"},
    )
    plain = service.index.as_langchain(embeddings).as_retriever(search_kwargs={"k": 5})
    baseline = time_calls(plain.invoke, queries)
    return ours, baseline


def bench_ingest(settings: Settings, sources: list[Path], max_docs: int = 12) -> dict[str, float]:
    """Ingest speed into a fresh temporary store (model already loaded, so this is embed + write)."""
    from assistant.ingest.loaders import discover
    from assistant.store.chroma import KnowledgeIndex, embedding_function

    embedder = embedding_function(settings.model_copy(update={"embed_cache": False}))  # measure real work
    embedder.embed_query(["warm up"])
    with tempfile.TemporaryDirectory(prefix="yunying-bench-") as tmp:
        files = discover(sources)[:max_docs]
        staging = Path(tmp) / "docs"
        staging.mkdir()
        for path in files:
            shutil.copy(path, staging / path.name)
        temp_settings = settings.model_copy(update={"data_dir": Path(tmp) / "data", "chroma_url": ""})
        index = KnowledgeIndex(temp_settings, embedder)
        started = time.perf_counter()
        report = ingest_files(index, [staging])
        seconds = time.perf_counter() - started
    return {
        "documents": len(report.added),
        "chunks": report.chunks_added,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(report.chunks_added / seconds, 1) if seconds else 0.0,
    }


def bench_scale(
    service: Any, queries: list[str], sizes: tuple[int, ...] = (1_000, 10_000, 100_000), seed: int = 7
) -> list[dict[str, float]]:
    """Hybrid search p50 as the store grows. Synthetic chunks are perturbed real embeddings with shuffled
    real text and tokens: realistic vectors and vocabulary, without embedding 100k texts."""
    from assistant.retrieval import HybridRetriever
    from assistant.store.chroma import KnowledgeIndex
    from assistant.store.records import EmbeddedChunk

    real = service.index.chunks_with_vectors()
    vectors = np.asarray([c.vector for c in real], dtype=np.float32)
    texts = [c.text for c in real]
    metas = [c.metadata for c in real]
    rng = np.random.default_rng(seed)
    shuffle = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="yunying-scale-") as tmp:
        settings = service.settings.model_copy(
            update={"data_dir": Path(tmp), "chroma_url": "", "collection_prefix": "scale"}
        )
        index = KnowledgeIndex(settings, service.index.embedder)
        total = 0
        for size in sizes:
            while total < size:
                batch = min(5000, size - total)
                picks = rng.integers(0, len(vectors), batch)
                noisy = vectors[picks] + rng.normal(0, 0.02, (batch, vectors.shape[1])).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                rows = []
                for j, pick in enumerate(picks):
                    words = list(texts[pick])
                    shuffle.shuffle(words)
                    tokens = str(metas[pick].get("bm25", "")).split()
                    shuffle.shuffle(tokens)
                    meta = dict(metas[pick])
                    meta.update(doc_id=f"synthetic-{(total + j) // 20}", bm25=" ".join(tokens))
                    rows.append(EmbeddedChunk(f"synthetic#{total + j}", "".join(words), meta, noisy[j]))
                index.add_embedded(rows)
                total += batch
            retriever = HybridRetriever(index, settings)
            started = time.perf_counter()
            retriever.refresh()
            load_s = time.perf_counter() - started
            figures = time_calls(lambda q, r=retriever: r.search(q, k=5), queries)
            results.append({"chunks": total, **figures, "bm25_build_s": round(load_s, 2)})
    return results


def bench_answer(service: Any, questions: list[str], backend: str, max_tokens: int = 64) -> dict[str, Any]:
    """Time to first token, decode speed and (local model) prompt-processing speed of the answer backend
    over a few questions. ``prompt_tokens_per_s`` is llama.cpp's prompt_n / prompt_ms: new prompt tokens
    only, the cached system prompt not counted."""
    chain = service.answer_chain(backend)
    chain.max_tokens = max_tokens
    ttft, rates, totals, prompt_rates, prompt_tokens = [], [], [], [], []
    for question in questions:
        started = time.perf_counter()
        first = None
        pieces = 0
        for event in chain.stream(question):
            if isinstance(event, str) and event:
                pieces += 1
                if first is None:
                    first = time.perf_counter()
        end = time.perf_counter()
        answer = event
        if first is None or getattr(answer, "refused", False):
            continue
        ttft.append(first - started)
        totals.append(end - started)
        tokens = (answer.timings.get("completion_tokens") if hasattr(answer, "timings") else None) or pieces
        if end > first and tokens > 1:
            rates.append(tokens / (end - first))
        timings = getattr(answer, "timings", None) or {}
        if timings.get("prompt_ms") and timings.get("prompt_tokens"):  # llama.cpp's prompt_n / prompt_ms
            prompt_rates.append(timings["prompt_tokens"] / timings["prompt_ms"] * 1000)
            prompt_tokens.append(timings["prompt_tokens"])
    if not ttft:
        return {"backend": backend, "n": 0}
    return {
        "backend": backend,
        "n": len(ttft),
        "ttft_p50_s": round(statistics.median(ttft), 2),
        "ttft_max_s": round(max(ttft), 2),
        "tokens_per_s": round(statistics.median(rates), 1) if rates else None,
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1) if prompt_rates else None,
        "prompt_tokens_p50": round(statistics.median(prompt_tokens)) if prompt_tokens else None,
        "total_p50_s": round(statistics.median(totals), 2),
    }
