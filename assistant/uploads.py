"""Kept for the old import path (the web UI tests): checking and storing uploads is ingest/uploads.py."""

from assistant.ingest.uploads import RemoveResult, UploadResult, check_upload, safe_filename, store_upload  # noqa: F401
