"""The regulation endpoints, through the ASGI app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from isletbase.api import create_app
from isletbase.api.regulation import MAX_CHECK_BYTES


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
    assert big.status_code == 400 and "larger than" in big.json()["detail"]


def test_rules_timeline_and_findings(loaded_db) -> None:
    client = TestClient(create_app(loaded_db))
    rules = client.get("/api/rules", params={"jurisdiction": "INTL"}).json()["rules"]
    assert rules and {r["jurisdiction"] for r in rules} == {"INTL"}
    assert client.get("/api/rules", params={"applies_to": "nope"}).status_code == 400
    assert len(client.get("/api/timeline").json()["events"]) >= 15
    findings = client.get("/api/findings", params={"severity": "red_flag"}).json()
    assert findings["counts"]["info"] == 0 and findings["trials"]
    one = client.get("/api/trials/NCT01219465/findings").json()
    assert one["trial"] == "NCT01219465" and "INTL-CTGOV-001" in {
        f["rule"] for f in one["findings"]
    }
    assert client.get("/api/trials/NCT00000000/findings").status_code == 404
