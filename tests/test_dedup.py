"""Cross-registry dedup: exact links through secondary ids, fuzzy scores, the review queue."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from isletbase.dedup import (
    AUTO_MERGE,
    NEIGHBOURS,
    OTHER_REGISTRIES,
    REVIEW,
    CandidatePool,
    Match,
    _titles,
    diabetes_types,
    score_pair,
)
from isletbase.harvest import (
    decide_match,
    list_matches,
    run_chictr,
    run_ictrp,
    run_records,
    split_record,
)
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord
from isletbase.sources.curated import to_trial
from isletbase.store.check import check
from isletbase.store.curation import curate
from isletbase.store.trial_reads import get_trial, history

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registries"
# NCT05507697 as exported from ClinicalTrials.gov (bundled ctgov_export.jsonl values)
NCT = json.loads((FIXTURES / "nct05507697_record.json").read_text())


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


@pytest.mark.parametrize(
    ("changes", "other", "conflict"),
    [
        ({"title_en": "Umbilical Cord MSCs for Type 1 Diabetes"},
         {"title_en": "Umbilical Cord MSCs for Type 2 Diabetes"},
         "titles differ in type:1 ≠ type:2"),
        ({"title_en": "Phase 1 Study of Cord MSCs in Type 2 Diabetes"},
         {"title_en": "Phase 2 Study of Cord MSCs in Type 1 Diabetes"}, "titles differ in"),
        ({"sponsor": "Peking University People's Hospital"},
         {"sponsor": "Peking University First Hospital"}, "sponsors differ"),
        ({"title_en": "Phase I Study of Cord MSCs in Diabetic Neuropathy"},
         {"title_en": "Phase II Study of Cord MSCs in Diabetic Neuropathy"}, "titles differ in"),
        ({"sponsor": "The Second Xiangya Hospital of Central South University"},
         {"sponsor": "The Third Xiangya Hospital of Central South University"}, "sponsors differ"),
        ({"title_zh": "脐带间充质干细胞治疗1型糖尿病研究", "title_en": None},
         {"title_zh": "脐带间充质干细胞治疗2型糖尿病研究", "title_en": None}, "titles differ"),
        # one title adds "Type 1", the other record's conditions say type 2: not a title
        # conflict (a number one title leaves out), but two diseases all the same
        ({"title_en": NCT["title_en"].replace("Diabetic", "Type 1 Diabetic"),
          "conditions": ["Type 1 diabetes"], "sponsor": "The Central Hospital of Wuhan"},
         {"conditions": ["Diabetic Peripheral Neuropathy Type 2"]},
         "diabetes types differ: type 1 ≠ type 2"),
        ({"conditions": ["1型糖尿病"], "sponsor": "The Central Hospital of Wuhan"},
         {"conditions": ["Diabetes Mellitus, Type II"]}, "diabetes types differ"),
    ],
)  # fmt: skip
def test_records_that_differ_in_a_number_never_merge_without_a_curator(
    changes: dict, other: dict, conflict: str
) -> None:
    """Type 1 or 2, phase I or II, the second or third hospital: alike in every other word,
    such records are two studies as often as one."""
    a = _record(registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}], **changes)
    score = score_pair(a, _record(**other))
    assert score.score >= REVIEW and score.decision == "review"
    assert any(c.startswith(conflict) for c in score.conflicts)
    assert any(line.startswith(conflict) for line in score.explanation)


def test_sponsors_are_told_apart_by_the_words_that_name_them() -> None:
    """Two universities' first affiliated hospitals share every word but the city's."""
    a = _record(
        registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        sponsor="The First Affiliated Hospital of Zhengzhou University",
    )
    score = score_pair(
        a, _record(sponsor="The First Affiliated Hospital of Sun Yat-sen University")
    )
    assert score.parts["sponsor"] < 50 and score.decision != "merge"
    same = score_pair(a, _record(sponsor="First Affiliated Hospital, Zhengzhou University"))
    assert same.parts["sponsor"] == 100 and same.decision == "merge"


def test_a_trial_of_both_types_may_merge_with_a_record_naming_one() -> None:
    both = _record(
        registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        sponsor="The Central Hospital of Wuhan",
        conditions=["Type 1 diabetes", "Type 2 diabetes"],
    )
    score = score_pair(both, _record(conditions=["Type 2 Diabetes Mellitus"]))
    assert score.decision == "merge" and score.conflicts == []


def test_a_pair_whose_sponsors_cannot_be_compared_waits_for_a_curator() -> None:
    chictr = _record(registry_ids=[{"registry": "ChiCTR", "id": "ChiCTR2300071975"}], sponsor=None)
    score = score_pair(chictr, _record())
    assert score.score >= AUTO_MERGE and score.decision == "review"
    assert "sponsor: not comparable" in " ".join(score.explanation)


def test_chinese_titles_are_compared_with_chinese_titles() -> None:
    a = _record(title_en=None, title_zh="脐带间充质干细胞治疗难治性糖尿病周围神经病的临床研究")
    b = _record(title_en=None, title_zh="脐带间充质干细胞治疗难治性糖尿病周围神经病临床研究")
    assert score_pair(a, b).parts["title"] > 90
    assert score_pair(a, _record(title_zh=None)).score == 0
    traditional = _record(
        title_en=None, title_zh="臍帶間充質幹細胞治療難治性糖尿病周圍神經病的臨床研究"
    )
    assert score_pair(a, traditional).parts["title"] == 100


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
    # merged, as a fuzzy match is, and said in the history (it was counted as an update)
    assert (report.new, report.updated, report.merged) == (0, 0, 1)
    trial = get_trial(db, "ChiCTR2300071975")
    assert {r.id for r in trial.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert trial.title_zh.startswith("脐带间充质干细胞")
    assert trial.sponsor == "Wuhan Central Hospital"
    assert {s.url for s in trial.sources} >= {
        "https://www.chictr.org.cn/hvshowproject.html?id=232708"
    }
    assert get_trial(db, "NCT05507697").uid == trial.uid
    changes = history(db, "NCT05507697")
    assert any(c.field == "registry_ids" and c.source == "ChiCTR" for c in changes)
    assert [(c.old, c.new, c.source) for c in changes if c.field == "merged"] == [
        ("ChiCTR2300071975", "NCT05507697", "ChiCTR: exact link through NCT05507697")
    ]
    assert run_chictr(db, tmp_path / "p.html").unchanged == 1  # read again: nothing merged
    # the registry corrects the page: its partner id gone, the two stay one trial, and it is said
    (tmp_path / "p.html").write_text(
        (FIXTURES / "chictr_ChiCTR2300071975.html").read_text().replace("2023-05-30", "2023-06-30")
    )
    corrected = run_chictr(db, tmp_path / "p.html")
    assert corrected.notes == [
        "ChiCTR2300071975 no longer names NCT05507697, which it was merged with: the link has"
        " no basis now (`isletbase review --split ID` takes them apart)"
    ]
    assert run_chictr(db, tmp_path / "p.html").notes == []  # said once
    # the page joined is a source of the trial's facts from now on, and its history says so
    (joined,) = [c for c in changes if c.field == "sources"]
    assert "chictr.org.cn" in joined.new and "chictr.org.cn" not in (joined.old or "")


def test_uncertain_match_waits_for_review_and_accepting_merges(db) -> None:
    _load(db, [NCT])
    report = run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    assert (report.new, report.review) == (1, 1)
    assert get_trial(db, "ChiCTR2300071975").uid != get_trial(db, "NCT05507697").uid
    [match] = list_matches(db)
    assert (match.trial, match.candidate) == ("NCT05507697", "ChiCTR2300071975")
    assert REVIEW <= match.score and match.explanation[0].startswith("title")
    assert decide_match(db, match.id, accept=True) == ("NCT05507697", [])
    merged = get_trial(db, "ChiCTR2300071975")
    assert merged.uid == get_trial(db, "NCT05507697").uid
    assert {r.id for r in merged.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert list_matches(db) == []
    # the merged trial keeps the ChiCTR record's history too
    assert any(c.source == "ChiCTR" for c in history(db, "NCT05507697"))


def test_a_registry_record_merged_into_a_chictr_trial_names_it_as_its_page_does(db) -> None:
    """Read the other way round (the ChiCTR page first), the merged trial was headed
    NCT05507697 while kept as ChiCTR2300071975: review said "merged into ChiCTR2300071975" and
    ``review --split ChiCTR2300071975`` refused, as the record the trial was named by."""
    run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    _load(db, [NCT])
    [match] = list_matches(db)
    assert (match.trial, match.candidate) == ("ChiCTR2300071975", "NCT05507697")
    kept, _ = decide_match(db, match.id, accept=True)
    merged = get_trial(db, "ChiCTR2300071975")
    assert kept == merged.display_id == "NCT05507697"  # the merged record's first id
    assert check(db).problems == []
    split = split_record(db, "ChiCTR2300071975")
    assert (split.record, split.trial) == ("ChiCTR2300071975", "NCT05507697")
    assert get_trial(db, "ChiCTR2300071975").uid != get_trial(db, "NCT05507697").uid


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
    # the merge is in the trial's history, with what merged it
    merged = [c for c in history(db, "ChiCTR2300071975") if c.field == "merged"]
    assert [(c.old, c.new) for c in merged] == [("ChiCTR2300071975", "NCT05507697")]
    assert "automatic match, score" in merged[0].source and "sponsor 100" in merged[0].source


def test_a_batch_s_records_from_two_registries_are_matched_with_each_other(db) -> None:
    """One ICTRP export, one batch: the study's CT.gov and ChiCTR records become one trial
    (the merge in its history); a second ChiCTR record alike is not folded into the trial that
    now holds a ChiCTR id (one registration a registry), and stays a trial of its own."""
    twin = {
        **NCT,
        "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        "source_url": "https://www.chictr.org.cn/hvshowproject.html?id=232708",
    }
    second = {**twin, "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2300071976"}]}
    raws = [RawRecord("ICTRP", r["registry_ids"][0]["id"], r) for r in (NCT, twin, second)]
    report = run_records(db, raws, "ICTRP", to_trial)
    assert (report.new, report.merged, report.updated) == (2, 1, 0)
    trial = get_trial(db, "ChiCTR2300071975")
    assert {r.id for r in trial.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert {r.id for r in get_trial(db, "ChiCTR2300071976").registry_ids} == {"ChiCTR2300071976"}
    merged = [c for c in history(db, "NCT05507697") if c.field == "merged"]
    assert len(merged) == 1 and "automatic match, score" in merged[0].source


def test_an_uncertain_pair_in_one_batch_waits_for_review(db) -> None:
    cousin = {
        **NCT,
        "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2000029990"}],
        "sponsor": None,  # sponsors not comparable: a curator decides
        "source_url": "https://www.chictr.org.cn/hvshowproject.html?id=1",
    }
    raws = [RawRecord("ICTRP", r["registry_ids"][0]["id"], r) for r in (NCT, cousin)]
    report = run_records(db, raws, "ICTRP", to_trial)
    assert (report.new, report.merged, report.review) == (2, 0, 1)
    assert [m.candidate for m in list_matches(db)] == ["ChiCTR2000029990"]


def test_a_record_is_matched_with_trials_an_earlier_batch_of_the_run_made(db) -> None:
    """One export holding a study's records from two registries: the second, in a later batch,
    finds the trial the first made, as it would in a later run."""
    twin = {
        **NCT,
        "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2300071975"}],
        "source_url": "https://www.chictr.org.cn/hvshowproject.html?id=232708",
    }
    other = {  # a ChiCTR record first: the run's pool of ChiCTR candidates is read before NCT's
        **twin,
        "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR2000029990"}],
        "title_en": "Islet transplantation for brittle type 1 diabetes",
    }
    raws = [RawRecord("ICTRP", r["registry_ids"][0]["id"], r) for r in (other, NCT, twin)]
    report = run_records(db, raws, "ICTRP", to_trial, batch_size=1)
    assert (report.new, report.merged) == (2, 1)
    assert "ChiCTR2300071975" in {r.id for r in get_trial(db, "NCT05507697").registry_ids}


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


def _ictrp(tmp_path: Path, *trials: dict[str, str]) -> Path:
    """An ICTRP export holding ``trials`` (tag → text), as the search portal writes one."""
    body = "".join(
        "<Trial>" + "".join(f"<{k}>{v}</{k}>" for k, v in t.items()) + "</Trial>" for t in trials
    )
    path = tmp_path / "export.xml"
    path.write_text(f"<Trials_downloaded_from_ICTRP>{body}</Trials_downloaded_from_ICTRP>")
    return path


def test_record_naming_two_stored_trials_ids_merges_them(db, tmp_path: Path) -> None:
    """The ICTRP bridge: the ChiCTR and ClinicalTrials.gov registrations of one study were
    stored apart (a grey-zone pair awaiting review); an ICTRP record lists both ids."""
    _load(db, [NCT])
    run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    assert len(list_matches(db)) == 1
    bridge = {
        "TrialID": "ChiCTR2300071975",
        "Public_title": "Human umbilical cord MSCs for refractory diabetic peripheral neuropathy",
        "Source_Register": "ChiCTR",
        "Secondary_ID": "nct05507697",  # as some exports spell it
    }
    other = {"TrialID": "ChiCTR1900025872", "Public_title": "ADSCs in T2DM"}
    report = run_ictrp(db, _ictrp(tmp_path, bridge, other))
    assert (report.new, report.updated, report.merged) == (1, 1, 1)
    trial = get_trial(db, "NCT05507697")
    assert get_trial(db, "ChiCTR2300071975").uid == trial.uid
    assert {r.id for r in trial.registry_ids} == {"NCT05507697", "ChiCTR2300071975"}
    assert trial.source_url == NCT["source_url"]
    assert "https://www.chictr.org.cn/hvshowproject.html?id=232708" in {
        s.url for s in trial.sources
    }
    changes = history(db, "NCT05507697")
    assert [(c.field, c.source) for c in changes if c.field == "merged"] == [("merged", "ICTRP")]
    assert {c.source for c in changes} >= {"ChiCTR", "ICTRP"}  # the folded trial's history too
    assert list_matches(db) == []  # the pair awaiting review is one trial now
    assert get_trial(db, "ChiCTR1900025872") is not None
    assert check(db).problems == []
    again = run_ictrp(db, _ictrp(tmp_path, bridge, other))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


SIMILAR = "Umbilical cord mesenchymal stem cells for type 1 diabetes mellitus"


def _load_similar(db, tmp_path: Path, *trials: tuple[str, str, str]) -> None:  # noqa: ANN001
    """Load ICTRP trials (id, register, title suffix) whose titles are ``SIMILAR``'s, one
    export each, in order: each later one is a grey-zone match of an earlier one."""
    for trial_id, register, suffix in trials:
        trial = {"TrialID": trial_id, "Public_title": SIMILAR + suffix, "Source_Register": register}
        run_ictrp(db, _ictrp(tmp_path, trial))


def test_accepting_a_match_keeps_the_other_pairs_of_the_trial_merged_away(
    db, tmp_path: Path
) -> None:
    """A trial merged away by review hands its other open questions to the trial it joins."""
    _load_similar(
        db,
        tmp_path,
        ("ChiCTR2000000001", "ChiCTR", ""),
        ("NCT09000001", "ClinicalTrials.gov", " in children"),
        ("ISRCTN12345678", "ISRCTN", " in children"),
    )
    pairs = {(m.trial, m.candidate): m.id for m in list_matches(db)}
    assert set(pairs) == {
        ("ChiCTR2000000001", "NCT09000001"),
        ("NCT09000001", "ISRCTN12345678"),
    }
    assert decide_match(db, pairs["ChiCTR2000000001", "NCT09000001"], accept=True) == (
        "ChiCTR2000000001",
        [],
    )
    assert [(m.trial, m.candidate) for m in list_matches(db)] == [
        ("ChiCTR2000000001", "ISRCTN12345678")
    ]
    [accepted] = list_matches(db, "accepted")
    assert accepted.explanation[-1] == "merged NCT09000001 into ChiCTR2000000001"
    merged = [c for c in history(db, "ChiCTR2000000001") if c.field == "merged"]
    assert [(c.old, c.new) for c in merged] == [("NCT09000001", "ChiCTR2000000001")]
    # the question handed over can be decided in turn
    [left] = list_matches(db)
    assert decide_match(db, left.id, accept=True).trial == "ChiCTR2000000001"
    assert {r.id for r in get_trial(db, "ISRCTN12345678").registry_ids} == {
        "ChiCTR2000000001",
        "NCT09000001",
        "ISRCTN12345678",
    }
    assert list_matches(db) == [] and check(db).problems == []


def test_accepting_a_second_pair_of_one_registry_says_the_trial_holds_two_of_its_ids(
    db, tmp_path: Path
) -> None:
    """Automatic matching never pairs two records of one registry, but a trial's two pending
    pairs, accepted one after the other, gave it two ChiCTR ids without a word."""
    _load_similar(
        db,
        tmp_path,
        ("NCT09000001", "ClinicalTrials.gov", ""),
        ("ChiCTR2000000001", "ChiCTR", " in children"),
        ("ChiCTR2000000002", "ChiCTR", " in children"),
    )
    pairs = {(m.trial, m.candidate): m.id for m in list_matches(db)}
    assert set(pairs) == {
        ("NCT09000001", "ChiCTR2000000001"),
        ("NCT09000001", "ChiCTR2000000002"),
    }
    assert decide_match(db, pairs["NCT09000001", "ChiCTR2000000001"], accept=True).notes == []
    [left] = list_matches(db)
    kept, notes = decide_match(db, left.id, accept=True)
    assert kept == "NCT09000001" and notes == [
        "the trial now holds ChiCTR2000000001, ChiCTR2000000002 of one registry (ChiCTR): two"
        " registrations of one study, or a wrong match (`isletbase review --split ID` takes one"
        " out)"
    ]
    held = {r.id for r in get_trial(db, "NCT09000001").registry_ids}
    assert held == {"NCT09000001", "ChiCTR2000000001", "ChiCTR2000000002"}


_WORDS = (
    "umbilical cord mesenchymal stem cells bone marrow islet transplantation type diabetes "
    "mellitus refractory peripheral neuropathy foot ulcer safety efficacy autologous "
    "hematopoietic insulin secretion children adults wharton jelly placenta adipose"
).split()


def _full_scan_best(pool: CandidatePool, record: TrialRecord) -> Match | None:
    """The pool's match as found before blocking: every pooled title scored."""
    best = None
    seen: set[int] = set()
    for title in _titles(record):
        hits = process.extract(
            title,
            pool.titles,
            scorer=fuzz.token_sort_ratio,
            limit=NEIGHBOURS,
            score_cutoff=REVIEW - 10,
        )
        for _, _, index in hits:
            uid = pool.uids[index]
            if uid in seen:
                continue
            seen.add(uid)
            score = score_pair(record, pool.records[uid])
            if score.score >= REVIEW and (best is None or score.score > best.score.score):
                best = Match(uid, score)
    return best


