"""Evidence commands: ``evidence list|pool|igls|update`` and the top-level ``cases``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from isletbase.cli.common import DbOption, console, open_db
from isletbase.evidence.cases import get_case, load_cases
from isletbase.evidence.igls import IglsInput, classify
from isletbase.evidence.outcomes import OUTCOMES, Outcome, select

if TYPE_CHECKING:
    from isletbase.evidence.meta import PoolResult

# Pooling and plotting (PyMARE, statsmodels, scipy, matplotlib) are imported by the commands
# that pool or plot: imported here, every command of the CLI, --help too, took ~2.3 s more
# to start.

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ConditionOption = Annotated[str | None, typer.Option("--condition", help="T1D or T2D")]
CellOption = Annotated[
    str | None, typer.Option("--cell-source", help="e.g. UC-MSC, WJ-MSC, BM-MNC, AHSCT")
]

evidence_app = typer.Typer(
    help="What stem-cell therapy has shown for diabetes: sourced outcomes, pooled effects, Igls.",
    no_args_is_help=True,
)


def _outcomes(url: str | None) -> list[Outcome]:
    """The outcome records to list or pool: the database's once ``evidence update`` stored
    any, else the bundled file's (also where there is no database: these commands need none)."""
    from isletbase.evidence.living import current_outcomes

    database = open_db(url)
    return current_outcomes(database if database.is_initialised() else None)


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


@evidence_app.command("list")
def list_outcomes(
    condition: ConditionOption = None,
    cell_source: CellOption = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help=f"one of: {', '.join(OUTCOMES)}")
    ] = None,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """List published outcome records, as reported, with their sources (the database's once
    'evidence update' stored any, else the bundled ones)."""
    chosen = select(_outcomes(db), condition=condition, cell_source=cell_source, outcome=outcome)
    if as_json:
        _print_json([o.model_dump(mode="json") for o in chosen])
        return
    table = Table(title=f"{len(chosen)} outcome records, {len({o.study for o in chosen})} studies")
    for col in ("study", "design", "cond.", "cells", "outcome", "n (T/C)", "reported", "source"):
        table.add_column(col, overflow="fold")
    for o in chosen:
        table.add_row(
            o.study,
            o.design,
            o.condition,
            o.cell_source,
            o.outcome + (f" @{o.timepoint_months:g} mo" if o.timepoint_months is not None else ""),
            f"{o.n_treated or '–'}/{o.n_control or '–'}",
            _reported(o),
            o.citation,
        )
    console.print(table)


def _reported(o) -> str:  # noqa: ANN001 - Outcome
    if o.events_treated is not None or o.value("events_treated") is not None:
        t, c = o.value("events_treated"), o.value("events_control")
        derived = " (derived)" if o.events_treated is None else ""
        return (
            f"{t:g}/{o.value('n_treated') or '?'} vs "
            + (f"{c:g}/{o.value('n_control') or '?'}" if c is not None else "–")
            + derived
        )
    unit = f" {o.unit}" if o.unit else ""
    if o.treated_mean is not None:
        ctrl = f" vs {_mean(o.control_mean, o.control_sd)}" if o.control_mean is not None else ""
        return f"{_mean(o.treated_mean, o.treated_sd)}{ctrl}{unit}"
    if o.contrast_mean is not None:
        return f"diff {o.contrast_mean} (SE {o.contrast_se}){unit}"
    if o.change_mean is not None:
        return f"change {o.change_mean}{unit}"
    if o.median_treated is not None:
        return f"median {o.median_treated}{unit}"
    return "see note"


def _mean(mean: float, sd: float | None) -> str:
    """A mean as reported: with its SD, or saying there was none (a mean without one was shown
    as "see note", though the record holds it)."""
    return f"{mean}±{sd}" if sd is not None else f"{mean} (no SD)"


