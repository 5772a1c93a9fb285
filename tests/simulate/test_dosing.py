"""Meal-bolus dosing: exact (simglucose) or with people's errors (data/simulate/dosing.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, norm

from isletbase.errors import InputError
from isletbase.simulate.cohort import simulate_cohort
from isletbase.simulate.design import parse_design
from isletbase.simulate.devices import sample_minutes
from isletbase.simulate.dosing import RealLifeDosing, dosing_data
from isletbase.simulate.engine import exact_carbs
from isletbase.simulate.scenario import load_scenario, parse_scenario
from isletbase.simulate.trial import run_trial

MEALS = [{"time": "07:00", "carbs_g": 45}, {"time": "12:00", "carbs_g": 70}]


def _plan() -> np.ndarray:
    return parse_scenario({"meals": MEALS}).meals_per_minute()


def _value(section: str, key: str) -> float:
    return float(dosing_data()[section][key]["value"])


def _clipped_mean(mean: float) -> float:
    """The mean of a meal's relative error: normal (the meal's and the person's SDs), clipped."""
    sd = np.hypot(
        _value("carb_estimate", "meal_error_sd"), _value("carb_estimate", "person_error_sd")
    )
    clip = _value("carb_estimate", "clip")
    lo, hi = (-clip - mean) / sd, (clip - mean) / sd
    inside = mean * (norm.cdf(hi) - norm.cdf(lo)) - sd * (norm.pdf(hi) - norm.pdf(lo))
    return float(inside - clip * norm.cdf(lo) + clip * norm.sf(hi))


def test_every_parameter_says_where_it_comes_from() -> None:
    for section in ("carb_estimate", "missed_bolus", "late_bolus"):
        for key, entry in dosing_data()[section].items():
            assert entry["kind"] in ("published", "derived", "assumption"), key
            basis = {"published": "source", "derived": "derivation", "assumption": "reason"}
            assert entry[basis[entry["kind"]]], key


