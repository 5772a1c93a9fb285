"""The ingest family's listing commands — history, review, quarantine — as JSON and as tables."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isletbase.cli import app, main
from isletbase.cli.ingest import around_change

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_history_lists_the_creation_of_a_loaded_trial(loaded_db):
    data = json.loads(run("history", "NCT01219465", "--json", "--db", loaded_db.url).output)
    assert data[0]["field"] == "record" and data[0]["new"] == "created"
    table = run("history", "NCT01219465", "--db", loaded_db.url).output
    assert "history of NCT01219465" in table and "created" in table
    # titled by the trial's id as ``show`` writes it, not as typed
    assert "history of NCT01219465" in run("history", "nct01219465", "--db", loaded_db.url).output


def test_history_shows_a_long_change_where_it_differs() -> None:
    """Cut at the 80th character, a title changed past it showed the same old and new."""
    title = "Treatment With Human Umbilical Cord Mesenchymal Stem Cells for Refractory Diabet"
    old, new = around_change(title + "ic Neuropathy", title + "ic Peripheral Neuropathy")
    assert old != new and old.startswith("…") and "ic Neuropathy" in old
    assert "ic Peripheral Neuropathy" in new and len(new) <= 82
    assert around_change("Recruiting", "Completed") == ("Recruiting", "Completed")
    long_old, long_new = around_change("x" * 200, "y" * 200)
    assert (long_old, long_new) == ("x" * 80 + "…", "y" * 80 + "…")


def test_history_of_an_unknown_trial_fails(loaded_db):
    assert run("history", "NCT00000000", "--db", loaded_db.url).exit_code == 2


def test_history_without_a_database_says_there_is_none(tmp_path):
    """It said "no trial 'NCT01219465' in …" where there was no database at all."""
    done = run("history", "NCT01219465", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.exit_code == 2 and "no database at" in done.stderr
    assert not (tmp_path / "none.db").exists()


def test_quarantine_lists_a_rejected_record_with_its_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    dump = tmp_path / "dump.zip"
    with zipfile.ZipFile(dump, "w") as zf:
        zf.writestr("NCT0000xxxx/NCT00000001.json", "{not json")
    # stored what it could, quarantined the rest: exit 1, each reason on stderr
    done = run("ingest", "ctgov-dump", str(dump), "--db", url)
    assert done.exit_code == 1 and "quarantined: " in done.stderr
    assert "quarantined: " not in done.stdout and "fetched" in done.stdout
    rows = json.loads(run("quarantine", "--json", "--db", url).output)
    assert len(rows) == 1 and "not valid JSON" in rows[0]["reason"]
    table = run("quarantine", "--db", url).output
    assert "1 quarantined record(s)" in table and "NCT00000001" in table


def test_a_record_kept_under_its_place_is_dropped_by_its_id_once_mended(tmp_path):
    """An ICTRP trial without a TrialID waits under its place in the file; the mended file
    loads it under its id, and a curator drops the stale entry by number (no other is
    touched; an unknown number drops nothing)."""
    url = f"sqlite:///{tmp_path / 'q.db'}"
    trial = (
        "<Trial><TrialID>{}</TrialID><Public_title>Stem cells for diabetes</Public_title></Trial>"
    )
    export = tmp_path / "export.xml"
    export.write_text(
        f"<Trials_downloaded_from_ICTRP>{trial.format('')}</Trials_downloaded_from_ICTRP>"
    )
    assert run("ingest", "ictrp", str(export), "--db", url).exit_code == 1
    (held,) = json.loads(run("quarantine", "--json", "--db", url).output)
    assert held["ref"] == f"{export}:trial 1" and "TrialID is empty" in held["reason"]
    export.write_text(
        f"<Trials_downloaded_from_ICTRP>{trial.format('NCT01219465')}</Trials_downloaded_from_ICTRP>"
    )
    assert run("ingest", "ictrp", str(export), "--db", url).exit_code == 0
    assert len(json.loads(run("quarantine", "--json", "--db", url).output)) == 1  # still held
    unknown = run("quarantine", "--drop", "99", "--db", url)
    assert unknown.exit_code == 2 and "no quarantined record numbered 99" in unknown.output
    huge = run("quarantine", "--drop", "99999999999999999999", "--db", url)  # was a traceback
    assert huge.exit_code == 2 and "--drop" in huge.output
    assert run("quarantine", "--drop", str(held["id"]), "--retry", "--db", url).exit_code == 2
    dropped = run("quarantine", "--drop", str(held["id"]), "--db", url)
    assert dropped.exit_code == 0 and "dropped 1 quarantined record(s)" in dropped.output
    assert json.loads(run("quarantine", "--json", "--db", url).output) == []


def test_review_with_nothing_pending_prints_an_empty_list(loaded_db):
    assert json.loads(run("review", "--json", "--db", loaded_db.url).output) == []
    assert "0 match(es) to review" in run("review", "--db", loaded_db.url).output


def test_review_splits_a_record_out_of_a_trial_and_says_so(tmp_path):
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "registries" / "ctgov_page1.json"
    study = json.loads(fixture.read_text())["studies"][0]
    ident = study["protocolSection"]["identificationModule"]
    ident["secondaryIdInfos"] = [{"id": "ChiCTR2100041234", "type": "REGISTRY"}]
    other = json.loads(json.dumps(study))
    other["protocolSection"]["identificationModule"]["nctId"] = "NCT10000012"
    dump = tmp_path / "dump.zip"
    with zipfile.ZipFile(dump, "w") as zf:
        zf.writestr("NCT01219465.json", json.dumps(study))
        zf.writestr("NCT10000012.json", json.dumps(other))
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run("ingest", "ctgov-dump", str(dump), "--db", url).exit_code == 0
    done = run("review", "--split", "NCT10000012", "--json", "--db", url)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {
        "record": "NCT10000012", "trial": "NCT01219465", "new_trial": "NCT10000012"
    }  # fmt: skip
    again = run("review", "--split", "NCT10000012", "--db", url)
    assert again.exit_code == 2 and "a trial of its own: nothing to split" in again.stderr
    both = run("review", "--split", "NCT10000012", "--reject", "1", "--db", url)
    assert both.exit_code == 2 and "one of --accept, --reject and --split" in both.stderr


def test_review_accept_says_on_stderr_when_the_trial_gets_two_ids_of_one_registry(tmp_path):
    title = "Umbilical cord mesenchymal stem cells for type 1 diabetes mellitus"
    url = f"sqlite:///{tmp_path / 'r.db'}"
    for trial_id, register, suffix in (
        ("NCT09000001", "ClinicalTrials.gov", ""),
        ("ChiCTR2000000001", "ChiCTR", " in children"),
        ("ChiCTR2000000002", "ChiCTR", " in children"),
    ):
        export = tmp_path / f"{trial_id}.xml"
        export.write_text(
            "<Trials_downloaded_from_ICTRP><Trial>"
            f"<TrialID>{trial_id}</TrialID><Public_title>{title}{suffix}</Public_title>"
            f"<Source_Register>{register}</Source_Register>"
            "</Trial></Trials_downloaded_from_ICTRP>"
        )
        assert run("ingest", "ictrp", str(export), "--db", url).exit_code == 0
    first, second = (m["id"] for m in json.loads(run("review", "--json", "--db", url).output))
    once = run("review", "--accept", str(first), "--db", url)
    assert once.exit_code == 0 and "merged into NCT09000001" in once.stdout and not once.stderr
    twice = run("review", "--accept", str(second), "--db", url)
    assert twice.exit_code == 0 and "merged into NCT09000001" in twice.stdout
    assert "note: the trial now holds ChiCTR2000000001, ChiCTR2000000002 of one" in " ".join(
        twice.stderr.split()
    )


def test_text_from_users_and_registries_is_shown_as_written_never_as_markup(tmp_path, capsys):
    """Rich markup in an id or a registry's text ('[/]' closes a tag) must not crash or
    restyle the output: it is printed as it was written."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    page = tmp_path / "[bold]p.html"
    page.write_text("<table><tr><td>Registration number:</td><td>[/]</td></tr></table>")
    loaded = run("ingest", "chictr", str(page), "--db", url)
    assert loaded.exit_code == 1 and "[/]" in loaded.stderr
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["history", "[red]NCT1[/]", "--db", url])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'[red]NCT1[/]'" in err
    listing = run("quarantine", "--db", url)
    assert listing.exit_code == 0 and "'[/]'" in listing.output


