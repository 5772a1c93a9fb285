"""Living evidence: a corrected outcome bumps its version and re-pools only what it touches."""

from __future__ import annotations

import json
from pathlib import Path

from isletbase.evidence.living import current_outcomes, stored_pools, update
from isletbase.evidence.outcomes import bundled_path
from isletbase.evidence.pools import pool_specs
from isletbase.store.db import Database

ZANG = "zang-2022-glycaemic-response-11m"


def _corrected(tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in bundled_path().read_text().splitlines()]
    for row in rows:
        if row["id"] == ZANG:
            row["events_treated"] = 8
    path = tmp_path / "outcomes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_update_is_idempotent_and_repools_only_touched_pools(db: Database, tmp_path: Path) -> None:
    first = update(db).to_dict()
    assert first["outcomes"]["added"] >= 70
    assert set(first["pools"]["recomputed"]) == {"t2d-glycaemic-response-rr", "t2d-hba1c-md"}
    again = update(db).to_dict()
    assert again["pools"]["recomputed"] == [] and again["outcomes"]["changed"] == []

    before = {p["name"]: p for p in stored_pools(db)}
    after_report = update(db, _corrected(tmp_path)).to_dict()
    assert after_report["outcomes"]["changed"] == [ZANG]
    assert after_report["pools"]["recomputed"] == ["t2d-glycaemic-response-rr"]
    after = {p["name"]: p for p in stored_pools(db)}
    pool = after["t2d-glycaemic-response-rr"]
    bundled = next(
        json.loads(line)["version"]
        for line in bundled_path().read_text().splitlines()
        if json.loads(line)["id"] == ZANG
    )
    assert before["t2d-glycaemic-response-rr"]["inputs"][ZANG] == bundled
    assert pool["inputs"][ZANG] == bundled + 1
    assert pool["result"]["estimate"] != before["t2d-glycaemic-response-rr"]["result"]["estimate"]
    assert after["t2d-hba1c-md"]["computed_at"] == before["t2d-hba1c-md"]["computed_at"]


BHANSALI = "bhansali-2017-glycaemic-response-12m"


def test_a_record_left_out_of_the_file_is_withdrawn_from_its_pools(db: Database, tmp_path):
    """A retracted record stayed in the database and in every standing pool, and the update
    said nothing ("0 added, 0 changed, 70 unchanged")."""
    update(db)
    rows = [json.loads(line) for line in bundled_path().read_text().splitlines()]
    path = tmp_path / "outcomes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows if r["id"] != BHANSALI))
    kept = update(db, path).to_dict()  # not asked: listed, kept
    assert kept["outcomes"]["missing"] == [BHANSALI] and kept["outcomes"]["withdrawn"] == []
    assert kept["pools"]["recomputed"] == []
    report = update(db, path, withdraw_missing=True).to_dict()
    assert report["outcomes"]["withdrawn"] == [BHANSALI]
    assert report["pools"]["recomputed"] == ["t2d-glycaemic-response-rr"]
    pool = {p["name"]: p for p in stored_pools(db)}["t2d-glycaemic-response-rr"]
    assert BHANSALI not in pool["inputs"]
    assert update(db, path, withdraw_missing=True).to_dict()["outcomes"]["withdrawn"] == []
    back = update(db).to_dict()  # restored: back in, a version later
    assert back["outcomes"]["changed"] == [BHANSALI]
    pool = {p["name"]: p for p in stored_pools(db)}["t2d-glycaemic-response-rr"]
    given = next(r["version"] for r in rows if r["id"] == BHANSALI)
    assert pool["inputs"][BHANSALI] == given + 2  # withdrawn a version later, restored another


#: A record no standing pool takes (single-arm), withdrawn beside Zang's correction below.
SINGLE_ARM = "haller-2009-hba1c-12m"


def _withdrawn_and_corrected(tmp_path: Path) -> Path:
    """The bundled records less one, and Zang's corrected."""
    rows = [json.loads(line) for line in _corrected(tmp_path).read_text().splitlines()]
    assert SINGLE_ARM in {r["id"] for r in rows}
    path = tmp_path / "curated.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows if r["id"] != SINGLE_ARM))
    return path


def test_readers_see_the_stored_outcomes_once_an_update_stored_any(db: Database, tmp_path):
    """``evidence list`` and ``pool``, the API and the Evidence page read the bundled file
    alone: a withdrawn record stayed in every list a reader saw, and a correction reached only
    the standing pools the API keeps, not the forest plots."""
    bundled = {o.id: o for o in current_outcomes(None)}
    assert {o.id for o in current_outcomes(db)} == set(bundled)  # nothing stored: the file's
    update(db, _withdrawn_and_corrected(tmp_path), withdraw_missing=True)
    shown = {o.id: o for o in current_outcomes(db)}
    assert set(shown) == set(bundled) - {SINGLE_ARM}
    assert shown[ZANG].events_treated == 8 != bundled[ZANG].events_treated
    stored = {p["name"]: p for p in stored_pools(db)}["t2d-glycaemic-response-rr"]
    spec = next(s for s in pool_specs() if s.name == "t2d-glycaemic-response-rr")
    drawn = spec.run(list(shown.values())).to_dict()
    assert drawn["estimate"] == stored["result"]["estimate"]  # what a reader sees is stored
    assert drawn["estimate"] != spec.run(list(bundled.values())).to_dict()["estimate"]


def test_an_empty_file_is_refused_not_taken_for_a_whole_set_of_none(db: Database, tmp_path):
    """An empty (or cut-off) file with --withdraw-missing withdrew all 71 records, exit 0."""
    import pytest

    from isletbase.errors import InputError

    update(db)
    empty = tmp_path / "outcomes.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="no outcome record"):
        update(db, empty, withdraw_missing=True)
    assert len(current_outcomes(db)) == len(bundled_path().read_text().splitlines())
