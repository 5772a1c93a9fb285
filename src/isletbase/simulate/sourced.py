"""Model values read from the data files that give each its source, and the per-patient
random draws they parameterise.

``graft.yaml``, ``dosing.yaml`` and ``variability.yaml`` hold sections of entries, each a
``value`` with its ``kind`` (published, derived or assumption) and source; the model reads only
the values. Draws are made per patient from each patient's own generator (a trial's streams) or
from one generator shared by a cohort, so a patient's draws depend only on its own generator
where it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from isletbase.simulate.params import DATA
from isletbase.simulate.scenario import read_yaml

#: One generator for a whole cohort, or one per patient.
Rng = np.random.Generator | Sequence[np.random.Generator]


@cache
def sourced_data(name: str) -> dict[str, Any]:
    """The parsed ``data/simulate/<name>``, read once: the model values' files, and the
    devices' and endpoints' definitions (every file of the folder read one way)."""
    return read_yaml(str(DATA / name), "model values")


def sourced_value(name: str, section: str, key: str) -> float:
    """The ``value`` of entry ``key`` of ``section`` in ``data/simulate/<name>``."""
    return float(sourced_data(name)[section][key]["value"])


def per_patient(rng: Rng, n: int, draw: str, *args: float, size: int = 1) -> np.ndarray:
    """``size`` draws of ``draw`` (a ``Generator`` method) per patient, shape (patients, size):
    from one generator shared by the cohort, or from each patient's own (as ``SensorNoise``),
    so that a patient's draws depend only on its own generator."""
    if isinstance(rng, np.random.Generator):
        return getattr(rng, draw)(*args, size=(n, size))
    if len(rng) != n:
        raise ValueError(f"{len(rng)} random generators for {n} patients")
    return np.stack([getattr(g, draw)(*args, size=size) for g in rng]).reshape(n, size)
