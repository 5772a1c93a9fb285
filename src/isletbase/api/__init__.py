"""The JSON API (FastAPI) under ``/api``, OpenAPI at ``/api/docs``.

Each capability keeps its routes in its own module here exposing ``router``; ``ROUTERS`` wires
them in. Errors are ``application/problem+json`` with a ``detail`` that says what was wrong.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from isletbase import __version__
from isletbase.errors import InputError, IsletbaseError, NotFoundError
from isletbase.store.db import Database

#: Modules of ``isletbase.api`` that expose ``router``.
ROUTERS: tuple[str, ...] = ("trials", "evidence", "regulation", "simulate")

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM,
    )


def create_app(db: Database | None = None) -> FastAPI:
    """Build the API application over ``db`` (default: the configured database)."""
    app = FastAPI(
        title="isletbase API",
        version=__version__,
        description="Sourced trials, evidence, rules and simulations of stem-cell therapy for "
        "diabetes. Every fact carries its source.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.db = db or Database()

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not Found", str(exc))

    @app.exception_handler(InputError)
    async def _bad_input(_: Request, exc: InputError) -> JSONResponse:
        return problem(400, "Bad Request", str(exc))

    @app.exception_handler(IsletbaseError)
    async def _other(_: Request, exc: IsletbaseError) -> JSONResponse:
        return problem(400, "Bad Request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}")
        return problem(422, "Unprocessable Content", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"isletbase.api.{name}").router)
    return app
