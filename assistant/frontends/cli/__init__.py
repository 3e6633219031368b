"""The CLI's command groups: each module exposes `register(app)`, called from assistant/cli.py."""
