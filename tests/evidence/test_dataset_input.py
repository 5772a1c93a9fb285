"""Effect sizes and the --input file reader, including its errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from isletbase.errors import InputError
from isletbase.evidence.dataset import from_outcomes, read_input
from isletbase.evidence.meta import pool
from isletbase.evidence.outcomes import (
    WAN_2014,
    Outcome,
    load_outcomes,
    mean_sd_from_median_iqr,
    select,
    with_conversions,
)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "studies.csv"
    path.write_text(text)
    return path


ARMS = "study,mean_treated,sd_treated,n_treated,mean_control,sd_control,n_control\n"


def test_mean_difference_and_hedges_g_from_arms(tmp_path: Path) -> None:
    path = _csv(tmp_path, ARMS + "Zang 2022,7.52,1.07,45,8.19,1.02,46\n")
    md = read_input(path, "MD").studies[0]
    assert md.yi == pytest.approx(7.52 - 8.19)
    assert md.vi == pytest.approx(1.07**2 / 45 + 1.02**2 / 46)
    g = read_input(path, "SMD").studies[0]
    sp = math.sqrt((44 * 1.07**2 + 45 * 1.02**2) / 89)
    j = 1 - 3 / (4 * 91 - 9)
    assert g.yi == pytest.approx(j * (7.52 - 8.19) / sp)


def test_zero_cell_gets_half_added_to_every_cell(tmp_path: Path) -> None:
    path = _csv(tmp_path, "study,events_treated,n_treated,events_control,n_control\nB,9,11,0,10\n")
    rr = read_input(path, "RR").studies[0]
    assert rr.yi == pytest.approx(math.log((9.5 / 12) / (0.5 / 11)))
    assert rr.vi == pytest.approx(1 / 9.5 - 1 / 12 + 1 / 0.5 - 1 / 11)


def test_json_input_with_precomputed_effects(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            [{"study": "a", "yi": -0.3, "vi": 0.0625}, {"study": "b", "yi": 0.1, "vi": 0.04}]
        )
    )
    data = read_input(path, "MD")
    assert [s.vi for s in data.studies] == [0.0625, 0.04]


@pytest.mark.parametrize(
    ("body", "measure", "message"),
    [
        (ARMS + "A,1,,10,2,1,10\n", "MD", r"row 1 \(A\): field 'sd_treated' is missing"),
        (
            ARMS + "A,1,1,10,2,1,10\nB,1,1,-4,2,1,10\n",
            "MD",
            r"row 2 \(B\): field 'n_treated' must be a whole number",
        ),
        (ARMS + "A,1,1,10,2,x,10\n", "SMD", r"field 'sd_control' is not a number"),
        (
            "study,events_treated,n_treated,events_control,n_control\nA,12,10,1,10\n",
            "RR",
            "exceeds n_treated",
        ),
        (
            "study,events_treated,n_treated,events_control,n_control\nA,0,10,0,10\n",
            "OR",
            "not estimable",
        ),
        (ARMS + "A,1,1,10,2,1,10\n", "HR", "unknown measure 'HR'"),
        ("name,yi,vi\nA,1,1\n", "MD", "'study' column"),
    ],
)
def test_bad_rows_name_the_row_and_field(
    tmp_path: Path, body: str, measure: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        read_input(_csv(tmp_path, body), measure)


def test_bundled_comparisons_list_what_they_leave_out() -> None:
    data = from_outcomes(select(load_outcomes(), outcome="hba1c", condition="T2D"), "MD")
    assert {s.label.split(" (")[0] for s in data.studies} == {
        "Zang 2022",
        "Skyler 2015",
        "Bhansali 2014b",  # both arms as medians and quartiles, converted
    }
    reasons = dict(data.excluded)
    assert reasons["sood-2017-hba1c-0m"] == "baseline values only"
    assert reasons["liu-2014-hba1c-12m"].startswith("single-arm")
    assert data.inputs["zang-2022-hba1c-11m"] == 1


@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_a_record_with_an_sd_of_zero_or_one_person_an_arm_is_left_out_with_why(measure) -> None:
    """An SD of 0 is a study of infinite weight (MD) or an infinite g (SMD); one person has no
    SD. Such records are left out, named, and the rest pool (they broke the pool or crashed)."""
    base = {
        "version": 1,
        "design": "RCT",
        "condition": "T2D",
        "cell_source": "UC-MSC",
        "outcome": "hba1c",
        "source_url": "https://example.org/x",
    }
    arms = {"treated_mean": 7.0, "control_mean": 8.0}
    records = [
        Outcome(
            id="sd-0",
            study="A",
            **base,
            **arms,
            n_treated=10,
            n_control=10,
            treated_sd=0.0,
            control_sd=0.0,
        ),
        Outcome(
            id="n-1",
            study="B",
            **base,
            **arms,
            n_treated=1,
            n_control=1,
            treated_sd=1.0,
            control_sd=1.0,
        ),
        *(
            Outcome(
                id=f"ok-{i}",
                study=f"C{i}",
                **base,
                **arms,
                n_treated=10 + i,
                n_control=10,
                treated_sd=1.0 + i / 10,
                control_sd=1.0,
            )
            for i in range(3)
        ),
    ]
    data = from_outcomes(records, measure)
    assert [s.outcome_id for s in data.studies] == ["ok-0", "ok-1", "ok-2"]
    reasons = dict(data.excluded)
    assert "each arm needs an SD > 0 and n >= 2" in reasons["sd-0"]
    assert "each arm needs an SD > 0 and n >= 2" in reasons["n-1"]
    result = pool(data, "DL")
    assert math.isfinite(result.estimate) and result.se > 0


@pytest.mark.parametrize(
    "rows",
    [[("A", 800, 0.1), ("B", 900, 0.2)],  # e^800 is no float: OverflowError before
     [("A", 1e308, 0.1), ("B", -1e308, 0.2)],  # NaN and Infinity in --json before
     [("A", 0.5, 1e-320), ("B", 0.2, 0.2)]],
)  # fmt: skip
def test_effects_or_variances_out_of_any_study_s_range_are_refused(tmp_path, rows) -> None:
    path = tmp_path / "in.csv"
    path.write_text("study,yi,vi\n" + "".join(f"{s},{y},{v}\n" for s, y, v in rows))
    with pytest.raises(InputError, match="no finite estimate"):
        pool(read_input(path, measure="RR" if rows[0][1] == 800 else "MD"))


def test_a_json_boolean_is_no_effect(tmp_path) -> None:
    path = tmp_path / "in.json"
    path.write_text('[{"study": "A", "yi": true, "vi": true}, {"study": "B", "yi": 1, "vi": 1}]')
    with pytest.raises(InputError, match="'yi' is not a number: True"):
        read_input(path, measure="MD")


def _zang(**changes) -> Outcome:
    base = next(o for o in load_outcomes() if o.id == "zang-2022-hba1c-11m")
    return base.model_copy(update=changes)


def test_a_difference_in_another_unit_is_left_out_of_a_mean_difference_pool() -> None:
    """A trial's HbA1c in mmol/mol was pooled with others' % points, silently."""
    outcomes = select(load_outcomes(), outcome="hba1c", condition="T2D")
    arms = {"treated_mean": 58.0, "treated_sd": 10.0, "control_mean": 66.0, "control_sd": 10.0}
    mmol = _zang(id="test-2020-hba1c-12m", study="Test 2020", unit="mmol/mol", **arms)
    data = from_outcomes([*outcomes, mmol], "MD")
    assert "Test 2020" not in {s.label.split(" (")[0] for s in data.studies}
    assert "unit 'mmol/mol' is not the pool's '%'" in dict(data.excluded)["test-2020-hba1c-12m"]
    smd = from_outcomes([*outcomes, mmol], "SMD")  # standardised: no unit to agree on
    assert "Test 2020" in {s.label.split(" (")[0] for s in smd.studies}


def test_a_study_enters_a_pool_once_at_its_latest_timepoint() -> None:
    """Two timepoints of Zang 2022 both entered one pool: its 91 patients counted twice."""
    outcomes = select(load_outcomes(), outcome="hba1c", condition="T2D")
    early = _zang(id="zang-2022-hba1c-6m", timepoint_months=6.0, treated_mean=7.6)
    data = from_outcomes([early, *outcomes], "MD")
    assert [s.label for s in data.studies if s.label.startswith("Zang")] == ["Zang 2022 (11 mo)"]
    assert dict(data.excluded)["zang-2022-hba1c-6m"] == (
        "Zang 2022 is pooled at 11 mo: one timepoint a study"
    )


def test_each_arm_reported_as_median_and_quartiles_gets_a_mean_and_sd() -> None:
    """A controlled trial reporting both arms as medians (Bhansali 2014b's HbA1c) could not be
    stored, so the pool left out a trial without benefit."""
    row = next(o for o in load_outcomes() if o.id == "bhansali-2014b-hba1c-12m")
    converted = with_conversions(row)
    assert converted.value("treated_mean") == pytest.approx((6.6 + 7.1 + 7.5) / 3)
    assert converted.value("control_mean") == pytest.approx((6.9 + 7.0 + 7.5) / 3)
    assert converted.value("control_sd") == pytest.approx(
        mean_sd_from_median_iqr(7.0, 6.9, 7.5, 10)[1]
    )
    assert {d.method for d in converted.derived} == {WAN_2014}
