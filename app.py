"""Launch the Yunying Gradio app on the embedded defaults: `python app.py`."""

from assistant.frontends.cli.app import main

if __name__ == "__main__":
    main(["serve"])
