"""The store: e5 embeddings (`embedder`, `vector_cache`), the Chroma collection (`chroma`, the only module
of the package importing chromadb) and BM25 tokens (`tokenizer`, a jieba instance of its own). What to
write is the ingest pipeline's to decide (assistant.ingest.pipeline). Import from the modules: this
package's __init__ stays empty so that tokenizing text does not load Chroma."""
