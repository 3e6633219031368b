"""Search latency of the configured store: embedded Chroma (YUNYING_CHROMA_URL unset) or a Chroma server.

    python evals/search_latency.py [--queries 40]                       # embedded store under DATA_DIR
    YUNYING_CHROMA_URL=http://127.0.0.1:8123 python evals/search_latency.py

Prints one JSON object: the store, its size, and p50/p95 of (a) a whole hybrid search as the app runs it
(e5 query embedding + Chroma query + BM25 + fusion) and (b) the Chroma query alone with a precomputed
query vector, which is the part a server changes. The store must be ingested already. Localhost only in
our measurements; a remote server adds its network round trip to (b).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.core.settings import Settings, apply_offline_env
from assistant.tools.bench import time_calls  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=40, help="questions from the golden set")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args(argv)
    apply_offline_env()
    from assistant.services.yunying import Yunying
    from assistant.tools.evaluation import load_items

    settings = Settings()
    service = Yunying(settings)
    if service.index.count() == 0:
        raise SystemExit("the store is empty: run `yunying ingest` first")
    service.warm_up()
    questions = [i.question for i in load_items() if i.type == "in_scope"][: args.queries]
    vectors = {q: service.index.embedder.embed_query([q])[0] for q in questions}
    figures = {
        "store": settings.chroma_url or f"embedded ({settings.chroma_dir})",
        "chunks": service.index.count(),
        "hybrid_search": time_calls(lambda q: service.search(q, k=args.k), questions),
        "chroma_query": time_calls(lambda q: service.index.query_dense(vectors[q], 30), questions),
    }
    print(json.dumps(figures, ensure_ascii=False))
    return figures


if __name__ == "__main__":
    main()
