"""The ingest family's listing commands — history, review, quarantine — as JSON and as tables."""

from __future__ import annotations

import json
import zipfile

from typer.testing import CliRunner

from isletbase.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_history_lists_the_creation_of_a_loaded_trial(loaded_db):
    data = json.loads(run("history", "NCT01219465", "--json", "--db", loaded_db.url).output)
    assert data[0]["field"] == "record" and data[0]["new"] == "created"
    table = run("history", "NCT01219465", "--db", loaded_db.url).output
    assert "history of NCT01219465" in table and "created" in table


def test_history_of_an_unknown_trial_fails(loaded_db):
    assert run("history", "NCT00000000", "--db", loaded_db.url).exit_code == 2


def test_quarantine_lists_a_rejected_record_with_its_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    dump = tmp_path / "dump.zip"
    with zipfile.ZipFile(dump, "w") as zf:
        zf.writestr("NCT0000xxxx/NCT00000001.json", "{not json")
    assert run("ingest", "ctgov-dump", str(dump), "--db", url).exit_code == 0
    rows = json.loads(run("quarantine", "--json", "--db", url).output)
    assert len(rows) == 1 and "not valid JSON" in rows[0]["reason"]
    table = run("quarantine", "--db", url).output
    assert "1 quarantined record(s)" in table and "NCT00000001" in table


def test_review_with_nothing_pending_prints_an_empty_list(loaded_db):
    assert json.loads(run("review", "--json", "--db", loaded_db.url).output) == []
    assert "0 match(es) to review" in run("review", "--db", loaded_db.url).output
