"""A scenario's days as a cohort lives them: the same meals, and each day's sensor error,
meal-bolus dosing and insulin sensitivity drawn from the cohort's streams.

``simulate cohort`` (one stream per seed for the cohort) and a trial's shard (one stream per
patient) live their days the same way; only where the random numbers come from differs, so
both build a ``DailyLife`` from their streams and call ``day`` for each simulated day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from isletbase.simulate.devices import device_vector
from isletbase.simulate.dosing import dosing_for, hypo_treatment
from isletbase.simulate.endpoints import check_valid_range
from isletbase.simulate.engine import CohortState, DayTrace, advance_day
from isletbase.simulate.scenario import Scenario
from isletbase.simulate.sensor import SensorNoise
from isletbase.simulate.variability import sensitivity_for

#: One generator for the whole cohort, or one per patient (a trial's patient streams).
Streams = np.random.Generator | Sequence[np.random.Generator]


class DailyLife:
    """The days of ``state``'s patients on ``scenario``, simulated one by one (``day``).

    ``noise``, ``dosing`` and ``sensitivity`` are the streams of the sensor's error, the meal
    boluses (real-life dosing) and the day's insulin sensitivity; each is drawn only where the
    scenario asks for it. ``names`` name the patients in an out-of-range error.
    """

    def __init__(
        self,
        scenario: Scenario,
        state: CohortState,
        streams: tuple[Streams, Streams, Streams],
        names: Sequence[str],
        backend: str,
    ) -> None:
        noise, dosing, sensitivity = streams
        n = len(state)
        self.state, self.names, self.backend = state, names, backend
        self.meals = scenario.meals_per_minute()
        self.noise = SensorNoise(n, noise) if scenario.noise else None
        self.dosing = dosing_for(scenario, n, dosing)
        self.dev = device_vector(hypo_treatment(scenario))
        self.sensitivity = sensitivity_for(scenario, state.params, sensitivity)

    def day(
        self, where: str, graft: np.ndarray | None = None, scale: np.ndarray | None = None
    ) -> DayTrace:
        """One simulated day of every patient (``graft``: secreting mass fractions; ``scale``:
        fractions of the usual insulin), its glucose checked against the model's range
        (``where`` names the day in the error)."""
        if self.sensitivity:
            self.sensitivity.next_day()
        trace = advance_day(
            self.state,
            self.meals,
            self.noise.next_day() if self.noise else None,
            graft,
            scale,
            self.backend,
            self.dosing.next_day() if self.dosing else None,
            self.dev,
        )
        check_valid_range(trace.bg, where, self.names)
        return trace
