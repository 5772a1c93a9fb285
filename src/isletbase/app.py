"""The ASGI application served by ``isletbase serve``: the JSON API plus the web site.

When a server process starts (``serving``) it caps how many routes run in worker threads at
once and freezes the objects built by importing and creating the app, so that Python's
collector stops re-scanning them: on a loaded worker a full collection of those half a million
long-lived objects took about 200 ms, stalling every request in flight.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from isletbase.api import create_app
from isletbase.store.db import Database
from isletbase.web.pages import mount

#: Routes a process runs in threads at once (Starlette's default is 40). Their work is mostly
#: Python holding the GIL, so more threads only take turns slower: at 40, a loaded worker
#: answered fewer requests and its slowest took several times longer.
ROUTE_THREADS = 4


@asynccontextmanager
async def serving(_: FastAPI) -> AsyncIterator[None]:
    """Prepare a server process: the thread cap, then move everything alive into the
    collector's permanent generation (``gc.freeze``), once, before the first request."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
    gc.collect()
    gc.freeze()
    yield


def create(db: Database | None = None) -> FastAPI:
    """The API under /api and the server-rendered pages everywhere else."""
    app = create_app(db, lifespan=serving)
    mount(app)
    return app
