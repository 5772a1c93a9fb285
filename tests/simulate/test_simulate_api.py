"""``/api/simulate`` over HTTP: running is open and writes nothing; storing needs the token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from isletbase.api import create_app
from isletbase.api.slots import SIMULATION
from isletbase.app import create
from isletbase.store.db import Database

TOKEN = "simulate-test-token"
DESIGN = {
    "name": "tiny",
    "seed": 1,
    "days": 7,
    "sample_size": 2,
    "stride_days": 7,
    "arms": [{"name": "control", "graft": None}, {"name": "graft", "graft": {}}],
}


@pytest.fixture
def empty(tmp_path: Path) -> Database:
    """A database file nobody has initialised."""
    return Database(f"sqlite:///{tmp_path / 'empty.db'}")


def test_running_a_design_writes_nothing_not_even_the_schema(
    empty: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create_app(empty))
    r = client.post("/api/simulate", json=DESIGN)
    assert r.status_code == 200, r.text
    assert "run_id" not in r.json()
    assert client.get("/api/simulate/runs").json() == []
    assert inspect(empty.engine).get_table_names() == []


def test_storing_is_off_without_a_server_token(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISLETBASE_TOKEN", raising=False)
    client = TestClient(create_app(db))
    r = client.post("/api/simulate?store=true", json=DESIGN)
    assert r.status_code == 403 and "ISLETBASE_TOKEN" in r.json()["detail"]
    assert client.get("/api/simulate/runs").json() == []


@pytest.mark.parametrize("header", [None, "Bearer wrong"])
def test_storing_without_the_right_token_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch, header: str | None
) -> None:
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create_app(db))
    headers = {"Authorization": header} if header else {}
    r = client.post("/api/simulate?store=true", json=DESIGN, headers=headers)
    assert r.status_code == 401
    assert client.get("/api/simulate/runs").json() == []


@pytest.mark.parametrize("store", ["true", "1", "on"])
def test_a_malformed_body_asking_to_store_is_refused_for_its_token_first(
    db: Database, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """FastAPI reads a JSON body before any dependency: the token is checked before it."""
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create_app(db))
    bad = {"Content-Type": "application/json"}
    r = client.post(f"/api/simulate?store={store}", content="{bad", headers=bad)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # not storing, the route is open: the body is what is wrong, and where
    r = client.post("/api/simulate", content='{"seed": 1,\n "days": }', headers=bad)
    assert r.status_code == 422
    assert "not valid JSON at character 21" in r.json()["detail"]


def test_storing_with_the_token_saves_the_run(
    empty: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISLETBASE_TOKEN", TOKEN)
    client = TestClient(create_app(empty))
    r = client.post(
        "/api/simulate?store=true", json=DESIGN, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert r.status_code == 200, r.text
    listed = client.get("/api/simulate/runs").json()
    assert [run["id"] for run in listed] == [r.json()["run_id"]]
    assert listed[0]["name"] == "tiny"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"population": {"groups": {"adult": float("nan")}}}, "population.groups.adult"),
        ({"population": {"groups": {"adult": float("inf")}}}, "population.groups.adult"),
        ({"arms": [{"name": "g", "graft": {"dose_cells": float("nan")}}]}, "dose_cells"),
        # a graft past what the model describes is refused up front, naming it (a dose of
        # 10¹² failed after the run, naming an Igls c_peptide the design never gave)
        ({"arms": [{"name": "g", "graft": {"dose_cells": 1e12}}]}, "arms.0.graft: dose_cells ×"),
        ({"arms": [{"name": "g", "graft": {"potency": 1e6}}]}, "arms.0.graft: dose_cells ×"),
    ],
)
def test_bad_numbers_are_a_400_naming_the_field(db: Database, change: dict, named: str) -> None:
    client = TestClient(create_app(db), raise_server_exceptions=False)
    body = json.dumps({**DESIGN, **change})  # NaN and Infinity as JSON extensions
    r = client.post("/api/simulate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert named in r.json()["detail"]


@pytest.mark.parametrize("scenario", ["/bin/ls", "/etc/hostname", "/nonexistent", "/etc"])
def test_a_server_path_as_scenario_is_refused_alike_without_opening_it(
    db: Database, scenario: str
) -> None:
    client = TestClient(create_app(db), raise_server_exceptions=False)
    r = client.post("/api/simulate", json={**DESIGN, "scenario": scenario})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert scenario not in detail and "/etc" not in detail
    assert detail == client.post("/api/simulate", json={**DESIGN, "scenario": "x"}).json()["detail"]


def test_an_inline_or_bundled_scenario_is_accepted(db: Database) -> None:
    client = TestClient(create_app(db))
    inline = {"meals": [{"time": "08:00", "carbs_g": 40}]}
    for scenario in (inline, "meals.yaml", "meals"):
        r = client.post("/api/simulate", json={**DESIGN, "scenario": scenario})
        assert r.status_code == 200, r.text


def test_a_simulation_while_another_runs_is_503_with_retry_after(db: Database) -> None:
    """Each simulation holds a server thread for seconds: one runs at a time in a process, and
    another is told to come back (API and web page), so searches keep their threads."""
    client = TestClient(create(db))
    assert SIMULATION.try_take()  # a simulation is running
    try:
        busy = client.post("/api/simulate", json=DESIGN)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert "another simulation is running" in busy.json()["detail"]
        page = client.post("/simulator", data={"sample_size": "2", "days": "14"})
        assert page.status_code == 503 and "another simulation is running" in page.text.lower()
        assert page.headers["retry-after"] == "5"
    finally:
        SIMULATION.give_back()
    assert client.post("/api/simulate", json=DESIGN).status_code == 200
    assert client.post("/simulator", data={"sample_size": "2", "days": "14"}).status_code == 200


def test_the_largest_graft_allowed_runs_in_the_smallest_bodies(db: Database) -> None:
    """Ten times the bundled graft in children: C-peptide past the grading's scale grades as
    its top, where the whole run failed."""
    client = TestClient(create_app(db))
    graft = {"regimen": "none", "dose_cells": 8e9, "potency_cv": 0.6}
    design = {**DESIGN, "population": {"groups": {"child": 1.0}}, "sample_size": 20,
              "arms": [{"name": "big", "graft": graft}]}  # fmt: skip
    r = client.post("/api/simulate", json=design)
    assert r.status_code == 200, r.text