def test_exact_dosing_is_each_samples_meals_for_every_patient() -> None:
    carbs = exact_carbs(_plan(), 3)
    step = sample_minutes()
    assert carbs.shape == (3, 1440 // step)
    assert carbs[2, 7 * 60 // step] == 45 and carbs[0, 12 * 60 // step] == 70
    assert carbs.sum() == 3 * 115


def test_real_life_boluses_miss_come_late_and_are_off_by_the_sourced_amounts() -> None:
    n, days = 4000, 5
    dosing = RealLifeDosing(_plan(), n, np.random.default_rng(1))
    step = sample_minutes()
    on_time, late = 7 * 60 // step, (7 * 60 + int(_value("late_bolus", "delay_min"))) // step
    breakfast = np.stack([dosing.next_day()[:, [on_time, late]] for _ in range(days)])
    given = breakfast.sum(axis=2)
    missed = np.mean(given == 0)
    assert abs(missed - _value("missed_bolus", "mean_probability")) < 0.01
    late_share = np.mean(breakfast[:, :, 1] > 0) / (1 - missed)
    assert abs(late_share - _value("late_bolus", "probability")) < 0.02
    error = given[given > 0] / 45 - 1
    clip = _value("carb_estimate", "clip")
    assert error.min() >= -clip - 1e-12 and error.max() <= clip + 1e-12
    # a 45 g breakfast is a small meal: the mean error only, no large-meal shift
    assert abs(error.mean() - _clipped_mean(_value("carb_estimate", "mean_error"))) < 0.012
    # each person's lasting offset and probability of missing, drawn once
    assert abs(dosing.offset.std() - _value("carb_estimate", "person_error_sd")) < 0.01
    mean, spread = (
        _value("missed_bolus", "mean_probability"),
        _value("missed_bolus", "concentration"),
    )
    assert abs(dosing.miss.mean() - mean) < 0.005
    tail = beta(mean * spread, (1 - mean) * spread).sf(0.11)
    assert abs(np.mean(dosing.miss > 0.11) - tail) < 0.015


def test_a_persons_offset_lasts_from_day_to_day() -> None:
    """The errors of one person's meals on two days are alike as much as the person's share of
    the error's variance says (0.1² against 0.3²: a correlation of about 0.1)."""
    dosing = RealLifeDosing(_plan(), 6000, np.random.default_rng(3))
    offset = dosing.offset.copy()
    sample = 7 * 60 // sample_minutes()
    days = [dosing.next_day()[:, sample] / 45 - 1 for _ in range(2)]
    np.testing.assert_array_equal(dosing.offset, offset)
    given = (days[0] > -1) & (days[1] > -1)  # neither bolus missed
    person, meal = (
        _value("carb_estimate", "person_error_sd"),
        _value("carb_estimate", "meal_error_sd"),
    )
    expected = person**2 / (person**2 + meal**2)
    assert abs(np.corrcoef(days[0][given], days[1][given])[0, 1] - expected) < 0.04


def _exact(plan: np.ndarray, n: int, late: float) -> RealLifeDosing:
    """Real-life dosing without errors or misses, every bolus late with probability ``late``."""
    dosing = RealLifeDosing(plan, n, np.random.default_rng(0))
    dosing.offset[:], dosing.miss[:], dosing.meal_sd, dosing.late = 0.0, 0.0, 0.0, late
    dosing.meal_mean = np.zeros_like(dosing.meal_mean)
    return dosing


def test_two_meals_in_one_sample_are_both_dosed_and_a_late_dinner_stays_in_the_day() -> None:
    step = sample_minutes()
    both = parse_scenario(
        {"meals": [{"time": "07:00", "carbs_g": 45}, {"time": "07:01", "carbs_g": 10}]}
    ).meals_per_minute()
    day = _exact(both, 3, 0.0).next_day()
    assert (day[:, 7 * 60 // step] == 55).all() and day.sum() == 3 * 55
    late = parse_scenario({"meals": [{"time": "23:50", "carbs_g": 30}]}).meals_per_minute()
    day = _exact(late, 3, 1.0).next_day()
    assert (day[:, -1] == 30).all() and day.sum() == 3 * 30


def test_a_large_meal_is_underestimated_more() -> None:
    dosing = RealLifeDosing(_plan(), 4000, np.random.default_rng(2))
    step = sample_minutes()
    day = dosing.next_day()
    lunch = day[:, 12 * 60 // step]
    shift = _value("carb_estimate", "large_meal_shift")
    expected = 1 + _clipped_mean(_value("carb_estimate", "mean_error") + shift)
    assert abs(lunch[lunch > 0].mean() / 70 - expected) < 0.015
    assert expected < 1 + _clipped_mean(_value("carb_estimate", "mean_error")) - 0.05


def test_a_patients_draws_depend_only_on_its_own_generator() -> None:
    def day(seeds: list[int]) -> np.ndarray:
        rngs = [np.random.default_rng(s) for s in seeds]
        return RealLifeDosing(_plan(), len(seeds), rngs).next_day()

    np.testing.assert_array_equal(day([5, 6, 7])[1], day([9, 6])[1])
    with pytest.raises(ValueError, match="2 random generators for 3 patients"):
        RealLifeDosing(_plan(), 3, [np.random.default_rng(0)] * 2)


def test_the_scenario_names_its_dosing_and_refuses_another() -> None:
    assert parse_scenario({"meals": MEALS}).dosing == "exact"
    assert load_scenario("daily-life.yaml").dosing == "real-life"
    with pytest.raises(InputError, match="dosing: Input should be 'exact' or 'real-life'"):
        parse_scenario({"meals": MEALS, "dosing": "sloppy"})


def test_real_life_dosing_makes_insulin_alone_control_glucose_worse() -> None:
    def arm(dosing: str) -> dict[str, np.ndarray]:
        design = {
            "seed": 7, "days": 28, "stride_days": 7, "sample_size": 10,
            "scenario": {"meals": MEALS + [{"time": "18:00", "carbs_g": 80}], "dosing": dosing},
            "arms": [{"name": "insulin only"}],
        }  # fmt: skip
        return run_trial(parse_design(design)).endpoints[(0, 0)]

    exact, real = arm("exact"), arm("real-life")
    assert real["hba1c_pct"].mean() > exact["hba1c_pct"].mean() + 0.2
    assert real["tir_pct"].mean() < exact["tir_pct"].mean() - 5


def test_cohort_dosing_is_seeded_and_leaves_the_sensor_noise_alone() -> None:
    def run(dosing: str, seed: int) -> object:
        scenario = parse_scenario({"meals": MEALS, "dosing": dosing, "noise": True})
        return simulate_cohort("adult#001", 2, scenario, seed=seed, backend="numpy")

    a, b, c = run("real-life", 3), run("real-life", 3), run("real-life", 4)
    np.testing.assert_array_equal(a.bg, b.bg)
    assert not np.array_equal(a.insulin, c.insulin)
    exact = run("exact", 3)
    assert not np.array_equal(a.insulin, exact.insulin)
    # the sensor's error is the same draw: before the first bolus, the same readings
    before = 7 * 60 // sample_minutes()
    np.testing.assert_array_equal(a.cgm[:, :before], exact.cgm[:, :before])


def test_a_design_names_a_bundled_scenario_whatever_the_working_directory_holds(
    tmp_path, monkeypatch
) -> None:
    """A file named daily-life.yaml in the working directory took the bundled scenario's place
    for a design naming it, while outputs still named the bundled one."""
    (tmp_path / "daily-life.yaml").write_text("meals: []\ndosing: exact\n")
    monkeypatch.chdir(tmp_path)
    for name in ("daily-life.yaml", "daily-life"):
        design = parse_design(
            {"days": 7, "sample_size": 1, "scenario": name, "arms": [{"name": "a"}]}
        )
        assert design.resolved_scenario().dosing == "real-life", name
    local = parse_design(
        {"days": 7, "sample_size": 1, "scenario": "./daily-life.yaml", "arms": [{"name": "a"}]}
    )
    assert local.resolved_scenario().dosing == "exact"  # a path is the file it names
    assert load_scenario("daily-life.yaml").dosing == "exact"  # the command line's file first
    # the result (as the stored run) says which meals and dosing ran, not only a name
    ran = run_trial(parse_design({**design.model_dump(), "scenario": "daily-life"}))
    assert ran.to_dict()["design"]["scenario"]["dosing"] == "real-life"


def test_real_life_dosing_without_a_controller_is_said_to_do_nothing() -> None:
    graft = {"regimen": "hypoimmune", "dose_cells": 5e9}
    design = {
        "days": 7, "sample_size": 2, "population": {"variability": {"Vmx": 0.2}},
        "scenario": {"meals": MEALS, "controller": "none", "dosing": "real-life"},
        "arms": [{"name": "graft", "graft": graft}],
    }  # fmt: skip
    (note,) = run_trial(parse_design(design)).to_dict()["notes"]
    assert "dosing 'real-life' has no effect with controller 'none'" in note
    design["scenario"]["dosing"] = "exact"
    assert run_trial(parse_design(design)).to_dict()["notes"] == []
