"""Ingest: loading knowledge and users' files into Documents (loaders) and cutting them into Chunks
(chunking). The incremental pipeline is still in store/ingest.py."""
