"""Regulation commands: rules, check an offer, findings across trials, China's timeline."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from isletbase.cli.common import DbOption, console, counted, err_console, loaded_db, open_db
from isletbase.errors import InputError
from isletbase.regulation.engine import (
    CheckResult,
    Finding,
    check_offer,
    findings_for_all_trials,
)
from isletbase.regulation.offer import Offer
from isletbase.regulation.rules import JURISDICTIONS_TEXT, TARGETS_TEXT, load_rulebook
from isletbase.regulation.timeline import load_timeline
from isletbase.sources import not_a_file
from isletbase.taxonomy import CJK

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_STYLE = {"violation": "bold red", "red_flag": "yellow", "info": "cyan", "none": "green"}
_MAX_BYTES = 1_000_000


def read_offer(path: str) -> Offer:
    """An offer from a file: ``.json`` holds fields (and optionally ``text``), anything else is
    the offer's text; ``-`` reads standard input."""
    if path == "-":
        data = sys.stdin.buffer.read(_MAX_BYTES + 1)
        if len(data) > _MAX_BYTES:  # cut mid-character, it read as no UTF-8 at all
            raise InputError(f"stdin: larger than {_MAX_BYTES} bytes; give the offer's text only")
        raw = _decoded(data, "stdin")
        name = "stdin"
    else:
        file = Path(path)
        if file.is_dir():
            raise InputError(f"{path}: a folder, not an offer file")
        if not file.is_file():
            raise not_a_file(file, "a file of the offer's text")
        if file.stat().st_size > _MAX_BYTES:
            raise InputError(f"{path}: larger than {_MAX_BYTES} bytes; give the offer's text only")
        raw = _decoded(file.read_bytes(), path)
        name = path
    # a byte-order mark, as Windows' Notepad saves UTF-8: no part of the offer (a JSON file
    # with one was refused as invalid JSON, a text kept it in the quotes)
    raw = raw.removeprefix("\ufeff")
    if name.endswith(".json") or (name == "stdin" and raw.lstrip().startswith("{")):
        return Offer.from_json(raw, name)
    return Offer.from_text(raw, name)


def _decoded(data: bytes, name: str) -> str:
    """An offer's text: UTF-8, else GB18030 (GBK's superset: Chinese Windows saves text so)
    where the bytes read as that strictly and as Chinese (``_reads_as_chinese``) — a clinic's
    page saved as GBK was refused — else refused by name."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as not_utf8:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = ""
        if _reads_as_chinese(text):
            return text
        raise InputError(
            f"{name}: not UTF-8 text, nor GBK Chinese ({not_utf8.reason} at byte {not_utf8.start})"
        ) from None


#: Share of a text's Han characters that must be GB2312's commonest (level 1: its 3,755
#: most used) for bytes read as GB18030 to be taken for Chinese. Most byte pairs of other
#: encodings are valid GBK too: a Big5 page read so had 25 % of them, a Spanish cp1252 one
#: none, real Chinese ~100 % (traditional characters saved as GBK, 75 %).
_COMMON_SHARE = 0.6


def _reads_as_chinese(text: str) -> bool:
    """Whether ``text`` reads as Chinese: it has Han characters, mostly GB2312's commonest
    (its first bytes 0xB0 to 0xD7), where a file in another encoding read as GB18030 makes
    Han characters of rare ones (Big5's 台北診所 gave 禘┮稦灿…, and the check passed it)."""
    han = [c for c in text if CJK.match(c)]
    if not han:
        return False
    common = 0
    for char in han:
        try:
            common += 0xB0 <= char.encode("gb2312")[0] <= 0xD7
        except UnicodeEncodeError:
            continue
    return common >= _COMMON_SHARE * len(han)


def _evidence(finding: Finding) -> str:
    parts = []
    for item in finding.to_dict()["evidence"]:
        parts.append(f"{item['field']}: {item['quote']}")
    return "\n".join(dict.fromkeys(parts))


def _print_result(result: CheckResult) -> None:
    worst = result.worst
    console.print(
        f"[{_STYLE[worst]}]worst: {worst}[/] ({counted(len(result.findings), 'finding')})"
    )
    # whose law was applied: a person reading the table should know where the offer was placed
    country = result.facts.get("country")
    if country is None:
        console.print(
            "country: not told by the offer, so rules for offers made in one country were not "
            'applied; give it (the JSON field "country") to check against them',
            markup=False,
        )
    else:
        why = "; ".join(f"{e.source}: {e.quote}" for e in country.evidence)
        console.print(f"country: {country.value} ({why})", markup=False)
    cells = result.facts.get("cell_therapy")
    if cells is not None and cells.value is False:
        console.print(
            f"cell therapy: none named ({cells.evidence[0].quote}), so the rules on stem-cell, "
            'cell and gene therapy were not applied; give the JSON field "cell_therapy": true '
            "to apply them",
            markup=False,
        )
    price = result.facts.get("price_high")
    if price is not None and price.value is None:  # a currency the rules set no mark for
        console.print(f"price: {price.evidence[-1].quote}", markup=False)
    table = Table(show_lines=True)
    for col in ("rule", "severity", "what the rule says", "evidence", "source"):
        table.add_column(col, overflow="fold")
    for f in result.findings:
        table.add_row(  # the offer's words as written: "[/x]" in them is text, not markup
            escape(f.rule.id),
            f"[{_STYLE[f.severity]}]{f.severity}[/]",
            escape(f"{f.rule.statement_en}\n{f.rule.statement_zh}"),
            escape(_evidence(f)),
            escape(f.rule.source_url),
        )
    if result.findings:
        console.print(table)


def rules(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help=JURISDICTIONS_TEXT)
    ] = None,
    applies_to: Annotated[str | None, typer.Option("--applies-to", help=TARGETS_TEXT)] = None,
    as_json: JsonOption = False,
) -> None:
    """The rules, in English and Chinese, each with its source."""
    chosen = load_rulebook().select(jurisdiction, applies_to, ("--jurisdiction", "--applies-to"))
    if as_json:
        print(json.dumps({"rules": [r.to_dict() for r in chosen]}, ensure_ascii=False, indent=2))
        return
    table = Table(show_lines=True, title=f"{len(chosen)} rules")
    for col in ("id", "severity", "applies to", "statement", "source"):
        table.add_column(col, overflow="fold")
    for r in chosen:
        zh = f"{r.statement_zh}（{'原文' if r.statement_zh_kind == 'quote' else '意译'}）"
        table.add_row(
            r.id,
            f"[{_STYLE[r.severity]}]{r.severity}[/]",
            ", ".join(r.applies_to),
            f"{r.statement_en}\n{zh}",
            r.source_url,
        )
    console.print(table)


