"""The FastAPI app. It reuses app.services; the CLI never imports this package."""
