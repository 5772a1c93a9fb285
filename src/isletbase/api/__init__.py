"""The JSON API (FastAPI) under ``/api``, OpenAPI at ``/api/docs``.

Each capability keeps its routes in its own module here exposing ``router``; ``ROUTERS`` wires
them in. Errors are ``application/problem+json`` with a ``detail`` that says what was wrong.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import ClientDisconnect

from isletbase import __version__
from isletbase.api.middleware import (
    MAX_BODY,
    CacheHeaders,
    HeadAsGet,
    RequestLimits,
    ResponseCache,
    secured,
)
from isletbase.api.params import json_body, known_query_parameters
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


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """What FastAPI's validation ``errors`` say, each with where: a body that is not JSON is
    named with the parser's reason and the character it stopped at (FastAPI says only
    ``body.1: JSON decode error``)."""
    parts = []
    for err in errors:
        loc = err.get("loc", ())
        if err.get("type") == "json_invalid" and len(loc) == 2:
            reason = (err.get("ctx") or {}).get("error", "")
            parts.append(f"request body: not valid JSON at character {loc[1]} ({reason})")
            continue
        parts.append(f"{'.'.join(str(p) for p in loc)}: {err.get('msg')}")
    return "; ".join(parts) or "invalid request"


#: Titles RFC 9110 gives where Python's ``HTTPStatus`` keeps older ones (a 413 was "Content Too
#: Large" from the server's own limit and "Request Entity Too Large" from the body's).
_TITLES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


def title_of(status: int) -> str:
    """A status's title in a problem document."""
    if status in _TITLES:
        return _TITLES[status]
    known = status in HTTPStatus._value2member_map_
    return HTTPStatus(status).phrase if known else "Error"


def headers_of(exc: StarletteHTTPException) -> Mapping[str, str] | None:
    """An HTTP error's headers, a 405's ``Allow`` naming HEAD wherever it names GET (every
    read answers HEAD too)."""
    headers = dict(exc.headers or {})
    methods = headers.get("Allow", "").split(", ")
    if "GET" in methods and "HEAD" not in methods:
        headers["Allow"] = ", ".join([*methods, "HEAD"])
    return headers or None


def create_app(
    db: Database | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """Build the API application over ``db`` (default: the configured database); ``lifespan``
    runs around a server process's life (see ``isletbase.app.serving``)."""
    # the API's pages served from here (fastapi-offline's copy of Swagger UI): FastAPI's own
    # fetch it from a CDN, and the page stayed blank where that is out of reach (often so in
    # mainland China, this site's first readers)
    app = FastAPIOffline(
        static_url="/api/docs-static",
        dependencies=[Depends(known_query_parameters), Depends(json_body)],
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

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> JSONResponse:
        """A failure of the server's own (logged with its traceback by the server): a problem
        document like every other error, not a bare text, and nothing of the failure in it.
        Answered outside every middleware, so it carries the security headers itself."""
        answer = problem(
            500, "Internal Server Error", "the server failed to answer this request; it is logged"
        )
        secured(answer.headers, request.url.path)
        return answer

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
        """A client that left before its body ended: nobody to answer, and no failure of the
        server's (it was logged as one, with its traceback)."""
        return problem(400, "Bad Request", "the client left before sending the whole body")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "Unprocessable Content", validation_detail(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, title_of(exc.status_code), str(exc.detail), headers_of(exc))

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"isletbase.api.{name}").router)
    generate = app.openapi
    app.openapi = lambda: app.openapi_schema or _documented_errors(generate())  # type: ignore[method-assign]
    return app


#: An error as every route answers it (``problem``), for the OpenAPI document.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document: what was wrong, and where, in `detail`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {
            "type": "string",
            "example": "cell_source: unknown value 'X'; expected one of …",
        },
    },
}

#: The errors every operation may answer, and those of one that names a record in its path.
_ERRORS = {
    "400": "Bad request: a parameter or body isletbase cannot use (`detail` names it)",
    "422": "Unprocessable content: a parameter or body of the wrong type or form",
}
_NOT_FOUND = {"404": "Not found: no record with that id"}
_NOT_JSON = {"415": "Unsupported media type: a body of another type than the route reads"}


def _names_a_record(path: str) -> bool:
    """Whether a path's parameter names a record (a trial, an institution, a run), which may
    not be there: ``/api/export/{fmt}`` names a format, refused as a 422."""
    return "{" in path and "{fmt}" not in path


#: Parameters a route's query model holds but the route refuses by name: an export holds
#: every matching trial, not a page (its schema listed ``page`` and ``per_page``, default 20).
_REFUSED_PARAMETERS = {"/api/export/{fmt}": ("page", "per_page")}


def _documented_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's OpenAPI ``schema`` (changed in place, as the app keeps it) with the errors as
    they are answered: a problem document (``application/problem+json``, ``detail`` a string)
    — it documented a 422 as JSON with a list of errors, and no 400 or 404 at all — and
    without the parameters a route refuses (``_REFUSED_PARAMETERS``)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            refused = _REFUSED_PARAMETERS.get(path, ())
            if refused:  # inherited from the search's model, refused by the route by name
                kept = [p for p in operation.get("parameters", []) if p["name"] not in refused]
                operation["parameters"] = kept
            responses = operation.setdefault("responses", {})
            errors = {
                **_ERRORS,
                **(_NOT_FOUND if _names_a_record(path) else {}),
                **(_NOT_JSON if "requestBody" in operation else {}),
            }
            for status, description in errors.items():
                responses[status] = {
                    "description": description,
                    "content": {PROBLEM: {"schema": ref}},
                }
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components["Problem"] = PROBLEM_SCHEMA
    return schema
