"""Speed against simglucose in the same process, and the agreement of the traces.

``benchmark`` times a large cohort here and a few patient-days of simglucose, compares the
adult#001 trace with simglucose's (RMS, mg/dL), and measures the error of simulating one day
per week (``stride_days``) against every day on a small trial.
"""

from __future__ import annotations

import time

import numpy as np

from isletbase.simulate.cohort import simulate_cohort
from isletbase.simulate.design import Design
from isletbase.simulate.endpoints import run_in_days
from isletbase.simulate.engine import CohortState, advance_day, resolve_backend
from isletbase.simulate.params import load_cohort
from isletbase.simulate.reference import run_simglucose
from isletbase.simulate.scenario import load_scenario
from isletbase.simulate.trial import run_trial

STRIDE_KEYS = ("hba1c_pct", "tir_pct", "insulin_u_per_day", "insulin_independent")


def agreement(patient: str = "adult#001", days: int = 1) -> tuple[float, float]:
    """RMS difference (mg/dL) of our BG trace from simglucose's, and simglucose's seconds."""
    scenario = load_scenario()
    ours = simulate_cohort(patient, days, scenario)
    ref = run_simglucose(patient, scenario.meal_times(days), days=days)
    return float(np.sqrt(np.mean((ours.bg[0] - ref.bg) ** 2))), ref.seconds


def cohort_speed(patients: int, days: int, backend: str = "auto") -> float:
    """Patient-days per second for a cohort of ``patients`` (the 30 patients repeated)."""
    meals = load_scenario().meals_per_minute()
    base = load_cohort("all")
    advance_day(CohortState(base), meals, backend=backend)  # compile outside the timing
    cohort = base.take(np.arange(patients) % len(base))
    state = CohortState(cohort)
    tic = time.perf_counter()
    for _ in range(days):
        advance_day(state, meals, backend=backend)
    return patients * days / (time.perf_counter() - tic)


def stride_error(stride: int = 7, days: int = 180, n: int = 60) -> dict[str, float]:
    """Largest arm-mean difference of each endpoint between ``stride`` and every-day runs."""
    spec = {
        "name": "stride check",
        "seed": 11,
        "days": days,
        "sample_size": n,
        "arms": [
            {"name": "insulin only", "graft": None},
            {"name": "graft", "graft": {"regimen": "standard"}},
        ],
    }
    exact = run_trial(Design.model_validate(spec))
    fast = run_trial(Design.model_validate({**spec, "stride_days": stride}))
    out = {}
    for key in STRIDE_KEYS:
        diffs = [
            abs(float(exact.endpoints[(0, a)][key].mean() - fast.endpoints[(0, a)][key].mean()))
            for a in range(2)
        ]
        out[key] = round(max(diffs), 4)
    return out


def benchmark(
    patients: int = 10_000,
    days: int = 1,
    reference_days: int = 1,
    backend: str = "auto",
    stride: int = 7,
) -> dict:
    """The benchmark record: speeds, their ratio, RMS agreement and the stride shortcut's error."""
    backend = resolve_backend(backend)
    ours = cohort_speed(patients, days, backend)
    rms, ref_seconds = agreement("adult#001", reference_days)
    reference = reference_days / ref_seconds
    full_year = 10_000 * 365 / ours
    return {
        "backend": backend,
        "patients": patients,
        "days": days,
        "patient_days_per_s": round(ours, 2),
        "reference": "simglucose 0.2.11, adult#001, same scenario and controller, noise off",
        "reference_patient_days": reference_days,
        "reference_patient_days_per_s": round(reference, 5),
        "ratio": round(ours / reference, 1),
        "rms_mg_dl": rms,
        "projected_10k_x_365_s": round(full_year, 1),
        # a day per stride, after each patient's run-in (every day of it simulated)
        "projected_10k_x_365_s_stride": round(
            full_year * (-(-365 // stride) + run_in_days()) / 365, 1
        ),
        "stride_days": stride,
        "stride_error_max_arm_mean": stride_error(stride),
    }
