"""The ingest pipeline: history per changed field, idempotence, flags, quarantine, crashes, fuzz."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import pickle
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from contextlib import closing
from datetime import date
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from isletbase import ingest, ingest_worker, taxonomy
from isletbase.errors import InputError, NotFoundError
from isletbase.harvest import (
    list_quarantine,
    retry_quarantine,
    run_chictr,
    run_dump,
    run_ictrp,
    run_records,
    split_record,
)
from isletbase.ingest import Head, Pipeline, ingest_trials, merge_records, prepare
from isletbase.ingest_worker import head_size
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord, chictr
from isletbase.sources.ctgov import raw_to_record, study_raws
from isletbase.sources.curated import to_trial
from isletbase.store.check import check
from isletbase.store.db import Database
from isletbase.store.query import TrialQuery
from isletbase.store.schema import (
    DerivationRow,
    QuarantineRow,
    RawRecordRow,
    RegistryIdRow,
    SiteRow,
    TrialRow,
)
from isletbase.store.search import search_trials
from isletbase.store.trial_reads import get_trial, history
from isletbase.store.trials import pack
from isletbase.taxonomy import Derived

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registries"
SOURCE = "ClinicalTrials.gov API"
STUDIES = [
    s
    for name in ("ctgov_page1.json", "ctgov_page2.json")
    for s in json.loads((FIXTURES / name).read_text())["studies"]
]
QINGDAO = STUDIES[0]
QINGDAO_ID = "NCT01219465"


def _ingest(db: Database, studies: list[dict], today: date | None = None):  # noqa: ANN202 - Report
    return run_records(db, study_raws(studies, SOURCE), SOURCE, raw_to_record, 2, today=today)


def test_changed_record_writes_one_version_per_changed_field(db) -> None:
    first = _ingest(db, [QINGDAO])
    assert (first.new, first.updated) == (1, 0)
    changed = copy.deepcopy(QINGDAO)
    status = changed["protocolSection"]["statusModule"]
    status["overallStatus"] = "COMPLETED"
    status["lastUpdatePostDateStruct"]["date"] = "2013-01-05"
    changed["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 53
    second = _ingest(db, [changed])
    assert (second.new, second.updated, second.unchanged) == (0, 1, 0)
    changes = {c.field: c for c in history(db, "NCT01219465")}
    assert changes["status"].old == "Unknown" and changes["status"].new == "Completed"
    assert changes["enrollment"].old == "50" and changes["enrollment"].new == "53"
    assert changes["last_update"].new == "2013-01-05"
    assert changes["status_code"].source == SOURCE
    assert "title_en" not in changes


def test_identical_rerun_writes_nothing(db) -> None:
    _ingest(db, STUDIES)
    before = len(history(db, "NCT01219465"))
    again = _ingest(db, STUDIES)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)
    assert len(history(db, "NCT01219465")) == before


def test_the_same_records_read_on_another_day_are_unchanged(db) -> None:
    """The day a record was read is kept with it but is no change: the next day's identical
    harvest writes nothing, and the stored record still says when it was first read."""
    first = run_records(db, study_raws(STUDIES, SOURCE, "2026-11-25"), SOURCE, raw_to_record)
    assert first.new == 4
    before = len(history(db, "NCT01219465"))
    again = run_records(db, study_raws(STUDIES, SOURCE, "2026-11-26"), SOURCE, raw_to_record)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)
    assert len(history(db, "NCT01219465")) == before
    with db.session() as session:
        stored = session.scalars(select(RawRecordRow.payload)).all()
    assert {s["retrieved"] for p in stored for s in p["sources"]} == {"2026-11-25"}


def test_a_record_that_loads_clears_its_quarantined_copy(db) -> None:
    """A later good version (or the record fixed) makes the rejected copy stale: it leaves the
    quarantine, so ``--retry`` does not reject it again."""
    bad = copy.deepcopy(QINGDAO)
    bad["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 99_000_000
    assert _ingest(db, [QINGDAO]).new == 1
    assert _ingest(db, [bad, STUDIES[2]]).quarantined == 1
    assert get_trial(db, "NCT01219465").enrollment == 50  # the stored version is kept
    assert [q.ref for q in list_quarantine(db)] == ["NCT01219465"]
    assert _ingest(db, [QINGDAO]).unchanged == 1
    assert list_quarantine(db) == []
    assert retry_quarantine(db).fetched == 0


def test_a_record_that_loads_on_retry_keeps_its_page_and_retrieval_date(db, tmp_path) -> None:
    """The quarantine kept the page's text alone: retried, a ChiCTR page was stored under a
    search address and no retrieval date. (The stored text is mended here as a fixed reader
    would read it.)"""
    page = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "p.html").write_text(page.replace("ChiCTR2300071975", "ChiCTR–2300071975"), "utf-8")
    assert run_chictr(db, folder).quarantined == 1
    with db.session() as session:
        row = session.scalars(select(QuarantineRow)).one()
        assert row.url == "https://www.chictr.org.cn/hvshowproject.html?id=232708"
        row.payload = row.payload.replace("ChiCTR–2300071975", "ChiCTR2300071975")
    retried = retry_quarantine(db)
    assert (retried.new, retried.quarantined) == (1, 0)
    trial = get_trial(db, "ChiCTR2300071975")
    assert trial.source_url == "https://www.chictr.org.cn/hvshowproject.html?id=232708"
    assert trial.sources[0].retrieved == date.today().isoformat()


def test_a_database_made_before_the_quarantine_kept_pages_gains_the_columns(tmp_path) -> None:
    path = tmp_path / "old.db"
    old = Database(f"sqlite:///{path}")
    old.init()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE quarantine DROP COLUMN url")
        conn.execute("ALTER TABLE quarantine DROP COLUMN extra")
        conn.execute(
            "INSERT INTO quarantine (source, record_ref, payload, reason, created_at)"
            " VALUES ('ChiCTR', 'p.html', '{}', 'a reason', '2026-01-01 00:00:00')"
        )
        conn.commit()
    Database(f"sqlite:///{path}").init()
    with closing(sqlite3.connect(path)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(quarantine)")}
        assert {"url", "extra"} <= columns
        assert conn.execute("SELECT reason, url FROM quarantine").fetchall() == [("a reason", None)]


def test_a_study_loaded_from_the_api_releases_its_copy_rejected_from_the_dump(db, tmp_path):
    bad = copy.deepcopy(QINGDAO)
    bad["protocolSection"]["statusModule"]["startDateStruct"]["date"] = "2025-13"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "NCT01219465.json").write_text(json.dumps(bad))
    assert run_dump(db, dump, workers=1).quarantined == 1
    assert [(q.source, q.ref) for q in list_quarantine(db)] == [
        ("ClinicalTrials.gov dump", "NCT01219465")
    ]
    assert _ingest(db, [QINGDAO]).new == 1
    assert list_quarantine(db) == []


@pytest.mark.parametrize("zipped", [False, True])
def test_two_rejected_files_of_one_name_in_two_folders_are_both_quarantined(
    db, tmp_path, zipped
) -> None:
    """A dump's rejected file was named by its stem alone: two ``bad.json`` in two folders
    were one quarantined record, the other lost."""
    dump = tmp_path / "dump"
    for folder, text in (("part1", '{"protocolSection": '), ("part2", "[1, 2]")):
        (dump / folder).mkdir(parents=True)
        (dump / folder / "bad.json").write_text(text)
    path = dump
    if zipped:
        path = tmp_path / "dump.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name in ("part1/bad.json", "part2/bad.json"):
                zf.write(dump / name, name)
    assert run_dump(db, path, workers=1).quarantined == 2
    held = sorted((q.ref, q.reason) for q in list_quarantine(db))
    place = f"{path.absolute()}:" if zipped else f"{path.absolute()}{os.sep}"
    assert [ref for ref, _ in held] == [f"{place}part1/bad", f"{place}part2/bad"], held
    assert "not valid JSON" in held[0][1] and "expected a study object" in held[1][1]


def _two_registrations_of_one_chictr_id() -> tuple[dict, dict]:
    first = copy.deepcopy(QINGDAO)
    ident = first["protocolSection"]["identificationModule"]
    ident["secondaryIdInfos"] = [{"id": "ChiCTR2100041234", "type": "REGISTRY"}]
    second = copy.deepcopy(first)
    second["protocolSection"]["identificationModule"]["nctId"] = "NCT10000012"
    second["protocolSection"]["identificationModule"]["briefTitle"] = "Another study"
    return first, second


def test_a_second_registration_joined_through_a_shared_id_is_counted_and_said(db) -> None:
    """Two ClinicalTrials.gov records naming one ChiCTR id: the second joined the first's
    trial, counted only as "updated 1" and with nothing in the history to say why."""
    first, second = _two_registrations_of_one_chictr_id()
    assert _ingest(db, [first]).new == 1
    report = _ingest(db, [second])
    assert (report.new, report.updated, report.merged) == (0, 0, 1)
    (merged,) = [c for c in history(db, "NCT01219465") if c.field == "merged"]
    assert merged.old == "NCT10000012" and "exact link through ChiCTR2100041234" in merged.source
    assert "holds NCT01219465 of the same registry" in merged.source
    # a record linked through its own registry's id is an update as before, and says nothing
    assert _ingest(db, [second]).unchanged == 1


def test_an_older_version_read_beside_its_latest_in_one_batch_is_counted(db) -> None:
    older = copy.deepcopy(QINGDAO)
    older["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2010-01-01"
    report = _ingest(db, [older, QINGDAO])
    assert (report.fetched, report.new, report.merged) == (2, 1, 1)


def test_a_wrong_merge_is_split_by_a_curator_and_stays_apart(db) -> None:
    """Two ClinicalTrials.gov records naming one ChiCTR id (one of them wrongly) made one
    trial, and no command could take them apart again."""
    first, second = _two_registrations_of_one_chictr_id()
    _ingest(db, [first])
    _ingest(db, [second])
    assert get_trial(db, "NCT10000012").uid == get_trial(db, "NCT01219465").uid
    done = split_record(db, " nct10000012 ")
    assert (done.record, done.trial, done.new_trial) == (
        "NCT10000012",
        "NCT01219465",
        "NCT10000012",
    )
    kept, split = get_trial(db, "NCT01219465"), get_trial(db, "NCT10000012")
    assert kept.uid != split.uid and split.title_en == "Another study"
    assert kept.title_en == QINGDAO["protocolSection"]["identificationModule"]["briefTitle"]
    assert {r.id for r in kept.registry_ids} == {"NCT01219465", "ChiCTR2100041234"}
    assert {r.id for r in split.registry_ids} == {"NCT10000012"}
    assert [s.url for s in split.sources] == ["https://clinicaltrials.gov/study/NCT10000012"]
    (said,) = [c for c in history(db, "NCT01219465") if c.field == "split"]
    assert (said.old, said.new) == ("NCT10000012", "NCT01219465") and "review: split" in said.source
    assert [c.new for c in history(db, "NCT10000012")] == ["created"]
    assert check(db).ok
    # read again, changed: each updates its own trial; the shared id joins nothing
    changed = copy.deepcopy(second)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2014-01-01"
    report = _ingest(db, [first, changed])
    assert (report.new, report.updated, report.unchanged, report.merged) == (0, 1, 1, 0)
    # the registry's link the curator undid is said, not followed silently
    assert report.notes == [
        "NCT10000012 names ChiCTR2100041234, of trial NCT01219465, which a curator kept apart"
        " from it: the link is not followed (`isletbase review` decided it)"
    ]
    assert get_trial(db, "NCT10000012").status == "Completed"
    assert get_trial(db, "NCT01219465").uid == kept.uid != get_trial(db, "NCT10000012").uid
    assert {r.id for r in get_trial(db, "NCT01219465").registry_ids} == {
        "NCT01219465",
        "ChiCTR2100041234",
    }


def test_a_split_holds_in_a_batch_the_dump_s_worker_prepares(db, tmp_path) -> None:
    """Two records read in one batch and sharing an id are merged before they are written:
    the worker, which prepares a dump's batches after its head, is told what was split."""
    first, second = _two_registrations_of_one_chictr_id()
    fillers = []  # the head the writer reads itself (two batches of two), before the worker's
    for i in range(4):
        filler = copy.deepcopy(QINGDAO)
        filler["protocolSection"]["identificationModule"]["nctId"] = f"NCT2000000{i}"
        fillers.append(filler)
    (tmp_path / "a").mkdir()
    first_read = run_dump(
        db, _dump_dir(tmp_path / "a", [*fillers, first, second]), batch_size=2, workers=2
    )
    assert (first_read.new, first_read.merged) == (5, 1)
    assert get_trial(db, "NCT10000012").uid == get_trial(db, "NCT01219465").uid
    # linked and said as across batches: it vanished into the first's record, unsaid
    (merged,) = [c for c in history(db, "NCT01219465") if c.field == "merged"]
    assert merged.old == "NCT10000012" and "exact link through ChiCTR2100041234" in merged.source
    split_record(db, "NCT10000012")
    changed = copy.deepcopy(second)
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2014-01-01"
    (tmp_path / "b").mkdir()
    again = _dump_dir(tmp_path / "b", [*fillers, first, changed])
    report = run_dump(db, again, batch_size=2, workers=2)
    assert (report.merged, report.updated) == (0, 1)
    assert get_trial(db, "NCT10000012").uid != get_trial(db, "NCT01219465").uid


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("NCT01219465", InputError, "the record trial NCT01219465 is named by"),
        ("NCT99999999", NotFoundError, "no stored record 'NCT99999999'"),
    ],
)
def test_a_split_that_would_take_nothing_apart_is_refused(db, key, error, message) -> None:
    first, second = _two_registrations_of_one_chictr_id()
    _ingest(db, [first, second])
    with pytest.raises(error, match=message):
        split_record(db, key)
    assert get_trial(db, "NCT10000012").uid == get_trial(db, "NCT01219465").uid
    _ingest(db, [STUDIES[2]])
    alone = STUDIES[2]["protocolSection"]["identificationModule"]["nctId"]
    with pytest.raises(InputError, match="a trial of its own: nothing to split"):
        split_record(db, alone)  # its trial's own, and only, record


