"""Our vectorised UVA/Padova model against simglucose 0.2.11, the independent reference."""

from __future__ import annotations

import numpy as np
import pytest

from isletbase.simulate.cohort import simulate_cohort
from isletbase.simulate.engine import CohortState, advance_day
from isletbase.simulate.params import load_cohort
from isletbase.simulate.reference import run_simglucose
from isletbase.simulate.scenario import load_scenario


@pytest.mark.parametrize("patient", ["adult#001", "adolescent#003", "child#002"])
def test_24h_bg_trace_matches_simglucose_within_1_mg_dl_rms(patient: str) -> None:
    scenario = load_scenario("meals.yaml")
    ours = simulate_cohort(patient, 1, scenario)
    ref = run_simglucose(patient, scenario.meal_times(1), days=1)
    assert ours.time_min.tolist() == ref.time_min.tolist()
    rms = np.sqrt(np.mean((ours.bg[0] - ref.bg) ** 2))
    assert rms <= 1.0
    # the controller took the same decisions: same insulin in every sample
    np.testing.assert_allclose(ours.insulin[0][:-1], ref.insulin[:-1], atol=1e-6)


def test_numpy_and_compiled_backends_give_the_same_day() -> None:
    meals = load_scenario().meals_per_minute()
    cohort = load_cohort("all")
    a, b = CohortState(cohort), CohortState(cohort)
    one = advance_day(a, meals, backend="numpy")
    two = advance_day(b, meals, backend="auto")
    np.testing.assert_allclose(one.bg, two.bg, atol=1e-9)
    np.testing.assert_allclose(a.x, b.x, atol=1e-9)
