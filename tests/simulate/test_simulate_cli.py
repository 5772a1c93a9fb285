"""The ``simulate`` commands as a user runs them, including the bad-input contract (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isletbase.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_patient_json_prints_the_trace_at_sensor_times(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["simulate", "patient", "--patient", "adult#001", "--days", "1", "--json"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"time_min", "bg_mg_dl", "cgm_mg_dl", "insulin_u_per_min"}
    assert len(data["time_min"]) == len(data["bg_mg_dl"]) == len(data["insulin_u_per_min"]) == 481
    assert data["time_min"][1] - data["time_min"][0] == 3


def test_noisy_scenario_is_reproducible_for_a_seed(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    scenario = tmp_path / "noisy.yaml"
    scenario.write_text(
        "start: '2024-05-01T06:00:00'\nmeals: [{time: '07:00', carbs_g: 40}]\n"
        "controller: basal-bolus\nnoise: true\n"
    )
    args = ["simulate", "patient", "--scenario", str(scenario), "--seed", "3", "--json"]
    first = json.loads(run(args, capsys)[1])
    second = json.loads(run(args, capsys)[1])
    other = json.loads(run([*args[:-3], "--seed", "4", "--json"], capsys)[1])
    assert first["cgm_mg_dl"] == second["cgm_mg_dl"]
    assert first["cgm_mg_dl"] != other["cgm_mg_dl"]
    assert first["bg_mg_dl"] != first["cgm_mg_dl"]


def _design(tmp_path: Path, text: str) -> str:
    path = tmp_path / "design.yaml"
    path.write_text(text)
    return str(path)


GOOD = """
days: 30
sample_size: 4
arms:
  - {name: control, graft: null}
  - {name: graft, graft: {regimen: standard, dose_cells: 8.0e+8}}
