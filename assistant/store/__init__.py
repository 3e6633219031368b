"""The store: e5 embeddings (`embedder`, `vector_cache`), the Chroma collection (`chroma`, the only module
of the package importing chromadb), BM25 tokens (`tokenizer`, a jieba instance of its own) and the
incremental ingest plan (`ingest`). Import from the modules: this package's __init__ stays empty so
that tokenizing text does not load Chroma."""
