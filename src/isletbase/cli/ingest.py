"""Registry ingestion commands: ``ingest …``, ``history``, ``review`` and ``quarantine``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from isletbase import harvest
from isletbase.cli.common import (
    DbOption,
    console,
    err_console,
    fail,
    loaded_db,
    open_db,
    print_listing,
)
from isletbase.cli.database import exit_if_quarantined, print_notes, print_report
from isletbase.ingest import Report
from isletbase.store.db import Database
from isletbase.store.trial_reads import get_trial, history

ingest_app = typer.Typer(
    help="Bring in new and changed trials from the registries.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def _bar(
    label: str, total: int | None = None
) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,  # on stderr: a pipe or a log of the report got a bar's line
    ) as progress:
        task = progress.add_task(escape(label), total=total)  # a path: text, not markup

        def advance(n: int) -> None:
            progress.advance(task, n)
            done = progress.tasks[task].completed
            if (planned := progress.tasks[task].total) is not None and done > planned:
                # more than the registry's count said (``totalCount`` lags its pages): the
                # bar read 5/4
                progress.update(task, total=done)

        yield advance, (lambda t: progress.update(task, total=t))


def _finish(report: Report, title: str, read: Path | None = None) -> None:
    """The report, then the exit status: 1 where records were quarantined; 2 where nothing
    at all was read from the file or folder ``read`` (a wrong folder, an empty zip: a script
    running it could not tell that from a dump with nothing new in it, with 0)."""
    print_report(report, title)
    if not report.fetched and read is not None:
        fail(f"nothing was read: no record was found in {read}")
    if not report.fetched:  # a search that matched nothing, an empty quarantine
        console.print("nothing was read: no record was found there")
    if report.resumed_after:
        console.print(
            f"resumed after page {report.resumed_after}, stored by an earlier run of this "
            "search that stopped; its records are not counted here (--restart reads every page)"
        )
    if report.review:
        console.print(
            f"{report.review} uncertain cross-registry match(es) queued: `isletbase review`"
        )
    exit_if_quarantined(report)


def _db(url: str | None) -> Database:
    database = open_db(url)
    database.init()
    return database


@ingest_app.command("ctgov")
def ctgov_command(
    query: Annotated[str, typer.Option("--query", help="ClinicalTrials.gov search (query.term).")],
    country: Annotated[
        str | None, typer.Option("--country", help="Location, e.g. China (query.locn).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only studies updated on/after YYYY[-MM[-DD]]."),
    ] = None,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Studies per page (1-1000).")
    ] = 100,
    rate: Annotated[
        float,
        typer.Option("--rate", min=0.01, max=50.0, help="Requests per second at most (0.01-50)."),
    ] = 3.0,
    base_url: Annotated[
        str, typer.Option("--base-url", help="API endpoint (for mirrors and tests).")
    ] = harvest.ctgov.API_URL,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Start from the first page, not where an interrupted run with the same "
            "search stopped.",
        ),
    ] = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Fetch a ClinicalTrials.gov API v2 search, page by page (resumes an interrupted run)."""
    harvest.ctgov.search_params(query, country, since, page_size)  # refused before any work
    database = _db(db)
    client = harvest.ctgov.CtgovClient(base_url=base_url, rate=rate)
    with _bar("ClinicalTrials.gov") as (advance, total):
        report = harvest.run_ctgov(
            database, query, country, since, client, page_size, advance, total, restart=restart
        )
    _finish(report, f"ClinicalTrials.gov → {database.url}")


@ingest_app.command("ctgov-dump")
def dump_command(
    path: Annotated[
        Path,
        typer.Argument(exists=True, help="AllPublicJSON.zip or a directory of study JSON files."),
    ],
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="Trials per transaction.")
    ] = 1000,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Stream the ClinicalTrials.gov bulk download into the database."""
    database = _db(db)
    with _bar("ClinicalTrials.gov dump") as (advance, _):
        report = harvest.run_dump(database, path, batch, advance)
    _finish(report, f"{path.name} → {database.url}", path)


@ingest_app.command("chictr")
def chictr_command(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            help="A ChiCTR record page (.html), the registry's XML export of a record (.xml),"
            " or a directory of them.",
        ),
    ],
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Read ChiCTR record pages (Chinese and English fields) and the registry's XML exports."""
    database = _db(db)
    with _bar("ChiCTR") as (advance, _):
        report = harvest.run_chictr(database, path, advance)
    _finish(report, f"ChiCTR {path.name} → {database.url}", path)


