"""The regulation endpoints, through the ASGI app."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from isletbase.api import create_app
from isletbase.api.regulation import MAX_CHECK_BYTES
from isletbase.api.slots import CHECK, FINDINGS, SIMULATION
from isletbase.app import ROUTE_THREADS, create
from isletbase.ingest import ingest_trials
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord


def test_check_accepts_text_and_json(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    text = "干细胞治疗糖尿病，根治糖尿病，费用¥150,000。".encode()
    done = client.post("/api/check", content=text, headers={"content-type": "text/plain"})
    assert done.status_code == 200
    body = done.json()
    assert body["worst"] == "violation" and set(body) == {"worst", "findings", "facts"}
    done = client.post("/api/check", json={"country": "CN", "provider_type": "beauty_salon"})
    assert "CN-NHC-001" in {f["rule"] for f in done.json()["findings"]}


def test_check_refuses_bad_and_oversized_bodies(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    bad = client.post("/api/check", content=b"{oops", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "invalid JSON" in bad.json()["detail"]
    assert bad.headers["content-type"].startswith("application/problem+json")
    unknown = client.post("/api/check", json={"charges": True})
    assert unknown.status_code == 400 and "'charges'" in unknown.json()["detail"]
    big = client.post("/api/check", content=b"a" * (MAX_CHECK_BYTES + 1),
                      headers={"content-type": "text/plain"})  # fmt: skip
    assert big.status_code == 413 and "larger than" in big.json()["detail"]
    deep = client.post("/api/check", content=b"[" * 5000 + b"]" * 5000,
                       headers={"content-type": "application/json"})  # fmt: skip
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]


def test_check_reads_an_offer_of_its_text_limit_in_chinese(loaded_db) -> None:
    """The text's limit is in characters: 40,000 Chinese ones are 120 KB of UTF-8."""
    client = TestClient(create_app(loaded_db))
    text = ("干细胞治疗糖尿病，" * 5000)[:40_000].encode()
    done = client.post("/api/check", content=text, headers={"content-type": "text/plain"})
    assert done.status_code == 200, done.text
    escaped = json.dumps({"text": "干" * 100_000})  # as JSON writes it by default: \u5e72
    done = client.post("/api/check", content=escaped, headers={"content-type": "application/json"})
    assert done.status_code == 200, done.text[:200]
    too_long = ("干" * 100_001).encode()
    refused = client.post("/api/check", content=too_long, headers={"content-type": "text/plain"})
    assert refused.status_code == 400 and "100001 characters" in refused.json()["detail"]


def test_check_refuses_a_body_it_does_not_read_naming_the_types_it_does(loaded_db) -> None:
    """Form data, XML or a body without a type were checked as offer text and answered 200."""
    client = TestClient(create_app(loaded_db))
    for media in ("application/xml", "application/x-www-form-urlencoded", None):
        headers = {"content-type": media} if media else {}
        done = client.post("/api/check", content=b"text=hi", headers=headers)
        assert done.status_code == 415, media
        detail = done.json()["detail"]
        assert "application/json or text/plain" in detail and (media or "missing") in detail
    utf8 = {"content-type": "text/plain; charset=utf-8"}
    assert client.post("/api/check", content="干细胞".encode(), headers=utf8).status_code == 200


