"""The web UI's tabs, one page class each: `render()` declares the tab's widgets and wires their events,
and the handlers are plain methods that take and return values, so they are tested without a browser.

These modules import gradio at the top (its `gr.Request` and `gr.LikeData` hints are read from them when
an event fires), so only `build_app` imports them, after the offline environment is applied."""
