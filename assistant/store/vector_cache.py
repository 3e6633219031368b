"""Passage vectors kept on disk by the text they embed, next to the model folder that made them.

Embedding is the one slow step of ingest (about 20 passages/s on two cores). A store rebuilt after a
chunking or metadata change, a second store of the same files (the eval store, a test store, a team
member's laptop sharing the models folder) or a re-ingest after a crash embeds only text it has never
seen. Vectors are keyed by the sha256 of the exact passage text, in a file named after the model build's
fingerprint, so a different model never reads another model's vectors.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class PassageVectorCache:
    """sqlite (WAL, so several processes share it) mapping sha256(text) to a float32 vector."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        # one short-lived connection per call: safe across threads and processes, and cheap next to
        # the embedding it saves
        return sqlite3.connect(self.path, timeout=60)

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8")).digest()

    def get_many(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        keys = [self.key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        try:
            with self._connect() as db:
                for start in range(0, len(keys), 500):  # sqlite's limit on bound parameters
                    part = keys[start : start + 500]
                    marks = ",".join("?" * len(part))
                    query = f"SELECT key, vector FROM vectors WHERE key IN ({marks})"
                    for key, blob in db.execute(query, part):
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error:
            return [None] * len(texts)  # a broken cache only costs time: everything is embedded again
        return [found.get(k) for k in keys]

    def put_many(self, texts: Sequence[str], vectors: Sequence[np.ndarray]) -> None:
        rows = [
            (self.key(text), np.asarray(vector, dtype=np.float32).tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        try:
            with self._connect() as db:
                db.executemany("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)
        except sqlite3.Error:
            pass  # the vectors are already in the store; caching them is an optimisation

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
