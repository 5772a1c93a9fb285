"""Simulate named virtual patients on a scenario for some days and keep their full traces.

``simulate_cohort`` is what ``isletbase simulate patient`` and ``simulate cohort`` call: one
array integration for all patients, then a ``CohortRun`` whose ``to_dict``, ``summary`` and
plots all read the same arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from isletbase.errors import InputError
from isletbase.simulate.daily import DailyLife
from isletbase.simulate.design import MAX_SEED
from isletbase.simulate.devices import sample_minutes
from isletbase.simulate.endpoints import Window
from isletbase.simulate.engine import CohortState, resolve_backend
from isletbase.simulate.params import load_cohort
from isletbase.simulate.patient import CGM_HOLD, RATE
from isletbase.simulate.scenario import Scenario

MAX_TRACE_PATIENT_DAYS = 200_000


@dataclass
class CohortRun:
    """Traces of a cohort at the sensor's sample times (row 0 = the initial state)."""

    names: tuple[str, ...]
    days: int
    seed: int
    backend: str
    scenario: Scenario
    time_min: np.ndarray
    bg: np.ndarray
    cgm: np.ndarray
    insulin: np.ndarray
    window: Window

    def patient(self, i: int = 0) -> dict:
        """One patient's trace as JSON-ready arrays (``simulate patient --json``)."""
        return {
            "patient": self.names[i],
            "days": self.days,
            "seed": self.seed,
            "scenario": self.scenario.model_dump(mode="json"),
            "time_min": self.time_min.tolist(),
            "bg_mg_dl": np.round(self.bg[i], 4).tolist(),
            "cgm_mg_dl": np.round(self.cgm[i], 4).tolist(),
            "insulin_u_per_min": np.round(self.insulin[i], 6).tolist(),
        }

    def summary(self) -> list[dict]:
        """Per-patient endpoints over the whole run (mean glucose, HbA1c, TIR, insulin)."""
        s = self.window.summary()
        rows = []
        for i, name in enumerate(self.names):
            rows.append(
                {
                    "patient": name,
                    "mean_glucose_mg_dl": round(float(s["mean_glucose_mg_dl"][i]), 2),
                    "hba1c_pct": round(float(s["hba1c_pct"][i]), 2),
                    "tir_pct": round(float(s["tir_pct"][i]), 1),
                    "below_54_pct": round(float(s["below_54_pct"][i]), 2),
                    "above_180_pct": round(float(s["above_180_pct"][i]), 1),
                    "insulin_u_per_day": round(float(s["insulin_u_per_day"][i]), 2),
                }
            )
        return rows

    def to_dict(self) -> dict:
        return {
            "days": self.days,
            "seed": self.seed,
            "backend": self.backend,
            "scenario": self.scenario.model_dump(mode="json"),
            "patients": self.summary(),
        }


def simulate_cohort(
    patients: str | list[str],
    days: int,
    scenario: Scenario,
    seed: int = 0,
    backend: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> CohortRun:
    """Simulate ``patients`` (names, a group or ``all``) for ``days`` days on ``scenario``.

    Deterministic for a seed (which matters with sensor noise or real-life dosing).
    ``progress`` is called with the number of days done. Raises ``InputError`` for unknown
    patients, ``days`` ≤ 0, a seed outside 0 to 2**31 - 1, controller ``none`` (these patients
    have no graft, and the model is not valid without insulin), and ``OutOfModelRangeError``
    when glucose leaves the model's valid range.
    """
    if not isinstance(days, int) or days <= 0:
        raise InputError(f"days: must be a whole number > 0, got {days!r}")
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed: must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    if scenario.controller != "basal-bolus":
        raise InputError(
            f"scenario controller {scenario.controller!r}: these patients have no graft, and "
            "without insulin the model is not valid (glucose climbs into the thousands); use "
            "controller 'basal-bolus', or `simulate trial` with a graft arm"
        )
    cohort = load_cohort(patients)
    if len(cohort) * days > MAX_TRACE_PATIENT_DAYS:
        raise InputError(
            f"days × patients = {len(cohort) * days} is more than {MAX_TRACE_PATIENT_DAYS} "
            "patient-days of traces; use `simulate trial` for large runs"
        )
    backend = resolve_backend(backend)
    state = CohortState(cohort)
    n = len(cohort)
    # a stream each, so that the sensor's error for a seed is the same with either dosing
    streams = tuple(np.random.default_rng(key) for key in (seed, [seed, 1], [seed, 2]))
    life = DailyLife(scenario, state, streams, cohort.names, backend)
    bg0 = state.subcutaneous_glucose.copy()
    cgm0 = state.aux[:, CGM_HOLD].copy()
    bgs, cgms, ins = [], [], []
    window = Window(n)
    scales = np.ones(n)
    for day in range(days):
        trace = life.day(f"day {day}", scale=scales)
        bgs.append(trace.bg)
        cgms.append(trace.cgm)
        ins.append(trace.insulin)
        window.add_day(trace.bg, trace.cgm, trace.insulin, 1.0, need=scales)
        if progress:
            progress(day + 1)
    step = sample_minutes()
    next_rate = state.aux[:, RATE : RATE + 1]
    return CohortRun(
        names=cohort.names,
        days=days,
        seed=seed,
        backend=backend,
        scenario=scenario,
        time_min=np.arange(0, days * 1440 + 1, step),
        bg=np.concatenate([bg0[:, None], *bgs], axis=1),
        cgm=np.concatenate([cgm0[:, None], *cgms], axis=1),
        insulin=np.concatenate([*ins, next_rate], axis=1),
        window=window,
    )
