"""Glycaemic endpoints from simulated sensor traces: HbA1c (ADAG), time in ranges, hypo events.

Definitions and their sources are in ``data/simulate/endpoints.yaml``. ``Window`` accumulates
per-patient sums over the days of an assessment window, so a year-long trial never keeps its
traces; ``Window.summary`` gives the per-patient endpoint arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from isletbase.errors import InputError
from isletbase.simulate.devices import sample_minutes
from isletbase.simulate.sourced import sourced_data


def definitions() -> dict[str, Any]:
    """The parsed ``endpoints.yaml``."""
    return sourced_data("endpoints.yaml")


def run_in_days() -> int:
    """Days each patient of a trial lives on insulin alone before the graft, every one of them
    simulated: the Igls baseline (``baseline`` in ``endpoints.yaml``)."""
    return int(definitions()["baseline"]["run_in_days"])


def hba1c_from_mean_glucose(mean_mg_dl: np.ndarray | float) -> np.ndarray:
    """Estimated HbA1c (%) from mean glucose by the ADAG regression (Nathan et al. 2008)."""
    adag = definitions()["hba1c_from_mean_glucose"]
    return (np.asarray(mean_mg_dl) - adag["intercept_mg_dl"]) / adag["slope_mg_dl_per_pct"]


def count_events(below: np.ndarray, min_samples: int) -> np.ndarray:
    """Per row, runs of at least ``min_samples`` consecutive True values."""
    rows, cols = below.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = below
    edges = np.diff(padded.ravel())
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    long = (ends - starts) >= min_samples
    return np.bincount(starts[long] // (cols + 2), minlength=rows)


def time_in_ranges(cgm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-patient share (%) of samples in 70–180, below 54, below 70 and above 180 mg/dL."""
    tir = definitions()["time_in_range"]
    return {
        "tir_pct": 100 * np.mean((cgm >= tir["low_mg_dl"]) & (cgm <= tir["high_mg_dl"]), axis=1),
        "below_54_pct": 100 * np.mean(cgm < tir["below_level2_mg_dl"], axis=1),
        "below_70_pct": 100 * np.mean(cgm < tir["low_mg_dl"], axis=1),
        "above_180_pct": 100 * np.mean(cgm > tir["high_mg_dl"], axis=1),
    }


@dataclass
class Window:
    """Running sums over an assessment window; each day added with a weight (days it stands for)."""

    n: int
    days: float = 0.0
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    covered: np.ndarray | None = None

    def add_day(self, bg: np.ndarray, cgm: np.ndarray, insulin: np.ndarray, weight: float,
                need: np.ndarray) -> None:  # fmt: skip
        """Add one simulated day (patients × samples) standing for ``weight`` days.

        ``need``: the share of the usual insulin each patient needs that day given their
        graft (``graft.insulin_scale``; 1 without a graft). A patient counts as insulin
        independent only if the graft covered the whole need on every day of the window,
        whatever the controller did (a patient nobody doses is not thereby independent), and
        the window's HbA1c is on target (``summary``).
        """
        tir = definitions()["time_in_range"]
        event = definitions()["level2_hypoglycaemia_event"]
        min_samples = int(np.ceil(event["min_duration_min"] / sample_minutes()))
        day = {
            "bg": bg.mean(axis=1),
            "tir": np.mean((cgm >= tir["low_mg_dl"]) & (cgm <= tir["high_mg_dl"]), axis=1),
            "below_54": np.mean(cgm < tir["below_level2_mg_dl"], axis=1),
            "below_70": np.mean(cgm < tir["low_mg_dl"], axis=1),
            "above_180": np.mean(cgm > tir["high_mg_dl"], axis=1),
            "above_250": np.mean(cgm > tir["above_level2_mg_dl"], axis=1),
            # the sensor's mean and mean square, for the window's coefficient of variation
            "cgm": cgm.mean(axis=1),
            "cgm_sq": np.mean(np.square(cgm), axis=1),
            "events": count_events(cgm < event["below_mg_dl"], min_samples).astype(float),
            "insulin": insulin.sum(axis=1) * sample_minutes(),
        }
        for key, value in day.items():
            self.sums[key] = self.sums.get(key, np.zeros(self.n)) + weight * value
        self.days += weight
        covered = np.asarray(need) <= 0.0
        self.covered = covered if self.covered is None else self.covered & covered

    def summary(self) -> dict[str, np.ndarray]:
        """Per-patient endpoints over the window (means per day; events per year)."""
        d = max(self.days, 1e-12)
        mean_bg = self.sums["bg"] / d
        hba1c = hba1c_from_mean_glucose(mean_bg)
        # off insulin with HbA1c 7 % or more is not independence (endpoints.yaml)
        on_target = hba1c < definitions()["insulin_independence"]["max_hba1c_pct"]
        covered = self.covered if self.covered is not None else np.zeros(self.n, dtype=bool)
        return {
            "mean_glucose_mg_dl": mean_bg,
            "hba1c_pct": hba1c,
            "tir_pct": 100 * self.sums["tir"] / d,
            "below_54_pct": 100 * self.sums["below_54"] / d,
            "below_70_pct": 100 * self.sums["below_70"] / d,
            "above_180_pct": 100 * self.sums["above_180"] / d,
            "above_250_pct": 100 * self.sums["above_250"] / d,
            "cv_pct": _cv(self.sums["cgm"] / d, self.sums["cgm_sq"] / d),
            "level2_events_per_year": self.sums["events"] / d * 365.25,
            "insulin_u_per_day": self.sums["insulin"] / d,
            "insulin_independent": (covered & on_target).astype(float),
        }


