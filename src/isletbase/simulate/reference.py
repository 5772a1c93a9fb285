"""Run simglucose 0.2.11 on a scenario, as the independent reference for agreement and speed.

simglucose is a test-only dependency (``pip install isletbase[test]``); this module imports it
only when called. The sensor's noise is switched off by zeroing the Johnson transform's scale
and offset, so the basal–bolus controller sees the true subcutaneous glucose, as in ours.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from isletbase.errors import InputError


@dataclass
class ReferenceRun:
    """simglucose's trace: ``time_min``, ``bg`` (its "BG" = Gs/Vg), ``cgm``, ``insulin``."""

    patient: str
    time_min: np.ndarray
    bg: np.ndarray
    cgm: np.ndarray
    insulin: np.ndarray
    seconds: float


def run_simglucose(
    patient: str,
    meals: list[tuple[int, float]],
    days: float = 1.0,
    controller: str = "basal-bolus",
    start: datetime | None = None,
) -> ReferenceRun:
    """simglucose's ``SimObj.simulate`` for ``patient`` with meals ``(minute from start, g)``.

    Uses the Dexcom sensor without noise, the Insulet pump and ``BBController`` (or no insulin
    for ``controller="none"``); ``seconds`` is the wall time of ``simulate()`` alone.
    """
    try:
        import pandas as pd
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.controller.base import Action, Controller
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import SENSOR_PARA_FILE, CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario import CustomScenario
        from simglucose.simulation.sim_engine import SimObj
    except ImportError as exc:  # pragma: no cover - the test extra is installed in CI
        raise InputError("the simglucose reference needs `pip install simglucose==0.2.11`") from exc

    class _NoInsulin(Controller):
        def __init__(self) -> None:
            super().__init__(init_state=None)

        def policy(self, observation, reward, done, **info):  # noqa: ANN001, ANN201
            return Action(basal=0.0, bolus=0.0)

        def reset(self) -> None:
            pass

    logging.getLogger("simglucose").setLevel(logging.WARNING)
    start = start or datetime(2018, 1, 1)
    table = pd.read_csv(SENSOR_PARA_FILE)
    table.loc[table.Name == "Dexcom", ["lambda", "xi"]] = 0.0
    sensor_params = table.loc[table.Name == "Dexcom"].squeeze()
    sensor = CGMSensor(sensor_params, seed=1)
    scenario = CustomScenario(
        start_time=start, scenario=[(timedelta(minutes=int(t)), float(g)) for t, g in meals]
    )
    env = T1DSimEnv(T1DPatient.withName(patient), sensor, InsulinPump.withName("Insulet"), scenario)
    ctrl = BBController() if controller == "basal-bolus" else _NoInsulin()
    sim = SimObj(env, ctrl, timedelta(days=days), animate=False)
    tic = time.perf_counter()
    sim.simulate()
    seconds = time.perf_counter() - tic
    hist = env.show_history()
    minutes = (hist.index - hist.index[0]).total_seconds().to_numpy() / 60.0
    insulin = hist["insulin"].to_numpy(dtype=float)
    return ReferenceRun(
        patient,
        minutes,
        hist["BG"].to_numpy(dtype=float),
        hist["CGM"].to_numpy(dtype=float),
        insulin,
        seconds,
    )
