"""The bundled outcomes: enough studies, every one sourced, derived values kept apart."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from isletbase.errors import InputError
from isletbase.evidence.outcomes import (
    bundled_path,
    load_outcomes,
    mean_sd_from_median_iqr,
    parse_outcomes,
    select,
)


def test_bundled_outcomes_cover_at_least_30_studies_china_first() -> None:
    outcomes = load_outcomes()
    studies = {o.study for o in outcomes}
    assert len(studies) >= 30
    chinese = {o.study for o in outcomes if o.country and "China" in o.country}
    assert len(chinese) > len(studies) / 2


def test_every_outcome_names_its_source_page() -> None:
    for outcome in load_outcomes():
        assert outcome.source_url.startswith(("http://", "https://")), outcome.id


def test_reported_values_are_never_overwritten_by_derived_ones() -> None:
    raw = {
        json.loads(line)["id"]: json.loads(line) for line in bundled_path().read_text().splitlines()
    }
    for outcome in load_outcomes():
        for field, value in raw[outcome.id].items():
            if field != "derived":
                assert getattr(outcome, field) == value, (outcome.id, field)


def test_median_iqr_conversion_follows_wan_2014() -> None:
    lian = next(o for o in load_outcomes() if o.id == "lian-2022-hba1c-2-8m")
    assert lian.treated_mean is None  # only the median was reported
    z = stats.norm.ppf((0.75 * 16 - 0.125) / (16 + 0.25))
    assert lian.value("treated_mean") == pytest.approx((6.6 + 7.15 + 7.925) / 3)
    assert lian.value("treated_sd") == pytest.approx((7.925 - 6.6) / (2 * z))
    assert any("Wan" in d.method for d in lian.derived)
    with pytest.raises(InputError, match="not between"):
        mean_sd_from_median_iqr(5.0, 6.0, 7.0, 10)


def test_back_calculated_counts_are_derived_with_their_method() -> None:
    zang = next(o for o in load_outcomes() if o.id == "zang-2022-glycaemic-response-11m")
    assert zang.events_treated is None
    assert zang.value("events_treated") == 9
    assert "20% of 45" in next(d.method for d in zang.derived if d.field == "events_treated")


def test_filters_match_parts_of_combined_cell_sources() -> None:
    found = select(load_outcomes(), cell_source="bm-mnc", condition="t1d")
    assert {o.study for o in found} >= {"Cai 2016"}
    with pytest.raises(InputError, match="unknown outcome"):
        select(load_outcomes(), outcome="bmi")


@pytest.mark.parametrize("named", ["HSC/AHST", "自体造血干细胞移植", "hsc/ahst", "AHSCT"])
def test_a_cell_source_named_as_the_trials_name_it_finds_the_records_own_code(named) -> None:
    """The outcome records write AHSCT where the trials' vocabulary writes HSC/AHST: its code
    or its Chinese name, which the refusal itself listed as valid, found no record."""
    found = select(load_outcomes(), cell_source=named)
    assert found and {o.cell_source for o in found} == {"AHSCT"}


def test_bad_outcome_record_names_line_and_field() -> None:
    good = bundled_path().read_text().splitlines()[0]
    bad = json.loads(good) | {"n_treated": -3}
    with pytest.raises(InputError, match=r"line 2: field 'n_treated'"):
        parse_outcomes([good, json.dumps(bad | {"id": "other-id"})], "x.jsonl")