def _typo(rng: random.Random, title: str) -> str:
    chars = list(title)
    for _ in range(rng.randint(0, 3)):
        i = rng.randrange(len(chars))
        chars[i] = rng.choice("aeiou ") if rng.random() < 0.5 else ""
    return "".join(chars)


def test_blocked_matching_finds_what_scoring_every_pooled_title_finds() -> None:
    rng = random.Random(7)
    pool = CandidatePool()
    titles = [" ".join(rng.sample(_WORDS, rng.randint(4, 9))).title() for _ in range(400)]
    for uid, title in enumerate(titles):
        pool.add(uid, _record(title_en=title, enrollment=rng.randint(10, 90)))
    found = 0
    for title in rng.sample(titles, 80):
        query = _record(title_en=_typo(rng, title), enrollment=rng.randint(10, 90))
        expected = _full_scan_best(pool, query)
        assert pool.best(query) == expected, query.title_en
        found += expected is not None
    assert found >= 40  # the queries do find their near-duplicates


def test_a_record_is_scored_against_its_blocks_not_the_whole_pool() -> None:
    pool = CandidatePool()
    for uid in range(300):
        pool.add(uid, _record(title_en=f"Protocol {uid:04d} Registry Entry Number {uid:04d}"))
    pool.add(300, _record())
    neighbours = pool._neighbours(_titles(_record())[0])
    assert [pool.uids[i] for _, _, i in neighbours] == [300]
    blocked = {i for key in ("trea", "huma", "umbi") for i in pool.blocks.get(key, ())}
    assert len(blocked) < len(pool.titles) / 10


