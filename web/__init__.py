"""The web layer: archive serve (FastAPI + Jinja2), one module per desk."""