@pytest.mark.parametrize("batch", ["0", "-1"])
def test_a_batch_below_one_is_a_usage_error(tmp_path, capsys, batch):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "ctgov-dump", str(tmp_path), "--batch", batch])
    assert exit_info.value.code == 2
    assert "--batch" in capsys.readouterr().err


def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    for command in (["quarantine"], ["history", "NCT01219465"], ["review"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--db", f"sqlite:///{junk}"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err == "error: the database cannot be used: file is not a database"


def test_an_ingest_that_finds_nothing_in_its_file_or_folder_fails_saying_so(tmp_path):
    """It printed a warning and ended 0: a script could not tell a wrong folder or an empty
    zip from a dump with nothing new in it."""
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    folder = tmp_path / "nothing"
    folder.mkdir()
    url = f"sqlite:///{tmp_path / 'e.db'}"
    for command in (
        ["ctgov-dump", str(empty)],
        ["ctgov-dump", str(folder)],
        ["chictr", str(folder)],
    ):
        done = runner.invoke(app, ["ingest", *command, "--db", url])
        assert done.exit_code == 2, command
        assert f"nothing was read: no record was found in {command[1]}" in done.stderr
        assert "fetched" in done.stdout  # the report all the same


def test_quarantine_retry_prints_json_when_asked(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert run("db", "init", "--db", url).exit_code == 0
    done = run("quarantine", "--retry", "--json", "--db", url)
    assert done.exit_code == 0
    assert json.loads(done.output)["fetched"] == 0


def test_the_package_runs_as_a_module(tmp_path):
    """``python -m isletbase`` failed: the package had no ``__main__``."""
    done = subprocess.run(
        [sys.executable, "-m", "isletbase", "search", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "Find trials" in done.stdout


def test_a_reading_command_with_a_mistyped_database_path_creates_nothing(tmp_path):
    """A reading command refused a missing database, but made its folders on the way."""
    url = f"sqlite:///{tmp_path / 'typo' / 'deeper' / 'x.db'}"
    for command in (["quarantine"], ["review"], ["search", "diabetes"]):
        assert run(*command, "--db", url).exit_code == 2
    assert not (tmp_path / "typo").exists()
    assert run("db", "init", "--db", url).exit_code == 0  # a writing one makes them
    assert (tmp_path / "typo" / "deeper" / "x.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "ctgov-dump", "nosuch.zip"], "'nosuch.zip' does not exist"),
        (["ingest", "ictrp", "."], "is a directory"),
        (["ingest", "ctgov", "--query", "x", "--since", ""], "--since: expected a date"),
        (["ingest", "ctgov", "--query", "x", "--page-size", "0"], "'--page-size'"),
    ],
)
def test_a_bad_argument_is_refused_before_a_database_is_made(tmp_path, args, message):
    db = tmp_path / "never.db"
    result = run(*args, "--db", f"sqlite:///{db}")
    assert result.exit_code == 2 and message in result.output
    assert not db.exists()


def test_the_progress_bar_grows_with_more_records_than_the_registry_counted(monkeypatch):
    """ClinicalTrials.gov's ``totalCount`` can lag its pages: the bar ended at "5/4"."""
    from rich.console import Console

    from isletbase.cli import ingest

    recorded = Console(record=True, width=80, force_terminal=False)
    monkeypatch.setattr(ingest, "err_console", recorded)  # the bar is drawn on stderr
    with ingest._bar("ClinicalTrials.gov", total=4) as (advance, _):
        advance(3)
        advance(2)
    shown = recorded.export_text()
    assert "5/5" in shown and "5/4" not in shown


@pytest.mark.parametrize(
    ("command", "name", "content", "message"),
    [("ctgov-dump", "img.json", b"\x89PNG\r\n\x1a\n", "named .json but no JSON object"),
     ("ctgov-dump", "study.json", b'{"protocolSection": {}}', "one study's JSON"),
     ("chictr", "empty.xml", b"", "the file is empty"),
     ("ictrp", "empty.xml", b"  \n", "the file is empty"),
     ("ctgov-dump", "/dev/null", None, "not a regular file"),
     ("chictr", "/dev/null", None, "not a regular file"),
     ("ictrp", "/dev/null", None, "not a regular file")],
)  # fmt: skip
def test_a_file_an_ingest_cannot_read_is_said_for_what_it_is(
    tmp_path, command, name, content, message
):
    """A picture named .json was "one study's JSON", an empty file had "no element", and
    /dev/null, which is there, was "no such file"."""
    path = name if content is None else tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = run("ingest", command, str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2 and message in result.output, result.output
