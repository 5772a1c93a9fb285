"""Cross-registry dedup: exact links through secondary ids, fuzzy scores, the review queue."""

from __future__ import annotations

from pathlib import Path

from isletbase.dedup import AUTO_MERGE, REVIEW, score_pair
from isletbase.harvest import decide_match, list_matches, run_chictr, run_ictrp, run_records
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord
from isletbase.sources.curated import to_trial
from isletbase.store.trials import get_trial, history

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registries"
# NCT05507697 as exported from ClinicalTrials.gov (bundled ctgov_export.jsonl values)
NCT = {
    "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT05507697"}],
    "title_en": "Treatment With Human Umbilical Cord Mesenchymal Stem Cells for Refractory "
    "Diabetic Peripheral Neuropathy",
    "sponsor": "Wuhan Central Hospital",
    "start_date": "2022-05-19",
    "enrollment": 42,
    "source_url": "https://clinicaltrials.gov/study/NCT05507697",
}


def _record(**changes: object) -> TrialRecord:
    return TrialRecord.model_validate({**NCT, **changes})


def _load(db, records: list[dict], source: str = "ClinicalTrials.gov API"):  # noqa: ANN001, ANN202
    raws = [RawRecord(source, r["registry_ids"][0]["id"], r) for r in records]
    return run_records(db, raws, source, to_trial)


def test_score_explains_each_part_and_title_alone_never_merges() -> None:
    chictr = _record(
        registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        sponsor=None,
        start_date=None,
        enrollment=None,
    )
    alone = score_pair(chictr, _record())
    assert alone.score == 100 and alone.decision == "review"
    assert alone.explanation[0].startswith("title 100")
    full = score_pair(
        _record(
            registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
            sponsor="The Central Hospital of Wuhan",
        ),
        _record(),
    )
    assert full.score >= AUTO_MERGE and full.decision == "merge"
    assert any(line.startswith("sponsor") for line in full.explanation)
    other = score_pair(
        _record(title_en="Autologous bone marrow mononuclear cells for diabetic foot"), _record()
    )
    assert other.score < REVIEW and other.decision == "separate"


def test_chinese_titles_are_compared_with_chinese_titles() -> None:
    a = _record(title_en=None, title_zh="脐带间充质干细胞治疗难治性糖尿病周围神经病的临床研究")
    b = _record(title_en=None, title_zh="脐带间充质干细胞治疗难治性糖尿病周围神经病临床研究")
    assert score_pair(a, b).parts["title"] > 90
    assert score_pair(a, _record(title_zh=None)).score == 0


def test_chictr_page_listing_an_nct_id_merges_into_that_trial(db, tmp_path: Path) -> None:
    _load(db, [NCT])
    page = (
        (FIXTURES / "chictr_ChiCTR2300071975.html")
        .read_text()
        .replace(
            "</tbody>\n</table>\n<table>",
            "<tr><td>The registration number of the Partner Registry or other register:</td>"
            "<td>NCT05507697</td></tr></tbody>\n</table>\n<table>",
            1,
        )
    )
    (tmp_path / "p.html").write_text(page)
    report = run_chictr(db, tmp_path / "p.html")
    assert (report.new, report.updated) == (0, 1)
    trial = get_trial(db, "ChiCTR2300071975")
    assert {r.id for r in trial.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert trial.title_zh.startswith("脐带间充质干细胞")
    assert trial.sponsor == "Wuhan Central Hospital"
    assert {s.url for s in trial.sources} >= {
        "https://www.chictr.org.cn/hvshowproject.html?id=232708"
    }
    assert get_trial(db, "NCT05507697").uid == trial.uid
    assert any(
        c.field == "registry_ids" and c.source == "ChiCTR" for c in history(db, "NCT05507697")
    )


def test_uncertain_match_waits_for_review_and_accepting_merges(db) -> None:
    _load(db, [NCT])
    report = run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    assert (report.new, report.review) == (1, 1)
    assert get_trial(db, "ChiCTR2300071975").uid != get_trial(db, "NCT05507697").uid
    [match] = list_matches(db)
    assert (match.trial, match.candidate) == ("NCT05507697", "ChiCTR2300071975")
    assert REVIEW <= match.score and match.explanation[0].startswith("title")
    assert decide_match(db, match.id, accept=True) == "NCT05507697"
    merged = get_trial(db, "ChiCTR2300071975")
    assert merged.uid == get_trial(db, "NCT05507697").uid
    assert {r.id for r in merged.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert list_matches(db) == []
    # the merged trial keeps the ChiCTR record's history too
    assert any(c.source == "ChiCTR" for c in history(db, "NCT05507697"))


def test_rejected_match_keeps_both_trials(db) -> None:
    _load(db, [NCT])
    run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    [match] = list_matches(db)
    decide_match(db, match.id, accept=False)
    assert get_trial(db, "ChiCTR2300071975").uid != get_trial(db, "NCT05507697").uid
    assert [m.id for m in list_matches(db, "rejected")] == [match.id]


def test_confident_fuzzy_match_merges_automatically(db) -> None:
    _load(db, [NCT])
    twin = {
        **NCT,
        "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        "sponsor": "Wuhan Central Hospital",
        "source_url": "https://www.chictr.org.cn/hvshowproject.html?id=232708",
    }
    report = _load(db, [twin], source="ChiCTR")
    assert (report.new, report.merged, report.review) == (0, 1, 0)
    assert {r.id for r in get_trial(db, "NCT05507697").registry_ids} == {
        "NCT05507697",
        "ChiCTR2300071975",
    }


def test_ictrp_bridges_by_trial_id_without_duplicating(db) -> None:
    _load(
        db,
        [
            {
                **NCT,
                "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT01219465"}],
                "title_en": "Umbilical Cord Mesenchymal Stem Cells Infusion for Initial Type 1 "
                "Diabetes Mellitus",
                "sponsor": "Qingdao University",
                "enrollment": 50,
            }
        ],
    )
    report = run_ictrp(db, FIXTURES / "ictrp_export.xml")
    assert (report.new, report.updated) == (1, 1)
    trial = get_trial(db, "NCT01219465")
    # the registry's own record wins; ICTRP fills what it lacked
    assert trial.sponsor == "Qingdao University" and trial.status == "Recruiting"
    assert "https://trialsearch.who.int/Trial2.aspx?TrialID=NCT01219465" in {
        s.url for s in trial.sources
    }