def test_a_curator_s_decision_on_a_trial_folded_away_survives_the_merge(db, tmp_path: Path) -> None:
    """A curated cell source outlives a merge as it outlives a re-ingest (it was deleted with
    the folded trial, and the history then disagreed with the stored value)."""
    _load(db, [NCT])
    run_chictr(db, FIXTURES / "chictr_ChiCTR2300071975.html")
    curate(db, "ChiCTR2300071975", "cell_source", "WJ-MSC", "Dr X", "read the protocol")
    # the NCT trial survives (the record's own id comes first); the curated one is folded in
    bridge = {"TrialID": "NCT05507697", "Public_title": "x", "Secondary_ID": "ChiCTR2300071975"}
    assert run_ictrp(db, _ictrp(tmp_path, bridge)).merged == 1
    trial = get_trial(db, "NCT05507697")
    assert trial.uid == get_trial(db, "ChiCTR2300071975").uid
    assert any(
        c.old == "ChiCTR2300071975" for c in history(db, "NCT05507697") if c.field == "merged"
    )
    assert trial.cell_source == "WJ-MSC"
    assert any(d.method == "curated" and d.value == "WJ-MSC" for d in trial.derivations)


def test_a_merge_leaves_one_pending_pair_per_question(db, tmp_path: Path) -> None:
    """Two pending pairs that become the same question (in either order) after a merge are
    one pair."""
    _load_similar(
        db,
        tmp_path,
        ("NCT09000001", "ClinicalTrials.gov", ""),
        ("ISRCTN12345678", "ISRCTN", " in children"),
        ("ChiCTR2000000001", "ChiCTR", " in children"),
    )
    assert len(list_matches(db)) == 2
    bridge = {"TrialID": "NCT09000001", "Public_title": SIMILAR, "Secondary_ID": "ChiCTR2000000001"}
    assert run_ictrp(db, _ictrp(tmp_path, bridge)).merged == 1
    pairs = [frozenset((m.trial, m.candidate)) for m in list_matches(db)]
    assert len(pairs) == len(set(pairs)) == 1
    assert check(db).problems == []


