"""Caching validators, request limits and error documents, through the ASGI app."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from isletbase.api.middleware import MAX_BODY, MAX_URL
from isletbase.app import create
from isletbase.ingest import load_bundled
from isletbase.store.curation import curate


@pytest.fixture
def client(loaded_db) -> TestClient:
    return TestClient(create(loaded_db))


@pytest.mark.parametrize(
    "path",
    ["/api/trials?q=umbilical", "/api/trials/NCT01219465", "/api/stats", "/trials/NCT01219465"],
)
def test_reads_carry_an_etag_and_a_matching_one_gets_304(client, path):
    first = client.get(path)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert first.headers["cache-control"]
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_different_answers_have_different_etags(client):
    a = client.get("/api/trials", params={"q": "umbilical"}).headers["etag"]
    b = client.get("/api/trials", params={"q": "bone marrow"}).headers["etag"]
    assert a != b


def test_pages_vary_by_language_cookie_and_forbid_inline_scripts(client):
    r = client.get("/")
    assert "Cookie" in r.headers["vary"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-TW", "zh"),
        ("en-GB,en;q=0.9,zh;q=0.5", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.4", "zh"),
        ("fr-FR", "en"),
        ("zh;q=0, en", "en"),
        ("zh;q=x", "en"),
        ("", "en"),
    ],
)
def test_a_first_visit_is_answered_in_the_browsers_language(client, accept, lang):
    """A first visit from a Chinese browser was answered in English: only ?lang= and the
    cookie were read. They still come first; pages vary by both, the response cache too."""
    page = client.get("/", headers={"accept-language": accept})
    assert f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">' in page.text
    assert "Accept-Language" in page.headers["vary"]
    chosen = client.get("/?lang=en", headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in chosen.text  # and remembered in the cookie:
    assert '<html lang="en">' in client.get("/", headers={"accept-language": "zh-CN"}).text


def test_a_page_names_itself_in_each_language_for_search_engines(client):
    html = client.get("/trials", params={"q": "umbilical", "lang": "zh"}).text
    site = "http://testserver"  # absolute, as search engines read them
    assert (
        f'<link rel="alternate" hreflang="en" href="{site}/trials?q=umbilical&amp;lang=en">' in html
    )
    assert (
        f'<link rel="alternate" hreflang="zh-Hans" href="{site}/trials?q=umbilical&amp;lang=zh">'
        in html
    )
    assert '<meta name="description" content="干细胞治疗糖尿病的开放证据库' in html
    assert '<nav aria-label="主导航">' in html


def test_errors_are_problem_documents_and_not_cached(client):
    r = client.get("/api/trials", params={"per_page": 100000})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "per_page" in r.json()["detail"] and "etag" not in r.headers


def test_overlong_url_is_414(client):
    r = client.get("/api/trials", params={"q": "x" * (MAX_URL + 10)})
    assert r.status_code == 414 and "limit" in r.json()["detail"]
    page = client.get("/trials", params={"q": "<b>" + "x" * (MAX_URL + 10)})
    # a page asked for is answered with a page, not a problem document
    assert page.status_code == 414 and "limit" in _refusal(page)
    assert page.headers["content-type"].startswith("text/html")
    # refused before the page's language is read: said in Chinese too
    assert "<p lang=zh-Hans>网址过长" in page.text


@pytest.mark.parametrize(
    "path", ["/api/trials/a%00b", "/api/trials/a%00b/history", "/api/institutions/a%00b",
             "/trials/a%00b", "/institutions/a%00b"],
)  # fmt: skip
def test_a_control_character_in_the_path_is_400_on_either_database(client, path):
    """PostgreSQL refuses a NUL in text outright: an id holding one was a 500 there."""
    r = client.get(path)
    assert r.status_code == 400 and "control characters" in _refusal(r)


def _refusal(r) -> str:  # noqa: ANN001 - a response
    """What a refusal says: a problem document's detail for the API, a page for the site."""
    if r.headers["content-type"].startswith("application/problem+json"):
        return r.json()["detail"]
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    return r.text


