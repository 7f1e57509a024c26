"""The ASGI application for uvicorn (`uvicorn api.main:app`), configured from FLYONCE_* variables."""

from api.app import create_app

app = create_app()
