"""A real server for the browser, fuzzing and security tests: uvicorn in a subprocess on a free
loopback port, over a SQLite file holding the bundled data plus one hostile registry record
(markup and SQL in its text) that every page must show as inert text."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_hostile_trial(db: Database) -> None:
    raw = RawRecord(source="test", ref="hostile", payload=HOSTILE)
    report = ingest_trials(db, [raw], lambda r: TrialRecord.model_validate(r.payload), "test")
    assert report.new == 1, report


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("live") / "isletbase.db"
    db = Database(f"sqlite:///{path}")
    load_bundled(db)
    add_hostile_trial(db)
    port = free_port()
    env = {**os.environ, "ISLETBASE_DB": db.url, "ISLETBASE_TOKEN": TOKEN}
    log = (tmp_path_factory.mktemp("log") / "uvicorn.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "isletbase.app:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/api/stats", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"uvicorn did not start; see {log.name}")
        time.sleep(0.2)
    yield LiveServer(url, db, TOKEN)
    proc.terminate()
    proc.wait(timeout=10)
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
