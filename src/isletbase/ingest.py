"""The ingest pipeline: validate → classify → merge → upsert with history; rejects → quarantine.

Every source ends here. Each trial is written in its own transaction, so a bad record or a
killed process never leaves half a trial behind, and a record that fails validation is kept in
the quarantine table with the reason while the rest of the batch loads. Re-running a load with
the same input reports everything unchanged and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib.abc import Traversable
from pathlib import Path

from sqlalchemy import delete

from isletbase import taxonomy
from isletbase.errors import InputError
from isletbase.model import Institution, SourceRef, TrialRecord
from isletbase.sources import RawRecord
from isletbase.sources import curated as bundled
from isletbase.store.db import Database
from isletbase.store.institutions import institution_row, load_index
from isletbase.store.schema import InstitutionAliasRow, InstitutionRow, QuarantineRow
from isletbase.store.trials import TrialWriter

Progress = Callable[[int], None]


@dataclass
class Report:
    """What a load did; printed by the CLI and returned by the API."""

    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    quarantined: int = 0
    institutions: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def quarantine(db: Database, raw: RawRecord, reason: str) -> None:
    """Keep a rejected record with the reason, in its own transaction."""
    with db.session() as session:
        session.add(
            QuarantineRow(
                source=raw.source,
                record_ref=raw.ref,
                payload=raw.text or str(raw.payload),
                reason=reason,
            )
        )


def merge_records(records: Sequence[TrialRecord]) -> TrialRecord:
    """Combine records of one trial: the first record's values win, later ones fill gaps.

    Registry ids, list fields and sources are united in order, and each later record's page is
    kept as a source, so a merged trial keeps every id and where each came from.
    """
    first = records[0]
    data = first.model_dump()
    for other in records[1:]:
        extra = other.model_dump()
        for key, value in extra.items():
            if key in ("registry_ids", "sources", "sites"):
                continue
            if isinstance(value, list):
                data[key] = list(dict.fromkeys([*data[key], *value]))
            elif key == "curated":
                data[key] = {k: data[key].get(k) or v for k, v in value.items()}
            elif data.get(key) is None:
                data[key] = value
        seen = {r["id"] for r in data["registry_ids"]}
        data["registry_ids"] += [r for r in extra["registry_ids"] if r["id"] not in seen]
        if not data["sites"]:
            data["sites"] = extra["sites"]
        data["sources"] += [
            SourceRef(url=other.source_url, fields=["record"]).model_dump(),
            *extra["sources"],
        ]
    unique_sources = {(s["url"], tuple(s["fields"])): s for s in data["sources"]}
    data["sources"] = list(unique_sources.values())
    return TrialRecord.model_validate(data)


def group_by_registry_id(records: Sequence[TrialRecord]) -> list[list[TrialRecord]]:
    """Cluster records that share any registry id (transitively), keeping input order."""
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, record in enumerate(records):
        for rid in record.registry_ids:
            key = rid.id.upper()
            if key in owner:
                a, b = root(owner[key]), root(i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    clusters: dict[int, list[TrialRecord]] = {}
    for i, record in enumerate(records):
        clusters.setdefault(root(i), []).append(record)
    return list(clusters.values())


def load_institutions(db: Database, path: Traversable | Path, report: Report) -> None:
    """Upsert the institution directory; bad lines are quarantined, the rest load."""
    institutions: list[Institution] = []
    for raw in bundled.read_jsonl(path):
        report.fetched += 1
        try:
            institutions.append(bundled.to_institution(raw))
        except InputError as exc:
            report.quarantined += 1
            report.errors.append(str(exc))
            quarantine(db, raw, str(exc))
    with db.session() as session:
        for inst in institutions:
            fresh = institution_row(inst)
            row = session.get(InstitutionRow, inst.id)
            if row is None:
                session.add(fresh)
            else:
                session.execute(
                    delete(InstitutionAliasRow).where(InstitutionAliasRow.institution_id == inst.id)
                )
                for column in InstitutionRow.__table__.columns.keys():
                    setattr(row, column, getattr(fresh, column))
                row.aliases = fresh.aliases
    report.institutions = len(institutions)


def ingest_trials(
    db: Database,
    raws: Iterable[RawRecord],
    to_record: Callable[[RawRecord], TrialRecord],
    source: str,
    progress: Progress | None = None,
    today: date | None = None,
) -> Report:
    """Validate, classify, merge and upsert trial records; the batch survives bad records."""
    report = Report()
    valid: list[TrialRecord] = []
    for raw in raws:
        report.fetched += 1
        try:
            record = to_record(raw)
            for d in taxonomy.classify_record(record):
                if d.method == "curated":
                    taxonomy.validate_value(d.field, d.value or "")
        except (InputError, ValueError) as exc:
            reason = str(exc) if raw.ref in str(exc) else f"{raw.ref}: {exc}"
            report.quarantined += 1
            report.errors.append(reason)
            quarantine(db, raw, reason)
            if progress:
                progress(1)
            continue
        valid.append(record)
    clusters = group_by_registry_id(valid)
    with db.session() as session:
        index = load_index(session)
    salt = hashlib.sha256(repr(sorted(index.keys.items())).encode()).hexdigest()[:16]
    for cluster in clusters:
        record = merge_records(cluster) if len(cluster) > 1 else cluster[0]
        report.merged += len(cluster) - 1
        derivations = taxonomy.classify_record(record)
        with db.session() as session:
            writer = TrialWriter(session, index, source, today or date.today(), salt)
            outcome, _ = writer.upsert(record, derivations)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if progress:
            progress(len(cluster))
    return report


def count_bundled(root: Traversable | Path | None = None) -> int:
    """How many trial lines the bundled files hold (for a progress bar's total)."""
    total = 0
    for path in bundled.trial_files(root):
        with path.open("r", encoding="utf-8") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def load_bundled(
    db: Database, root: Traversable | Path | None = None, progress: Progress | None = None
) -> Report:
    """Load the bundled institutions and trials into ``db`` (initialising it if needed)."""
    db.init()
    report = Report()
    load_institutions(db, bundled.institutions_file(root), report)
    raws = (raw for path in bundled.trial_files(root) for raw in bundled.read_jsonl(path))
    trials = ingest_trials(db, raws, bundled.to_trial, "bundled data", progress)
    report.fetched += trials.fetched
    for key in ("new", "updated", "unchanged", "merged", "quarantined"):
        setattr(report, key, getattr(report, key) + getattr(trials, key))
    report.errors += trials.errors
    return report