def _cv(mean: np.ndarray, mean_square: np.ndarray) -> np.ndarray:
    """Glucose's coefficient of variation (%) over a window, from its readings' mean and mean
    square: the consensus's measure of variability (target ≤ 36 %, Battelino 2019)."""
    sd = np.sqrt(np.maximum(mean_square - np.square(mean), 0.0))
    return 100 * sd / np.maximum(mean, 1e-9)


class OutOfModelRangeError(InputError):
    """Simulated glucose left the range in which the model (and its endpoints) are valid."""


def check_valid_range(bg: np.ndarray, where: str, names: Sequence[str] | None = None) -> None:
    """Raise ``OutOfModelRangeError`` if a simulated day leaves ``valid_range`` (endpoints.yaml).

    ``bg``: one day's glucose, patients × samples (mg/dL). Checked per sample (at most
    ``max_glucose_mg_dl``, finite) and per day (a mean glucose of at least
    ``min_mean_glucose_mg_dl`` whose ADAG HbA1c is at most ``max_hba1c_pct``), so no reported
    HbA1c, mean glucose or curve can leave the range; a sample below the bottom is reported
    (as time below 54 mg/dL), as the model goes there and comes back. ``where`` names the run
    and day; the patient is named from ``names`` (else its index).
    """
    limits = definitions()["valid_range"]
    top, bottom = float(limits["max_glucose_mg_dl"]), float(limits["min_mean_glucose_mg_dl"])
    adag = definitions()["hba1c_from_mean_glucose"]
    top_mean = limits["max_hba1c_pct"] * adag["slope_mg_dl_per_pct"] + adag["intercept_mg_dl"]
    with np.errstate(invalid="ignore"):
        peak = np.where(np.isfinite(bg), bg, np.inf).max(axis=1)
        mean = bg.mean(axis=1)
    high = (peak > top) | ~(mean <= top_mean)
    bad = np.flatnonzero(high | (mean < bottom))
    if bad.size == 0:
        return
    i = int(bad[0])
    who = names[i] if names is not None else f"patient {i}"
    low = np.nanmin(bg[i]) + 0.0  # + 0.0: a glucose of -0.0 is printed as 0
    went = f"reached {peak[i]:.0f}" if high[i] else f"fell to {low:.0f}"
    why = (
        "This happens without insulin or an adequate graft, with meals far beyond what the "
        "controller covers, or with real-life dosing where a patient misses several boluses in "
        "a row (most often a child; `dosing: exact`, or another seed, avoids it)"
        if high[i]
        else "The model has no counter-regulation: a patient given more insulin than the day "
        "needs falls without end unless the low is eaten for (scenario `hypo_treatment: "
        "rule-of-15`)"
    )
    raise OutOfModelRangeError(
        f"{where}, {who}: simulated glucose {went} mg/dL (day mean "
        f"{mean[i] + 0.0:.0f}, HbA1c {float(hba1c_from_mean_glucose(mean[i])):.1f}%), outside the "
        f"model's valid range (glucose ≤ {top:.0f} mg/dL, a day's mean ≥ {bottom:.0f} mg/dL, "
        f"HbA1c ≤ {limits['max_hba1c_pct']}%); {bad.size} patient(s) affected. {why}; no "
        "results are reported"
    )