@evidence_app.command("pool")
def pool_command(
    outcome: Annotated[str | None, typer.Option("--outcome", help="outcome to pool")] = None,
    condition: ConditionOption = None,
    cell_source: CellOption = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="CSV/JSON of studies: study + mean/sd/n per arm (MD, SMD), events/n per arm "
            "(RR, OR) or yi, vi.",
        ),
    ] = None,
    measure: Annotated[str | None, typer.Option("--measure", help="MD, SMD, RR or OR")] = None,
    method: Annotated[str, typer.Option("--method", help="FE, DL or REML")] = "REML",
    hk: Annotated[bool, typer.Option("--hk", help="Hartung–Knapp interval (t, k−1 df)")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="write a forest plot (.svg/.png)")
    ] = None,
    funnel: Annotated[
        Path | None, typer.Option("--funnel", help="write a funnel plot (.svg/.png)")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="subgroups by cell_source or condition")
    ] = None,
    loo: Annotated[
        bool, typer.Option("--leave-one-out", help="leave each study out in turn")
    ] = False,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Pool studies by fixed or random effects (DL, REML; optional Hartung–Knapp): a file's,
    or the outcome records 'evidence list' shows."""
    from isletbase.evidence.dataset import read_input
    from isletbase.evidence.forest import forest_figure, funnel_figure, save
    from isletbase.evidence.meta import egger_test, leave_one_out, pool, subgroups
    from isletbase.evidence.pools import outcome_dataset

    if input_file is not None:
        if measure is None:
            raise typer.BadParameter("--measure is required with --input", param_hint="--measure")
        ignored = [
            name
            for name, value in (
                ("--outcome", outcome), ("--condition", condition), ("--cell-source", cell_source),
                ("--by", by),
            )
            if value is not None
        ]  # fmt: skip
        if ignored:  # they choose among the bundled records; a file's studies are pooled whole
            raise typer.BadParameter(
                f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} for the bundled "
                "records, not for a file's studies, which are pooled as the file gives them "
                "(--by found no subgroup in one)",
                param_hint="--input",
            )
        data = read_input(input_file, measure)
    elif outcome is not None:
        data = outcome_dataset(
            outcome,
            condition=condition,
            cell_source=cell_source,
            measure=measure,
            outcomes=_outcomes(db),
        )
    else:
        raise typer.BadParameter(  # not "Invalid value for --outcome": none was given
            "give --outcome (to pool the bundled records) or --input FILE",
            param_hint="--outcome or --input",
        )
    result = pool(data, method, hk)
    extra: dict = {}
    if by:
        if by not in ("cell_source", "condition"):
            raise typer.BadParameter("expected cell_source or condition", param_hint="--by")
        extra["subgroups"] = {
            k: (v.to_dict() if v else None) for k, v in subgroups(data, by, method, hk).items()
        }
    if loo:
        extra["leave_one_out"] = [
            {"omitted": s.label, **_summary(r)}
            for s, r in zip(data.studies, leave_one_out(data, method, hk), strict=True)
        ]
    egger = egger_test(data)
    if egger:
        extra["egger"] = egger.to_dict()
    if plot:
        save(forest_figure(result, _title(outcome, condition, cell_source, input_file)), plot)
    if funnel:
        save(funnel_figure(result, egger), funnel)
    if as_json:
        _print_json({**result.to_dict(), **extra})
        return
    _print_pool(result, extra, by)
    for path in (plot, funnel):
        if path:
            console.print(f"wrote {path}")


def _summary(result: PoolResult) -> dict:
    d = result.to_dict()
    return {k: d[k] for k in ("k", "estimate", "ci_low", "ci_high", "tau2", "i2")}


def _title(outcome: str | None, condition: str | None, cell: str | None, path: Path | None) -> str:
    if path is not None:
        return path.name
    return " · ".join(p for p in (outcome, condition, cell) if p)


def _print_pool(result: PoolResult, extra: dict, by: str | None = None) -> None:
    d = result.to_dict()
    table = Table(title=f"{d['measure']} — {d['method_name']}")
    for col in ("study", "effect", "95% CI", "weight"):
        table.add_column(col, justify="right" if col != "study" else "left")
    for s in d["studies"]:
        table.add_row(
            escape(s["study"]),  # a label from the user's file, shown as written
            f"{s['effect']:.2f}",
            f"{s['ci_low']:.2f} to {s['ci_high']:.2f}",
            f"{100 * s['weight']:.1f}%",
        )
    table.add_row(
        "[bold]pooled[/]",
        f"[bold]{d['estimate']:.2f}[/]",
        f"{d['ci_low']:.2f} to {d['ci_high']:.2f}",
        "100%",
    )
    console.print(table)
    pi = f"{d['pi_low']:.2f} to {d['pi_high']:.2f}" if d["pi_low"] is not None else "n/a"
    console.print(
        f"k={d['k']}  p={d['p_value']:.3g}  τ²={d['tau2']:.3g}  I²={d['i2']:.1f}%  "
        f"Q={d['q']:.2f} (p={d['q_p']:.3g})  prediction interval: {pi}"
    )
    for item in d["excluded"]:
        console.print(f"  left out {item['outcome']}: {item['reason']}", style="dim", markup=False)
    if "egger" in extra:
        e = extra["egger"]
        console.print(f"Egger's test: intercept {e['intercept']:.2f}, p={e['p_value']:.3g}")
    if "subgroups" in extra:
        _print_subgroups(extra["subgroups"], by)
    if "leave_one_out" in extra:
        loo = Table(title="leave one out")
        for col in ("omitted", "k", "estimate", "95% CI", "τ²", "I²"):
            loo.add_column(col, justify="left" if col == "omitted" else "right")
        for r in extra["leave_one_out"]:
            loo.add_row(escape(r["omitted"]), *_summary_cells(r))
        console.print(loo)


def _summary_cells(r: dict) -> list[str]:
    """A pooled result's k, estimate, CI, τ² and I² as table cells."""
    return [
        str(r["k"]),
        f"{r['estimate']:.2f}",
        f"{r['ci_low']:.2f} to {r['ci_high']:.2f}",
        f"{r['tau2']:.3g}",
        f"{r['i2']:.1f}%",
    ]


