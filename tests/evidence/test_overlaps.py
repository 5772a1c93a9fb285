"""Reports that may count the same patients: the later one stays out of a pool with its primary."""

from __future__ import annotations

import re

from sqlalchemy import select

from isletbase.evidence import overlaps as overlaps_module
from isletbase.evidence.living import update
from isletbase.evidence.outcomes import load_outcomes
from isletbase.evidence.overlaps import left_out, overlaps
from isletbase.evidence.pools import outcome_dataset
from isletbase.store.db import Database
from isletbase.store.evidence_tables import PoolRow

LATER = "zang-2023-glycaemic-response-11m"


def _studies(outcomes=None) -> list[str]:  # noqa: ANN001 - outcome records or None (bundled)
    data = outcome_dataset("glycaemic_response", condition="T2D", outcomes=outcomes)
    return [s.label.split(" (")[0] for s in data.studies]


def test_each_overlap_names_studies_the_outcome_records_hold_with_its_sources():
    studies = {o.study for o in load_outcomes()}
    assert overlaps()
    for overlap in overlaps():
        assert {overlap.report, overlap.primary} <= studies
        assert overlap.primary in overlap.why
        # a page address (a journal index read over plain http is one)
        assert all(re.fullmatch(r"https?://\S+", url) for url in overlap.sources)


def test_the_later_report_is_kept_out_of_a_pool_that_holds_its_primary():
    assert "Zang 2022" in _studies() and "Zang 2023" not in _studies()
    data = outcome_dataset("glycaemic_response", condition="T2D")
    reason = dict(data.excluded)[LATER]
    assert "same patients as Zang 2022" in reason


def test_without_its_primary_in_the_pool_the_later_report_enters():
    without = [o for o in load_outcomes() if o.study != "Zang 2022"]
    assert "Zang 2023" in _studies(without)
    # a primary that cannot be pooled (its counts unknown) does not keep the report out either
    unpoolable = [
        o.model_copy(update={"derived": [], "events_treated": None})
        if o.study == "Zang 2022"
        else o
        for o in load_outcomes()
    ]
    assert "Zang 2023" in _studies(unpoolable) and "Zang 2022" not in _studies(unpoolable)
    assert left_out({"Zang 2023"}) == {}


def test_a_standing_pool_computed_before_the_overlaps_changed_is_computed_again(db: Database):
    update(db)
    with db.session() as session:  # as a version without overlaps stored it
        row = session.get(PoolRow, "t2d-glycaemic-response-rr")
        row.spec = {k: v for k, v in row.spec.items() if k != "overlaps"}
        row.result = {**row.result, "k": 99}
    report = update(db).to_dict()
    assert report["pools"]["recomputed"] == ["t2d-glycaemic-response-rr"]
    with db.session() as session:
        row = session.scalars(
            select(PoolRow).where(PoolRow.name == "t2d-glycaemic-response-rr")
        ).one()
        assert row.result["k"] == 2 and row.spec["overlaps"] == overlaps_module.overlaps_digest()


def test_each_overlap_gives_its_reason_in_chinese_too():
    for overlap in overlaps():
        assert overlap.why_zh and overlap.primary in overlap.why_zh
        assert overlap.said == overlap.why and overlap.said.in_language("zh") == overlap.why_zh
