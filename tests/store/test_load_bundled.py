"""Loading the bundled data: sourced, idempotent, bad lines quarantined, history kept."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from isletbase import places
from isletbase.ingest import load_bundled
from isletbase.store.check import check
from isletbase.store.schema import QuarantineRow, TrialRow, TrialVersionRow
from isletbase.store.trial_reads import get_trial, history

INST = {
    "id": "qdu-hosp",
    "name_en": "The Affiliated Hospital of Qingdao University",
    "name_zh": None,
    "aliases": ["Qingdao University Affiliated Hospital"],
    "type": "hospital",
    "city": "Qingdao",
    "province": "Shandong",
    "country": "China",
    "source_url": "https://example.org/qdu",
}


def _trial(nct: str, **extra) -> dict:
    record = {
        "registry_ids": [{"registry": "ClinicalTrials.gov", "id": nct}],
        "title_en": "Umbilical Cord Mesenchymal Stem Cells for Type 1 Diabetes",
        "status": "Recruiting",
        "phase": "Phase 2",
        "start_date": "2021-03",
        "sites": [
            {
                "name": "The Affiliated Hospital of Qingdao University",
                "city": "Qingdao",
                "province": "Shandong",
                "country": "China",
            }
        ],
        "region": "mainland China",
        "country": "China",
        "source_url": f"https://clinicaltrials.gov/study/{nct}",
    }
    record.update(extra)
    return record


def _write_bundle(root: Path, trials: list, institutions: list) -> Path:
    (root / "trials").mkdir(parents=True, exist_ok=True)
    (root / "trials" / "core.jsonl").write_text(
        "\n".join(t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in trials)
        + "\n",
        encoding="utf-8",
    )
    (root / "institutions.jsonl").write_text("\n".join(json.dumps(i) for i in institutions) + "\n")
    return root


def test_bundled_data_loads_every_record_with_a_source(loaded_db):
    report = check(loaded_db)
    assert report.ok, report.problems
    assert report.counts["trials"] >= 80
    assert report.counts["institutions"] >= 40
    with loaded_db.session() as session:
        urls = session.scalars(select(TrialRow.source_url)).all()
    assert all(u.startswith("http") for u in urls)


def test_each_bundled_trial_names_one_country_of_its_sites(loaded_db):
    """A trial's country is one of its sites' (China where one is in China, else the first),
    as the registry readers set it, in any of its spellings (a record merged from two pages
    may write "Iran" and its sites "Iran, Islamic Republic of"): "Ireland; Italy; United
    Kingdom" was found by none of the three."""
    with loaded_db.session() as session:
        trials = session.scalars(select(TrialRow).options(selectinload(TrialRow.sites))).all()
    for trial in trials:
        countries = {places.english("country", s.country) for s in trial.sites if s.country}
        if trial.country and countries and trial.region == "foreign":
            named = places.english("country", trial.country)
            assert named in countries, (trial.display_id, trial.country, countries)


def test_loading_twice_changes_nothing(db, tmp_path):
    root = _write_bundle(tmp_path, [_trial("NCT00000001")], [INST])
    first = load_bundled(db, root)
    second = load_bundled(db, root)
    assert (first.new, first.quarantined) == (1, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 1)
    with db.session() as session:
        assert session.scalar(select(func.count(TrialVersionRow.id))) == 1


def test_a_changed_field_is_one_version_with_old_and_new(db, tmp_path):
    load_bundled(db, _write_bundle(tmp_path, [_trial("NCT00000001")], [INST]))
    load_bundled(db, _write_bundle(tmp_path, [_trial("NCT00000001", status="Completed")], [INST]))
    changes = {c.field: c for c in history(db, "NCT00000001")}
    assert changes["status"].old == "Recruiting" and changes["status"].new == "Completed"
    assert changes["status_code"].old == "RECRUITING" and changes["status_code"].new == "COMPLETED"
    assert "title_en" not in changes


