"""Database commands: ``db init``, ``db load`` (with a progress bar) and ``db check``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from isletbase.cli.common import DbOption, console, err_console, open_db
from isletbase.ingest import Report, count_bundled, load_bundled
from isletbase.store.check import check as check_db

db_app = typer.Typer(help="Create, load and check the database.", no_args_is_help=True)


def print_report(report: Report, title: str) -> None:
    """The report every load ends with: fetched, new, updated, unchanged, merged, quarantined
    (and the institutions, where a load read any: ``db load``)."""
    table = Table(title=escape(title))
    keys = ["fetched", "new", "updated", "unchanged", "merged", "quarantined"]
    keys += ["institutions"] if report.institutions else []
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*(str(getattr(report, k)) for k in keys))
    console.print(table)
    for error in report.errors[:20]:
        # one line a record, however narrow the terminal, for logs read line by line
        err_console.print(
            f"[yellow]quarantined:[/] {escape(error)}", highlight=False, soft_wrap=True
        )
    if len(report.errors) > 20:
        err_console.print(
            f"[yellow]… and {len(report.errors) - 20} more (see `isletbase quarantine`)[/]"
        )
    print_notes(report.notes)  # links not followed: few, and each for a curator to see


def print_notes(notes: list[str]) -> None:
    """What a curator should see that is no error, a line each on stderr."""
    for note in notes:
        err_console.print(f"[cyan]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


#: The exit status of a load that stored what it could but quarantined records (each named
#: on stderr): a script or a scheduled job can tell it from a clean load (0).
QUARANTINED_EXIT = 1


def exit_if_quarantined(report: Report) -> None:
    """End a load with ``QUARANTINED_EXIT`` where it quarantined records."""
    if report.quarantined:
        raise typer.Exit(QUARANTINED_EXIT)


@db_app.command()
def init(
    db: Annotated[str | None, DbOption] = None,
    force: Annotated[bool, typer.Option("--force", help="Drop every table first")] = False,
) -> None:
    """Create the tables and the search index (safe to run again)."""
    database = open_db(db)
    if force:
        had = database.is_initialised()
        database.drop()
        if had:  # it dropped every table without a word
            err_console.print(
                f"dropped every table of {database.url}, its data with them", markup=False
            )
    database.init()
    console.print(f"initialised {database.url}")


@db_app.command()
def load(db: Annotated[str | None, DbOption] = None) -> None:
    """Load the bundled, sourced data (institutions and trials) with a progress bar."""
    database = open_db(db)
    total = count_bundled()
    with Progress(
        TextColumn("loading trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,  # on stderr: a pipe or a log of the report got a bar's line
        transient=False,
    ) as progress:
        task = progress.add_task("load", total=total)
        report = load_bundled(database, progress=lambda n: progress.advance(task, n))
    print_report(report, f"bundled data → {database.url}")
    exit_if_quarantined(report)


@db_app.command()
def check(db: Annotated[str | None, DbOption] = None) -> None:
    """Check consistency (orphans, ids, search index); exit 1 if anything is wrong."""
    database = open_db(db)
    if not database.is_initialised():
        console.print(f"[red]no database at {database.url}[/]; run `isletbase db load`")
        raise typer.Exit(1)
    report = check_db(database)
    table = Table(title=escape(str(database.url)))
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.counts.items():
        table.add_row(name, str(count))
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]problem:[/] {escape(problem)}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]ok[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
