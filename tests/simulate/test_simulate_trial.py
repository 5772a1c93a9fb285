"""Virtual trials: determinism across processes, the stride shortcut, stored runs, the API."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from isletbase.api import create_app
from isletbase.simulate.design import parse_design
from isletbase.simulate.runs import list_runs, save_run
from isletbase.simulate.scale import run_trial_dask
from isletbase.simulate.trial import run_trial

SMALL = {
    "name": "small",
    "seed": 4,
    "days": 60,
    "sample_size": 6,
    "shard_size": 3,
    "population": {"groups": {"adult": 1, "adolescent": 1}, "variability": {"Vmx": 0.2}},
    "arms": [
        {"name": "control", "graft": None},
        {"name": "hypoimmune", "graft": {"regimen": "hypoimmune", "dose_cells": 1.2e9}},
    ],
}


def test_dask_run_equals_single_process_run() -> None:
    design = parse_design(SMALL)
    here = run_trial(design)
    there = run_trial_dask(design, workers=2)
    assert here.endpoints.keys() == there.endpoints.keys()
    for key, values in here.endpoints.items():
        for name, array in values.items():
            np.testing.assert_array_equal(array, there.endpoints[key][name], err_msg=name)
    assert here.to_dict()["arms"] == there.to_dict()["arms"]


def test_graft_arm_reduces_insulin_and_control_does_not() -> None:
    result = run_trial(parse_design(SMALL))
    control, graft = result.arm_summary(0), result.arm_summary(1)
    assert control["insulin_reduction_pct"]["mean"] < 5
    assert graft["insulin_reduction_pct"]["mean"] > 50
    assert graft["graft_fraction"]["mean"] > 0.5


def test_weekly_stride_stays_close_to_daily_simulation() -> None:
    daily = run_trial(parse_design(SMALL))
    weekly = run_trial(parse_design({**SMALL, "stride_days": 7}))
    for arm in (0, 1):
        a, b = daily.endpoints[(0, arm)], weekly.endpoints[(0, arm)]
        assert abs(a["hba1c_pct"].mean() - b["hba1c_pct"].mean()) < 0.1
        assert abs(a["tir_pct"].mean() - b["tir_pct"].mean()) < 3


def test_repeated_trials_give_a_power_between_0_and_1() -> None:
    result = run_trial(parse_design({**SMALL, "days": 21, "repeats": 3, "stride_days": 7}))
    assert 0.0 <= result.power(1) <= 1.0
    p_values = {result.p_value(1, r) for r in range(3)}
    assert len(p_values) >= 1


def test_runs_are_stored_and_listed(db) -> None:  # noqa: ANN001
    design = parse_design({**SMALL, "days": 7})
    result = run_trial(design)
    run_id = save_run(db, result, "numpy", 1.5)
    runs = list_runs(db)
    assert runs[0]["id"] == run_id
    assert runs[0]["arms"][1]["arm"] == "hypoimmune"
    assert runs[0]["design"]["seed"] == 4


def test_api_runs_a_small_design_and_refuses_a_big_one(db) -> None:  # noqa: ANN001
    client = TestClient(create_app(db))
    small = {**SMALL, "days": 14, "stride_days": 7}
    response = client.post("/api/simulate", json=small)
    assert response.status_code == 200, response.text
    assert [a["arm"] for a in response.json()["arms"]] == ["control", "hypoimmune"]
    big = {**SMALL, "days": 3650, "sample_size": 1000}
    refused = client.post("/api/simulate", json=big)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "limit" in refused.json()["detail"]
    bad = client.post("/api/simulate", json={**small, "days": -1})
    assert bad.status_code == 400 and "days" in bad.json()["detail"]
    listed = client.get("/api/simulate/runs").json()
    assert listed[0]["name"] == "small"
