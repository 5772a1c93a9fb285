"""Sensor, pump, controller and eating constants (``data/simulate/devices.yaml``) as one array."""

from __future__ import annotations

from typing import Any

import numpy as np

from isletbase.simulate.sourced import sourced_data


def devices() -> dict[str, Any]:
    """The parsed ``devices.yaml`` (sensor, pump, controller, patient sections)."""
    return sourced_data("devices.yaml")


def device_vector(
    treatment: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> np.ndarray:
    """The constants ``patient.run_day`` reads, in its ``DEV_*`` order: the devices', then
    how the patient treats a low (``treatment``: below mg/dL, grams a kilogram, most grams,
    every minutes; the default treats none, as simglucose)."""
    d = devices()
    return np.array(
        [
            d["controller"]["target_mg_dl"],
            d["controller"]["correction_above_mg_dl"],
            d["pump"]["increment_pmol_per_min"],
            d["pump"]["max_bolus_u_per_min"],
            d["pump"]["max_basal_u_per_min"],
            d["sensor"]["min_mg_dl"],
            d["sensor"]["max_mg_dl"],
            d["patient"]["eat_rate_g_per_min"],
            *treatment,
        ]
    )


def sample_minutes() -> int:
    """Minutes between sensor samples (and controller decisions)."""
    return int(devices()["sensor"]["sample_time_min"])
