"""The ASGI application served by ``isletbase serve``: the JSON API plus the web site."""

from __future__ import annotations

import importlib
import importlib.util

from fastapi import FastAPI

from isletbase.api import create_app
from isletbase.store.db import Database


def create(db: Database | None = None) -> FastAPI:
    """The API under /api, plus the web pages once ``isletbase.web.pages`` provides them."""
    app = create_app(db)
    if importlib.util.find_spec("isletbase.web.pages") is not None:
        importlib.import_module("isletbase.web.pages").mount(app)
    return app
