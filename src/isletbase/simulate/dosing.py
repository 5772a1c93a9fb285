"""How a virtual patient doses meal boluses: exactly, or as people on insulin do in daily life.

simglucose's basal–bolus controller knows each meal's carbohydrate to the gram and never misses
or delays a bolus, so a cohort on insulin alone reached an HbA1c of ~6 % and ~91 % of the day in
range, better than the adults of any registry; a graft arm compared with it looked no better
than insulin. ``real-life`` dosing gives each meal's bolus the errors people make, with the
values of ``data/simulate/dosing.yaml`` (each sourced or labelled a modelling choice): a
carbohydrate estimate off by the person's lasting offset and the meal's own error, boluses
missed with a probability of the person's own, and late ones. The scenario's ``dosing`` names
which; ``exact`` is simglucose's and the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from isletbase.simulate.devices import sample_minutes
from isletbase.simulate.params import DATA
from isletbase.simulate.scenario import Scenario, read_yaml

DOSING_FILE = DATA / "dosing.yaml"


@cache
def dosing_data() -> dict[str, Any]:
    """The parsed ``dosing.yaml`` (carb_estimate, missed_bolus, late_bolus), with sources."""
    return read_yaml(str(DOSING_FILE), "dosing parameters")


def _value(section: str, key: str) -> float:
    return float(dosing_data()[section][key]["value"])


Rng = np.random.Generator | Sequence[np.random.Generator]


def _draw(rng: Rng, n: int, draw: str, *args: float, size: int = 1) -> np.ndarray:
    """``size`` draws of ``draw`` (a ``Generator`` method) per patient, shape (patients, size):
    from one generator shared by the cohort, or from each patient's own (as ``SensorNoise``),
    so that a patient's draws depend only on its own generator."""
    if isinstance(rng, np.random.Generator):
        return getattr(rng, draw)(*args, size=(n, size))
    if len(rng) != n:
        raise ValueError(f"{len(rng)} random generators for {n} patients")
    return np.stack([getattr(g, draw)(*args, size=size) for g in rng]).reshape(n, size)


class RealLifeDosing:
    """Day by day, the grams each of ``n`` patients doses a meal bolus for after each sensor
    sample, for the meal plan ``meals`` (grams per minute of the day), with the errors of
    ``dosing.yaml``. Each patient's lasting offset and probability of missing are drawn once."""

    def __init__(self, meals: np.ndarray, n: int, rng: Rng) -> None:
        self.n, self.rng = n, rng
        self.sample = sample_minutes()
        self.per_day = 1440 // self.sample
        self.minutes = np.flatnonzero(meals)
        self.grams = np.asarray(meals, dtype=np.float64)[self.minutes]
        large = self.grams > _value("carb_estimate", "large_meal_g")
        self.meal_mean = _value("carb_estimate", "mean_error") + large * _value(
            "carb_estimate", "large_meal_shift"
        )
        self.meal_sd = _value("carb_estimate", "meal_error_sd")
        self.clip = _value("carb_estimate", "clip")
        self.late = _value("late_bolus", "probability")
        self.delay = _value("late_bolus", "delay_min")
        mean, concentration = (
            _value("missed_bolus", "mean_probability"),
            _value("missed_bolus", "concentration"),
        )
        self.offset = _draw(rng, n, "normal", 0.0, _value("carb_estimate", "person_error_sd"))
        self.miss = _draw(rng, n, "beta", mean * concentration, (1 - mean) * concentration)

    def next_day(self) -> np.ndarray:
        """Grams dosed for after each sample of the next day, shape (patients, samples)."""
        meals = len(self.minutes)
        out = np.zeros((self.n, self.per_day))
        if not meals:
            return out
        error = _draw(self.rng, self.n, "normal", 0.0, self.meal_sd, size=meals)
        missed = _draw(self.rng, self.n, "random", size=meals) < self.miss
        late = _draw(self.rng, self.n, "random", size=meals) < self.late
        e = np.clip(self.meal_mean + self.offset + error, -self.clip, self.clip)
        grams = np.where(missed, 0.0, self.grams * (1.0 + e))
        # a late bolus comes in the sample its minute falls in, the day's last at the latest
        minute = np.minimum(self.minutes + late * self.delay, 1439)
        np.add.at(out, (np.arange(self.n)[:, None], (minute // self.sample).astype(int)), grams)
        return out


def dosing_for(scenario: Scenario, n: int, rng: Rng) -> RealLifeDosing | None:
    """The day-by-day dosing of ``n`` patients on ``scenario``: ``None`` where it is exact
    (``engine.advance_day`` then doses the meals themselves)."""
    if scenario.dosing != "real-life":
        return None
    return RealLifeDosing(scenario.meals_per_minute(), n, rng)
