"""Write endpoints: off without ISLETBASE_TOKEN, refused without the right bearer token, and
when allowed they write through the library with history."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from isletbase.app import create
from isletbase.harvest import list_quarantine, retry_quarantine, run_chictr, run_records
from isletbase.ingest import ingest_trials, load_bundled
from isletbase.model import RegistryId, TrialRecord
from isletbase.sources import RawRecord
from isletbase.sources.curated import to_trial
from isletbase.store.schema import QuarantineRow, TrialRow
from isletbase.store.trial_reads import get_trial, history

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "registries"
TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CURATION = {
    "field": "cell_source",
    "value": "BM-MSC",
    "curator": "A. Curator",
    "reason": "the registry's intervention text names bone marrow",
}

STUDY = {
    "protocolSection": {
        "identificationModule": {
            "nctId": "NCT08888888",
            "briefTitle": "Umbilical Cord Mesenchymal Stem Cells for Type 2 Diabetes",
        },
        "statusModule": {"overallStatus": "RECRUITING", "startDateStruct": {"date": "2025-03"}},
        "conditionsModule": {"conditions": ["Type 2 Diabetes"]},
        "designModule": {"phases": ["PHASE1"]},
        "contactsLocationsModule": {
            "locations": [
                {"facility": "Some Hospital", "city": "Wuhan", "state": "Hubei", "country": "China"}
            ]
        },
    }
}


@pytest.fixture
def loaded(db):
    load_bundled(db)
    return db


@pytest.mark.parametrize(
    "method,path",
    [
        ("post", "/api/admin/ingest/bundled"),
        ("post", "/api/admin/ingest/ctgov"),
        ("post", "/api/admin/trials/NCT01219465/curate"),
    ],
)
def test_writes_are_off_without_a_server_token(db, monkeypatch, method, path):
    monkeypatch.delenv("ISLETBASE_TOKEN", raising=False)
    r = getattr(TestClient(create(db)), method)(path, json=CURATION, headers=AUTH)
    assert r.status_code == 403 and "ISLETBASE_TOKEN" in r.json()["detail"]


def test_writes_need_the_right_bearer_token(db, monkeypatch):
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db))
    missing = client.post("/api/admin/ingest/ctgov", json=STUDY)
    wrong = client.post(
        "/api/admin/ingest/ctgov", json=STUDY, headers={"Authorization": "Bearer nope"}
    )
    for r in (missing, wrong):
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.headers["content-type"].startswith("application/problem+json")
    assert get_trial(db, "NCT08888888") is None


@pytest.mark.parametrize(
    "path", ["/api/admin/ingest/ctgov", "/api/admin/trials/NCT01219465/curate"]
)
def test_the_token_is_checked_before_the_body_is_read(db, monkeypatch, path):
    """A malformed body from someone without the token is a 401, not a parse error (FastAPI
    decodes a JSON body before it runs any dependency)."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db))
    bad = {"Content-Type": "application/json"}
    for headers in (bad, {**bad, "Authorization": "Bearer nope"}):
        r = client.post(path, content='{"studies": [', headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.post(path, content='{"studies": [', headers={**bad, **AUTH})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("request body: not valid JSON at character 13")


def test_posted_v2_study_is_ingested_and_served(db, monkeypatch):
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db))
    r = client.post(
        "/api/admin/ingest/ctgov", json={"studies": [STUDY, {"protocolSection": {}}]}, headers=AUTH
    )
    assert r.status_code == 200
    report = r.json()
    assert report["new"] == 1 and report["quarantined"] == 1
    assert "nctId" in report["errors"][0]
    trial = client.get("/api/trials/NCT08888888").json()
    assert trial["cellSource"] == "UC-MSC" and trial["overallStatus"] == "RECRUITING"
    assert trial["locations"][0]["city"] == "Wuhan"