def _print_subgroups(groups: dict, by: str | None) -> None:
    """The subgroup pools (``--by``), and why there are none where there are none."""
    if not groups:
        console.print(f"subgroups by {by}: none (no study here names its {by})")
        return
    table = Table(title=f"subgroups by {by}")
    for col in ("subgroup", "k", "estimate", "95% CI", "τ²", "I²"):
        table.add_column(col, justify="left" if col == "subgroup" else "right")
    for name, r in groups.items():
        if r is None:
            table.add_row(escape(name), "1", "one study: not pooled", "", "", "")
        else:
            table.add_row(escape(name), *_summary_cells(r))
    console.print(table)


@evidence_app.command("igls")
def igls_command(
    hba1c: Annotated[float, typer.Option("--hba1c", help="HbA1c, %")],
    severe_hypos: Annotated[
        float, typer.Option("--severe-hypos", help="severe hypoglycaemic events per year")
    ],
    insulin_reduction: Annotated[
        float,
        typer.Option(
            "--insulin-reduction", help="per cent fall in daily insulin (100 = off insulin)"
        ),
    ],
    c_peptide: Annotated[float | None, typer.Option("--c-peptide", help="C-peptide, ng/mL")] = None,
    fasting: Annotated[
        bool, typer.Option("--fasting", help="C-peptide is fasting (default: stimulated)")
    ] = False,
    tir: Annotated[float | None, typer.Option("--tir", help="CGM time in range, %")] = None,
    below_54: Annotated[
        float | None, typer.Option("--below-54", help="CGM time <54 mg/dL, %")
    ] = None,
    other_agents: Annotated[
        bool, typer.Option("--other-agents", help="still on non-insulin drugs")
    ] = False,
    baseline_hba1c: Annotated[float | None, typer.Option("--baseline-hba1c")] = None,
    baseline_severe_hypos: Annotated[float | None, typer.Option("--baseline-severe-hypos")] = None,
    as_json: JsonOption = False,
) -> None:
    """Grade a beta-cell replacement outcome by the Igls 2.0 criteria."""
    result = classify(
        IglsInput(
            hba1c=hba1c,
            severe_hypos=severe_hypos,
            insulin_reduction=insulin_reduction,
            c_peptide=c_peptide,
            c_peptide_kind="fasting" if fasting else "stimulated",
            tir=tir,
            time_below_54=below_54,
            other_agents=other_agents,
            baseline_hba1c=baseline_hba1c,
            baseline_severe_hypos=baseline_severe_hypos,
        )
    ).to_dict()
    if as_json:
        _print_json(result)
        return
    console.print(
        f"treatment outcome: [bold]{result['treatment_outcome']}[/]  "
        f"(success: {'yes' if result['treatment_success'] else 'no'})"
    )
    console.print(f"β-cell graft function: [bold]{result['graft_function'] or 'not graded'}[/]")
    for reason in result["reasons"]:
        console.print(f"  · {reason}")
    console.print(f"criteria: {result['criteria']}, doi:{result['source']['doi']}", style="dim")


