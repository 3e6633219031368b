"""The bottom layer: definitions every other package shares. It imports nothing from the package."""
