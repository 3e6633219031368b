"""Kept for the old import path (the web UI): the document catalog lives in services/catalog.py."""

from assistant.services.catalog import DocumentInfo, catalog, document_body, filter_documents  # noqa: F401
