"""Insulin sensitivity from day to day, and lows eaten for (data/simulate/variability.yaml,
dosing.yaml's hypo_treatment): sourced values, the draws, and what they do to a patient."""

from __future__ import annotations

import numpy as np
import pytest

from isletbase.errors import InputError
from isletbase.simulate.cohort import simulate_cohort
from isletbase.simulate.design import parse_design
from isletbase.simulate.devices import device_vector, sample_minutes
from isletbase.simulate.dosing import dosing_data, hypo_treatment
from isletbase.simulate.endpoints import OutOfModelRangeError, check_valid_range
from isletbase.simulate.engine import CohortState, advance_day
from isletbase.simulate.params import COLUMNS, KP3, VMX, load_cohort
from isletbase.simulate.patient import NDEV
from isletbase.simulate.scenario import load_scenario, parse_scenario
from isletbase.simulate.sourced import sourced_data
from isletbase.simulate.trial import run_trial
from isletbase.simulate.variability import DailySensitivity, sensitivity_for

MEALS = [{"time": "07:00", "carbs_g": 45}, {"time": "12:00", "carbs_g": 70}]
BASIS = {"published": "source", "derived": "derivation", "assumption": "reason"}


def _value(key: str) -> float:
    return float(sourced_data("variability.yaml")["insulin_sensitivity"][key]["value"])


def test_every_value_says_where_it_comes_from() -> None:
    entries = [
        *sourced_data("variability.yaml")["insulin_sensitivity"].items(),
        *dosing_data()["hypo_treatment"].items(),
    ]
    for key, entry in entries:
        assert entry["kind"] in BASIS, key
        assert entry[BASIS[entry["kind"]]], key


def test_each_day_moves_vmx_and_kp3_together_by_the_sourced_spread() -> None:
    params = np.tile(load_cohort("adult#001").params, (4000, 1))
    before = params.copy()
    sensitivity = DailySensitivity(params, np.random.default_rng(3))
    factors = np.stack([sensitivity.next_day() for _ in range(5)])
    np.testing.assert_allclose(params[:, VMX], before[:, VMX] * factors[-1])
    np.testing.assert_allclose(params[:, KP3], before[:, KP3] * factors[-1])
    others = [i for i in range(len(COLUMNS)) if i not in (VMX, KP3)]
    np.testing.assert_array_equal(params[:, others], before[:, others])
    assert abs(factors.mean() - 1) < 0.005
    assert abs(factors.std() / factors.mean() - _value("day_to_day_cv")) < 0.005
    assert factors.min() >= _value("clip_low") and factors.max() <= _value("clip_high")
    # days drawn anew, as the file says (correlation 0): day to day as unrelated as people
    assert abs(np.corrcoef(factors[0], factors[1])[0, 1] - _value("day_correlation")) < 0.05


def test_a_patients_days_depend_only_on_its_own_generator() -> None:
    def days(seeds: list[int]) -> np.ndarray:
        params = np.tile(load_cohort("adult#001").params, (len(seeds), 1))
        sensitivity = DailySensitivity(params, [np.random.default_rng(s) for s in seeds])
        return np.stack([sensitivity.next_day() for _ in range(3)])

    np.testing.assert_array_equal(days([5, 6, 7])[:, 1], days([9, 6])[:, 1])


def test_the_scenario_names_sensitivity_and_hypo_treatment_and_refuses_others() -> None:
    plain = parse_scenario({"meals": MEALS})
    assert (plain.sensitivity, plain.hypo_treatment) == ("fixed", "none")
    assert sensitivity_for(plain, np.zeros((1, len(COLUMNS))), np.random.default_rng()) is None
    assert hypo_treatment(plain) == (0.0, 0.0, 0.0, 0.0)  # simglucose's: no low eaten for
    daily = load_scenario("daily-life")
    assert (daily.sensitivity, daily.hypo_treatment) == ("day-to-day", "rule-of-15")
    assert hypo_treatment(daily) == (70.0, 0.3, 15.0, 15.0)
    with pytest.raises(InputError, match="sensitivity: Input should be 'fixed' or 'day-to-day'"):
        parse_scenario({"meals": MEALS, "sensitivity": "weekly"})
    with pytest.raises(InputError, match="expected a mapping with .*hypo_treatment"):
        parse_scenario(["not", "a", "mapping"])


def _overdosed_day(treat: tuple[float, ...], backend: str) -> tuple[object, object]:
    """Two adults on three times their insulin for a day without meals."""
    state = CohortState(load_cohort(["adult#001", "adult#002"]))
    trace = advance_day(
        state, np.zeros(1440), scale=np.full(2, 3.0), backend=backend, dev=device_vector(treat)
    )
    return state, trace


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_low_on_the_sensor_is_eaten_for_by_the_rule_of_15(backend: str) -> None:
    rule = hypo_treatment(load_scenario("daily-life"))
    _, untreated = _overdosed_day((0.0, 0.0, 0.0, 0.0), backend)
    _, treated = _overdosed_day(rule, backend)
    below54 = [np.mean(t.bg < 54, axis=1) for t in (untreated, treated)]
    assert np.all(below54[0] > 0.3)  # untreated, most of the day below 54 mg/dL
    assert np.all(below54[1] < below54[0] / 3)
    assert np.all(treated.bg.min(axis=1) > untreated.bg.min(axis=1))
    # eaten for only once the sensor reads below 70, and not bolused: insulin unchanged
    first_low = np.argmax(untreated.cgm < 70, axis=1)
    for j, k in enumerate(first_low):
        np.testing.assert_array_equal(treated.bg[j, :k], untreated.bg[j, :k])
    np.testing.assert_array_equal(treated.insulin, untreated.insulin)


