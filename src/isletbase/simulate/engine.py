"""Advance a whole cohort one day at a time, with numpy (all patients as arrays) or numba.

Both backends run the same model functions (``isletbase.simulate.patient``): numpy calls
``run_day`` once with every patient as a column; numba compiles it and runs one patient per
thread. The numba backend is used when installed unless ``backend="numpy"`` is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isletbase.errors import InputError
from isletbase.simulate.devices import device_vector, sample_minutes
from isletbase.simulate.jit import HAVE_NUMBA, numba
from isletbase.simulate.params import BW, U2SS, VG, Cohort
from isletbase.simulate.patient import (
    CGM_HOLD,
    DEV_CGM_MAX,
    DEV_CGM_MIN,
    DEV_INC,
    DEV_MAX_BASAL,
    GS,
    NAUX,
    NDEV,
    NX,
    RATE,
    SINCE_TREAT,
    pump,
    run_day,
)

BACKENDS = ("auto", "numba", "numpy")
MINUTES_PER_DAY = 1440


@dataclass
class DayTrace:
    """One simulated day, per patient and sensor sample: BG, CGM (mg/dL), insulin (U/min)."""

    bg: np.ndarray
    cgm: np.ndarray
    insulin: np.ndarray


class CohortState:
    """The evolving state of every patient of a cohort (model, meal bookkeeping, controller)."""

    def __init__(self, cohort: Cohort, scale: np.ndarray | float = 1.0) -> None:
        n = len(cohort)
        # a copy: a day's insulin sensitivity is set into it (``variability``), not the cohort's
        self.params = np.array(cohort.params, dtype=np.float64, order="C")
        self.x = np.zeros((n, NX))
        self.x[:, :13] = cohort.x0
        self.aux = np.zeros((n, NAUX))
        dev = device_vector()
        glucose = self.x[:, GS] / self.params[:, VG]
        self.aux[:, CGM_HOLD] = np.clip(glucose, dev[DEV_CGM_MIN], dev[DEV_CGM_MAX])
        basal = self.params[:, U2SS] * self.params[:, BW] / 6000.0 * scale
        self.aux[:, RATE] = pump(basal, dev[DEV_INC], dev[DEV_MAX_BASAL])
        self.aux[:, SINCE_TREAT] = 1e9  # no low treated yet: the first is eaten for at once

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def subcutaneous_glucose(self) -> np.ndarray:
        """Gs/Vg (mg/dL): simglucose's "BG", the sensor's input."""
        return self.x[:, GS] / self.params[:, VG]


def resolve_backend(backend: str = "auto") -> str:
    """``numba`` when installed (or asked), else ``numpy``; ``InputError`` for unknown names."""
    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "numba" and not HAVE_NUMBA:
        raise InputError("backend 'numba': numba is not installed (pip install numba)")
    if backend == "auto":
        return "numba" if HAVE_NUMBA else "numpy"
    return backend


def exact_carbs(meals: np.ndarray, n: int) -> np.ndarray:
    """Grams each of ``n`` patients doses for after each sensor sample when dosing is exact:
    the meals begun in that sample (simglucose's controller), shape (patients, samples)."""
    sample = sample_minutes()
    per_sample = np.asarray(meals, dtype=np.float64).reshape(-1, sample).sum(axis=1)
    # a writable C-ordered array, as real-life dosing gives: one compiled signature for both
    return np.ascontiguousarray(np.broadcast_to(per_sample, (n, per_sample.shape[0])))


def advance_day(
    state: CohortState,
    meals: np.ndarray,
    noise: np.ndarray | None = None,
    graft: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    backend: str = "auto",
    carbs: np.ndarray | None = None,
    dev: np.ndarray | None = None,
) -> DayTrace:
    """Simulate one day for every patient of ``state`` (changed in place) and return its trace.

    ``meals``: grams eaten per minute of the day (1440,); ``carbs``: grams each patient doses
    a meal bolus for after each sensor sample (``isletbase.simulate.dosing``; without it, the
    meals exactly, ``exact_carbs``); ``noise``: sensor error per
    patient and sample, or None; ``graft``: functional beta-cell mass fraction per patient;
    ``scale``: fraction of usual insulin per patient (0 = no insulin); ``dev``: the constants
    ``devices.device_vector`` gives (with how lows are treated), by default the devices' alone.
    """
    n = len(state)
    sample = sample_minutes()
    per_day = MINUTES_PER_DAY // sample
    noise = np.zeros((n, per_day)) if noise is None else np.asarray(noise, dtype=np.float64)
    graft = np.zeros(n) if graft is None else np.asarray(graft, dtype=np.float64)
    scale = np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64)
    meals = np.asarray(meals, dtype=np.float64)
    carbs = exact_carbs(meals, n) if carbs is None else np.asarray(carbs, dtype=np.float64)
    dev = device_vector() if dev is None else np.asarray(dev, dtype=np.float64)
    if carbs.shape != (n, per_day):  # read unchecked by the compiled loop
        raise ValueError(f"carbs of shape {carbs.shape}: expected ({n}, {per_day})")
    if dev.shape != (NDEV,):
        raise ValueError(f"device constants of shape {dev.shape}: expected ({NDEV},)")
    trace = DayTrace(np.empty((n, per_day)), np.empty((n, per_day)), np.empty((n, per_day)))
    args = (
        state.x, state.aux, state.params, meals, carbs, noise, graft, scale, dev, sample,
    )  # fmt: skip
    if resolve_backend(backend) == "numba":
        _numba_days()(*args, trace.bg, trace.cgm, trace.insulin)
    else:
        _numpy_day(*args, trace.bg, trace.cgm, trace.insulin)
    return trace


def _numpy_day(
    x, aux, params, meals, carbs, noise, graft, scale, dev, sample, bg, cgm, ins
) -> None:  # noqa: ANN001
    xt = np.ascontiguousarray(x.T)
    at = np.ascontiguousarray(aux.T)
    work = np.empty((5, NX, x.shape[0]))
    run_day(
        xt, at, params.T, meals, carbs.T, noise.T, graft, scale, dev, sample, bg.T, cgm.T, ins.T,
        work,
    )  # fmt: skip
    x[:] = xt.T
    aux[:] = at.T


_COMPILED = {}


def _numba_days():  # noqa: ANN202 - a numba dispatcher
    """The compiled per-patient day loop (compiled once per process, cached on disk)."""
    if "days" not in _COMPILED:
        jitted_day = numba.njit(run_day, fastmath=True, error_model="numpy")

        @numba.njit(parallel=True, cache=True, fastmath=True, error_model="numpy")
        def days(x, aux, params, meals, carbs, noise, graft, scale, dev, sample, bg, cgm, ins):  # noqa: ANN001
            for j in numba.prange(x.shape[0]):
                work = np.empty((5, x.shape[1]))
                jitted_day(
                    x[j], aux[j], params[j], meals, carbs[j], noise[j], graft[j], scale[j], dev,
                    sample, bg[j], cgm[j], ins[j], work,
                )  # fmt: skip

        _COMPILED["days"] = days
    return _COMPILED["days"]
