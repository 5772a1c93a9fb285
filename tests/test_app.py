"""The served application: what a server process sets up when it starts."""

from __future__ import annotations

import gc

import anyio.to_thread
from fastapi.testclient import TestClient

from isletbase.app import ROUTE_THREADS, create


def test_a_starting_server_caps_route_threads_and_freezes_what_is_loaded(loaded_db):
    app = create(loaded_db)
    try:
        with TestClient(app) as client:
            tokens = client.portal.call(
                lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
            )
            assert tokens == ROUTE_THREADS
            assert gc.get_freeze_count() > 0
            assert client.get("/api/trials", params={"q": "umbilical"}).status_code == 200
    finally:
        gc.unfreeze()
