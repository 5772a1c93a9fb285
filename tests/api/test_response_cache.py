"""The worker response cache on its own, over a tiny ASGI app that counts and can be slow."""

from __future__ import annotations

import asyncio

import httpx

from isletbase.api import middleware
from isletbase.api.middleware import ResponseCache


class CountingApp:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        self.calls += 1
        version = self.calls
        if scope["path"].startswith("/api/admin/"):  # as a route that passed the token does
            middleware.mark_write(scope["state"])
        await asyncio.sleep(self.delay)
        status = 200 if scope["method"] == "GET" else 201
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": f"v{version}".encode()})


def client(app) -> httpx.AsyncClient:  # noqa: ANN001
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_identical_reads_arriving_together_compute_once():
    inner = CountingApp(delay=0.05)

    async def run() -> list[str]:
        async with client(ResponseCache(inner, ttl=10)) as c:
            answers = await asyncio.gather(*[c.get("/api/x?q=1") for _ in range(8)])
        return [a.text for a in answers]

    assert asyncio.run(run()) == ["v1"] * 8
    assert inner.calls == 1


def test_expired_answer_is_served_while_one_request_refreshes_it():
    inner = CountingApp(delay=0.1)

    async def run() -> tuple[list[str], str]:
        async with client(ResponseCache(inner, ttl=0.01, stale=30)) as c:
            await c.get("/api/x")
            await asyncio.sleep(0.05)  # expired now
            refresher = asyncio.create_task(c.get("/api/x"))
            await asyncio.sleep(0.02)
            others = await asyncio.gather(*[c.get("/api/x") for _ in range(5)])
            return [o.text for o in others], (await refresher).text

    others, refreshed = asyncio.run(run())
    assert others == ["v1"] * 5 and refreshed == "v2" and inner.calls == 2


def test_a_write_empties_the_cache_a_read_only_post_does_not_and_queries_are_separate():
    inner = CountingApp()

    async def run() -> list[str]:
        async with client(ResponseCache(inner, ttl=60)) as c:
            a = (await c.get("/api/x?q=1")).text
            b = (await c.get("/api/x?q=2")).text
            again = (await c.get("/api/x?q=1")).text
            await c.post("/api/check")  # read-only: the cache stays
            kept = (await c.get("/api/x?q=1")).text
            await c.post("/api/admin/thing")
            after = (await c.get("/api/x?q=1")).text
        return [a, b, again, kept, after]

    assert asyncio.run(run()) == ["v1", "v2", "v1", "v1", "v5"]


def test_cache_keeps_within_its_byte_budget(monkeypatch):
    monkeypatch.setattr(middleware, "CACHE_BYTES", 10)
    inner = CountingApp()
    cache = ResponseCache(inner, ttl=60)

    async def run() -> None:
        async with client(cache) as c:
            for i in range(6):
                await c.get(f"/api/x?q={i}")  # bodies of 2 bytes each

    asyncio.run(run())
    assert cache.bytes <= 10 and len(cache.store) == 5
    assert cache.bytes == sum(len(entry[2]) for entry in cache.store.values())


def test_a_page_is_kept_under_its_language_not_under_the_raw_headers():
    """The key held the raw Cookie and Accept-Language headers: each browser's own header
    string (of any size) was a copy of its own; the language they choose is what matters."""
    inner = CountingApp()

    async def run() -> list[str]:
        async with client(ResponseCache(inner, ttl=10)) as c:
            return [
                (await c.get("/trials", headers=headers)).text
                for headers in (
                    {"accept-language": "zh-CN,zh;q=0.9"},
                    {"accept-language": "zh-TW,zh;q=0.8,en;q=0.1"},  # Chinese too: the same
                    {"accept-language": "en-GB"},  # English: another
                    {"accept-language": "zh-CN", "cookie": "lang=en"},  # the cookie first
                    {"accept-language": "x" * 5000},  # neither: English
                )
            ] + [(await c.get("/api/x", headers={"accept-language": "zh"})).text,
                 (await c.get("/api/x", headers={"accept-language": "en"})).text]  # fmt: skip

    assert asyncio.run(run()) == ["v1", "v1", "v2", "v2", "v2", "v3", "v3"]
    assert inner.calls == 3
