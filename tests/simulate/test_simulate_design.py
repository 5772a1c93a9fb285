"""Trial designs: what is refused, with the field named, before anything is simulated."""

from __future__ import annotations

from pathlib import Path

import pytest

from isletbase.errors import InputError
from isletbase.simulate.design import MAX_SEED, parse_design
from isletbase.simulate.scenario import load_scenario
from isletbase.simulate.trial import run_trial

BASE = {
    "seed": 1,
    "days": 7,
    "sample_size": 2,
    "arms": [
        {"name": "control", "graft": None},
        {"name": "graft", "graft": {"regimen": "standard"}},
    ],
}


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**64])
def test_seeds_outside_0_to_2_pow_63_minus_1_are_refused_naming_the_seed(seed: int) -> None:
    with pytest.raises(InputError, match=r"seed"):
        parse_design({**BASE, "seed": seed})


def test_the_largest_seed_runs() -> None:
    result = run_trial(parse_design({**BASE, "seed": MAX_SEED, "stride_days": 7}))
    assert result.design.seed == MAX_SEED


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"population": {"groups": {"adult": INF}}}, "population.groups.adult"),
        ({"population": {"groups": {"adult": NAN}}}, "population.groups.adult"),
        ({"population": {"groups": {"adult": 1e308, "child": 1e308}}}, "population.groups"),
        ({"population": {"variability": {"Vmx": NAN}}}, "population.variability.Vmx"),
        ({"endpoints": {"alpha": NAN}}, "endpoints.alpha"),
        ({"arms": [{"name": "g", "graft": {"dose_cells": NAN}}]}, "arms.0.graft.dose_cells"),
        ({"arms": [{"name": "g", "graft": {"potency_cv": NAN}}]}, "arms.0.graft.potency_cv"),
        ({"arms": [{"name": "g", "graft": {"potency": INF}}]}, "arms.0.graft.potency"),
        (
            {"arms": [{"name": "g", "graft": {"engraft_probability": NAN}}]},
            "arms.0.graft.engraft_probability",
        ),
        ({"scenario": {"meals": [{"time": "07:00", "carbs_g": NAN}]}}, "meals.0.carbs_g"),
    ],
)
def test_nan_and_infinite_numbers_are_refused_naming_the_field(change: dict, named: str) -> None:
    with pytest.raises(InputError) as err:
        parse_design({**BASE, **change})
    assert named in str(err.value)
    assert "Igls" not in str(err.value)


SECRET = "top_secret_key: 1\nother: 2\n"


@pytest.mark.parametrize(
    "scenario",
    ["/etc/hostname", "/bin/ls", "/nonexistent", "../meals.yaml", "scenarios/meals.yaml", "nosuch"],
)
def test_designs_from_http_name_no_file_and_the_error_tells_nothing_about_files(
    scenario: str,
) -> None:
    with pytest.raises(InputError) as err:
        parse_design({**BASE, "scenario": scenario}, files=False)
    message = str(err.value)
    assert scenario not in message and "exist" not in message
    assert "bundled scenario (daily-life.yaml, meals.yaml)" in message


def test_a_yaml_file_named_over_http_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(SECRET)
    with pytest.raises(InputError) as err:
        parse_design({**BASE, "scenario": str(secret)}, files=False)
    assert "top_secret_key" not in str(err.value)


@pytest.mark.parametrize("name", ["meals.yaml", "meals"])
def test_designs_from_http_may_name_a_bundled_scenario(name: str) -> None:
    design = parse_design({**BASE, "scenario": name}, files=False)
    assert design.resolved_scenario() == load_scenario("meals.yaml")


def test_the_default_scenario_is_the_bundled_one_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "meals.yaml").write_text("meals: [{time: '03:00', carbs_g: 400}]\n")
    monkeypatch.chdir(tmp_path)
    assert [m.carbs_g for m in parse_design(BASE, files=False).resolved_scenario().meals] == [
        45,
        70,
        80,
    ]


def test_designs_from_files_still_name_scenario_files(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text("meals: [{time: '08:00', carbs_g: 30}]\n")
    design = parse_design({**BASE, "scenario": str(own)})
    assert design.resolved_scenario().meals[0].carbs_g == 30


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sample_size": True}, "sample_size"),  # YAML's true was 1 patient
        ({"days": 7.5}, "days"),
        ({"repeats": "2"}, "repeats"),
        ({"endpoints": {"window_days": False}}, "endpoints.window_days"),
    ],
)
def test_a_count_that_is_no_whole_number_is_refused_naming_it(change: dict, named: str) -> None:
    with pytest.raises(InputError) as err:
        parse_design({**BASE, **change})
    assert named in str(err.value)


def test_a_bundled_file_is_named_by_its_name_not_where_the_package_lies(tmp_path) -> None:
    """An error about the bundled daily-life.yaml named the server's install path."""
    from isletbase.simulate.scenario import BUNDLED_SCENARIOS, shown

    assert shown(BUNDLED_SCENARIOS / "daily-life.yaml") == "'scenarios/daily-life.yaml' (bundled)"
    mine = tmp_path / "mine.yaml"
    assert shown(mine) == repr(str(mine))  # a reader's own file, as they gave it
    mine.write_text("meals: 3\n")
    with pytest.raises(InputError, match=r"scenario '.*mine\.yaml': meals"):
        load_scenario(mine)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("days: 7\nsample_size: 2\nsample_size: 3\narms: [{name: a}]\n", "'sample_size'.*line 3"),
        ("days: 7\nsample_size: 2\narms:\n  - {name: a, name: b}\n", "'name'.*line 4"),
    ],
)
def test_a_key_given_twice_in_a_design_is_refused_naming_it(tmp_path, text, where) -> None:
    """YAML keeps the last of two silently: the run used a sample size the reader did not see."""
    from isletbase.simulate.design import load_design

    path = tmp_path / "twice.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=f"key {where}"):
        load_design(path)
