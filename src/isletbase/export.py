"""Exports of trials as CSV, JSON or RIS, for spreadsheets, scripts and reference managers.

Every format carries each trial's registry ids and source URL, so an exported row can still be
traced to the page it came from. Registry text is data, never structure: a CSV cell that a
spreadsheet would run as a formula is quoted, and a line break inside a RIS value is a space.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Literal

import rispy

from isletbase.errors import InputError
from isletbase.model import Trial

Format = Literal["csv", "json", "ris"]
FORMATS: tuple[str, ...] = ("csv", "json", "ris")

CSV_COLUMNS = (
    "id",
    "registry_ids",
    "title_en",
    "title_zh",
    "sponsor",
    "sponsor_zh",
    "cell_source",
    "condition",
    "route",
    "phase",
    "phase_code",
    "status",
    "status_code",
    "enrollment",
    "start_date",
    "completion_date",
    "last_update",
    "country",
    "region",
    "cities",
    "provinces",
    "source_url",
    "flags",
)


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What a reader may take as the end of a RIS line (``str.splitlines`` breaks).
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def csv_cell(value: object) -> object:
    """``value`` as a spreadsheet shows it, never runs it: text starting like a formula
    (``=HYPERLINK(…)``, ``@SUM(…)``) gets a leading ``'``, as OWASP advises."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_row(trial: Trial) -> dict[str, object]:
    """One flat row: lists joined with ``; `` so a spreadsheet shows them in one cell."""
    return {
        "id": trial.display_id,
        "registry_ids": "; ".join(r.id for r in trial.registry_ids),
        "title_en": trial.title_en or trial.official_title_en,
        "title_zh": trial.title_zh,
        "sponsor": trial.sponsor,
        "sponsor_zh": trial.sponsor_zh,
        "cell_source": trial.cell_source,
        "condition": trial.condition,
        "route": trial.route,
        "phase": trial.phase,
        "phase_code": trial.phase_code,
        "status": trial.status,
        "status_code": trial.status_code,
        "enrollment": trial.enrollment,
        "start_date": trial.start_date,
        "completion_date": trial.completion_date,
        "last_update": trial.last_update,
        "country": trial.country,
        "region": trial.region,
        "cities": "; ".join(dict.fromkeys(s.city for s in trial.sites if s.city)),
        "provinces": "; ".join(dict.fromkeys(s.province for s in trial.sites if s.province)),
        "source_url": trial.source_url,
        "flags": "; ".join(trial.flags),
    }


def to_csv(trials: Iterable[Trial]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for trial in trials:
        writer.writerow({k: csv_cell(v) for k, v in csv_row(trial).items()})
    return out.getvalue()


def to_json(trials: Iterable[Trial]) -> str:
    return (
        json.dumps([t.model_dump(mode="json") for t in trials], ensure_ascii=False, indent=2) + "\n"
    )


def ris_value(value: object) -> object:
    """``value`` (text or a list of texts) on one line: RIS is one tag per line, so a line
    break in registry text would let it start tags of its own (``ER  -`` ends the record)."""
    if isinstance(value, str):
        return _LINE_BREAKS.sub(" ", value)
    if isinstance(value, list):
        return [ris_value(v) for v in value]
    return value


def ris_entry(trial: Trial) -> dict[str, object]:
    """A RIS record (type DBASE: an entry in a database) for a reference manager, each value
    on one line (``ris_value``)."""
    keywords = [
        k for k in (trial.cell_source, trial.condition, trial.phase_code, trial.status_code) if k
    ]
    notes = [f"Registry ids: {', '.join(r.id for r in trial.registry_ids)}"]
    if trial.title_zh:
        notes.append(f"中文题目: {trial.title_zh}")
    entry: dict[str, object] = {
        "type_of_reference": "DBASE",
        "title": trial.title_en or trial.official_title_en or trial.title_zh or trial.display_id,
        "authors": [trial.sponsor] if trial.sponsor else [],
        "year": trial.start_date[:4] if trial.start_date else "",
        "accession_number": trial.display_id,
        "name_of_database": trial.registry_ids[0].registry,
        "urls": [trial.source_url],
        "keywords": keywords,
        "notes": notes,
    }
    if trial.summary:
        entry["abstract"] = trial.summary
    return {k: ris_value(v) for k, v in entry.items() if v not in ("", [], None)}


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the "1.", "2." line it puts before each record's ``TY``: the RIS
    format has no such line, and a reference manager may refuse the file for it."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(trials: Iterable[Trial]) -> str:
    return rispy.dumps([ris_entry(t) for t in trials], implementation=_RisWriter)


#: What a CSV file asked for with ``bom`` starts with: Excel reads a CSV as the system's code
#: page (GBK on a Chinese Windows) unless it begins with the UTF-8 byte-order mark, and shows
#: every Chinese name garbled; other tools read the file the same either way.
BOM = "\ufeff"


def check_bom(fmt: str, bom: bool, option: str) -> None:
    """Refuse a byte-order mark (asked by ``option``) for another format than CSV: JSON and
    RIS readers refuse a file that starts with one. Called before any search is run."""
    if bom and fmt != "csv":
        raise InputError(f"{option}: a byte-order mark is for CSV only, not {fmt}")


def render(trials: Iterable[Trial], fmt: str, bom: bool = False) -> str:
    """The trials in ``fmt`` (csv, json or ris); a CSV file starting with a byte-order mark
    where ``bom`` (see ``check_bom``)."""
    check_bom(fmt, bom, "bom")
    if fmt == "csv":
        return (BOM if bom else "") + to_csv(trials)
    if fmt == "json":
        return to_json(trials)
    if fmt == "ris":
        return to_ris(trials)
    raise InputError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
