"""A real server for the browser, fuzzing and security tests: uvicorn in a subprocess on a free
loopback port, over a SQLite file holding the bundled data plus one hostile registry record
(markup and SQL in its text) that every page must show as inert text."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from isletbase import server_process
from isletbase.ingest import ingest_trials, load_bundled
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord
from isletbase.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
TOKEN = "test-token-4f9a"

HOSTILE_ID = "NCT09999999"
HOSTILE = {
    "registry_ids": [{"registry": "ClinicalTrials.gov", "id": HOSTILE_ID}],
    "title_en": "<script>window.__pwned=1</script> Stem cells'; DROP TABLE trials; --",
    "title_zh": "<img src=x onerror=\"window.__pwned=2\">干细胞 ' OR '1'='1",
    "sponsor": "Robert'); DELETE FROM sites; -- <b>bold</b>",
    "conditions": ["Type 1 Diabetes"],
    "interventions": ["Biological: umbilical cord mesenchymal stem cells"],
    "summary": '</textarea><svg onload=alert(1)> " UNION SELECT * FROM institutions --',
    "status": "Recruiting",
    "phase": "Phase 1",
    "start_date": "2024-01",
    "country": "China",
    "region": "mainland China",
    "sites": [
        {
            "name": "<i>Evil</i> Hospital",
            "city": "Shanghai",
            "province": "Shanghai",
            "country": "China",
        }
    ],
    "source_url": "https://clinicaltrials.gov/study/NCT09999999",
}


@dataclass
class LiveServer:
    url: str
    db: Database
    token: str


def add_trial(db: Database, payload: dict) -> None:
    """One registry record (``payload``, as ``TrialRecord`` fields) ingested into ``db``."""
    raw = RawRecord(source="test", ref=payload["registry_ids"][0]["id"], payload=payload)
    report = ingest_trials(db, [raw], lambda r: TrialRecord.model_validate(r.payload), "test")
    assert report.new == 1, report


def add_hostile_trial(db: Database) -> None:
    add_trial(db, HOSTILE)


#: A trial whose ICTRP id holds slashes, as the Indian registry writes its ids.
SLASHED_ID = "CTRI/2020/01/022781"


@pytest.fixture
def slashed_db(db: Database) -> Database:
    """An otherwise empty database holding one trial, ``SLASHED_ID``."""
    add_trial(
        db,
        {
            "registry_ids": [{"registry": "ICTRP", "id": SLASHED_ID}],
            "title_en": "Umbilical cord stem cells for type 1 diabetes",
            "conditions": ["Type 1 Diabetes"],
            "source_url": f"https://trialsearch.who.int/Trial2.aspx?TrialID={SLASHED_ID}",
        },
    )
    return db


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("live") / "isletbase.db"
    db = Database(f"sqlite:///{path}")
    load_bundled(db)
    add_hostile_trial(db)
    env = {**os.environ, "ISLETBASE_TOKEN": TOKEN}
    log = (tmp_path_factory.mktemp("log") / "uvicorn.log").open("w")
    try:
        proc, url = server_process.start(db.url, env=env, log=log, timeout=30)
    except RuntimeError as exc:
        pytest.fail(f"{exc}; see {log.name}")
    yield LiveServer(url, db, TOKEN)
    server_process.stop(proc)
    log.close()
    db.dispose()


@pytest.fixture(scope="session")
def hostile() -> dict:
    """The hostile registry record the live server holds (``HOSTILE_ID``)."""
    return {**HOSTILE, "id": HOSTILE_ID}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
