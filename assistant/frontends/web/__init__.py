"""The web front end (Gradio): app, render helpers, static text and assets."""