@pytest.mark.parametrize("typed", ["ＮＣＴ１０００００１２", "nct 10000012", " Nct10000012 "])
def test_a_split_takes_the_id_in_any_spelling_show_takes(db, typed) -> None:
    """``review --split`` refused spellings ``show`` and ``history`` take, kept the typed one in
    the history, and a second split said 'split out the record(s) merged into it (none)'."""
    first, second = _two_registrations_of_one_chictr_id()
    _ingest(db, [first, second])
    assert get_trial(db, typed) is not None
    assert split_record(db, typed).record == "NCT10000012"
    (said,) = [c for c in history(db, "NCT01219465") if c.field == "split"]
    assert said.source.startswith("review: split NCT10000012 from")
    with pytest.raises(InputError, match="NCT10000012 is trial NCT10000012's only record"):
        split_record(db, typed)


def test_pages_of_one_name_in_two_folders_are_two_rejected_records(db, tmp_path) -> None:
    """Browsers save every ChiCTR page as showproj.html: two broken ones from two folders were
    kept as one (the second lost), and a good page of that name released them both."""
    page = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    for folder, bad in (("a", "ChiCTR-XYZ"), ("b", "ChiCTR-ABC"), ("c", None)):
        (tmp_path / folder).mkdir()
        text = page.replace("ChiCTR2300071975", bad) if bad else page
        (tmp_path / folder / "showproj.html").write_text(text)
    assert run_chictr(db, tmp_path / "a").quarantined == 1
    assert run_chictr(db, tmp_path / "b").quarantined == 1
    assert run_chictr(db, tmp_path / "c").new == 1
    held = list_quarantine(db)
    assert [q.ref for q in held] == [str(tmp_path / f / "showproj.html") for f in "ab"]
    assert "ChiCTR-XYZ" in held[0].reason and "ChiCTR-ABC" in held[1].reason
    # read again unchanged: nothing added; changed and still broken: a place may hold another
    # record next time, so the newer read is kept beside the first
    assert run_chictr(db, tmp_path / "a").quarantined == 1 and len(list_quarantine(db)) == 2
    (tmp_path / "a" / "showproj.html").write_text(page.replace("ChiCTR2300071975", "ChiCTR-Q"))
    run_chictr(db, tmp_path / "a")
    assert ["ChiCTR-Q" in q.reason for q in list_quarantine(db)] == [False, False, True]


