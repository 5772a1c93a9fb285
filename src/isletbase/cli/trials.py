"""Trial commands: search, show, stats, export, classify, institutions."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.markup import escape
from rich.table import Table

from isletbase import export as exporting
from isletbase import taxonomy
from isletbase.classify import classify_lines
from isletbase.cli.common import (
    DbOption,
    console,
    counted,
    err_console,
    error_line,
    loaded_db,
    writable_file,
)
from isletbase.cli.filters import with_filters
from isletbase.errors import InputError
from isletbase.model import Trial
from isletbase.store.db import Database
from isletbase.store.facets import FACETS, place_suggestions
from isletbase.store.institutions import get_institution, list_institutions
from isletbase.store.query import Sort, TrialQuery
from isletbase.store.search import all_matching, institutions_named, search_trials
from isletbase.store.stats import stats
from isletbase.store.trial_reads import history, require_trial

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _title(trial: Trial) -> str:
    en = trial.title_en or trial.official_title_en or ""
    return f"{en}\n{trial.title_zh}" if trial.title_zh and en else (en or trial.title_zh or "")


@with_filters
def search(
    query: TrialQuery,
    q: Annotated[
        str | None,
        typer.Argument(
            help="Text in English, Chinese or pinyin: whole words, the last one also as a "
            "prefix (diabet); word* for any other prefix"
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option(help=", ".join(get_args(Sort)) + " (updated: latest change first)")
    ] = "relevance",
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option("--per-page", min=1, max=500)] = 20,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Find trials by text (English, Chinese, pinyin, aliases) and filters."""
    database = loaded_db(db)
    result = search_trials(database, query)
    institutions = institutions_named(database, q)
    if as_json:
        print(
            json.dumps(
                {
                    "total": result.total,
                    "total_exact": result.total_exact,
                    "page": result.page,
                    "per_page": result.per_page,
                    "filters": query.filters(),
                    "institutions": [
                        {"id": i.id, "name_en": i.name_en, "name_zh": i.name_zh}
                        for i in institutions
                    ],
                    "trials": [t.model_dump(mode="json") for t in result.items],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for inst in institutions[:5]:
        console.print(
            f"[dim]institution:[/] {escape(inst.name_en or '')} {escape(inst.name_zh or '')} "
            f"[dim]({inst.id})[/]"
        )
    past = " — past the last page" if result.total and result.page > result.pages else ""
    noun = "trial" if result.total == 1 and result.total_exact else "trials"
    table = Table(
        title=f"{result.total}{'' if result.total_exact else '+'} {noun} "
        f"(page {result.page} of {result.pages}{past})",
        show_lines=True,
    )
    # an id whole on one line, however narrow the terminal or pipe (80 columns split
    # NCT00690066 in two, and a grep for it found nothing)
    widest = max((len(t.display_id) for t in result.items), default=2)
    table.add_column("id", no_wrap=True, min_width=widest)
    for column in ("title", "cell source", "condition", "phase", "status", "sites"):
        table.add_column(column, overflow="fold")
    for t in result.items:
        cities = ", ".join(dict.fromkeys(s.city for s in t.sites if s.city))
        cells = (t.display_id, _title(t), t.cell_source, t.condition, t.phase_code, t.status_code)
        table.add_row(*(escape(c or "") for c in cells), escape(cities))
    console.print(table)
    if not result.total:
        for kind, meant in place_suggestions(database, query).items():
            options = " or ".join(f"--{kind} {shlex.quote(place)}" for place in meant)
            console.print(
                f"No place of the trials is written {escape(repr(getattr(query, kind)))} "
                f"(--{kind}); did you mean {escape(options)}?"
            )


def _institution_names(db: Database, institution_id: str) -> str:
    """The directory's names of an institution a site is linked to, in both languages, with its
    id (a site line showed the id alone, 天津市第一中心医院 left out)."""
    found = get_institution(db, institution_id)
    names = [n for n in (found.name_zh, found.name_en) if n] if found else []
    return f"{' / '.join(names)} ({institution_id})" if names else institution_id


def show(
    trial_id: Annotated[str, typer.Argument(metavar="ID", help="Any registry id (NCT…, ChiCTR…)")],
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Every field of a trial, its sources, and how derived fields were derived."""
    database = loaded_db(db)
    trial = require_trial(database, trial_id)
    if as_json:
        print(trial.model_dump_json(indent=2))
        return
    tax = taxonomy.load()
    table = Table(title=escape(trial.display_id), show_header=False, show_lines=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("registry ids", ", ".join(f"{r.id} ({r.registry})" for r in trial.registry_ids)),
        ("org study ids", ", ".join(trial.org_study_ids)),
        ("title", trial.title_en),
        ("official title", trial.official_title_en),
        ("中文题目", trial.title_zh),
        ("sponsor", " / ".join(x for x in (trial.sponsor, trial.sponsor_zh) if x)),
        ("conditions", "; ".join(trial.conditions)),
        ("interventions", "; ".join(trial.interventions)),
        ("phase", trial.phase),
        ("status", trial.status),
        (
            "enrollment",
            f"{trial.enrollment}" + (f" ({trial.enrollment_type})" if trial.enrollment_type else "")
            if trial.enrollment is not None
            else None,
        ),
        ("start", trial.start_date),
        ("completion", trial.completion_date),
        ("first posted", trial.first_posted),
        ("last update", trial.last_update),
        ("design", trial.design),
        ("primary outcome", trial.primary_outcome),
        ("country / region", " / ".join(x for x in (trial.country, trial.region) if x)),
        ("summary", trial.summary),
        ("notes", trial.notes),
    ]
    for name, value in rows:
        table.add_row(
            name, escape(str(value)) if value not in (None, "") else "[dim]not shown on source[/]"
        )
    for i, site in enumerate(trial.sites, start=1):
        parts = [site.name, site.name_zh, site.city, site.province, site.country]
        linked = (
            f" → {_institution_names(database, site.institution_id)}" if site.institution_id else ""
        )
        table.add_row(f"site {i}", escape(", ".join(p for p in parts if p) + linked))
    console.print(table)
    derived = Table(title="derived fields (curated > classifier > registry)")
    for column in ("field", "value", "label", "method", "how"):
        derived.add_column(column, overflow="fold")
    for d in trial.derivations:
        base = d.field.removesuffix("_code")
        label = tax.label(base, d.value, "en") if d.value else ""
        label_zh = tax.label(base, d.value, "zh") if d.value else ""
        cells = (
            d.field,
            d.value or "—",
            f"{label} / {label_zh}" if label else "",
            d.method,
            d.rule,
        )
        derived.add_row(*map(escape, cells))
    console.print(derived)
    sources = Table(title="sources")
    sources.add_column("url", overflow="fold")
    sources.add_column("fields")
    sources.add_column("retrieved")
    sources.add_row(escape(trial.source_url), "record", "")
    for s in trial.sources:
        sources.add_row(escape(s.url), escape(", ".join(s.fields)), escape(s.retrieved or ""))
    console.print(sources)
    for flag in trial.flags:
        console.print(f"[yellow]flag:[/] {escape(flag)}")
    changes = history(loaded_db(db), trial_id)
    console.print(f"[dim]{len(changes)} recorded change(s); see the trial's history.[/]")


@with_filters
def stats_command(
    query: TrialQuery,
    by: Annotated[list[str], typer.Option("--by", help=f"Facet to group by: {', '.join(FACETS)}")],
    q: Annotated[str | None, typer.Option("--q", help="Only trials matching this text")] = None,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Trial counts grouped by one or more facets, as a table."""
    database = loaded_db(db)
    rows = stats(database, by, query)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"trials by {' × '.join(by)}")
    for name in [*by, "trials"]:
        table.add_column(name, justify="right" if name in ("trials", "year") else "left")
    for row in rows:
        table.add_row(*["—" if row[c] is None else str(row[c]) for c in [*by, "trials"]])
    # a trial with sites in two provinces counts in both rows: the total counts it once
    found = search_trials(database, query.model_copy(update={"per_page": 1, "sort": "id"}))
    total = f"{found.total}{'' if found.total_exact else '+'}"
    table.add_row(*["" for _ in by[:-1]], "[bold]total[/]", f"[bold]{total}[/]")
    console.print(table)
    summed = sum(row["trials"] for row in rows)
    if summed != found.total:  # the rows add up to more than the total: say why
        console.print(
            f"[dim]A trial with several values of {' or '.join(by)} (sites in two cities, say) "
            f"counts in each row: the rows add up to {summed}; the total counts each trial "
            "once.[/]"
        )


@with_filters
def export_command(
    query: TrialQuery,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or ris")],
    out: Annotated[
        Path, typer.Option("--out", help="File to write (- for standard output)", dir_okay=False)
    ],
    q: Annotated[str | None, typer.Option("--q", help="Only trials matching this text")] = None,
    bom: Annotated[
        bool, typer.Option("--bom", help="CSV only: start with a byte-order mark, for Excel")
    ] = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Write the matching trials to a CSV, JSON or RIS file."""
    if fmt not in exporting.FORMATS:
        raise InputError(f"--format: expected one of {', '.join(exporting.FORMATS)}, got {fmt!r}")
    exporting.check_bom(fmt, bom, "--bom")
    to_stdout = str(out) == "-"  # as other tools write it, not a file named "-"
    if not to_stdout:
        writable_file(out, "--out")
    database = loaded_db(db)
    trials = list(all_matching(database, query.model_copy(update={"sort": "id"})))
    rendered = exporting.render(trials, fmt, bom)
    if to_stdout:
        sys.stdout.write(rendered)
    else:
        try:
            out.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--out {out}: cannot write ({exc.strerror})") from exc
    noun = "trial" if len(trials) == 1 else "trials"
    err_console.print(
        f"wrote {len(trials)} {noun} to {'standard output' if to_stdout else out} ({fmt})"
    )


def classify() -> None:
    """Classify JSON Lines from stdin (v2 studies or flat records) to JSON Lines on stdout."""
    bad = 0
    for result in classify_lines(sys.stdin):
        if isinstance(result, InputError):
            bad += 1
            error_line(str(result))
            continue
        print(json.dumps(result, ensure_ascii=False), flush=True)
    if bad:
        raise typer.Exit(2)


def institutions(
    q: Annotated[str | None, typer.Argument(help="Text in a name, alias or pinyin")] = None,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """The bilingual institution directory, with aliases and filing status."""
    found = list_institutions(loaded_db(db), q)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in found], ensure_ascii=False, indent=2))
        return
    table = Table(title=counted(len(found), "institution"))
    for column in ("id", "name", "名称", "aliases", "city", "filed"):
        table.add_column(column, overflow="fold")
    for i in found:
        filed = "yes" if i.filed_stem_cell_institution else "not seen"
        table.add_row(
            i.id, i.name_en or "", i.name_zh or "", ", ".join(i.aliases), i.city or "", filed
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(search)
    app.command()(show)
    app.command("stats")(stats_command)
    app.command("export")(export_command)
    app.command()(classify)
    app.command()(institutions)