def test_a_posted_study_rejected_then_fixed_is_loaded_by_quarantine_retry(db, monkeypatch):
    """Posted studies are kept in quarantine under their own source; ``--retry`` reads them
    with the same mapper (it skipped them)."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db))
    bad = copy.deepcopy(STUDY)
    bad["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2025-13-45"}
    r = client.post("/api/admin/ingest/ctgov", json={"studies": [bad]}, headers=AUTH)
    assert r.json()["quarantined"] == 1
    [held] = list_quarantine(db)
    assert held.source == "ClinicalTrials.gov API v2 (posted)"
    with db.session() as session:  # the record as fixed by a curator
        row = session.get(QuarantineRow, held.id)
        row.payload = json.dumps(STUDY)
    report = retry_quarantine(db)
    assert (report.fetched, report.new, report.quarantined) == (1, 1, 0)
    assert list_quarantine(db) == [] and get_trial(db, "NCT08888888") is not None


def test_curation_overrides_with_who_and_why_and_history(loaded, monkeypatch):
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(loaded))
    before = get_trial(loaded, "NCT01219465")
    r = client.post("/api/admin/trials/NCT01219465/curate", json=CURATION, headers=AUTH)
    assert r.status_code == 200 and r.json()["cellSource"] == "BM-MSC"
    after = get_trial(loaded, "NCT01219465")
    derivation = next(d for d in after.derivations if d.field == "cell_source")
    assert derivation.method == "curated" and "A. Curator" in derivation.rule
    change = history(loaded, "NCT01219465")[-1]
    assert (change.field, change.old, change.new) == ("cell_source", before.cell_source, "BM-MSC")
    assert "bone marrow" in change.source
    found = client.get("/api/trials", params={"q": "骨髓间充质", "cell_source": "BM-MSC"}).json()
    assert "NCT01219465" in [t["id"] for t in found["trials"]]


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"field": "status"}, "cannot be curated"),
        ({"value": "unicorn-cells"}, "not in the vocabulary"),
        ({"curator": "   "}, "curator"),
    ],
)
def test_bad_curations_are_400_naming_the_problem(loaded, monkeypatch, change, expected):
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    r = TestClient(create(loaded)).post(
        "/api/admin/trials/NCT01219465/curate", json={**CURATION, **change}, headers=AUTH
    )
    assert r.status_code == 400 and expected in r.json()["detail"]


def test_curating_an_unknown_trial_is_404(db, monkeypatch):
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    r = TestClient(create(db)).post(
        "/api/admin/trials/NCT00000001/curate", json=CURATION, headers=AUTH
    )
    assert r.status_code == 404


def test_a_trial_whose_id_holds_slashes_is_curated_under_it(db, monkeypatch):
    """India's registry writes CTRI/2020/01/022781: the write route reads such an id as the
    read routes do (it answered a bare 404, the route never matched)."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    record = TrialRecord(
        registry_ids=[RegistryId(registry="ICTRP", id="CTRI/2020/01/022781")],
        title_en="Stem cells for type 1 diabetes",
        source_url="https://trialsearch.who.int/Trial2.aspx?TrialID=CTRI/2020/01/022781",
    )
    raw = RawRecord(source="test", ref="CTRI/2020/01/022781", payload=record.model_dump())
    assert ingest_trials(db, [raw], lambda r: TrialRecord(**r.payload), "test").new == 1
    r = TestClient(create(db)).post(
        "/api/admin/trials/CTRI/2020/01/022781/curate", json=CURATION, headers=AUTH
    )
    assert r.status_code == 200 and r.json()["cellSource"] == "BM-MSC"


