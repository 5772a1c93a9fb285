"""Simulator commands: ``simulate patient|cohort|trial|bench`` (virtual T1D patients, grafts)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from isletbase.cli.common import (
    DbOption,
    console,
    err_console,
    open_db,
    writable_file,
    writable_folder,
)

simulate_app = typer.Typer(
    help="In-silico trials: virtual T1D patients (UVA/Padova 2008) receiving a beta-cell graft.",
    no_args_is_help=True,
)

DaysOption = Annotated[
    int, typer.Option("--days", min=1, max=3650, help="Days to simulate (1 to 3650).")
]
ScenarioOption = Annotated[
    str, typer.Option("--scenario", help="Scenario YAML (a bare name uses the bundled one).")
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the sensor noise and of real-life dosing, 0 to 2**31 - 1."
    ),
]
BackendOption = Annotated[str, typer.Option("--backend", help="auto, numba or numpy.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Write the glucose plot to this .svg file.")
]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False))


def _run_cohort(patients: str, days: int, scenario: str, seed: int, backend: str):  # noqa: ANN202
    from isletbase.simulate.cohort import simulate_cohort
    from isletbase.simulate.scenario import load_scenario

    chosen = load_scenario(scenario)
    with _progress() as bar:
        task = bar.add_task("simulating days", total=days)
        return simulate_cohort(
            patients, days, chosen, seed, backend, lambda d: bar.update(task, completed=d)
        )


def _svg_plot(path: Path | None) -> None:
    """Check ``--plot`` before the run: a file that can be written, named .svg (the plot is
    SVG; a ``p.png`` got SVG text)."""
    if writable_file(path, "--plot") is not None and path.suffix.lower() != ".svg":
        raise typer.BadParameter(f"{path}: the glucose plot is SVG; name a .svg file")


def _write_plot(run, path: Path | None) -> None:  # noqa: ANN001 - CohortRun
    if path is not None:
        from isletbase.simulate.plots import glucose_svg

        path.write_text(glucose_svg(run), encoding="utf-8")
        err_console.print(f"plot written to {path}")


def _summary_table(rows: list[dict], title: str) -> Table:
    table = Table(title=escape(title))
    for col in rows[0]:
        table.add_column(col, justify="left" if col == "patient" else "right", overflow="fold")
    for row in rows:
        table.add_row(*(escape(str(v)) for v in row.values()))
    return table


@simulate_app.command("patient")
def patient(
    name: Annotated[str, typer.Option("--patient", help="e.g. adult#001")] = "adult#001",
    days: DaysOption = 1,
    scenario: ScenarioOption = "meals.yaml",
    seed: SeedOption = 0,
    backend: BackendOption = "auto",
    as_json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Simulate one virtual patient; --json prints the trace at the sensor's sample times."""
    _svg_plot(plot)
    run = _run_cohort(name, days, scenario, seed, backend)
    _write_plot(run, plot)
    if as_json:
        _print_json(run.patient(0))
        return
    console.print(_summary_table(run.summary(), f"{name}, {days} day(s)"))


