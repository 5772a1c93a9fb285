"""HTTP behaviour shared by every route: ``HEAD`` for every read, validators and caching of
reads, request limits, and security headers.

Reads (GET/HEAD answered 200) get an ``ETag`` (a hash of the body) and a ``Cache-Control``
suited to what they are, and a request whose ``If-None-Match`` matches is answered ``304`` with no
body. Over-long URLs (``414``) and declared bodies over the limit (``413``) are refused before any
route runs; a body without a declared length is counted as it arrives by Starlette's
``RequestBodyLimitMiddleware`` (see ``create_app``). Written as plain ASGI middleware so a
response passes through without extra copies or threads.

``ResponseCache`` keeps each worker's recent answers to reads for a few seconds
(``$ISLETBASE_CACHE_TTL``, default 5; 0 turns it off) — well inside the ``max-age`` the API
already promises clients — and forgets them all when a write succeeds on that worker (a
request its route marks with ``mark_write``: those that passed the write token), so a burst of
identical searches costs one database query, and a read-only POST (checking an offer, running
a simulation without storing it) keeps them.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import os
import time
from collections import OrderedDict
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from isletbase.store.db import UNPRINTABLE, unprintable
from isletbase.wording import LANGUAGE_COOKIE, page_language

#: Largest request body accepted (bytes): a posted registry study is far smaller.
MAX_BODY = 1_048_576
#: Longest path plus query string accepted (bytes).
MAX_URL = 4096

#: Cache-Control by path prefix; the first match wins.
CACHE_POLICY = (
    ("/static/", "public, max-age=86400"),
    ("/api/", "public, max-age=60"),
    ("/", "private, no-cache"),
)
#: Pages may only load the site's own scripts, styles and images.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


#: The key of a request's ASGI ``state`` that says it wrote to the database.
WROTE = "isletbase_wrote"


def mark_write(state: dict) -> None:
    """Say that the request whose ASGI ``state`` this is writes (``ResponseCache`` then forgets
    its answers once the write succeeds)."""
    state[WROTE] = True


#: Seconds a worker reuses an answer to the same read (``$ISLETBASE_CACHE_TTL``).
DEFAULT_CACHE_TTL = 5.0
CACHE_ENTRIES = 4096
#: Most bytes of answers a worker keeps; the least recently used go first.
CACHE_BYTES = 64 * 1_048_576
#: Seconds past its time an answer may still be given while its replacement is computed.
STALE_WHILE_REVALIDATE = 30.0
CACHE_MAX_BODY = 2 * 1_048_576


def etag_of(body: bytes) -> str:
    """A strong validator: the same bytes give the same tag on every worker."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cache_control(path: str) -> str:
    return next(policy for prefix, policy in CACHE_POLICY if path.startswith(prefix))


#: A refusal as a Chinese reader is told it, on the page the middleware answers with.
_REFUSED_ZH = {
    400: "无法读取该请求。",
    413: "请求内容超过本站的大小上限。",
    414: "网址过长，超过本站的上限。",
}