@pytest.mark.parametrize("url", ["/api/trials?q=%FF", "/trials?q=%C0%AF", "/api/trials/NCT%FF"])
def test_a_url_that_is_not_utf8_once_decoded_is_400(client, url):
    """Decoded leniently, %FF became U+FFFD and was searched for (200, nothing found)."""
    r = client.get(url)
    assert r.status_code == 400 and "not UTF-8" in _refusal(r)
    assert client.get("/api/trials?q=%E5%B9%B2%E7%BB%86%E8%83%9E").json()["total"] > 0


def test_names_in_a_checked_offer_or_a_curation_hold_no_control_character(client, monkeypatch):
    for field in ("institution", "registered_trial_id"):
        r = client.post("/api/check", json={"text": "干细胞治疗糖尿病", field: "a\u0000b"})
        assert r.status_code == 400 and field in r.json()["detail"], field
    monkeypatch.setenv("ISLETBASE_TOKEN", "t")
    curation = {"field": "cell_source", "value": "UC-MSC", "curator": "a\u0000b", "reason": "y"}
    r = client.post(
        "/api/admin/trials/NCT01219465/curate",
        json=curation,
        headers={"Authorization": "Bearer t"},
    )
    assert r.status_code == 422 and "control characters" in r.json()["detail"]


