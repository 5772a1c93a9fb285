"""The evidence CLI as a user runs it: tables, --json machine interface, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isletbase.cli import main
from isletbase.evidence.outcomes import bundled_path

BCG = Path(__file__).parents[1] / "evidence" / "bcg.csv"


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pool_input_json_is_the_machine_interface(capsys) -> None:
    code, out, _ = run(
        capsys,
        "evidence",
        "pool",
        "--input",
        str(BCG),
        "--measure",
        "RR",
        "--method",
        "DL",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    for key in (
        "measure",
        "method",
        "k",
        "estimate",
        "ci_low",
        "ci_high",
        "se",
        "tau2",
        "i2",
        "q",
        "pi_low",
        "pi_high",
        "log_estimate",
    ):
        assert key in data
    assert data["k"] == 13 and data["estimate"] == pytest.approx(0.4896, abs=1e-4)
    assert data["egger"]["k"] == 13


def test_pool_bundled_outcome_writes_forest_and_funnel(capsys, tmp_path: Path) -> None:
    forest, funnel = tmp_path / "forest.svg", tmp_path / "funnel.png"
    code, out, _ = run(
        capsys,
        "evidence",
        "pool",
        "--outcome",
        "glycaemic_response",
        "--condition",
        "T2D",
        "--plot",
        str(forest),
        "--funnel",
        str(funnel),
    )
    assert code == 0 and "pooled" in out
    svg = forest.read_text()
    assert svg.startswith("<?xml") and "Zang 2022" in svg and "Bhansali 2014b" in svg
    assert "Zang 2023" not in svg  # it may count Zang 2022's patients
    assert funnel.read_bytes()[:4] == b"\x89PNG"
    # two studies give no prediction interval; the 13 BCG trials do, and the plot draws it
    args = ("--input", str(BCG), "--measure", "RR", "--plot", str(forest))
    code, _, _ = run(capsys, "evidence", "pool", *args)
    assert code == 0 and "Prediction interval" in forest.read_text()


def test_bad_input_row_is_one_line_and_exit_2(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,mean_treated,sd_treated,n_treated,mean_control,sd_control,n_control\n"
        "A,1,1,10,2,1,10\nB,1,,10,2,1,10\n"
    )
    code, out, err = run(capsys, "evidence", "pool", "--input", str(bad), "--measure", "MD")
    assert code == 2
    assert "row 2 (B): field 'sd_treated' is missing" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_record_filters_with_an_input_file_are_refused_not_ignored(capsys) -> None:
    """`--input F --outcome hba1c --condition T1D` pooled the whole file without a word."""
    code, _, err = run(
        capsys, "evidence", "pool", "--input", str(BCG), "--measure", "RR", "--condition", "T1D"
    )
    assert code == 2 and "--condition is for the bundled records, not for a file's studies" in err


def test_unknown_measure_exits_2(capsys) -> None:
    code, _, err = run(capsys, "evidence", "pool", "--input", str(BCG), "--measure", "HR")
    assert code == 2 and "unknown measure 'HR'" in err


def test_igls_and_cases(capsys) -> None:
    code, out, _ = run(
        capsys,
        "evidence",
        "igls",
        "--hba1c",
        "6.4",
        "--severe-hypos",
        "0",
        "--insulin-reduction",
        "100",
        "--c-peptide",
        "0.5",
        "--json",
    )
    assert code == 0 and json.loads(out)["treatment_outcome"] == "optimal"
    code, out, _ = run(capsys, "cases", "--json")
    assert code == 0 and len(json.loads(out)) >= 8
    everything = json.loads(out)
    code, out, _ = run(
        capsys, "cases", "", "--json"
    )  # a script's empty variable: all (was ambiguous)
    assert code == 0 and json.loads(out) == everything
    code, _, err = run(capsys, "cases", "nonexistent")
    assert code == 2 and "cases:" in err


def test_list_filters(capsys) -> None:
    code, out, _ = run(
        capsys, "evidence", "list", "--condition", "T2D", "--cell-source", "UC-MSC", "--json"
    )
    rows = json.loads(out)
    assert code == 0 and rows and all(r["condition"] == "T2D" for r in rows)


def test_pool_tables_show_leave_one_out_and_subgroups(capsys) -> None:
    """Both were computed and printed only with --json: the table showed neither."""
    code, out, _ = run(capsys, "evidence", "pool", "--input", str(BCG), "--measure", "RR",
                       "--leave-one-out")  # fmt: skip
    assert code == 0
    assert "leave one out" in out and out.count("│ 12 │") == 13
    # a file's studies name no cell source: --by found none and said so, exit 0; refused now
    code, _, err = run(capsys, "evidence", "pool", "--input", str(BCG), "--measure", "RR",
                       "--by", "cell_source")  # fmt: skip
    assert code == 2 and "--by is for the bundled records" in err
    code, out, _ = run(capsys, "evidence", "pool", "--outcome", "hba1c", "--by", "cell_source")
    assert code == 0 and "one study: not pooled" in out


def test_list_shows_a_mean_reported_without_its_sd_and_the_unit(capsys, monkeypatch) -> None:
    """Couri 2009's 785.4 was shown as "see note", and a % reduction as a bare number."""
    from isletbase.cli.common import console

    monkeypatch.setattr(console, "width", 400)  # one line a record
    code, out, _ = run(capsys, "evidence", "list", "--outcome", "c_peptide_auc")
    assert code == 0 and "785.4 (no SD) ng/mL per 2 h (MMTT AUC)" in out


def test_list_and_pool_read_the_database_s_outcomes_once_an_update_stored_any(
    capsys, db, tmp_path, monkeypatch
) -> None:
    """They read the bundled file alone, whatever ``evidence update`` had stored."""
    monkeypatch.chdir(tmp_path)  # no ./isletbase.db: the bundled records, as before
    code, out, _ = run(capsys, "evidence", "list", "--json")
    bundled = {o["id"] for o in json.loads(out)}
    assert code == 0 and "hu-2016-hba1c-36m" in bundled
    rows = [json.loads(line) for line in bundled_path().read_text().splitlines()]
    curated = tmp_path / "outcomes.jsonl"
    curated.write_text("\n".join(json.dumps(r) for r in rows if r["id"] != "hu-2016-hba1c-36m"))
    assert run(capsys, "evidence", "update", "--outcomes", str(curated), "--withdraw-missing",
               "--db", db.url)[0] == 0  # fmt: skip
    code, out, _ = run(capsys, "evidence", "list", "--json", "--db", db.url)
    assert code == 0 and {o["id"] for o in json.loads(out)} == bundled - {"hu-2016-hba1c-36m"}
    pooled = ("evidence", "pool", "--outcome", "hba1c", "--condition", "T2D", "--json")
    stored = json.loads(run(capsys, *pooled, "--db", db.url)[1])
    assert "hu-2016-hba1c-36m" not in {e["outcome"] for e in stored["excluded"]}
    bundled_pool = json.loads(run(capsys, *pooled)[1])
    assert "hu-2016-hba1c-36m" in {e["outcome"] for e in bundled_pool["excluded"]}