def problem_message(
    status: int, title: str, detail: str, page: bool = False
) -> tuple[Message, Message]:
    """A refusal as ASGI messages: a problem document (RFC 9457), or for a web page (``page``)
    a small HTML page saying the same, escaped."""
    if page:  # refused before the page's language is read: said in both
        zh = _REFUSED_ZH.get(status, "无法读取该请求。")
        body = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{status} "
            f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(detail)}</p><p lang=zh-Hans>{zh}</p>"
            f"<p><a href=/>isletbase</a></p></body></html>"
        ).encode()
        media = b"text/html; charset=utf-8"
    else:
        body = json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail},
            separators=(",", ":"),  # as the routes' problem documents
        ).encode()
        media = b"application/problem+json"
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class HeadAsGet:
    """Answer ``HEAD`` as the ``GET`` of the same URL without its body (RFC 9110 §9.3.2), with
    the ``GET``'s headers, ``Content-Length`` and ``ETag`` included.

    FastAPI routes are declared for ``GET`` alone and answer ``HEAD`` with ``405``; seen as a
    ``GET`` by everything inside it, a ``HEAD`` is validated, cached and limited like one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)


class RequestLimits:
    """Refuse, as problem+json, a URL longer than ``max_url`` (``414``), a path holding a
    control character or a path or query that is not UTF-8 (``400``) and a declared
    ``Content-Length`` over ``max_body`` (``413``) before the request reaches a route.

    A body sent without a length is counted as it arrives by Starlette's body-limit middleware.
    """

    def __init__(self, app: ASGIApp, max_url: int = MAX_URL, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_url = max_url
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                page = not is_api(scope["path"])
                for message in problem_message(*refusal, page=page):
                    if message["type"] == "http.response.start":  # outside ``CacheHeaders``
                        secured(MutableHeaders(scope=message), scope["path"])
                    await send(message)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        size = len(scope.get("raw_path") or scope["path"].encode()) + len(
            scope.get("query_string", b"")
        )
        if size > self.max_url:
            return 414, "URI Too Long", f"the URL is {size} bytes long; the limit is {self.max_url}"
        if unprintable(scope["path"]):  # an id with a NUL: PostgreSQL refuses it outright
            return 400, "Bad Request", f"the URL's path {UNPRINTABLE}"
        for part, raw in (("path", scope.get("raw_path")), ("query", scope.get("query_string"))):
            try:  # decoded leniently downstream: %FF became U+FFFD and was searched for
                unquote_to_bytes(raw or b"").decode("utf-8")
            except UnicodeDecodeError:
                return 400, "Bad Request", f"the URL's {part} is not UTF-8 once %-decoded"
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "Bad Request", f"Content-Length {length!r} is not a number of bytes"
            if int(length) > self.max_body:
                return (
                    413,
                    "Content Too Large",
                    f"the request body is {length} bytes; the limit is {self.max_body}",
                )
        return None


class CacheHeaders:
    """ETag, Cache-Control and ``304 Not Modified`` for reads; security headers for all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_read = scope["method"] in ("GET", "HEAD")
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                secured(MutableHeaders(scope=message), path)
                if message["status"] in _REDIRECTS:
                    _relative_location(MutableHeaders(scope=message))
                if not is_read or message["status"] != 200:
                    await send(message)
                    start = None
                return
            if start is None:  # passing through
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, buffered)

    @staticmethod
    async def _finish(scope: Scope, start: Message, body: bytes, send: Send) -> None:
        headers = MutableHeaders(scope=start)
        tag = etag_of(body)
        headers["etag"] = tag
        headers.setdefault("cache-control", cache_control(scope["path"]))
        if is_page(scope["path"]):  # a page's language
            headers.append("vary", "Cookie, Accept-Language")
        wanted = Headers(scope=scope).get("if-none-match", "")
        if (
            tag in [t.strip().removeprefix("W/") for t in wanted.split(",")]
            or wanted.strip() == "*"
        ):
            keep = [
                (k, v)
                for k, v in start["headers"]
                if k.lower() not in (b"content-length", b"content-type")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": keep})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})


#: Redirect statuses: the server's only redirects are the router's to a path without (or
#: with) its trailing slash.
_REDIRECTS = (301, 302, 303, 307, 308)


def _relative_location(headers: MutableHeaders) -> None:
    """A redirect's ``Location`` as a path on this site: the router wrote it whole from the
    request's ``Host`` header, so ``Host: evil.example`` was sent back as the place to go."""
    location = headers.get("location")
    if location:
        parts = urlsplit(location)
        headers["location"] = urlunsplit(("", "", parts.path or "/", parts.query, ""))


def is_api(path: str) -> bool:
    """Whether ``path`` is the API's (answered in JSON), not a page's: ``/api`` itself too,
    which was answered with the site's HTML page."""
    return path == "/api" or path.startswith("/api/")


def is_page(path: str) -> bool:
    """Whether ``path`` is a page of the site, answered in its reader's language: neither the
    API's nor a static file."""
    return not is_api(path) and not path.startswith("/static/")


def secured(headers: MutableHeaders, path: str) -> None:
    """Headers every answer carries; pages also their content policy (the API's documentation
    page, which starts Swagger UI with an inline script, is framed by nobody either)."""
    headers.setdefault("x-content-type-options", "nosniff")
    headers.setdefault("referrer-policy", "strict-origin-when-cross-origin")
    headers.setdefault("x-frame-options", "DENY")
    if not is_api(path):
        headers.setdefault("content-security-policy", CSP)


class ResponseCache:
    """Reuse a worker's answer to an identical read (path, query, language cookie) for ``ttl``
    seconds; any successful write on the worker empties it. Only ``200`` answers are kept.

    When an answer has expired, the next identical read recomputes it; reads arriving meanwhile
    get the expired copy if it is less than ``stale`` seconds past its time (as HTTP's
    ``stale-while-revalidate``), else wait for the recomputed one instead of repeating it. So a
    slow query is paid by one request per ``ttl``, not by every request that arrives during it.
    A request with credentials (``Authorization``) is answered afresh and its answer not kept.
    """

    def __init__(
        self,
        app: ASGIApp,
        ttl: float | None = None,
        entries: int = CACHE_ENTRIES,
        stale: float = STALE_WHILE_REVALIDATE,
    ) -> None:
        self.app = app
        env_ttl = os.environ.get("ISLETBASE_CACHE_TTL", DEFAULT_CACHE_TTL)
        self.ttl = float(env_ttl) if ttl is None else ttl
        self.entries = entries
        self.stale = stale
        self.store: OrderedDict[tuple, tuple[float, Message, bytes]] = OrderedDict()
        self.inflight: dict[tuple, asyncio.Future] = {}
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ttl <= 0:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            # shared with the copies of the scope the inner layers make, so a route can mark it
            state = scope.setdefault("state", {})
            await self.app(scope, receive, self._clear_after_write(state, send))
            return
        headers = Headers(scope=scope)
        if "authorization" in headers:
            # an answer for the token's holder (a curator's review queue) is not one for all:
            # kept under the URL alone, it was served to the next request without the token
            await self.app(scope, receive, send)
            return
        # a page is kept under its language (its address's, else its cookie's, else the
        # browser's), not under the raw headers: each browser's own header string was a copy
        # of its own, of any size, and the site's files and the API have none
        path: str = scope["path"]
        lang = ""
        if is_page(path):
            chosen = cookie_parser(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
            lang = page_language(chosen, headers.get("accept-language", ""))
        key = (scope["method"], path, scope.get("query_string", b""), lang)
        hit, now = self.store.get(key), time.monotonic()
        if hit is not None and hit[0] > now:
            self.store.move_to_end(key)
            await self._replay(hit[1], hit[2], send)
            return
        pending = self.inflight.get(key)
        if pending is not None:
            if hit is not None and hit[0] + self.stale > now:
                await self._replay(hit[1], hit[2], send)
                return
            done = await asyncio.shield(pending)
            if done is not None:
                await self._replay(done[0], done[1], send)
                return
        future = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        try:
            await self.app(scope, receive, self._keep(key, future, send))
        finally:
            if self.inflight.get(key) is future:
                del self.inflight[key]
            if not future.done():
                future.set_result(None)

    def _put(self, key: tuple, entry: tuple[float, Message, bytes]) -> None:
        """Keep an answer, evicting the least recently used past the entry or byte budget."""
        old = self.store.pop(key, None)
        if old is not None:
            self.bytes -= len(old[2])
        self.store[key] = entry
        self.bytes += len(entry[2])
        while len(self.store) > self.entries or self.bytes > CACHE_BYTES:
            self.bytes -= len(self.store.popitem(last=False)[1][2])

    @staticmethod
    async def _replay(start: Message, body: bytes, send: Send) -> None:
        await send({**start, "headers": list(start["headers"])})
        await send({"type": "http.response.body", "body": body})

    def _keep(self, key: tuple, future: asyncio.Future, send: Send) -> Send:
        start: Message | None = None
        chunks: list[bytes] = []

        async def keeping(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 200:
                start = {**message, "headers": list(message["headers"])}
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    if len(body) <= CACHE_MAX_BODY:
                        self._put(key, (time.monotonic() + self.ttl, start, body))
                        if not future.done():
                            future.set_result((start, body))
            await send(message)

        return keeping

    def _clear_after_write(self, state: dict, send: Send) -> Send:
        async def clearing(message: Message) -> None:
            started = message["type"] == "http.response.start"
            if started and message["status"] < 400 and state.get(WROTE):
                self.store.clear()
                self.bytes = 0
            await send(message)

        return clearing