@pytest.mark.parametrize(
    ("title", "types"),
    [
        ("Type I interferon blockade in lupus", set()),
        ("Type 2 hypersensitivity to insulin", set()),
        ("Type 1 regulatory T cells (Tr1) for colitis", set()),
        ("Cord MSCs in type 1.5 diabetes", set()),
        ("Cord MSCs in Type 1 and 2 Diabetes", {"1", "2"}),
        ("Cord MSCs in Type 1 or Type 2 Diabetes", {"1", "2"}),
        ("Diabetes Mellitus, Type II", {"2"}),
        ("Diabetic Peripheral Neuropathy Type 2", {"2"}),
        ("T1DM with ketoacidosis", {"1"}),
    ],
)
def test_a_diabetes_type_is_read_only_next_to_the_disease(title: str, types: set) -> None:
    assert diabetes_types(_record(title_en=title)) == types


@pytest.mark.parametrize(
    ("title", "types"),
    [
        ("脐带间充质干细胞治疗Ⅱ型糖尿病", {"2"}),
        ("Ⅰ型糖尿病", {"1"}),
        ("单一型", set()),
        ("血清12型", set()),
    ],
)
def test_a_chinese_title_names_its_diabetes_type_in_any_numeral(title: str, types: set) -> None:
    assert diabetes_types(_record(title_en=None, title_zh=title)) == types


