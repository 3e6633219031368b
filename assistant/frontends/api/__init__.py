"""The OpenAI-compatible HTTP API: `POST /v1/chat/completions` (model `yunying`, streaming or not) and
`GET /v1/models`, with the answer's citations as extra top-level fields."""

from assistant.frontends.api.app import MODEL_ID, create_api
from assistant.frontends.api.server import combined_app, serve

__all__ = ["MODEL_ID", "combined_app", "create_api", "serve"]