def check(
    offer_file: Annotated[
        str, typer.Argument(help="offer.txt (English/Chinese text), offer.json, or -")
    ],
    as_json: JsonOption = False,
    on: Annotated[
        str | None, typer.Option("--date", help="Check as of this date (YYYY-MM-DD)")
    ] = None,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Check a clinic's offer against the rules; exit 0 nothing, 1 red flags, 3 violations (2:
    an offer that cannot be read)."""
    offer = read_offer(offer_file)
    try:
        today = date.fromisoformat(on) if on is not None else None
    except ValueError:
        raise InputError(f"--date: expected YYYY-MM-DD, got {on!r}") from None
    database = open_db(db)
    loaded = database.is_initialised()
    result = check_offer(offer, database if loaded else None, today=today)
    if not loaded and db is not None:  # a mistyped --db was passed over without a word
        err_console.print(  # once the offer was read: a bad one is one line of error alone
            f"note: no isletbase data at {database.url}: the offer was checked without looking "
            "up trials and institutions",
            markup=False,
            soft_wrap=True,
        )
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_result(result)
    raise typer.Exit(result.exit_code)


def findings(
    severity: Annotated[
        str | None, typer.Option("--severity", help="violation, red_flag or info (and above)")
    ] = None,
    as_json: JsonOption = False,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Rule findings across all trials in the database."""
    database = loaded_db(db)
    report = findings_for_all_trials(
        database, severity=severity.replace("-", "_") if severity is not None else None
    )
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    counts = report.counts
    console.print(
        f"{len(report.trials)} trials with findings: {counts['violation']} violations, "
        f"{counts['red_flag']} red flags, {counts['info']} info"
    )
    table = Table(show_lines=False)
    for col in ("trial", "rule", "severity", "evidence"):
        table.add_column(col, overflow="fold")
    for t in report.trials:
        for f in t.findings:
            table.add_row(
                escape(t.trial_id),
                escape(f.rule.id),
                f"[{_STYLE[f.severity]}]{f.severity}[/]",
                escape(_evidence(f)),
            )
    console.print(table)


def timeline(as_json: JsonOption = False) -> None:
    """China's regulatory timeline for stem-cell therapy, each event with its source."""
    tl = load_timeline()
    if as_json:
        print(json.dumps(tl.to_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(show_lines=True)
    for col in ("date", "event", "source"):
        table.add_column(col, overflow="fold")
    for e in tl.events:
        lines = (e.title_en, e.title_zh, e.summary, e.summary_zh)
        table.add_row(e.date, "\n".join(escape(x) for x in lines if x), e.source_url)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``rules``, ``check``, ``findings`` and ``timeline`` to the app."""
    for command in (rules, check, findings, timeline):
        app.command(name=command.__name__)(command)