"""


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace("dose_cells: 8.0e+8", "dose_cells: -5"), "arms.1.graft.dose_cells"),
        (GOOD.replace("days: 30", "days: 0"), "days"),
        (GOOD + "population: {groups: {adult#077: 1}}\n", "adult#077"),
        (GOOD.replace("regimen: standard", "regimen: magic"), "arms.1.graft.regimen"),
        ("days: [1,\n  sample_size: 3\n", "malformed YAML"),
    ],
)
def test_bad_designs_exit_2_naming_the_field(tmp_path, capsys, text: str, named: str) -> None:  # noqa: ANN001
    code, _, err = run(
        ["simulate", "trial", "--design", _design(tmp_path, text), "--no-save"], capsys
    )
    assert code == 2
    assert named in err
    assert "Traceback" not in err


def test_bad_patient_and_days_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["simulate", "patient", "--patient", "adult#099"], capsys)
    assert code == 2 and "adult#099" in err
    code, _, err = run(["simulate", "cohort", "--days", "0"], capsys)
    assert code == 2 and "days" in err


def test_trial_writes_results_and_plots(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "results"
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    code, stdout, _ = run(
        [
            "simulate",
            "trial",
            "--design",
            _design(tmp_path, GOOD),
            "--out",
            str(out),
            "--db",
            db,
            "--json",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(stdout)
    assert [a["arm"] for a in data["arms"]] == ["control", "graft"]
    assert data["run_id"] == 1
    assert (out / "graft_mass.svg").read_text().startswith("<?xml")
    assert json.loads((out / "result.json").read_text())["arms"] == data["arms"]


def _scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return str(path)


def test_cohort_without_insulin_is_refused_not_reported(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    # before: mean glucose 11,156 mg/dL and HbA1c 390% were printed
    scenario = _scenario(tmp_path, "meals: [{time: '07:00', carbs_g: 45}]\ncontroller: none\n")
    code, out, err = run(
        ["simulate", "cohort", "--days", "7", "--scenario", scenario, "--json"], capsys
    )
    assert code == 2 and out == ""
    assert "controller 'none'" in err and "Traceback" not in err


def test_glucose_beyond_the_models_range_exits_2(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    meals = "[{time: '07:00', carbs_g: 300}, {time: '12:00', carbs_g: 500}]"
    scenario = _scenario(tmp_path, f"meals: {meals}\n")
    code, out, err = run(
        ["simulate", "cohort", "--days", "2", "--scenario", scenario, "--json"], capsys
    )
    assert code == 2 and out == ""
    assert "valid range" in err and "Traceback" not in err


@pytest.mark.parametrize("seed", ["-1", str(2**31)])
def test_seed_out_of_range_exits_2(capsys, seed: str) -> None:  # noqa: ANN001
    code, _, err = run(["simulate", "patient", "--seed", seed], capsys)
    assert code == 2 and "seed" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD + "seed: -1\n", "seed"),
        (GOOD + "seed: 9223372036854775808\n", "seed"),
        (GOOD.replace("dose_cells: 8.0e+8", "dose_cells: .nan"), "arms.1.graft.dose_cells"),
        (GOOD + "population: {groups: {adult: .inf}}\n", "population.groups.adult"),
    ],
)
def test_bad_seeds_and_numbers_in_designs_exit_2(tmp_path, capsys, text: str, named: str) -> None:  # noqa: ANN001
    code, _, err = run(
        ["simulate", "trial", "--design", _design(tmp_path, text), "--no-save"], capsys
    )
    assert code == 2 and named in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "trial", "--design", "{design}", "--out", "{file}"], "is a file"),
        (["simulate", "bench", "--patients", "10", "--out", "{tmp}"], "is a folder"),
        (["simulate", "cohort", "--plot", "{tmp}/no/such/g.svg"], "there is no folder"),
        (["simulate", "patient", "--plot", "{tmp}"], "is a folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, capsys, monkeypatch, args, message
) -> None:  # noqa: ANN001
    """A trial of minutes ran to its end and only then failed on --out (and was stored, its id
    never shown)."""
    from isletbase.simulate import bench, cohort, trial

    def never(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the run started")

    for module, name in ((trial, "run_trial"), (bench, "benchmark"), (cohort, "simulate_cohort")):
        monkeypatch.setattr(module, name, never)
    file = tmp_path / "taken.txt"
    file.write_text("x")
    db = tmp_path / "runs.db"
    values = {"design": _design(tmp_path, GOOD), "file": file, "tmp": tmp_path}
    code, _, err = run(
        [a.format(**values) for a in args] + ["--db", f"sqlite:///{db}"] * (args[1] == "trial"),
        capsys,
    )
    assert code == 2 and message in err and "--" in err.split(":")[1]
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "patient", "--plot", "{tmp}/p.png"], "name a .svg file"),
        (["simulate", "patient", "--days", "100000"], "--days"),
    ],
)
def test_a_plot_not_named_svg_and_days_past_ten_years_are_refused(
    tmp_path: Path, capsys, args, message
) -> None:  # noqa: ANN001
    """--plot p.png got SVG text; --days 100000 ran past two minutes."""
    code, _, err = run([a.format(tmp=tmp_path) for a in args], capsys)
    assert code == 2 and message in err
    assert not (tmp_path / "p.png").exists()


def test_a_patient_named_in_capitals_is_that_patient(capsys) -> None:  # noqa: ANN001
    code, out, _ = run(["simulate", "patient", "--patient", "ADULT#001", "--json"], capsys)
    assert code == 0 and len(json.loads(out)["bg_mg_dl"]) == 481


def test_a_folder_for_a_design_and_children_as_a_group_are_understood(tmp_path) -> None:
    """A folder given as the design was said not to exist; "children" was refused where
    "adults" was taken."""
    from isletbase.errors import InputError
    from isletbase.simulate.design import load_design
    from isletbase.simulate.params import resolve_names

    with pytest.raises(InputError, match="is a folder"):
        load_design(tmp_path)
    assert (
        resolve_names("children") == resolve_names("child") and len(resolve_names("children")) == 10
    )
