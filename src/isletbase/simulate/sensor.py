"""CGM sensor error for a cohort: simglucose's model, generated for every patient at once.

The error is an AR(1) process sampled every 15 min, mapped through a Johnson SU transform and
interpolated to the sensor's sample times (Breton & Kovatchev 2008; parameters in
``devices.yaml``). simglucose interpolates blocks of 10 knots with a cubic spline; we use Akima's
local cubic so that a day can be generated on its own and still join the next day exactly.
Sequences are reproducible from the generator's seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.interpolate import Akima1DInterpolator
from scipy.signal import lfilter

from isletbase.simulate.devices import devices, sample_minutes

_MARGIN = 3  # knots each side of a day: Akima on a knot interval looks at 3 neighbours each side


class SensorNoise:
    """Day-by-day CGM error (mg/dL) for ``n`` patients.

    ``rng`` is one generator shared by the cohort, or one generator per patient; with one each,
    a patient's error depends only on its own generator, not on the other patients.
    """

    def __init__(self, n: int, rng: np.random.Generator | Sequence[np.random.Generator]) -> None:
        cfg = devices()["sensor"]
        self.n = n
        self.rng = rng
        if not isinstance(rng, np.random.Generator) and len(rng) != n:
            raise ValueError(f"{len(rng)} random generators for {n} patients")
        self.pacf = float(cfg["PACF"])
        self.johnson = (cfg["xi"], cfg["lambda"], cfg["gamma"], cfg["delta"])
        self.interval = int(cfg["noise_interval_min"])
        self.per_day = 1440 // self.interval
        self._latent = self._normal(1)
        self._first_knot = -_MARGIN
        self._extend(self.per_day + 2 * _MARGIN)
        self.day = 0

    def _normal(self, count: int) -> np.ndarray:
        """Standard normal draws, shape (patients, count)."""
        if isinstance(self.rng, np.random.Generator):
            return self.rng.standard_normal((self.n, count))
        return np.stack([g.standard_normal(count) for g in self.rng]).reshape(self.n, count)

    def _extend(self, count: int) -> None:
        z = self._normal(count)
        zi = self.pacf * self._latent[:, -1:]
        more, _ = lfilter([self.pacf], [1.0, -self.pacf], z, axis=1, zi=zi)
        self._latent = np.concatenate([self._latent, more], axis=1)

    def next_day(self) -> np.ndarray:
        """The error at each sample time of the next day, shape (patients, samples per day)."""
        lo = self.day * self.per_day - _MARGIN
        hi = (self.day + 1) * self.per_day + _MARGIN
        have = self._first_knot + self._latent.shape[1] - 1
        if have < hi:
            self._extend(hi - have)
        cut = lo - self._first_knot
        self._latent = self._latent[:, cut:]
        self._first_knot = lo
        knots_t = np.arange(lo, hi + 1) * float(self.interval)
        xi, lam, gamma, delta = self.johnson
        eps = xi + lam * np.sinh((self._latent[:, : hi - lo + 1] - gamma) / delta)
        step = sample_minutes()
        t = 1440.0 * self.day + np.arange(step, 1441, step)
        self.day += 1
        return Akima1DInterpolator(knots_t, eps, axis=1)(t)