def test_trials_of_ictrp_s_many_registries_share_one_candidate_pool(db, tmp_path, monkeypatch):
    """Each of IRCT, CTRI, DRKS… had a pool of its own, each read from the whole trials table
    (13 ICTRP trials took 183 s against 20,000 stored): they share one, as when all were
    "ICTRP", and ClinicalTrials.gov and ChiCTR keep theirs."""
    _load(db, [NCT])
    loaded = []
    real = CandidatePool.load.__func__

    def counted(cls, session, group):
        loaded.append(group)
        return real(cls, session, group)

    monkeypatch.setattr(CandidatePool, "load", classmethod(counted))
    trials = [
        {"TrialID": "IRCT2016070428786N1", "Public_title": "MSCs in type 1 diabetes, Iran"},
        {"TrialID": "CTRI/2020/01/022641", "Public_title": "Stem cells in type 2 diabetes, India"},
        {"TrialID": "DRKS00012345", "Public_title": "Islets in type 1 diabetes, Germany"},
    ]
    report = run_ictrp(db, _ictrp(tmp_path, *trials))
    assert report.new == 3
    assert loaded == [OTHER_REGISTRIES]
    assert {get_trial(db, t["TrialID"]).registry_ids[0].registry for t in trials} == {
        "IRCT",
        "CTRI",
        "DRKS",
    }


def test_two_ids_of_no_one_registry_are_no_second_registration(db, tmp_path: Path) -> None:
    """Two ids ICTRP files under no registry it names ("ICTRP") are as likely two registries'
    as one's: accepting both pairs said the trial held two registrations of one registry."""
    _load_similar(
        db,
        tmp_path,
        ("NCT09000001", "ClinicalTrials.gov", ""),
        ("ABC-0001", "some register", " in children"),
        ("XYZ-0002", "another register", " in children"),
    )
    first, second = (m.id for m in list_matches(db))
    assert decide_match(db, first, accept=True).notes == []
    assert decide_match(db, second, accept=True).notes == []
    held = {(r.registry, r.id) for r in get_trial(db, "NCT09000001").registry_ids}
    assert {("ICTRP", "ABC-0001"), ("ICTRP", "XYZ-0002")} <= held