def test_one_file_name_typed_in_two_folders_is_two_places(db, tmp_path, monkeypatch) -> None:
    export = "<Trials_downloaded_from_ICTRP><Trial><TrialID></TrialID><Public_title>{}"
    export += "</Public_title></Trial></Trials_downloaded_from_ICTRP>"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "export.xml").write_text(export.format(f"trial of {folder}"))
        monkeypatch.chdir(tmp_path / folder)
        assert run_ictrp(db, Path("export.xml")).quarantined == 1
    held = list_quarantine(db)
    assert [q.ref for q in held] == [f"{tmp_path / f / 'export.xml'}:trial 1" for f in "ab"]


def test_a_record_named_by_its_id_rejected_again_keeps_only_its_latest_read(db) -> None:
    bad = copy.deepcopy(QINGDAO)
    bad["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 99_000_000
    worse = copy.deepcopy(QINGDAO)  # a later version, broken elsewhere
    worse["protocolSection"]["statusModule"]["startDateStruct"]["date"] = "2025-13"
    assert _ingest(db, [bad]).quarantined == 1
    assert _ingest(db, [worse]).quarantined == 1
    (held,) = list_quarantine(db)
    assert held.ref == "NCT01219465" and "2025-13" in held.reason


@pytest.mark.parametrize("newer_first", [False, True])
def test_of_two_versions_of_a_record_in_one_batch_the_registry_s_latest_is_kept(
    db, newer_first: bool
) -> None:
    """Two versions of one study in one folder or export: the one its registry updated last
    is the record, whatever order the files come in (the older's values filled no gaps)."""
    old, new = copy.deepcopy(QINGDAO), copy.deepcopy(QINGDAO)
    status = new["protocolSection"]["statusModule"]
    status["lastUpdatePostDateStruct"]["date"] = "2099-01-01"
    status["overallStatus"] = "COMPLETED"
    new["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 24
    old["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    report = _ingest(db, [new, old] if newer_first else [old, new])
    assert report.new == 1
    trial = get_trial(db, "NCT01219465")
    assert (trial.status_code, trial.enrollment) == ("COMPLETED", 24)


def test_records_of_one_trial_from_two_sources_in_a_batch_both_count(db) -> None:
    """A curated file's record and a registry export's of one trial are not versions of each
    other: the second fills what the first leaves out, whichever was updated last."""
    record = raw_to_record(next(iter(study_raws([QINGDAO], SOURCE)))).model_dump(mode="json")
    curated = {**record, "summary": None, "last_update": "2000-01-01"}
    export = {**curated, "summary": "From the export.", "sponsor": None, "last_update": None}
    raws = [
        RawRecord("bundled:core.jsonl", "core.jsonl:1", curated),
        RawRecord("bundled:export.jsonl", "export.jsonl:1", export),
    ]
    assert run_records(db, raws, "bundled data", to_trial).new == 1
    trial = get_trial(db, "NCT01219465")
    assert trial.summary == "From the export." and trial.sponsor == curated["sponsor"]


def test_control_characters_in_a_registry_record_are_taken_out(db) -> None:
    """A NUL (which PostgreSQL refuses in text: it stopped the whole load), a terminal's
    escape sequence and a right-to-left override in a registry's text never reach the
    database, a terminal or a page; line breaks stay."""
    study = copy.deepcopy(QINGDAO)
    ident = study["protocolSection"]["identificationModule"]
    ident["briefTitle"] = "Stem\x00 cells \x1b[2Jfor\u202e diabetes\x7f"
    study["protocolSection"]["descriptionModule"] = {"briefSummary": "One.\nTwo.\x85"}
    assert _ingest(db, [study]).new == 1
    trial = get_trial(db, "NCT01219465")
    assert trial.title_en == "Stem cells [2Jfor diabetes"
    record = raw_to_record(next(iter(study_raws([QINGDAO], SOURCE)))).model_dump(mode="json")
    record["source_url"] = "https://example.org/NCT01219465\x1b[2J"
    run_records(db, [RawRecord("bundled:x.jsonl", "x.jsonl:1", record)], "bundled data", to_trial)
    with db.session() as session:  # the stored record's own columns too
        urls = session.scalars(select(RawRecordRow.url)).all()
    assert "https://example.org/NCT01219465[2J" in urls
    assert trial.summary == "One.\nTwo."


def test_controls_that_separate_words_leave_a_blank_between_them(db) -> None:
    """A vertical tab, form feed or record separator between two words (as a registry's
    export may hold for a line break) was taken out with the rest, gluing the words: a
    condition "Type 1\x0bDiabetes" was read as no diabetes type."""
    study = copy.deepcopy(QINGDAO)
    ps = study["protocolSection"]
    ps["conditionsModule"] = {"conditions": ["Type 1\x0bDiabetes\x1e"]}
    ps["identificationModule"]["briefTitle"] = "Stem\x0ccells\x85for diabetes"
    assert _ingest(db, [study]).new == 1
    trial = get_trial(db, "NCT01219465")
    assert trial.conditions == ["Type 1 Diabetes"] and trial.condition == "T1D"
    assert trial.title_en == "Stem cells for diabetes"


def test_a_malformed_ictrp_trial_is_quarantined_and_the_file_s_others_load(db, tmp_path) -> None:
    """A bare & in one trial of an ICTRP export: that trial waits in quarantine under its
    TrialID with the reason, the others load, and the mended file releases it."""
    text = (FIXTURES / "ictrp_export.xml").read_text()
    second = text.rindex("<Trial>")
    path = tmp_path / "export.xml"
    path.write_text(text[:second] + text[second:].replace("<Public_title>", "<Public_title>&", 1))
    report = run_ictrp(db, path)
    assert (report.new, report.quarantined) == (1, 1)
    (held,) = list_quarantine(db)
    assert held.ref == "NCT01219465" and "is not well-formed XML" in held.reason
    path.write_text(text)
    assert run_ictrp(db, path).new == 1 and list_quarantine(db) == []


def test_a_record_kept_from_a_deleted_trial_is_linked_to_the_trial_made_again(db) -> None:
    """Deleting a trial keeps its source records (unlinked); ingesting the record again makes
    the trial anew and links that same stored record to it, changed where it changed."""
    _ingest(db, [QINGDAO])
    with db.session() as session:
        session.execute(delete(TrialRow))
        kept = session.scalars(select(RawRecordRow)).one()
        assert kept.trial_uid is None
    changed = copy.deepcopy(QINGDAO)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    again = _ingest(db, [changed])
    assert (again.new, again.updated, again.unchanged) == (1, 0, 0)
    with db.session() as session:
        record = session.scalars(select(RawRecordRow)).one()
        trial = session.scalars(select(TrialRow)).one()
        assert (record.id, record.trial_uid) == (kept.id, trial.uid)
        assert record.payload["status"] == "Completed" and trial.status_code == "COMPLETED"
        assert record.retrieved_at > kept.retrieved_at
    assert _ingest(db, [changed]).unchanged == 1


def test_status_jump_and_stale_flags(db) -> None:
    recruiting = copy.deepcopy(STUDIES[2])  # NCT05507697, RECRUITING, last update 2022-08-19
    _ingest(db, [recruiting], today=date(2026, 11, 25))
    assert any(f.startswith("stale: status RECRUITING") for f in get_trial(db, "NCT05507697").flags)
    recruiting["protocolSection"]["statusModule"]["overallStatus"] = "UNKNOWN"
    _ingest(db, [recruiting], today=date(2026, 11, 25))
    flags = get_trial(db, "NCT05507697").flags
    assert "status jump: RECRUITING → UNKNOWN (seen 2026-11-25)" in flags
    assert not any(f.startswith("stale") for f in flags)


def test_a_trial_terminated_after_it_enrolled_is_a_status_jump(db) -> None:
    study = copy.deepcopy(STUDIES[2])
    study["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    _ingest(db, [study], today=date(2026, 11, 25))
    assert get_trial(db, "NCT05507697").flags == []  # enrolled: not stale, whatever its date
    study["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    _ingest(db, [study], today=date(2026, 11, 25))
    flags = get_trial(db, "NCT05507697").flags
    assert flags == ["status jump: ACTIVE_NOT_RECRUITING → TERMINATED (seen 2026-11-25)"]


def test_bad_record_is_quarantined_with_its_reason_and_the_rest_loads(db) -> None:
    bad = copy.deepcopy(QINGDAO)
    bad["protocolSection"]["identificationModule"]["nctId"] = "NCT09999999"
    bad["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 99_000_000
    report = _ingest(db, [bad, *STUDIES])
    assert (report.new, report.quarantined) == (4, 2)
    reasons = [q.reason for q in list_quarantine(db)]
    assert any("NCT09999999" in r and "enrollment" in r for r in reasons)
    assert any("nctId" in r for r in reasons)
    before = list_quarantine(db)
    retried = retry_quarantine(db)
    assert (retried.fetched, retried.quarantined) == (2, 2)
    # rejected again for the same reasons: the same entries, numbers and times kept
    assert list_quarantine(db) == before
    with db.session() as session:  # a reason that changed since: the newer entry alone
        session.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id == before[0].id)
            .values(reason="an older reader's words")
        )
    retry_quarantine(db)
    after = list_quarantine(db)
    assert len(after) == 2 and {q.reason for q in after} == {q.reason for q in before}
    assert before[1] in after and before[0].id not in {q.id for q in after}


def test_bulk_insert_and_orm_upsert_store_the_same_trial(db) -> None:
    _ingest(db, [QINGDAO])  # bulk path: a new trial
    bulk = get_trial(db, "NCT01219465")
    with db.session() as session:
        session.execute(RawRecordRow.__table__.delete())
        session.execute(TrialRow.__table__.update().values(content_hash="stale"))
    _ingest(db, [QINGDAO])  # ORM path: the same record rewritten over the row
    orm = get_trial(db, "NCT01219465")
    skip = {"updated_at"}
    assert bulk.model_dump(exclude=skip) == orm.model_dump(exclude=skip)
    assert not [c for c in history(db, "NCT01219465") if c.field != "record"]


_text = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(-5, 10**9),
    st.lists(st.text(max_size=5), max_size=3),
    # past a column's width on PostgreSQL (a phase of 140 characters failed a whole batch there)
    st.sampled_from(["P" * 140, "城" * 501, "x" * 5_000]),
)


@st.composite
def mutated_studies(draw: st.DrawFn) -> dict:
    study = copy.deepcopy(draw(st.sampled_from(STUDIES)))
    for _ in range(draw(st.integers(1, 4))):
        module = draw(st.sampled_from(list(study.get("protocolSection", {}) or {"x": {}})))
        section = study.setdefault("protocolSection", {})
        target = section.get(module)
        if isinstance(target, dict) and target and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(_text)
        else:
            section[module] = draw(_text)
    return study


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(studies=st.lists(mutated_studies(), min_size=1, max_size=4))
def test_mutated_records_never_crash_and_none_is_lost(db, studies: list[dict]) -> None:
    """On both backends: PostgreSQL refuses what SQLite stores (a text past a column's width),
    and a batch it refused was lost whole, with a traceback."""
    with db.session() as session:  # each example from an empty store (the trials' rows cascade)
        for table in (QuarantineRow, RawRecordRow, TrialRow):
            session.execute(delete(table))
    report = _ingest(db, studies)
    assert report.fetched == len(studies)
    # every record is accounted for: stored (possibly merged with a same-id record) or quarantined
    assert (
        report.new + report.unchanged + report.updated + report.merged + report.quarantined
        == len(studies)
    )
    # each rejected record is kept once; one named by its registry id as its latest read (a
    # later read replaces it), unless a later record of that id loaded, which releases it
    held = list_quarantine(db)
    assert {q.reason for q in held} <= set(report.errors)
    assert len(held) <= len(set(report.errors)) <= report.quarantined
    ids = [q.ref for q in held if re.fullmatch(r"NCT\d{8}", q.ref)]
    assert len(set(ids)) == len(ids)


KILL_SCRIPT = """
import sys
from isletbase.harvest import run_dump
from isletbase.store.db import Database
print("ingesting", flush=True)
run_dump(Database(sys.argv[1]), sys.argv[2], batch_size=25)
"""


def _consistent(db: Database) -> int:
    with db.session() as session:
        trials = session.scalar(select(func.count(TrialRow.uid)))
        no_ids = session.scalar(
            select(func.count(TrialRow.uid)).where(
                ~select(RegistryIdRow.id).where(RegistryIdRow.trial_uid == TrialRow.uid).exists()
            )
        )
        orphans = session.scalar(
            select(func.count(SiteRow.id)).where(
                ~select(TrialRow.uid).where(TrialRow.uid == SiteRow.trial_uid).exists()
            )
        )
        raws = session.scalar(select(func.count(RawRecordRow.id)))
        indexed = [
            session.connection().exec_driver_sql(f"SELECT count(*) FROM {index}_docsize").scalar()
            for index in ("trial_fts", "trial_words")
        ]
    assert no_ids == 0 and orphans == 0
    assert raws == trials and indexed == [trials, trials]
    return trials


def test_sigkill_at_random_moments_leaves_a_consistent_database_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    rng = random.Random(20261125)
    base = STUDIES[0]
    for i in range(400):
        study = copy.deepcopy(base)
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{10_000_000 + i:08d}"
        study["protocolSection"]["identificationModule"]["briefTitle"] += f" cohort {i}"
        (dump / f"NCT{10_000_000 + i:08d}.json").write_text(json.dumps(study))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    command = [sys.executable, "-c", KILL_SCRIPT]
    # time one complete run's ingest on this machine (from the end of its imports), then kill
    # others at random points of it, a few just past its end
    scratch = f"sqlite:///{tmp_path / 'scratch.db'}"
    _initialised(scratch)
    timed = subprocess.Popen([*command, scratch, str(dump)], env=env, stdout=subprocess.PIPE)
    assert timed.stdout is not None and timed.stdout.readline() == b"ingesting\n"
    start = time.perf_counter()
    assert timed.wait() == 0
    window = time.perf_counter() - start
    seen = []
    for attempt in range(20):
        url = f"sqlite:///{tmp_path / f'k{attempt}.db'}"
        _initialised(url)
        proc = subprocess.Popen(
            [*command, url, str(dump)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ingesting\n"
        if attempt % 2:  # any moment of the ingest, its start-up included, or just past its end
            time.sleep(rng.uniform(0.0, 1.1) * window)
        else:  # a moment after the first batch is committed, while later ones are written
            _wait_for_a_commit(tmp_path / f"k{attempt}.db", proc)
            time.sleep(rng.uniform(0.0, 0.3) * window)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # the worker process notices its writer is gone and exits too
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, alive
        db = Database(url)
        seen.append(_consistent(db))
        db.dispose()
        if attempt % 4 == 0:  # a rerun over the killed run's database completes
            subprocess.run([*command, url, str(dump)], env=env, check=True)
            db = Database(url)
            assert _consistent(db) == 400
            assert not db.missing_indexes()  # a killed first load's are built by the rerun
            db.dispose()
    assert any(0 < n < 400 for n in seen), seen  # some kills landed mid-run


def _initialised(url: str) -> None:
    """Make an empty database and close its connections, so the load has the file to itself
    (and journals a first load as it would: ``Database.bulk_load``)."""
    db = Database(url)
    db.init()
    db.dispose()


def _wait_for_a_commit(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Return once the ingest writing ``path`` has committed a trial (or has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with closing(sqlite3.connect(path, timeout=5)) as conn:
            if conn.execute("SELECT count(*) FROM trials").fetchone()[0]:
                return
        time.sleep(0.005)


def test_a_newer_dump_updates_a_study_the_api_fetched_and_an_older_copy_changes_nothing(
    db, tmp_path
):
    """The API's copy merged before the dump's whatever their dates: a study the API had
    fetched once never took a later dump's status ("updated 0 unchanged 4")."""
    assert _ingest(db, [QINGDAO]).new == 1
    newer = copy.deepcopy(QINGDAO)
    status = newer["protocolSection"]["statusModule"]
    status["overallStatus"] = "COMPLETED"
    status["lastUpdatePostDateStruct"]["date"] = "2025-03-01"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "NCT01219465.json").write_text(json.dumps(newer))
    assert run_dump(db, dump, workers=1).updated == 1
    assert get_trial(db, QINGDAO_ID).status_code == "COMPLETED"
    changed = [v for v in history(db, QINGDAO_ID) if v.field == "status"]
    assert changed and changed[-1].source == "ClinicalTrials.gov dump"
    again = _ingest(db, [QINGDAO])  # the API's older copy, read again
    assert (again.updated, again.unchanged) == (0, 1)
    assert get_trial(db, QINGDAO_ID).status_code == "COMPLETED"


def _dump_dir(tmp_path: Path, studies: list[dict]) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir()
    for i, study in enumerate(studies):
        (dump / f"study{i:03d}.json").write_text(json.dumps(study))
    (dump / "study999.json").write_text("{not json")  # quarantined either way
    return dump


def _stored(db: Database) -> list[tuple]:
    with db.session() as session:
        rows = session.execute(
            select(
                TrialRow.display_id,
                TrialRow.search_text,
                TrialRow.cell_source,
                TrialRow.condition,
                TrialRow.route,
                TrialRow.status_code,
                TrialRow.content_hash,
                TrialRow.flags,
            ).order_by(TrialRow.display_id)
        ).all()
    return [tuple(r) for r in rows]


def test_what_the_writer_finishes_from_the_handed_over_payloads_equals_the_workers(db) -> None:
    """A worker classifies, hashes and shapes a batch only while the writer is busy; otherwise
    the writer does it from the records as handed over (JSON text). Both must be the same."""
    pipeline = Pipeline(db, SOURCE, raw_to_record, today=date(2026, 11, 25))
    raws = list(study_raws(STUDIES, SOURCE))
    in_worker = prepare(raws, raw_to_record)
    in_worker.shape(pipeline.shaper, pipeline.salt)
    handed = pickle.loads(pickle.dumps(prepare(raws, raw_to_record)))
    assert handed.derivations is None and handed.digests is None and handed.rows is None
    assert handed.data is None and len(handed.payloads) > 3
    handed.classify(pipeline.salt)
    assert handed.derivations == in_worker.derivations and handed.digests == in_worker.digests
    assert in_worker.rows is not None and len(in_worker.rows) == len(handed.payloads)
    assert pickle.loads(pickle.dumps(in_worker)).rows == in_worker.rows  # as the queue hands it
    for position, expected in enumerate(in_worker.rows):
        derivations = handed.derivations[position]
        got = pipeline.shaper.values(
            handed.payload(position), derivations, handed.digests[position]
        )
        assert pack(got) == expected  # the trial's row, registry ids, sites, sources, derivations


def test_a_batch_is_prepared_from_records_read_lazily() -> None:
    """The worker hands ``prepare`` the next studies unread (each is mapped as it is read):
    a generator gives what a list does, and a rejected record counts as fetched."""
    raws = [*study_raws(STUDIES, SOURCE), RawRecord(SOURCE, "bad", {"protocolSection": {}})]
    read = prepare(iter(raws), raw_to_record)
    listed = prepare(raws, raw_to_record)
    assert read.fetched == listed.fetched == len(raws)
    assert read.payloads == listed.payloads and len(read.payloads) > 3
    rejected = [raw.ref for raw, _ in read.rejects]
    assert rejected == [raw.ref for raw, _ in listed.rejects] and rejected[-1] == "bad"
    assert len(read.payloads) + len(rejected) == len(raws)
    assert prepare(iter(()), raw_to_record).fetched == 0


def test_a_classified_batch_crosses_to_the_writer_unchanged(db) -> None:
    pipeline = Pipeline(db, SOURCE, raw_to_record, today=date(2026, 11, 25))
    raws = list(study_raws(STUDIES, SOURCE))
    sent = prepare(raws, raw_to_record)
    sent.classify(pipeline.salt)
    got = pickle.loads(pickle.dumps(sent))
    assert got.heads == sent.heads and got.derivations == sent.derivations
    assert type(got.heads[0]) is Head and type(got.derivations[0][0]) is Derived
    assert got.derivations[0][0].field == sent.derivations[0][0].field
    assert got.payloads == sent.payloads and got.digests == sent.digests


@pytest.mark.parametrize("start", sorted({ingest_worker.START_METHOD, "spawn"}))
def test_dump_with_a_worker_process_stores_what_one_process_stores(
    tmp_path: Path, monkeypatch, start: str
) -> None:
    """Forked (Linux) or spawned (elsewhere), the worker's batches store what one process
    stores."""
    monkeypatch.setattr(ingest_worker, "START_METHOD", start)
    dump = _dump_dir(tmp_path, STUDIES)
    reports, stored = [], []
    # batches of one: the writer does the first two itself, the worker the other four
    assert head_size(1) == 2 < len(STUDIES) - 1
    for workers in (1, 2):
        db = Database(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        reports.append(run_dump(db, dump, batch_size=1, workers=workers).to_dict())
        stored.append(_stored(db))
        # no problem besides the quarantined records (the check runs FTS5's integrity-check)
        assert [p for p in check(db).problems if "in quarantine" not in p] == []
        # trials inserted in bulk (FTS trigger held, index written per batch) are found
        title = STUDIES[0]["protocolSection"]["identificationModule"]["briefTitle"]
        found = search_trials(db, TrialQuery(q=title.lower(), per_page=50))
        assert STUDIES[0]["protocolSection"]["identificationModule"]["nctId"] in [
            t.display_id for t in found.items
        ]
        db.dispose()
    assert reports[0] == reports[1]
    assert reports[0]["fetched"] == len(STUDIES) + 1 and reports[0]["quarantined"] >= 1
    assert stored[0] == stored[1] and len(stored[0]) == reports[0]["new"] > 3


def _naming(study: dict, nct: str, *chictr: str) -> dict:
    """``study`` as registered under ``nct``, naming the ChiCTR ids ``chictr``."""
    study = copy.deepcopy(study)
    identification = study["protocolSection"]["identificationModule"]
    identification["nctId"] = nct
    identification["secondaryIdInfos"] = [{"id": i, "type": "REGISTRY"} for i in chictr]
    return study


def test_a_first_load_that_folds_trials_together_leaves_no_row_without_its_trial(
    tmp_path: Path,
) -> None:
    """A trial folded into another in the middle of a first (bulk) load, by a record naming
    ids two stored trials hold, leaves none of its rows behind, whichever process prepared
    the batches."""
    studies = [
        _naming(QINGDAO, "NCT90000001", "ChiCTR2000000001"),
        _naming(STUDIES[1], "NCT90000002", "ChiCTR2000000002"),
        _naming(STUDIES[2], "NCT90000003", "ChiCTR2000000001", "ChiCTR2000000002"),
    ]
    dump = _dump_dir(tmp_path, studies)
    for workers in (1, 2):
        db = Database(f"sqlite:///{tmp_path / f'fold{workers}.db'}")
        report = run_dump(db, dump, 1, workers=workers)
        # the third links both, folding one away; its joining a trial that holds an NCT id is
        # a merge of its own (two registrations, or a wrong secondary id: said in the history)
        assert (report.new, report.merged) == (2, 2)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert [p for p in check(db).problems if "in quarantine" not in p] == []
        trial = get_trial(db, "NCT90000003")
        assert trial is not None
        assert trial.uid == get_trial(db, "NCT90000001").uid == get_trial(db, "NCT90000002").uid
        assert {r.id for r in trial.registry_ids} >= {"ChiCTR2000000001", "ChiCTR2000000002"}
        db.dispose()


def test_a_worker_process_error_reaches_the_caller(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'e.db'}")
    with pytest.raises(InputError, match="no such file"):
        run_dump(db, tmp_path / "missing.zip", workers=2)
    # a zip cut short after the studies this process reads itself: the worker meets the end
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(8):
            zf.writestr(f"study{i}.json", json.dumps(STUDIES[i % len(STUDIES)]))
    with zipfile.ZipFile(whole) as zf:
        cut = zf.infolist()[6].header_offset + 40  # inside the seventh study
    (tmp_path / "cut.zip").write_bytes(whole.read_bytes()[:cut])
    with pytest.raises(InputError, match="not a readable zip") as failed:
        run_dump(db, tmp_path / "cut.zip", batch_size=2, workers=2)
    with db.session() as session:  # the batches written before the error stay
        stored = session.scalar(select(func.count(RawRecordRow.id)))
        assert stored >= head_size(2)
    # and the error says how many, and where the zip failed
    assert f"stored before it: {stored:,} new, 0 updated" in str(failed.value)
    assert "after member 6 (study5.json); 6 members were read whole" in str(failed.value)


def test_a_worker_that_cannot_start_is_an_error_after_the_writer_s_own_batches(
    tmp_path: Path, monkeypatch
) -> None:
    def refuse(self) -> None:  # noqa: ANN001 - a Process
        raise OSError("no process for you")

    process = multiprocessing.get_context(ingest_worker.START_METHOD).Process
    monkeypatch.setattr(process, "start", refuse)
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(OSError, match="no process for you"):
        run_dump(db, _dump_dir(tmp_path, STUDIES), batch_size=1, workers=2)
    with db.session() as session:  # what the writer wrote itself stays
        assert session.scalar(select(func.count(RawRecordRow.id))) == head_size(1)


def test_a_large_load_refreshes_the_planner_statistics(tmp_path: Path, monkeypatch) -> None:
    dump = _dump_dir(tmp_path, STUDIES)
    db = Database(f"sqlite:///{tmp_path / 'stats.db'}")
    monkeypatch.setattr(Pipeline, "STATS_AFTER", 10**6)
    run_dump(db, dump, workers=1)
    with db.engine.connect() as conn:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
    assert "sqlite_stat1" not in names  # a small load leaves the statistics alone
    monkeypatch.setattr(Pipeline, "STATS_AFTER", 1)
    db.dispose()
    db = Database(f"sqlite:///{tmp_path / 'stats2.db'}")
    run_dump(db, dump, workers=1)
    with db.engine.connect() as conn:
        indexed = conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1").scalars().all()
    assert {"trials", "sites", "registry_ids"} <= set(indexed)
    db.dispose()


def test_a_field_the_classifier_matched_nothing_in_is_explained_but_not_stored(
    db: Database,
) -> None:
    """Most registry records name no cell source, condition or route: those derivations are
    not written (nearly half a bulk load's rows), yet reading the trial explains every
    derived field, in their order, the absent ones as 'no rule matched'."""
    plain = copy.deepcopy(QINGDAO)
    module = plain["protocolSection"]
    module["identificationModule"]["briefTitle"] = "Walking after meals"
    module["identificationModule"].pop("officialTitle", None)
    module["conditionsModule"] = {"conditions": ["Healthy Volunteers"]}
    module.pop("armsInterventionsModule", None)
    module.pop("descriptionModule", None)
    _ingest(db, [plain])
    nct = module["identificationModule"]["nctId"]
    with db.session() as session:
        stored = session.scalars(select(DerivationRow.field)).all()
    trial = get_trial(db, nct)
    fields = [d.field for d in trial.derivations]
    assert fields == ["cell_source", "condition", "route", "phase_code", "status_code"]
    empty = [d for d in trial.derivations if d.value is None]
    assert empty and all(d.rule == "no rule matched" and d.method == "classifier" for d in empty)
    assert sorted(stored) == sorted(d.field for d in trial.derivations if d.value is not None)
    assert "cell_source" not in stored and trial.cell_source is None


def test_a_site_stored_in_chinese_is_found_by_its_english_name_and_back(db: Database) -> None:
    """A registry page in Chinese alone stores its site's province and city in Chinese; a
    filter in English finds it, and one in Chinese finds a site stored in English."""
    chinese = copy.deepcopy(QINGDAO)
    module = chinese["protocolSection"]
    module["contactsLocationsModule"] = {
        "locations": [
            {"facility": "某医院", "city": "广州市", "state": "广东省", "country": "China"}
        ]
    }
    english = copy.deepcopy(QINGDAO)
    english["protocolSection"]["identificationModule"]["nctId"] = "NCT09999991"
    english["protocolSection"]["contactsLocationsModule"] = {
        "locations": [
            {"facility": "A", "city": "Guangzhou", "state": "Guangdong", "country": "China"}
        ]
    }
    _ingest(db, [chinese, english])
    both = {module["identificationModule"]["nctId"], "NCT09999991"}
    for query in (
        TrialQuery(province="Guangdong"),
        TrialQuery(province="广东"),
        TrialQuery(city="Guangzhou"),
        TrialQuery(city="广州市"),
    ):
        assert {t.display_id for t in search_trials(db, query).items} == both, query


def test_records_merged_keep_one_entry_of_a_text_written_in_two_cases() -> None:
    """CT.gov writes an intervention "BIOLOGICAL: …", ICTRP "Biological: …": one entry, in
    the first record's spelling; different texts all stay, in order."""
    base = {
        "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT01219465"}],
        "source_url": "https://clinicaltrials.gov/study/NCT01219465",
    }
    first = TrialRecord.model_validate(
        {**base, "interventions": ["BIOLOGICAL: umbilical cord MSC"], "conditions": ["T1D"]}
    )
    second = TrialRecord.model_validate(
        {
            **base,
            "source_url": "https://trialsearch.who.int/Trial2.aspx?TrialID=NCT01219465",
            "interventions": ["Biological: umbilical cord MSC", "Drug: insulin"],
            "conditions": ["t1d", "Type 1 diabetes"],
        }
    )
    merged = merge_records([first, second])
    assert merged.interventions == ["BIOLOGICAL: umbilical cord MSC", "Drug: insulin"]
    assert merged.conditions == ["T1D", "Type 1 diabetes"]


def test_a_merged_trial_stands_where_its_latest_record_says() -> None:
    """A ChiCTR record updated in 2025 ("Recruiting") merged under a ClinicalTrials.gov one of
    2019 ("Unknown"): the trial showed Unknown, its last update moved back six years, and a
    status jump no registry made was flagged. Other fields still come from the first record."""
    ctgov = TrialRecord.model_validate(
        {
            "registry_ids": [
                {"registry": "ClinicalTrials.gov", "id": "NCT04000001"},
                {"registry": "ChiCTR", "id": "ChiCTR2000031234"},
            ],
            "source_url": "https://clinicaltrials.gov/study/NCT04000001",
            "title_en": "As ClinicalTrials.gov words it",
            "status": "UNKNOWN",
            "last_update": "2019-01-01",
        }
    )
    chictr = TrialRecord.model_validate(
        {
            "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2000031234"}],
            "source_url": "https://www.chictr.org.cn/showprojEN.html?proj=1",
            "title_en": "As ChiCTR words it",
            "status": "Recruiting",
            "last_update": "2025-06-01",
        }
    )
    merged = merge_records([ctgov, chictr])
    assert (merged.status, merged.last_update) == ("Recruiting", "2025-06-01")
    assert merged.title_en == "As ClinicalTrials.gov words it"
    older = chictr.model_copy(update={"last_update": "2018-01-01"})
    assert merge_records([ctgov, older]).status == "UNKNOWN"  # the first, where it is newer
    undated = chictr.model_copy(update={"last_update": None})
    assert merge_records([ctgov, undated]).last_update == "2019-01-01"
    # a mirror's date is when it copied the record: ICTRP's copy, "refreshed" after the
    # registry's own update, does not say where the trial stands
    mirror = TrialRecord.model_validate(
        {
            **chictr.model_dump(),
            "status": "Not recruiting",
            "last_update": "2026-01-01",
            "sources": [{"url": "https://trialsearch.who.int/Trial2.aspx?TrialID=NCT04000001"}],
        }
    )
    assert merge_records([ctgov, mirror]).status == "UNKNOWN"
    # nor does a newer record without a status: both fields come from one record
    assert merge_records([ctgov, chictr.model_copy(update={"status": None})]).last_update == (
        "2019-01-01"
    )
    # a first record without a date is not known to be the older
    assert merge_records([ctgov.model_copy(update={"last_update": None}), chictr]).status == (
        "UNKNOWN"
    )


def _one_language(lang: str) -> str:
    """The bilingual ChiCTR fixture as the registry's page in one language: the rows of the
    other language's labels taken out (a Chinese label holds Han characters)."""
    html = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text(encoding="utf-8")
    rows = html.split("\n")
    han = re.compile(r'<td class="left_title"><p>[^<]*[\u4e00-\u9fff]')
    latin = re.compile(r'<td class="left_title"><p>[A-Za-z]')
    other = latin if lang == "zh" else han
    return "\n".join(r for r in rows if not other.search(r))


def test_a_chictr_page_in_chinese_alone_is_found_by_its_city_and_province_in_english(db, tmp_path):
    """Its site is 武汉, 湖北 only (and no institution directory is loaded to name it): stored
    as the place book writes it in English, as the bilingual page gives it."""
    page = tmp_path / "zh.html"
    page.write_text(_one_language("zh"), "utf-8")
    run_chictr(db, page)
    site = get_trial(db, "ChiCTR2300071975").sites[0]
    assert (site.city, site.province) == ("Wuhan", "Hubei")
    for q in ("wuhan", "hubei", "武汉市"):
        found = search_trials(db, TrialQuery(q=q)).items
        assert [t.display_id for t in found] == ["ChiCTR2300071975"], q


def test_a_new_search_document_rewrites_the_stored_texts_when_the_records_load_again(
    db, monkeypatch
):
    """A database loaded before the search text changed (``DOCUMENT_VERSION``) finds what a
    new one finds once its sources load again, and no history is written for it."""
    monkeypatch.setattr(ingest, "DOCUMENT_VERSION", 1)
    _ingest(db, [QINGDAO])
    with db.session() as session:  # as an older version wrote it: no Chinese for Qingdao
        session.execute(update(TrialRow).values(search_text="nct01219465"))
    assert _ingest(db, [QINGDAO]).unchanged == 1  # the same version: nothing to do
    assert not search_trials(db, TrialQuery(q="青岛")).items
    versions = len(history(db, QINGDAO_ID))
    monkeypatch.undo()
    again = _ingest(db, [QINGDAO])
    assert (again.updated, again.unchanged) == (0, 1)
    assert [t.display_id for t in search_trials(db, TrialQuery(q="青岛")).items] == [QINGDAO_ID]
    assert len(history(db, QINGDAO_ID)) == versions


@pytest.mark.parametrize("order", ["bilingual first", "chinese first", "one folder"])
def test_a_chictr_page_in_one_language_fills_gaps_and_loses_nothing(db, tmp_path, order):
    """A page in Chinese alone read after the bilingual one (or before it) keeps the English
    title, sponsor and site names the bilingual page gave, and adds its own texts; read again,
    it changes nothing."""
    bilingual = tmp_path / "both" / "p.html"
    chinese = tmp_path / "zh" / "p.html"
    bilingual.parent.mkdir()
    chinese.parent.mkdir()
    bilingual.write_text((FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8"), "utf-8")
    chinese.write_text(_one_language("zh"), "utf-8")
    pages = [bilingual, chinese] if order == "bilingual first" else [chinese, bilingual]
    if order == "one folder":  # one batch: the Chinese page, then the bilingual one
        chinese.rename(bilingual.parent / "a.html")
        pages = [bilingual.parent]
    for page in pages:
        run_chictr(db, page)
    assert get_trial(db, "ChiCTR2300071975").sites[0].city == "Wuhan"
    trial = get_trial(db, "ChiCTR2300071975")
    assert trial.title_en.startswith("Treatment With Human Umbilical Cord")
    assert trial.title_zh == "脐带间充质干细胞治疗难治性糖尿病周围神经病的临床研究"
    assert trial.notes == "ChiCTR: Retrospective registration"
    assert trial.condition == "complication:neuropathy" and trial.cell_source == "UC-MSC"
    assert trial.sites and trial.country == "China"
    assert not [v for v in history(db, "ChiCTR2300071975") if v.field == "title_en" and not v.new]
    again = run_chictr(db, pages[-1])
    assert (again.updated, again.new) == (0, 0) and again.unchanged >= 1
    if order != "one folder":  # the two pages read in turn again: nothing flips
        versions = len(history(db, "ChiCTR2300071975"))
        for page in pages:
            run_chictr(db, page)
        assert len(history(db, "ChiCTR2300071975")) == versions
        assert get_trial(db, "ChiCTR2300071975").sites[0].city == "Wuhan"


def test_a_chinese_page_alone_is_classified_and_noted_as_the_bilingual_one() -> None:
    """补注册 is the English page's "Retrospective registration"; 周围神经病 is neuropathy."""
    record = chictr.to_record(RawRecord("ChiCTR", "p.html", {"html": _one_language("zh")}))
    assert record.title_en is None and record.title_zh.startswith("脐带间充质干细胞")
    assert record.notes == "ChiCTR: Retrospective registration"
    assert chictr.language_view(record.sources[0].fields) == "zh"
    assert "title_zh" in record.sources[0].fields and "title_en" not in record.sources[0].fields
    bilingual = chictr.to_record(next(chictr.read_pages(FIXTURES / "chictr_ChiCTR2300071975.html")))
    assert chictr.language_view(bilingual.sources[0].fields) is None
    assert bilingual.sources[0].fields == ["all"]
    derived = {d.field: d.value for d in taxonomy.classify_record(record)}
    assert derived["condition"] == "complication:neuropathy"


@pytest.mark.parametrize("batch", [1, 1000])
def test_a_dump_holding_a_study_twice_keeps_the_newer_version_whatever_the_batch(
    db, tmp_path, batch
):
    """Two versions of one study in a dump (or an old export read after a new one): the one
    the registry updated last is stored, whichever comes later or in which batch, and reading
    the dump again changes nothing (it flipped the title back and forth, a version each way)."""
    newer, older = copy.deepcopy(QINGDAO), copy.deepcopy(QINGDAO)
    for study, title, day in ((newer, "Version A, newer", "2025-06-01"),
                              (older, "Version B, older", "2024-01-01")):  # fmt: skip
        study["protocolSection"]["identificationModule"]["briefTitle"] = title
        study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = day
    dump = tmp_path / "dump.zip"
    with zipfile.ZipFile(dump, "w") as z:
        z.writestr("a/newer.json", json.dumps(newer))
        z.writestr("b/older.json", json.dumps(older))
    nct = QINGDAO["protocolSection"]["identificationModule"]["nctId"]
    run_dump(db, dump, batch_size=batch, workers=1)
    assert get_trial(db, nct).title_en == "Version A, newer"
    again = run_dump(db, dump, batch_size=batch, workers=1)
    assert (again.updated, again.unchanged) == (0, 2 if batch == 1 else 1)
    assert [v.new for v in history(db, nct) if v.field == "title_en"] == []


def test_a_record_s_id_holding_terminal_controls_is_quarantined_written_out(db, tmp_path):
    """A registry id or file name is printed in ingest reports and ``isletbase quarantine``:
    its ESC and OSC sequences are kept as escapes, never sent to the reader's terminal."""
    study = copy.deepcopy(QINGDAO)
    study["protocolSection"]["identificationModule"]["nctId"] = "\x1b[31mEVIL\x1b]0;pwned\x07"
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a\x1b[2J.json").write_text(json.dumps(study))
    report = run_dump(db, folder, workers=1)
    assert report.quarantined == 1
    [entry] = list_quarantine(db)
    for text in (entry.ref, entry.reason, *report.errors):
        assert text.isprintable() and "\\x1b" in text, text


def test_a_text_stored_before_the_length_limit_still_shows_and_loads_again(db) -> None:
    """A database loaded before registry texts were limited may hold a longer one: its trial
    is read, merged and loaded again as before (it raised in show, the API and the next load)."""
    _ingest(db, [QINGDAO])
    nct = QINGDAO["protocolSection"]["identificationModule"]["nctId"]
    long = "A" * 60_000
    with db.session() as session:
        session.execute(update(TrialRow).values(summary=long))
        for row in session.scalars(select(RawRecordRow)):
            row.payload = {**row.payload, "summary": long}
    assert get_trial(db, nct).summary == long
    changed = copy.deepcopy(QINGDAO)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2030-01-01"
    report = run_records(db, study_raws([changed], "ChiCTR"), "ChiCTR", raw_to_record, 2)
    # stored beside the API's record, whose values come first but for where the trial stands,
    # which the record updated last gives
    assert (report.quarantined, report.updated, report.unchanged) == (0, 1, 0)
    trial = get_trial(db, nct)
    assert (trial.status, trial.last_update, trial.summary) == ("Completed", "2030-01-01", long)
    with db.session() as session:
        linked = session.scalars(
            select(RawRecordRow.source).where(RawRecordRow.trial_uid.is_not(None))
        )
        assert sorted(linked) == ["ChiCTR", "ClinicalTrials.gov API"]


def _dated(html: str, day: str, english: bool = True) -> str:
    """A page as the registry refreshed it on ``day`` (its "last refreshed" rows, the English
    one where the page is in English too)."""
    rows = f'<tr><td class="left_title"><p>最近更新日期：</p></td><td>{day}</td></tr>\n'
    if english:
        rows += (
            f'<tr><td class="left_title"><p>Date of Last Refreshed on:</p></td>'
            f"<td>{day}</td></tr>\n"
        )
    return html.replace("<tbody>\n", "<tbody>\n" + rows, 1)


def test_the_two_language_pages_of_an_entry_read_together_keep_both(db, tmp_path):
    """A Chinese and an English page of one entry in one folder: both are kept and merged
    (one was dropped as the other's older version, and its title lost)."""
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "en.html").write_text(_one_language("en"), "utf-8")
    (folder / "zh.html").write_text(_one_language("zh"), "utf-8")
    run_chictr(db, folder)
    trial = get_trial(db, "ChiCTR2300071975")
    assert trial.title_en.startswith("Treatment With Human Umbilical Cord")
    assert trial.title_zh.startswith("脐带间充质干细胞")


def test_a_view_that_adds_nothing_is_reported_unchanged_as_its_history_says(db, tmp_path):
    """The bilingual page, then its Chinese view, in turn: each read after the first stores
    the record anew but changes no field, and was reported "updated" with no version."""
    (tmp_path / "bi.html").write_text(
        (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8"), "utf-8"
    )
    (tmp_path / "zh.html").write_text(_one_language("zh"), "utf-8")
    assert run_chictr(db, tmp_path / "bi.html").new == 1
    versions = len(history(db, "ChiCTR2300071975"))
    reports = [run_chictr(db, tmp_path / f"{name}.html") for name in ("zh", "bi", "zh")]
    assert [(r.updated, r.unchanged) for r in reports] == [(0, 1)] * 3
    assert len(history(db, "ChiCTR2300071975")) == versions


def test_a_newer_view_over_an_older_whole_page_and_back_merge_alike(db, tmp_path):
    """The registry's newer Chinese page read first, its older bilingual page after: the
    English values still fill the gaps (the older page was skipped as an older version), and
    the Chinese page's own values, being newer, stand."""
    bilingual = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    older, newer = tmp_path / "older.html", tmp_path / "newer.html"
    older.write_text(_dated(bilingual, "2023-08-01"), "utf-8")
    newer.write_text(_dated(_one_language("zh"), "2024-08-01", english=False), "utf-8")
    run_chictr(db, newer)
    run_chictr(db, older)
    trial = get_trial(db, "ChiCTR2300071975")
    assert trial.title_en.startswith("Treatment With Human Umbilical Cord")
    assert trial.last_update == "2024-08-01"
    # the sites' places as the English view names them (they read 青岛, 山东, 中国 only)
    assert all(s.city and s.city.isascii() for s in trial.sites) and trial.sites
    versions = len(history(db, "ChiCTR2300071975"))
    # read again in turn: no history, and the report says so (it said "updated 1")
    reports = [run_chictr(db, newer), run_chictr(db, older)]
    assert len(history(db, "ChiCTR2300071975")) == versions
    assert [(r.updated, r.unchanged) for r in reports] == [(0, 1), (0, 1)]


def test_a_long_phase_loads_and_an_overlong_place_is_quarantined_on_both_backends(db) -> None:
    """An EU trial's phase text in an ICTRP export (~140 characters) was over PostgreSQL's
    column width: the whole batch failed there with a traceback and nothing was quarantined,
    while SQLite stored it."""
    long_phase = copy.deepcopy(STUDIES[1])
    eu_phase = (
        "Human pharmacology (Phase I): no Therapeutic exploratory (Phase II): yes "
        "Therapeutic confirmatory - (Phase III): no Therapeutic use (Phase IV): no"
    )
    long_phase["protocolSection"]["designModule"]["phases"] = [eu_phase]
    long_city = copy.deepcopy(STUDIES[2])
    locations = long_city["protocolSection"].setdefault("contactsLocationsModule", {})
    locations["locations"] = [{"facility": "Clinic", "city": "X" * 501, "country": "China"}]
    report = _ingest(db, [QINGDAO, long_phase, long_city])
    assert (report.new, report.quarantined) == (2, 1)
    assert "sites.0.city: 501 characters, over the 500" in report.errors[0]
    stored = get_trial(db, long_phase["protocolSection"]["identificationModule"]["nctId"])
    assert stored is not None and stored.phase == eu_phase


def test_a_new_spelling_of_the_same_phase_status_or_intervention_writes_no_history(db):
    """Read from the CSV export and then the API, a trial's history filled with
    "Phase 1/Phase 2 → PHASE1/PHASE2" and "Biological: → BIOLOGICAL:"."""

    def load(**fields: object):
        payload = {
            "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT01234567"}],
            "title_en": "Umbilical cord stem cells for type 1 diabetes",
            "source_url": "https://clinicaltrials.gov/study/NCT01234567",
            **fields,
        }
        raw = RawRecord(source="test", ref="NCT01234567", payload=payload)
        return ingest_trials(db, [raw], lambda r: TrialRecord.model_validate(r.payload), "test")

    load(phase="Phase 1/Phase 2", status="Unknown status", interventions=["Biological: UC-MSC"])
    respelled = load(phase="PHASE1/PHASE2", status="Unknown", interventions=["BIOLOGICAL: UC-MSC"])
    assert (respelled.updated, respelled.unchanged) == (0, 1)
    assert [v.field for v in history(db, "NCT01234567")] == ["record"]
    trial = get_trial(db, "NCT01234567")
    assert trial.phase == "PHASE1/PHASE2" and trial.phase_code == "PHASE1/PHASE2"  # stored
    changed = load(phase="Phase 2", status="Unknown", interventions=["BIOLOGICAL: UC-MSC"])
    assert changed.updated == 1
    assert {v.field for v in history(db, "NCT01234567")} >= {"phase", "phase_code"}


def test_ingest_chictr_reads_a_folder_of_pages_and_the_registry_s_xml_exports(db, tmp_path):
    folder = tmp_path / "chictr"
    folder.mkdir()
    for name in ("chictr_ChiCTR2300071975.html", "chictr_export_ChiCTR2000034346.xml"):
        shutil.copy(FIXTURES / name, folder / name)
    report = run_chictr(db, folder)
    assert (report.fetched, report.new, report.quarantined) == (2, 2, 0)
    assert get_trial(db, "ChiCTR2000034346").enrollment == 3239
    again = run_chictr(db, folder / "chictr_export_ChiCTR2000034346.xml")
    assert (again.fetched, again.unchanged) == (1, 1)


def test_a_record_read_anew_as_its_registry_last_updated_it_says_so_in_its_history(db):
    """A better reading of an unchanged record (here a reader that now gives its design) wrote
    versions that read as the registry's change of that day; a record the registry updated
    writes its own name as before."""
    study, source, nct = copy.deepcopy(QINGDAO), SOURCE, QINGDAO_ID

    def older_reader(raw):
        return raw_to_record(raw).model_copy(update={"design": None})

    run_records(db, [RawRecord(source, nct, study)], source, older_reader)
    run_records(db, [RawRecord(source, nct, study)], source, raw_to_record)
    (design,) = [c for c in history(db, nct) if c.field == "design"]
    day = raw_to_record(RawRecord(source, nct, study)).last_update
    assert design.source == f"{source} (read anew: the registry's record of {day} unchanged)"
    updated = copy.deepcopy(study)
    status = updated["protocolSection"]["statusModule"]
    status["lastUpdatePostDateStruct"] = {"date": "2099-01-02"}
    status["overallStatus"] = "COMPLETED"
    run_records(db, [RawRecord(source, nct, updated)], source, raw_to_record)
    changed = [c for c in history(db, nct) if c.field == "status"]
    assert changed and changed[-1].source == source


def test_a_status_the_registry_changed_without_a_new_date_is_the_registry_s_change(db):
    """ClinicalTrials.gov turns a stale study Unknown without a new last-update date: that
    change was labelled isletbase's reading."""
    study = copy.deepcopy(QINGDAO)
    run_records(db, [RawRecord(SOURCE, QINGDAO_ID, study)], SOURCE, raw_to_record)
    study["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    run_records(db, [RawRecord(SOURCE, QINGDAO_ID, study)], SOURCE, raw_to_record)
    (status,) = [c for c in history(db, QINGDAO_ID) if c.field == "status"]
    assert status.source == SOURCE