@ingest_app.command("ictrp")
def ictrp_command(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="A WHO ICTRP 'Export results to XML' file."
        ),
    ],
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Read a WHO ICTRP XML export (secondary ids bridge registries)."""
    database = _db(db)
    with _bar("ICTRP") as (advance, _):
        report = harvest.run_ictrp(database, path, advance)
    _finish(report, f"ICTRP {path.name} → {database.url}", path)


def history_command(
    trial_id: Annotated[
        str, typer.Argument(help="Any registry id of the trial, e.g. NCT01219465.")
    ],
    db: Annotated[str | None, DbOption] = None,
    as_json: JsonOption = False,
) -> None:
    """Every field change of a trial: date, field, old value, new value, source."""
    database = loaded_db(db)  # a missing database is said as such, not as a missing trial
    trial = get_trial(database, trial_id)
    if trial is None:
        fail(f"no trial {trial_id!r} in {database.url}")
    print_listing(
        history(database, trial_id),
        as_json,
        lambda c: c.__dict__,
        f"history of {trial.display_id}",  # as ``show`` names it, whatever case was typed
        ("date", "field", "old", "new", "source"),
        lambda c: (c.changed_at, c.field, *around_change(c.old or "", c.new or ""), c.source or ""),
    )


def around_change(old: str, new: str, width: int = 80) -> tuple[str, str]:
    """``old`` and ``new`` as the history table shows them: whole where both fit ``width``,
    else each cut to the same window around their first difference and marked "…" where cut
    (cut at the start, a title changed past its 80th character showed the same old and new)."""
    if len(old) <= width and len(new) <= width:
        return old, new
    start = max(0, len(os.path.commonprefix([old, new])) - width // 4)

    def cut(text: str) -> str:
        return (
            ("…" if start else "")
            + text[start : start + width]
            + ("…" if start + width < len(text) else "")
        )

    return cut(old), cut(new)


def review_command(
    accept: Annotated[
        int | None, typer.Option("--accept", min=1, max=2**63 - 1, help="Merge this pair.")
    ] = None,
    reject: Annotated[
        int | None,
        typer.Option("--reject", min=1, max=2**63 - 1, help="Keep this pair apart for good."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Take this registry id's record(s) out of the trial they were merged into, "
            "into a trial of their own, kept apart from it for good.",
        ),
    ] = None,
    db: Annotated[str | None, DbOption] = None,
    as_json: JsonOption = False,
) -> None:
    """Uncertain cross-registry matches to confirm (--accept ID) or reject (--reject ID); a
    wrong merge undone (--split REGISTRY_ID)."""
    database = loaded_db(db)
    if sum(x is not None for x in (accept, reject, split)) > 1:
        fail("give one of --accept, --reject and --split")
    if split is not None:
        done = harvest.split_record(database, split)
        if as_json:
            console.print_json(json.dumps(done.to_dict(), ensure_ascii=False))
        else:
            console.print(
                f"split {done.record} from {done.trial} into a trial of its own "
                f"({done.new_trial}); the two are kept apart",
                markup=False,
            )
        return
    if accept is not None or reject is not None:
        kept, notes = harvest.decide_match(
            database, accept if accept is not None else reject, accept is not None
        )
        console.print(f"{'merged into' if accept is not None else 'kept apart from'} {kept}")
        print_notes(notes)
        return
    matches = harvest.list_matches(database)
    print_listing(
        matches,
        as_json,
        lambda m: m.to_dict(),
        f"{len(matches)} match(es) to review",
        ("id", "trial", "candidate", "score", "why"),
        lambda m: (
            str(m.id),
            f"{m.trial}\n{m.title or ''}",
            f"{m.candidate}\n{m.candidate_title or ''}",
            f"{m.score:.1f}",
            "\n".join(m.explanation),
        ),
    )


def quarantine_command(
    retry: Annotated[
        bool, typer.Option("--retry", help="Map every quarantined record again.")
    ] = False,
    drop: Annotated[
        list[int] | None,
        typer.Option(
            "--drop",
            min=1,
            max=2**63 - 1,  # an id SQLite can hold (a larger one ended in a traceback)
            help="Remove the quarantined record with this id (repeatable), e.g. one kept "
            "under its place in a file that has since loaded under its registry id.",
        ),
    ] = None,
    db: Annotated[str | None, DbOption] = None,
    as_json: JsonOption = False,
) -> None:
    """Records that were rejected, and why (--retry loads those that now pass)."""
    database = loaded_db(db)
    if drop:
        if retry:
            fail("give --retry or --drop, not both")
        dropped = harvest.drop_quarantined(database, drop)
        console.print(f"dropped {dropped} quarantined record(s) from {escape(database.url)}")
        return
    if retry:
        report = harvest.retry_quarantine(database)
        if as_json:  # as --help says: JSON instead of the table
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
            exit_if_quarantined(report)
            return
        _finish(report, f"quarantine retry → {database.url}")
        return
    rows = harvest.list_quarantine(database)
    print_listing(
        rows,
        as_json,
        lambda r: r.to_dict(),
        f"{len(rows)} quarantined record(s)",
        ("id", "source", "record", "reason", "when"),
        lambda r: (str(r.id), r.source, r.ref or "", r.reason, r.created_at),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.command("history")(history_command)
    app.command("review")(review_command)
    app.command("quarantine")(quarantine_command)
