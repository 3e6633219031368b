"""Front ends: thin layers over the service object (today the OpenAI-compatible API; the CLI and the
Gradio pages move here in issue 16). Only this package may import gradio, typer, rich, fastapi or uvicorn."""