@simulate_app.command("cohort")
def cohort(
    patients: Annotated[
        str, typer.Option("--patients", help="all, a group (adults) or names, comma separated.")
    ] = "all",
    days: DaysOption = 1,
    scenario: ScenarioOption = "meals.yaml",
    seed: SeedOption = 0,
    backend: BackendOption = "auto",
    as_json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Simulate many virtual patients at once (one array integration) and summarise each."""
    _svg_plot(plot)
    run = _run_cohort(patients, days, scenario, seed, backend)
    _write_plot(run, plot)
    if as_json:
        _print_json(run.to_dict())
        return
    console.print(_summary_table(run.summary(), f"{len(run.names)} patients, {days} day(s)"))


@simulate_app.command("trial")
def trial(
    design: Annotated[Path, typer.Option("--design", help="Trial design YAML.")],
    workers: Annotated[
        int, typer.Option("--workers", help="Dask worker processes (1 = this process).")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for result.json and plots.")
    ] = None,
    backend: BackendOption = "auto",
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the run.")] = True,
    db: Annotated[str | None, DbOption] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a virtual trial (arms, sample size, duration); store it and report endpoints."""
    from isletbase.simulate.engine import resolve_backend
    from isletbase.simulate.scale import run_trial_dask
    from isletbase.simulate.trial import run_trial

    if workers < 1:
        raise typer.BadParameter("--workers must be at least 1")
    writable_folder(out, "--out")
    backend = resolve_backend(backend)
    tic = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("trial shards", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if workers > 1:
            result = run_trial_dask(str(design), workers, backend, progress=progress)
        else:
            result = run_trial(str(design), backend, progress)
    seconds = time.perf_counter() - tic
    data = result.to_dict()
    if save:
        from isletbase.simulate.runs import save_run

        database = open_db(db)
        database.init()
        data["run_id"] = save_run(database, result, backend, seconds)
    if out is not None:
        from isletbase.simulate.plots import endpoint_svg, graft_mass_svg

        out.mkdir(parents=True, exist_ok=True)
        (out / "result.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        (out / "graft_mass.svg").write_text(graft_mass_svg(result), encoding="utf-8")
        for key in ("hba1c_pct", "tir_pct", "insulin_u_per_day"):
            (out / f"{key}.svg").write_text(endpoint_svg(result, key), encoding="utf-8")
        err_console.print(f"results and plots written to {out}/")
    if as_json:
        data.pop("curves")
        _print_json(data)
        return
    table = Table(title=escape(f"{result.design.name} — {seconds:.1f} s"))  # names as given
    for col in (
        "arm",
        "n",
        "HbA1c %",
        "TIR %",
        "<54 %",
        "insulin U/d",
        "indep. %",
        "Igls outcome",
        "Igls graft",
        "p",
        "power",
    ):
        table.add_column(col)
    for arm in data["arms"]:
        table.add_row(
            escape(arm["arm"]),
            str(arm["n"]),
            f"{arm['hba1c_pct']['mean']:.2f} ± {arm['hba1c_pct']['sd']:.2f}",
            f"{arm['tir_pct']['mean']:.1f}",
            f"{arm['below_54_pct']['mean']:.2f}",
            f"{arm['insulin_u_per_day']['mean']:.1f}",
            f"{arm['insulin_independent_pct']:.1f}",
            ", ".join(f"{k} {v}" for k, v in arm["igls_treatment_outcome"].items())
            or "— (no graft)",
            ", ".join(f"{k} {v}" for k, v in arm["igls_graft_function"].items()) or "—",
            str(arm.get("p_value_vs_first_arm", "—")),
            str(arm.get("power", "—")),
        )
    console.print(table)
    for note in data["notes"]:
        err_console.print(f"note: {note}", markup=False)
    if "run_id" in data:
        console.print(f"stored as run {data['run_id']}")


#: Most patient-days ``simulate bench`` runs at once (each patient's state is held in memory).
MAX_BENCH_PATIENT_DAYS = 10_000_000


@simulate_app.command("bench")
def bench(
    patients: Annotated[
        int, typer.Option("--patients", min=1, max=1_000_000, help="Cohort size timed here.")
    ] = 10_000,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days timed here.")] = 1,
    reference_days: Annotated[
        int,
        typer.Option("--reference-days", min=1, max=365, help="simglucose patient-days timed."),
    ] = 1,
    backend: BackendOption = "auto",
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON record here.")] = None,
) -> None:
    """Patient-days per second against simglucose in the same run, with RMS agreement."""
    from isletbase.simulate.bench import benchmark

    if patients * days > MAX_BENCH_PATIENT_DAYS:
        raise typer.BadParameter(
            f"--patients × --days is over {MAX_BENCH_PATIENT_DAYS:,} patient-days (memory)"
        )
    writable_file(out, "--out")
    record = benchmark(patients, days, reference_days, backend)
    text = json.dumps(record, indent=1)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    print(text)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` group to the ``isletbase`` command."""
    app.add_typer(simulate_app, name="simulate")