def test_bad_lines_are_quarantined_and_the_rest_loads(db, tmp_path):
    bad_json = '{"registry_ids": [ this is not json'
    bad_field = _trial("NCT00000002", enrollment=-5)
    bad_vocab = _trial("NCT00000003", curated={"cell_source": "unicorn cells"})
    root = _write_bundle(
        tmp_path, [_trial("NCT00000001"), bad_json, bad_field, bad_vocab], [INST, {"id": "X"}]
    )
    report = load_bundled(db, root)
    assert report.new == 1
    assert report.quarantined == 4
    joined = "\n".join(report.errors)
    assert "core.jsonl:2: not valid JSON" in joined
    assert "core.jsonl:3 (NCT00000002): field 'enrollment'" in joined
    assert "unicorn cells" in joined and "core.jsonl:4" in joined
    assert "institutions.jsonl:2" in joined
    with db.session() as session:
        reasons = session.scalars(select(QuarantineRow.reason)).all()
    assert len(reasons) == 4


def test_records_sharing_an_id_merge_into_one_trial_with_both_ids(db, tmp_path):
    ctgov = _trial("NCT00000001")
    chictr = {
        "registry_ids": [
            {"registry": "ChiCTR", "id": "ChiCTR2000031234"},
            {"registry": "ClinicalTrials.gov", "id": "NCT00000001"},
        ],
        "title_zh": "脐带间充质干细胞治疗1型糖尿病",
        "source_url": "https://www.chictr.org.cn/showproj.html?proj=1",
    }
    report = load_bundled(db, _write_bundle(tmp_path, [ctgov, chictr], [INST]))
    assert (report.new, report.merged) == (1, 1)
    by_chictr = get_trial(db, "ChiCTR2000031234")
    assert by_chictr.display_id == "NCT00000001"
    assert by_chictr.title_zh == "脐带间充质干细胞治疗1型糖尿病"
    assert {s.url for s in by_chictr.sources} >= {"https://www.chictr.org.cn/showproj.html?proj=1"}


def test_sites_are_linked_to_institutions_by_name(db, tmp_path):
    load_bundled(db, _write_bundle(tmp_path, [_trial("NCT00000001")], [INST]))
    trial = get_trial(db, "nct00000001")
    assert trial.sites[0].institution_id == "qdu-hosp"


def test_stale_recruiting_trials_are_flagged(db, tmp_path):
    load_bundled(
        db, _write_bundle(tmp_path, [_trial("NCT00000001", last_update="2019-05-01")], [INST])
    )
    assert any(f.startswith("stale") for f in get_trial(db, "NCT00000001").flags)


def test_a_curators_override_survives_a_changed_record_being_loaded_again(db, tmp_path):
    from isletbase.store.curation import curate

    load_bundled(db, _write_bundle(tmp_path, [_trial("NCT00000001")], [INST]))
    curate(db, "NCT00000001", "cell_source", "WJ-MSC", "Dr Li", "protocol names Wharton's jelly")
    report = load_bundled(
        db, _write_bundle(tmp_path, [_trial("NCT00000001", status="Completed")], [INST])
    )
    assert report.updated == 1
    trial = get_trial(db, "NCT00000001")
    assert trial.status_code == "COMPLETED"
    assert trial.cell_source == "WJ-MSC"
    kept = next(d for d in trial.derivations if d.field == "cell_source")
    assert (kept.method, kept.value) == ("curated", "WJ-MSC")
    assert "Dr Li" in kept.rule
    assert "cell_source" not in {c.field for c in history(db, "NCT00000001")[2:]}


def test_staleness_is_read_as_of_today_not_as_of_the_load(db, tmp_path):
    """Flags stored at a load grew old with it: loaded as of 2021, a trial last updated in
    2019-05 was not stale, and reading it years later (or loading the same records again)
    still said so, while the home page counted it stale as of today."""
    from isletbase.harvest import run_records
    from isletbase.sources import curated

    bundle = _write_bundle(tmp_path, [_trial("NCT00000001", last_update="2019-05-01")], [INST])
    raws = curated.read_jsonl(bundle / "trials" / "core.jsonl")
    run_records(db, raws, "bundled", curated.to_trial, 10, today=date(2021, 1, 1))
    trial = get_trial(db, "NCT00000001")
    assert trial.stale and any(f.startswith("stale") for f in trial.flags)


def test_every_bundled_trial_has_a_cell_source(loaded_db):
    """Eight (Anterogen's ALLO-ASC sheets, Cynata's CYP-006TK) had none: the cell-source
    filter and its counts left them out, and their pages showed no cell source."""
    with loaded_db.session() as session:
        unclassified = session.scalars(
            select(TrialRow.display_id).where(TrialRow.cell_source.is_(None))
        ).all()
    assert unclassified == []
