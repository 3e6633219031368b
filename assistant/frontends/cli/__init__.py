"""The command-line front end's command groups: each module's `register(app)` adds its commands."""