@evidence_app.command("update")
def update_command(
    outcomes_file: Annotated[
        Path | None, typer.Option("--outcomes", help="curated outcomes JSONL (default: bundled)")
    ] = None,
    withdraw_missing: Annotated[
        bool,
        typer.Option(
            "--withdraw-missing",
            help="the file is the whole set: withdraw stored records it does not hold "
            "(a retraction) from every pool",
        ),
    ] = False,
    db: Annotated[str | None, DbOption] = None,
    as_json: JsonOption = False,
) -> None:
    """Store new or corrected outcomes and re-pool the standing pools they touch; records the
    file lacks are listed, and withdrawn with --withdraw-missing."""
    from isletbase.evidence.living import update

    database = open_db(db)
    database.init()
    report = update(database, outcomes_file, withdraw_missing=withdraw_missing).to_dict()
    if as_json:
        _print_json(report)
        return
    o, p = report["outcomes"], report["pools"]
    console.print(
        f"outcomes: {o['added']} added, {len(o['changed'])} changed, "
        f"{len(o['withdrawn'])} withdrawn, {o['unchanged']} unchanged"
    )
    for withdrawn in o["withdrawn"]:
        console.print(f"  withdrawn (not in the file): {withdrawn}", markup=False)
    if o["missing"]:
        console.print(
            f"  {len(o['missing'])} stored records are not in the file and were kept "
            "(--withdraw-missing withdraws them)",
            markup=False,
        )
    console.print(
        f"pools recomputed: {', '.join(p['recomputed']) or 'none'}; "
        f"already current: {', '.join(p['current']) or 'none'}"
    )


def cases_command(
    name: Annotated[str | None, typer.Argument(help="case name (or its start)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Landmark case studies of stem-cell-derived therapy for diabetes, with sources."""
    if name is None or not name.strip():  # "" (a script's empty variable) lists them all too
        cases = load_cases()
        if as_json:
            _print_json([c.to_dict() for c in cases])
            return
        table = Table(title=f"{len(cases)} landmark cases")
        for col in ("name", "year", "country", "cond.", "cells", "title"):
            table.add_column(col, overflow="fold")
        for c in cases:
            table.add_row(c.name, str(c.year), c.country, c.condition, c.cell_source, c.title)
        console.print(table)
        return
    case = get_case(name)
    if as_json:
        _print_json(case.to_dict())
        return
    console.print(f"[bold]{case.title}[/] ({case.country}, {case.year}, {case.condition})")
    console.print(case.publication + (f" doi:{case.doi}" if case.doi else ""))
    for label, text in (
        ("What was done", case.what_was_done),
        ("Outcome", case.outcome),
        ("Follow-up", case.follow_up or "not stated"),
    ):
        console.print(f"[bold]{label}:[/] {text}")
    console.print("[bold]Caveats:[/]")
    for caveat in case.caveats:
        console.print(f"  · {caveat}")
    console.print("[bold]Sources:[/] " + "  ".join(case.sources))


def register(app: typer.Typer) -> None:
    """Add ``evidence`` and ``cases`` to the app."""
    app.add_typer(evidence_app, name="evidence")
    app.command("cases")(cases_command)
