"""Endpoint arithmetic against published pairs and hand-made traces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isletbase.simulate.endpoints import count_events, hba1c_from_mean_glucose, time_in_ranges


def test_adag_pairs_from_nathan_2008_table() -> None:
    # ADAG (Diabetes Care 2008;31:1473) Table: A1C 6% ~ eAG 126 mg/dL, 7% ~ 154, 8% ~ 183
    np.testing.assert_allclose(
        hba1c_from_mean_glucose(np.array([126, 154, 183])), [6, 7, 8], atol=0.02
    )


def test_events_need_fifteen_minutes_below_54() -> None:
    below = np.array(
        [[0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]], bool
    )
    np.testing.assert_array_equal(count_events(below, 5), [1, 0])


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_event_count_equals_a_plain_run_scan(bits: list[bool]) -> None:
    runs, length = 0, 0
    for b in [*bits, False]:
        if b:
            length += 1
        else:
            runs += length >= 3
            length = 0
    assert count_events(np.array([bits]), 3)[0] == runs


def test_time_in_ranges_partitions_the_day() -> None:
    cgm = np.array([[40.0, 60.0, 100.0, 180.0, 181.0, 250.0]])
    r = time_in_ranges(cgm)
    assert r["tir_pct"][0] == pytest.approx(100 / 3)
    assert r["below_54_pct"][0] == pytest.approx(100 / 6)
    assert r["below_70_pct"][0] + r["tir_pct"][0] + r["above_180_pct"][0] == pytest.approx(100)