def test_the_backends_agree_with_lows_eaten_for() -> None:
    rule = hypo_treatment(load_scenario("daily-life"))
    a, b = (_overdosed_day(rule, backend)[1] for backend in ("numpy", "numba"))
    np.testing.assert_allclose(a.bg, b.bg, rtol=1e-9, atol=1e-9)


def test_device_constants_of_a_wrong_length_are_refused() -> None:
    state = CohortState(load_cohort("adult#001"))
    with pytest.raises(ValueError, match=f"expected \\({NDEV},\\)"):
        advance_day(state, np.zeros(1440), dev=device_vector()[:-1])


def test_a_day_that_collapses_to_zero_stops_the_run_naming_the_remedy() -> None:
    bg = np.full((2, 1440 // sample_minutes()), 120.0)
    bg[1] = 0.0  # the model without counter-regulation, fallen and staying there
    with pytest.raises(OutOfModelRangeError, match=r"day 9, b: simulated glucose fell to 0") as e:
        check_valid_range(bg, "day 9", ["a", "b"])
    assert "hypo_treatment: rule-of-15" in str(e.value)
    bg[1] = 120.0
    bg[1, :5] = 10.0  # a dip the model comes back from is reported, not refused
    check_valid_range(bg, "day 9", ["a", "b"])


def test_shard_size_does_not_change_numbers_with_varying_sensitivity() -> None:
    scenario = {"meals": MEALS, "dosing": "real-life", "sensitivity": "day-to-day",
                "hypo_treatment": "rule-of-15"}  # fmt: skip
    design = {"seed": 2, "days": 14, "stride_days": 7, "sample_size": 5,
              "scenario": scenario, "arms": [{"name": "insulin only"}]}  # fmt: skip
    runs = [run_trial(parse_design({**design, "shard_size": k})) for k in (1, 512)]
    for name, array in runs[0].endpoints[(0, 0)].items():
        np.testing.assert_array_equal(array, runs[1].endpoints[(0, 0)][name], err_msg=name)
    fixed = run_trial(parse_design({**design, "scenario": {**scenario, "sensitivity": "fixed"}}))
    assert not np.array_equal(fixed.endpoints[(0, 0)]["hba1c_pct"],
                              runs[0].endpoints[(0, 0)]["hba1c_pct"])  # fmt: skip


def test_a_cohort_varies_sensitivity_by_its_seed() -> None:
    scenario = parse_scenario({"meals": MEALS, "sensitivity": "day-to-day"})
    a, b = (simulate_cohort("adult#001", 2, scenario, seed=s, backend="numpy") for s in (3, 4))
    again = simulate_cohort("adult#001", 2, scenario, seed=3, backend="numpy")
    np.testing.assert_array_equal(a.bg, again.bg)
    assert not np.array_equal(a.bg, b.bg)


def test_correlated_days_keep_the_spread_and_follow_each_other(monkeypatch) -> None:
    """The file's correlation of one day with the next, never run at its bundled 0."""
    from isletbase.simulate import variability

    values = {"day_correlation": 0.8}
    real = variability._value
    monkeypatch.setattr(variability, "_value", lambda key: values.get(key, real(key)))
    params = np.tile(load_cohort("adult#001").params, (4000, 1))
    sensitivity = DailySensitivity(params, np.random.default_rng(5))
    days = np.log(np.stack([sensitivity.next_day() for _ in range(30)]))
    assert abs(np.corrcoef(days[-2], days[-1])[0, 1] - 0.8) < 0.05
    factors = np.exp(days[-1])
    assert abs(factors.std() / factors.mean() - _value("day_to_day_cv")) < 0.01  # stationary
    values["day_correlation"] = 1.2
    with pytest.raises(InputError, match="day_correlation from 0 to under 1"):
        DailySensitivity(params, np.random.default_rng(5))


def test_a_cohorts_own_parameters_are_left_as_they_were() -> None:
    cohort = load_cohort("adult#001")
    before = cohort.params.copy()
    state = CohortState(cohort)
    DailySensitivity(state.params, np.random.default_rng(1)).next_day()
    np.testing.assert_array_equal(cohort.params, before)


def test_a_child_eats_for_a_low_by_its_weight() -> None:
    """The adult's 15 g for every low sent child#008 (23.7 kg) above 600 mg/dL on its first
    day, so every trial drawing it stopped; a child's dose is 0.3 g/kg."""
    scenario = parse_scenario({"meals": MEALS, "hypo_treatment": "rule-of-15"})
    below, per_kg, most, _ = hypo_treatment(scenario)
    assert (below, per_kg, most) == (70.0, 0.3, 15.0)
    run = simulate_cohort("child#008", 2, scenario, seed=1, backend="numpy")
    assert run.bg.max() < 600


def test_a_stopped_trial_names_the_virtual_patient() -> None:
    """'patient 8' told nobody which child to leave out."""
    design = {"days": 7, "sample_size": 2, "seed": 3, "population": {"groups": {"child": 1.0}},
              "scenario": {"meals": [{"time": "12:00", "carbs_g": 400}]},
              "arms": [{"name": "insulin only"}]}  # fmt: skip
    with pytest.raises(OutOfModelRangeError, match=r"patient \d+ \(child#\d{3}\)"):
        run_trial(parse_design(design))