def test_a_write_empties_the_response_cache_and_a_read_only_post_does_not(loaded, monkeypatch):
    """Any POST that answered under 400 emptied the cache — checking an offer or running an
    unstored simulation, open to anyone, defeated it; only a request that passed the token
    (a write) does now."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    monkeypatch.setenv("ISLETBASE_CACHE_TTL", "600")
    client = TestClient(create(loaded))
    path = "/api/trials/NCT01219465"
    cached = client.get(path).json()["cellSource"]
    with Session(loaded.engine) as session, session.begin():  # behind the server's back
        row = session.scalars(select(TrialRow).where(TrialRow.display_id == "NCT01219465")).one()
        row.cell_source = "ADSC"
    assert client.post("/api/check", json={"country": "CN"}).status_code == 200
    assert client.get(path).json()["cellSource"] == cached  # still the cached answer
    r = client.post("/api/admin/trials/NCT01219465/curate", json=CURATION, headers=AUTH)
    assert r.status_code == 200
    assert client.get(path).json()["cellSource"] == "BM-MSC"  # the write emptied it


def test_a_posted_study_with_a_lone_surrogate_is_quarantined_not_a_500(db, monkeypatch):
    """Its text could not be stored (no UTF-8 holds a lone surrogate): the whole request failed."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db), raise_server_exceptions=False)
    body = json.dumps(STUDY).replace("Umbilical Cord", "Umbilical \\ud800 Cord")
    r = client.post(
        "/api/admin/ingest/ctgov",
        content=body,
        headers={**AUTH, "content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["quarantined"] == 1, r.text
    assert "title_en" in r.json()["errors"][0]
    with Session(db.engine) as session:
        kept = session.scalars(select(QuarantineRow)).one()
    assert "\\ud800" in kept.payload  # the text as posted, its surrogate written as its escape


def test_a_token_outside_ascii_matches_as_clients_send_it(db, monkeypatch):
    """A header's bytes are read as Latin-1: 'pässwort' sent as UTF-8 (curl, httpx) never
    matched the server's 'pässwort'."""
    monkeypatch.setenv("ISLETBASE_TOKEN", "pässwort")
    client = TestClient(create(db))
    ok = client.post("/api/admin/ingest/ctgov", json=STUDY,
                     headers={"Authorization": "Bearer pässwort".encode()})  # fmt: skip
    assert ok.status_code == 200, ok.text
    wrong = client.post("/api/admin/ingest/ctgov", json=STUDY,
                        headers={"Authorization": b"Bearer passwort"})  # fmt: skip
    assert wrong.status_code == 401


def test_a_curator_reviews_matches_and_splits_a_merge_through_the_api(db, monkeypatch):
    """The review queue and a split were the command line's alone; a token's answer to a read
    is not kept for the next reader without it."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create(db))
    # a pair that waits for review (tests/test_dedup.py): NCT05507697 and its ChiCTR page
    nct = json.loads((FIXTURES / "nct05507697_record.json").read_text())
    source = "ClinicalTrials.gov API"
    run_records(db, [RawRecord(source, "NCT05507697", nct)], source, to_trial)
    run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    listed = client.get("/api/admin/review", headers=AUTH)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    (match,) = listed.json()["matches"]
    assert (match["trial"], match["candidate"]) == ("NCT05507697", "ChiCTR2300071975")
    assert client.get("/api/admin/review").status_code == 401
    path = f"/api/admin/review/{match['id']}"
    assert client.post(path, json={"decision": "maybe"}, headers=AUTH).status_code == 422
    done = client.post(path, json={"decision": "accept"}, headers=AUTH)
    assert done.json() == {
        "match": match["id"], "decision": "accept", "trial": "NCT05507697", "notes": []
    }  # fmt: skip
    assert client.get("/api/admin/review", headers=AUTH).json()["total"] == 0
    again = client.post(path, json={"decision": "reject"}, headers=AUTH)
    assert again.status_code == 400 and "already accepted" in again.json()["detail"]
    assert get_trial(db, "ChiCTR2300071975").uid == get_trial(db, "NCT05507697").uid
    split = client.post("/api/admin/records/ChiCTR2300071975/split", headers=AUTH)
    assert split.status_code == 200, split.json()
    assert split.json() == {
        "record": "ChiCTR2300071975", "trial": "NCT05507697", "new_trial": "ChiCTR2300071975"
    }  # fmt: skip
    assert get_trial(db, "ChiCTR2300071975").uid != get_trial(db, "NCT05507697").uid
    assert client.get("/api/trials/ChiCTR2300071975").json()["id"] == "ChiCTR2300071975"
    missing = client.post("/api/admin/records/NCT99999999/split", headers=AUTH)
    assert missing.status_code == 404
    assert client.post("/api/admin/records/NCT05507697/split").status_code == 401
