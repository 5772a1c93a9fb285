"""How a virtual patient doses meal boluses: exactly, or as people on insulin do in daily life.

simglucose's basal–bolus controller knows each meal's carbohydrate to the gram and never misses
or delays a bolus, so a cohort on insulin alone reached an HbA1c of ~6 % and ~91 % of the day in
range, better than the adults of any registry; a graft arm compared with it looked no better
than insulin. ``real-life`` dosing gives each meal's bolus the errors people make, with the
values of ``data/simulate/dosing.yaml`` (each sourced or labelled a modelling choice): a
carbohydrate estimate off by the person's lasting offset and the meal's own error, boluses
missed with a probability of the person's own, and late ones. The scenario's ``dosing`` names
which; ``exact`` is simglucose's and the default. ``hypo_treatment: rule-of-15`` has the patient
eat for a low as people are taught to (simglucose's patients leave every low untreated, which
the model, without counter-regulation, cannot survive once sensitivity varies from day to day).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from isletbase.simulate.devices import sample_minutes
from isletbase.simulate.scenario import Scenario
from isletbase.simulate.sourced import Rng, per_patient, sourced_data, sourced_value

DOSING_FILE = "dosing.yaml"
_value = partial(sourced_value, DOSING_FILE)


def dosing_data() -> dict[str, Any]:
    """The parsed ``dosing.yaml`` (carb_estimate, missed_bolus, late_bolus), with sources."""
    return sourced_data(DOSING_FILE)


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
        self.offset = per_patient(rng, n, "normal", 0.0, _value("carb_estimate", "person_error_sd"))
        self.miss = per_patient(rng, n, "beta", mean * concentration, (1 - mean) * concentration)

    def next_day(self) -> np.ndarray:
        """Grams dosed for after each sample of the next day, shape (patients, samples)."""
        meals = len(self.minutes)
        out = np.zeros((self.n, self.per_day))
        if not meals:
            return out
        error = per_patient(self.rng, self.n, "normal", 0.0, self.meal_sd, size=meals)
        missed = per_patient(self.rng, self.n, "random", size=meals) < self.miss
        late = per_patient(self.rng, self.n, "random", size=meals) < self.late
        e = np.clip(self.meal_mean + self.offset + error, -self.clip, self.clip)
        grams = np.where(missed, 0.0, self.grams * (1.0 + e))
        # a late bolus comes in the sample its minute falls in, the day's last at the latest
        minute = np.minimum(self.minutes + late * self.delay, 1439)
        np.add.at(out, (np.arange(self.n)[:, None], (minute // self.sample).astype(int)), grams)
        return out


def hypo_treatment(scenario: Scenario) -> tuple[float, float, float, float]:
    """How the patients of ``scenario`` treat a low, for ``devices.device_vector``: below
    mg/dL, grams a kilogram, most grams (a child eats for its weight, an adult 15 g), every
    minutes; ``hypo_treatment: none`` (the default) treats none."""
    if scenario.hypo_treatment != "rule-of-15":
        return (0.0, 0.0, 0.0, 0.0)
    return (
        _value("hypo_treatment", "below_mg_dl"),
        _value("hypo_treatment", "grams_per_kg"),
        _value("hypo_treatment", "grams"),
        _value("hypo_treatment", "recheck_min"),
    )


def dosing_for(scenario: Scenario, n: int, rng: Rng) -> RealLifeDosing | None:
    """The day-by-day dosing of ``n`` patients on ``scenario``: ``None`` where it is exact
    (``engine.advance_day`` then doses the meals themselves)."""
    if scenario.dosing != "real-life":
        return None
    return RealLifeDosing(scenario.meals_per_minute(), n, rng)
