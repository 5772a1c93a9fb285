"""A virtual person's insulin sensitivity from day to day (scenario ``sensitivity``).

simglucose's patients are the same person every day: on a fixed meal plan a patient whose
basal rate and ratios fit them has nothing to go wrong but the dosing, so a control arm on
insulin alone stayed better controlled than people are. In daily life the insulin a person
needs varies ~17 % from one day to the next (a closed loop's deliveries over 12 weeks, Ruan
et al. 2016). ``day-to-day`` multiplies each patient's Vmx and kp3 — the parameters through
which the UVA/Padova S2017 simulator varies insulin sensitivity — by a factor drawn each day,
with the values of ``data/simulate/variability.yaml`` (each sourced or labelled an
assumption). The person's basal rate and ratios stay as they were: they do not know the day's
sensitivity. ``fixed`` is simglucose's and the default.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from isletbase.errors import InputError
from isletbase.simulate.params import COLUMNS
from isletbase.simulate.scenario import Scenario
from isletbase.simulate.sourced import Rng, per_patient, sourced_data, sourced_value

VARIABILITY_FILE = "variability.yaml"
_value = partial(sourced_value, VARIABILITY_FILE, "insulin_sensitivity")


class DailySensitivity:
    """Day by day, the factor on each patient's insulin sensitivity, set into the model's
    parameters (``params``, patients × parameters, changed in place by ``next_day``).

    The factor is lognormal with mean 1 and the file's coefficient of variation; successive
    days' factors are correlated as the file says (an AR(1) of its logarithm), then clipped.
    """

    def __init__(self, params: np.ndarray, rng: Rng) -> None:
        names = sourced_data(VARIABILITY_FILE)["insulin_sensitivity"]["parameters"]["value"]
        self.columns = [COLUMNS.index(name) for name in names]
        self.params, self.rng = params, rng
        self.base = params[:, self.columns].copy()
        cv, self.rho = _value("day_to_day_cv"), _value("day_correlation")
        self.low, self.high = _value("clip_low"), _value("clip_high")
        if not (cv >= 0 and 0 <= self.rho < 1 and 0 < self.low <= 1 <= self.high):
            raise InputError(
                f"{VARIABILITY_FILE}: day_to_day_cv must be at least 0, day_correlation from 0 "
                f"to under 1, and clip_low ≤ 1 ≤ clip_high (above 0); got {cv}, {self.rho}, "
                f"{self.low} and {self.high}"
            )
        self.sigma = float(np.sqrt(np.log1p(cv**2)))
        self.z: np.ndarray | None = None  # the last day's standard-normal deviate

    def next_day(self) -> np.ndarray:
        """Draw the next day's factors (one a patient), set them into ``params`` and return
        them."""
        eps = per_patient(self.rng, len(self.base), "standard_normal")[:, 0]
        self.z = eps if self.z is None else self.rho * self.z + np.sqrt(1 - self.rho**2) * eps
        factor = np.clip(np.exp(self.sigma * self.z - 0.5 * self.sigma**2), self.low, self.high)
        self.params[:, self.columns] = self.base * factor[:, None]
        return factor


def sensitivity_for(scenario: Scenario, params: np.ndarray, rng: Rng) -> DailySensitivity | None:
    """The day-by-day sensitivity of the patients whose model parameters are ``params`` on
    ``scenario``: ``None`` where it is fixed."""
    if scenario.sensitivity != "day-to-day":
        return None
    return DailySensitivity(params, rng)