def test_rules_timeline_and_findings(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    rules = client.get("/api/rules", params={"jurisdiction": "INTL"}).json()["rules"]
    assert rules and {r["jurisdiction"] for r in rules} == {"INTL"}
    hong_kong = client.get("/api/rules", params={"jurisdiction": "hk"}).json()["rules"]
    assert {r["id"] for r in hong_kong} >= {"HK-UMAO-001", "HK-PPO-001"}
    taiwan = client.get("/api/rules", params={"jurisdiction": "TW"}).json()["rules"]
    assert {r["id"] for r in taiwan} >= {"TW-SMT-001", "TW-RMA-001", "TW-MCA-001"}
    assert {r["jurisdiction"] for r in taiwan} == {"TW"}
    japan = client.get("/api/rules", params={"jurisdiction": "jp"}).json()["rules"]
    assert [r["id"] for r in japan] == ["JP-ASRM-001"]
    for name in ("中国", "中國", "china", "PRC"):
        chinese = client.get("/api/rules", params={"jurisdiction": name}).json()["rules"]
        assert chinese and {r["jurisdiction"] for r in chinese} == {"CN"}, name
    for name in ("国际", "international", "國際"):
        rules = client.get("/api/rules", params={"jurisdiction": name}).json()["rules"]
        assert rules and {r["jurisdiction"] for r in rules} == {"INTL"}, name
    assert client.get("/api/rules", params={"jurisdiction": "欧盟"}).status_code == 200
    korea = client.get("/api/rules", params={"jurisdiction": "Korea"}).json()["detail"]
    assert "no rules for 'Korea' (KR)" in korea
    named = client.get("/api/rules", params={"jurisdiction": "臺灣"}).json()["rules"]
    assert [r["id"] for r in named] == [r["id"] for r in taiwan]
    unknown = client.get("/api/rules", params={"jurisdiction": "XX"})
    assert unknown.status_code == 400
    assert "CN, HK, MO, TW, JP, TH, INTL, US or EU" in unknown.json()["detail"]
    assert client.get("/api/rules", params={"applies_to": "nope"}).status_code == 400
    assert len(client.get("/api/timeline").json()["events"]) >= 15
    findings = client.get("/api/findings", params={"severity": "red_flag"}).json()
    assert findings["counts"]["info"] == 0 and findings["trials"]
    one = client.get("/api/trials/NCT01219465/findings").json()
    assert one["trial"] == "NCT01219465" and "INTL-CTGOV-001" in {
        f["rule"] for f in one["findings"]
    }
    missing = client.get("/api/trials/NCT00000000/findings")
    assert missing.status_code == 404
    # the same words as the trial's own route and the CLI give
    assert "no trial with registry id 'NCT00000000'" in missing.json()["detail"]
    assert client.get("/api/trials/NCT00000000").json()["detail"] == missing.json()["detail"]


def test_check_refuses_nan_infinity_and_negative_prices(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    for body in ('{"price": NaN}', '{"price": Infinity, "country": "CN"}', '{"price": -5}'):
        done = client.post(
            "/api/check", content=body.encode(), headers={"content-type": "application/json"}
        )
        assert done.status_code == 400, body
        assert "'price'" in done.json()["detail"], done.json()
    site = TestClient(create(loaded_db))
    form = site.post("/regulation", data={"price": "nan", "country": "CN"})
    assert form.status_code == 400 and "field &#39;price&#39;" in form.text


def test_check_refuses_a_currency_iso_4217_does_not_name(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    refused = client.post("/api/check", json={"price": 50000, "currency": "XQZ"})
    assert refused.status_code == 400 and "'currency'" in refused.json()["detail"]
    done = client.post("/api/check", json={"price": 50000, "currency": "KRW", "country": "CN"})
    assert done.status_code == 200 and done.json()["facts"]["price_high"] is None


def test_check_matches_a_pinyin_institution_name(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    done = client.post("/api/check", json={"institution": "beijingxieheyiyuan"})
    assert done.json()["facts"]["institution_id"] == "pumch"


def test_findings_for_a_trial_whose_id_holds_slashes(db) -> None:
    slashed = "CTRI/2020/01/022781"
    raw = RawRecord(
        source="test",
        ref=slashed,
        payload={
            "registry_ids": [{"registry": "ICTRP", "id": slashed}],
            "title_en": "Umbilical cord stem cells for type 1 diabetes",
            "source_url": f"https://trialsearch.who.int/Trial2.aspx?TrialID={slashed}",
        },
    )
    ingest_trials(db, [raw], lambda r: TrialRecord.model_validate(r.payload), "test")
    done = TestClient(create_app(db)).get(f"/api/trials/{slashed}/findings")
    assert done.status_code == 200, done.text
    assert done.json()["trial"] == slashed


def test_checks_and_findings_beyond_their_places_are_told_to_come_back(loaded_db) -> None:
    """Twelve long offers at once held every route thread (a search waited 8 s) and eight
    findings reports 18 s: each runs in a limited number of places per process; one more is
    answered 503 with Retry-After at once, on the API and the web form."""
    client = TestClient(create(loaded_db))
    text = {"content": "干细胞治疗糖尿病".encode(), "headers": {"content-type": "text/plain"}}
    for slot, send in (
        (CHECK, lambda: client.post("/api/check", **text)),
        (CHECK, lambda: client.post("/regulation", data={"text": "干细胞治疗糖尿病"})),
        (FINDINGS, lambda: client.get("/api/findings?severity=violation")),
    ):
        taken = 0
        while slot.try_take():
            taken += 1
        try:
            busy = send()
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
            assert "try again in a few seconds" in busy.text
            # a request that is wrong is told so, not to come back later
            wrong = client.post(
                "/api/check", content=b"{bad", headers={"content-type": "application/json"}
            )
            assert wrong.status_code == 400
            assert client.get("/api/findings?severity=bogus").status_code == 400
        finally:
            for _ in range(taken):
                slot.give_back()
        assert taken == slot.at_once and send().status_code == 200
    # together they leave a route thread to searches
    assert SIMULATION.at_once + CHECK.at_once + FINDINGS.at_once < ROUTE_THREADS


@pytest.mark.parametrize(
    ("path", "media"),
    [("/api/check", b"text/plain"), ("/regulation", b"application/x-www-form-urlencoded")],
)
def test_a_client_leaving_mid_body_is_answered_400_not_logged_as_a_failure(
    loaded_db, path: str, media: bytes
) -> None:
    """A body cut short by a client that went away logged a ClientDisconnect traceback (the
    API's check, then the web's forms)."""
    app = create(loaded_db)
    incoming = [
        {"type": "http.request", "body": "text=干细胞".encode(), "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80),
        "client": ("c", 1), "http_version": "1.1",
        "headers": [(b"content-type", media), (b"content-length", b"300")],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
