"""A standing pool's caveat states numbers: they are recomputed here from the bundled records, so
the caveat cannot go stale as the records change (a reviewer found the HbA1c pool's significance
rested on the most favourable of Skyler 2015's three dose arms, said nowhere a reader looked)."""

from __future__ import annotations

import re

import pytest

from isletbase.evidence.outcomes import load_outcomes
from isletbase.evidence.pools import PoolSpec, pool_specs

SPECS = {spec.name: spec for spec in pool_specs()}


def _numbers(text: str) -> list[str]:
    return re.findall(r"−?\d+(?:\.\d+)?", text)


def _interval(spec: PoolSpec, outcomes=None) -> tuple[float, float, float, float]:
    result = spec.run(outcomes)
    return (
        result.natural(result.estimate),
        result.natural(result.ci_low),
        result.natural(result.ci_high),
        result.p_value,
    )


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=list(SPECS))
def test_every_standing_pool_says_what_to_weigh_in_both_languages(spec: PoolSpec) -> None:
    assert spec.caveat and spec.caveat_zh
    # the same numbers in both languages
    assert _numbers(spec.caveat) == _numbers(spec.caveat_zh)


def test_the_hba1c_pool_states_its_least_favourable_arm_and_hartung_knapp_as_computed() -> None:
    spec = SPECS["t2d-hba1c-md"]
    rows = load_outcomes()
    assert any(r.id == "skyler-2015-hba1c-2-8m" and r.contrast_mean == -0.3 for r in rows)
    worst = [
        r.model_copy(update={"contrast_mean": 0.0}) if r.id == "skyler-2015-hba1c-2-8m" else r
        for r in rows
    ]
    estimate, low, high, p = _interval(spec, worst)
    said = f"−{-estimate:.2f} % (95% CI −{-low:.2f} to {high:.2f}, p = {p:.2f})"
    assert said in spec.caveat
    _, low, high, p = _interval(spec.model_copy(update={"hk": True}))
    assert f"95% CI is −{-low:.2f} to {high:.2f} (p = {p:.2f})" in spec.caveat


def test_the_response_pool_states_its_hartung_knapp_interval_as_computed() -> None:
    spec = SPECS["t2d-glycaemic-response-rr"]
    _, low, high, p = _interval(spec.model_copy(update={"hk": True}))
    assert f"95% CI is {low:.2g} to {high:.0f} (p = {p:.2f})" in spec.caveat