def test_declared_oversize_body_is_413_before_auth(client):
    r = client.post(
        "/api/admin/ingest/ctgov",
        content=b"{" + b" " * (MAX_BODY + 1) + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert str(MAX_BODY) in r.json()["detail"] and r.json()["title"] == "Content Too Large"
    assert r.headers["x-content-type-options"] == "nosniff"  # refused outside CacheHeaders


def test_streamed_oversize_body_is_413(client, monkeypatch):
    def chunks():
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    monkeypatch.setenv("ISLETBASE_TOKEN", "t")
    r = client.post(
        "/api/admin/ingest/ctgov",
        content=chunks(),
        headers={"content-type": "application/json", "authorization": "Bearer t"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Content Too Large"  # as the declared one's, not Python's


@pytest.mark.parametrize(
    "fmt,media",
    [
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("ris", "application/x-research-info-systems"),
    ],
)
def test_export_holds_every_match_with_its_source(client, fmt, media):
    total = client.get("/api/trials", params={"q": "umbilical", "per_page": 2}).json()["total"]
    r = client.get(f"/api/export/{fmt}", params={"q": "umbilical"})  # every page of them
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == total > 2
        assert all(row["source_url"].startswith("http") for row in rows)
    elif fmt == "json":
        assert len(r.json()) == total
    else:
        assert r.text.count("TY  - DBASE") == total


def test_export_of_an_unknown_format_is_a_problem(client):
    r = client.get("/api/export/xlsx")
    assert r.status_code == 422 and "fmt" in r.json()["detail"]


def test_worker_cache_reuses_reads_until_a_write_then_forgets(db, monkeypatch):
    """Within the TTL a read is served again from the worker's cache; a successful write
    through the API empties it, so the next read sees the change."""
    load_bundled(db)
    monkeypatch.setenv("ISLETBASE_TOKEN", "tok")
    client = TestClient(create(db))
    path = "/api/trials?cell_source=BM-MSC&per_page=100"
    before = client.get(path).json()["total"]
    # a change made behind the API's back is not seen while the answer is fresh ...
    curate(db, "NCT01219465", "cell_source", "BM-MSC", "test", "behind the API")
    assert client.get(path).json()["total"] == before
    # ... but a write through the API clears the cache
    r = client.post(
        "/api/admin/trials/NCT01374854/curate",
        json={"field": "cell_source", "value": "BM-MSC", "curator": "t", "reason": "r"},
        headers={"Authorization": "Bearer tok"},
    )
    assert r.status_code == 200
    assert client.get(path).json()["total"] == before + 2


def test_cache_can_be_turned_off(db, monkeypatch):
    load_bundled(db)
    monkeypatch.setenv("ISLETBASE_CACHE_TTL", "0")
    client = TestClient(create(db))
    path = "/api/trials?cell_source=BM-MSC&per_page=100"
    before = client.get(path).json()["total"]
    curate(db, "NCT01219465", "cell_source", "BM-MSC", "test", "no cache")
    assert client.get(path).json()["total"] == before + 1


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/trials?q=umbilical",
        "/trials/NCT01219465",
        "/api/trials",
        "/api/stats",
        "/static/site.css",
    ],
)
def test_head_answers_every_read_with_its_get_headers_and_no_body(client, path):
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length", "etag"):
        assert head.headers[name] == got.headers[name], name
    again = client.head(path, headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304


def test_head_of_an_unknown_trial_is_404_and_of_a_write_only_route_405(client):
    assert client.head("/api/trials/NCT99999999").status_code == 404
    assert client.head("/api/check").status_code == 405


@pytest.mark.parametrize(
    ("path", "param", "takes"),
    [
        ("/api/stats", "bogus", "by"),
        ("/api/trials", "bogus", "cell_source"),
        ("/api/evidence/pool?outcome=hba1c", "leave_one_out", "outcome"),
        ("/api/rules", "severity", "jurisdiction"),
        ("/api/trials/NCT01219465", "x", "none"),
    ],
)
def test_a_query_parameter_a_route_does_not_take_is_refused_naming_those_it_does(
    client, path, param, takes
):
    """One rule for every route: an unknown parameter was ignored by most, so a misspelt or
    invented option looked as if it worked."""
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}{param}=1")
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert f"unknown query parameter(s) {param}" in detail and takes in detail
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/institutions?q=a&q=b",
        "/api/rules?jurisdiction=CN&jurisdiction=US",
        "/api/findings?severity=violation&severity=info",
        "/api/evidence/igls?hba1c=6&hba1c=9&severe_hypos=0&insulin_reduction=100",
        "/api/trials?status=recruiting&status=completed",
        "/api/export/csv?q=cord&q=marrow",
        "/api/evidence/outcomes?outcome=hba1c&outcome=c_peptide",
    ],
)
def test_a_parameter_given_twice_is_refused_on_every_route(client, path):
    """Some routes read the last of two and answered as if for both (the CN and US rules
    asked, the US ones given)."""
    r = client.get(path)
    assert r.status_code == 400 and "is given twice" in r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/api/trials?page=1_0", "page", "1_0"),
        ("/api/trials?per_page=%205", "per_page", " 5"),
        ("/api/export/json?year_from=2_020", "year_from", "2_020"),
        ("/api/simulate/runs?limit=1_0", "limit", "1_0"),
        (
            "/api/evidence/igls?hba1c=6.5&severe_hypos=0&insulin_reduction=1_00",
            "insulin_reduction",
            "1_00",
        ),
    ],
)
def test_a_number_is_read_only_as_written_in_digits(client, path, name, value):
    """Python reads "1_0" as 10 and " 5" as 5: ``?page=1_0`` answered page 10."""
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        f"query.{name}: Value error, expected a number written in digits, got {value!r}"
    )
    written = path.replace(value.replace(" ", "%20"), value.replace("_", "").strip())
    assert client.get(written).status_code == 200, written


def test_a_list_parameter_may_be_given_more_than_once(client):
    r = client.get("/api/stats?by=cell_source&by=status")
    assert r.status_code == 200, r.text


