"""Hostile registry text and hostile queries against the live server: markup is shown as text,
SQL fragments are searched for literally, and writes need the token."""

from __future__ import annotations

import httpx
import pytest


def get(live_server, path: str, **params) -> httpx.Response:
    return httpx.get(live_server.url + path, params=params, timeout=30)


def all_trials(live_server) -> int:
    return get(live_server, "/api/trials").json()["total"]


def test_markup_in_registry_text_is_escaped_on_every_page(live_server, hostile):
    trial = get(live_server, f"/trials/{hostile['id']}").text
    listing = get(live_server, "/trials", q="DROP TABLE").text
    for html in (trial, listing):
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
        assert "<script>window.__pwned" not in html
    assert "<img src=x" not in trial and "<svg onload" not in trial and "<i>Evil</i>" not in trial
    assert "&lt;i&gt;Evil&lt;/i&gt; Hospital" in trial


def test_api_returns_hostile_text_verbatim(live_server, hostile):
    body = get(live_server, f"/api/trials/{hostile['id']}").json()
    assert body["briefTitle"] == hostile["title_en"] and body["titleZh"] == hostile["title_zh"]


@pytest.mark.parametrize(
    "q",
    [
        "' OR '1'='1",
        '"; DROP TABLE trials; --',
        "UNION SELECT",
        "') OR 1=1 --",
        "%",
        "_",
        "*",
        "NEAR(a b)",
        "a AND b OR c",
    ],
)
def test_sql_and_fts_syntax_in_queries_is_searched_literally(live_server, hostile, q):
    before = all_trials(live_server)
    r = get(live_server, "/api/trials", q=q)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        body = r.json()
        assert body["total"] < before
        for trial in body["trials"]:
            text = " ".join(str(v) for v in trial.values()).lower()
            assert all(
                term.strip('"').lower() in text or trial["id"] == hostile["id"]
                for term in q.split()
                if len(term.strip('"')) >= 3
            )
    assert all_trials(live_server) == before


def test_sql_fragment_matches_only_the_record_that_contains_it(live_server, hostile):
    ids = [t["id"] for t in get(live_server, "/api/trials", q="' OR '1'='1").json()["trials"]]
    assert ids == [hostile["id"]]
    # read as its words ("or", "1"), which a few names hold, never as SQL matching every one
    found = get(live_server, "/api/institutions", q="%' OR 1=1 --").json()
    every = get(live_server, "/api/institutions").json()["total"]
    assert found["total"] < every / 10
    words = get(live_server, "/api/institutions", q="or 1 1").json()
    assert found["total"] == words["total"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/admin/ingest/bundled",
        "/api/admin/ingest/ctgov",
        "/api/admin/trials/NCT01219465/curate",
    ],
)
def test_writes_are_refused_without_the_token(live_server, path):
    r = httpx.post(live_server.url + path, json={}, timeout=30)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    r = httpx.post(
        live_server.url + path, json={}, headers={"Authorization": "Bearer guess"}, timeout=30
    )
    assert r.status_code == 401
