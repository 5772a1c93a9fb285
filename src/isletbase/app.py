"""The ASGI application served by ``isletbase serve``: the JSON API plus the web site."""

from __future__ import annotations

from fastapi import FastAPI

from isletbase.api import create_app
from isletbase.store.db import Database
from isletbase.web.pages import mount


def create(db: Database | None = None) -> FastAPI:
    """The API under /api and the server-rendered pages everywhere else."""
    app = create_app(db)
    mount(app)
    return app