def test_a_failure_of_the_server_is_a_problem_document_or_a_page_saying_so(loaded_db):
    """A failure answered a bare text 500; nothing of it may reach the client."""
    app = create(loaded_db)

    @app.get("/api/fails")
    def fails_api() -> None:
        raise RuntimeError("a secret /srv/path")

    @app.get("/fails")
    def fails_page() -> None:
        raise RuntimeError("a secret /srv/path")

    client = TestClient(app, raise_server_exceptions=False)
    api = client.get("/api/fails")
    assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["title"] == "Internal Server Error" and "secret" not in api.text
    page = client.get("/fails?lang=zh")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "服务器未能处理此请求" in page.text and "secret" not in page.text
    # answered outside every middleware: the headers every answer carries, set by the handler
    for answer in (api, page):
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("where", ["name", "arm"])
def test_a_lone_surrogate_in_a_design_is_refused_naming_the_field(client, where):
    """A design named with one ran its whole simulation, then failed to answer (500)."""
    name, arm = ("x\\ud800", "a") if where == "name" else ("x", "a\\ud800")
    design = json.dumps({"name": "NAME", "days": 7, "sample_size": 1, "arms": [{"name": "ARM"}]})
    body = design.replace("NAME", name).replace("ARM", arm)
    r = client.post("/api/simulate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and ("name" if where == "name" else "arms.0.name") in r.text


def test_a_page_refused_before_any_route_carries_the_pages_security_headers(client):
    """A 414, 413 or 400 the request limits answer came without the content policy."""
    for r in (
        client.get("/trials", params={"q": "x" * 5000}),
        client.get("/trials?q=%ff"),
    ):
        assert r.status_code in (400, 414) and r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/docs").headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/api/trials", "/trials"])
def test_a_method_not_allowed_names_head_with_get(client, path):
    r = client.delete(path)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_a_parameter_of_several_values_is_one_in_any_spelling_of_its_type():
    """Only a bare list was taken for one: an optional list, a set or a tuple given twice
    would have been refused."""
    from collections.abc import Sequence

    from isletbase.api.params import _takes_many

    for many in (list[str], list[str] | None, set[int], tuple[str, ...], Sequence[str]):
        assert _takes_many(many), many
    for one in (str, int, str | None, bool):
        assert not _takes_many(one), one


def test_a_trailing_slash_redirect_is_a_path_not_the_host_asked_for(client):
    """The router's redirect to the path without its slash was written whole from the
    request's Host header: Host: evil.example was sent back as the place to go."""
    r = client.get("/api/trials/?q=cord", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/api/trials?q=cord"
    assert client.get("/api/trials/?q=cord").status_code == 200  # followed, as before


@pytest.mark.parametrize(
    ("body", "media"),
    [(b"sample_size=2", "application/x-www-form-urlencoded"), (b"{}", "text/plain"), (b"{}", "")],
)
def test_a_body_that_is_not_json_where_json_is_read_is_a_415(client, body, media):
    """/api/simulate answered a form or a text with 422 "body: Input should be a valid
    dictionary", where /api/check said 415 and what to send."""
    headers = {"content-type": media} if media else {}
    r = client.post("/api/simulate", content=body, headers=headers)
    assert r.status_code == 415 and "send application/json" in r.json()["detail"]
    assert client.post("/api/simulate", json={}).status_code == 400  # JSON: read, and refused


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nothing"])
def test_an_address_of_the_api_that_is_not_there_is_a_problem_document(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_a_refusal_of_the_api_address_itself_is_a_problem_document(client):
    """A request to /api the server refuses before any route (a URL too long) was answered with
    the site's HTML page."""
    r = client.get("/api?" + "q=" + "x" * 20_000)
    assert r.status_code == 414 and r.headers["content-type"].startswith("application/problem+json")


def test_a_checked_text_is_read_in_the_charset_it_declares(client):
    """A clinic's page as Chinese Windows saves it (GBK) was refused as not UTF-8 even where
    the request said so; an unknown charset is named."""
    body = "干细胞治疗糖尿病，根治糖尿病，费用15万元。".encode("gbk")
    r = client.post("/api/check", content=body, headers={"content-type": "text/plain; charset=gbk"})
    assert r.status_code == 200 and r.json()["worst"] == "violation"
    plain = client.post("/api/check", content=body, headers={"content-type": "text/plain"})
    assert plain.status_code == 400
    odd = client.post("/api/check", content=body, headers={"content-type": "text/plain; charset=x"})
    assert odd.status_code == 415 and "'x'" in _refusal(odd)
    for codec in ("base64", "rot13", "zlib", "undefined"):  # codecs of no text: a 500 each
        kind = {"content-type": f"text/plain; charset={codec}"}
        assert client.post("/api/check", content=body, headers=kind).status_code == 415, codec
