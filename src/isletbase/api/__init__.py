"""The JSON API (FastAPI) under ``/api``, OpenAPI at ``/api/docs``.

Each capability keeps its routes in its own module here exposing ``router``; ``ROUTERS`` wires
them in. Errors are ``application/problem+json`` with a ``detail`` that says what was wrong.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from isletbase import __version__
from isletbase.api.middleware import (
    MAX_BODY,
    CacheHeaders,
    HeadAsGet,
    RequestLimits,
    ResponseCache,
)
from isletbase.errors import InputError, IsletbaseError, NotFoundError
from isletbase.store.db import Database

#: Modules of ``isletbase.api`` that expose ``router``.
ROUTERS: tuple[str, ...] = ("trials", "evidence", "regulation", "admin", "simulate")

PROBLEM = "application/problem+json"


def problem(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def create_app(
    db: Database | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """Build the API application over ``db`` (default: the configured database); ``lifespan``
    runs around a server process's life (see ``isletbase.app.serving``)."""
    app = FastAPI(
        title="isletbase API",
        version=__version__,
        description="Sourced trials, evidence, rules and simulations of stem-cell therapy for "
        "diabetes. Every fact carries its source.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(ResponseCache)
    app.add_middleware(CacheHeaders)
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY)
    app.add_middleware(RequestLimits)
    # outermost: every read answers HEAD too, and the middleware inside sees it as a GET
    app.add_middleware(HeadAsGet)
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
        known = exc.status_code in HTTPStatus._value2member_map_
        title = HTTPStatus(exc.status_code).phrase if known else "Error"
        return problem(exc.status_code, title, str(exc.detail), exc.headers)

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"isletbase.api.{name}").router)
    return app
