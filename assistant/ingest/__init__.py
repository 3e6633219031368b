"""Ingest: loading knowledge and users' files into Documents (loaders) and cutting them into Chunks
(chunking), and the incremental pipeline that writes them through the store (pipeline)."""
