"""Consistency checks of a database: orphans, trials without ids, search index, quarantine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from isletbase.store.db import TEXT_INDEXES, Database
from isletbase.store.schema import (
    DerivationRow,
    InstitutionRow,
    QuarantineRow,
    RegistryIdRow,
    SiteRow,
    SourceRow,
    TrialRow,
    TrialVersionRow,
)


@dataclass
class CheckReport:
    counts: dict[str, int]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(db: Database) -> CheckReport:
    """Count every table and list anything inconsistent (each problem says what and how many)."""
    problems: list[str] = []
    tables = {
        "trials": TrialRow,
        "registry_ids": RegistryIdRow,
        "sites": SiteRow,
        "sources": SourceRow,
        "derivations": DerivationRow,
        "trial_versions": TrialVersionRow,
        "institutions": InstitutionRow,
        "quarantine": QuarantineRow,
    }
    with db.session() as session:
        counts = {
            name: session.scalar(select(func.count()).select_from(row)) or 0
            for name, row in tables.items()
        }
        for name, row in (
            ("registry_ids", RegistryIdRow),
            ("sites", SiteRow),
            ("sources", SourceRow),
            ("derivations", DerivationRow),
            ("trial_versions", TrialVersionRow),
        ):
            orphans = (
                session.scalar(
                    select(func.count())
                    .select_from(row)
                    .where(~row.trial_uid.in_(select(TrialRow.uid)))
                )
                or 0
            )
            if orphans:
                problems.append(f"{orphans} {name} rows point at no trial")
        no_ids = (
            session.scalar(
                select(func.count())
                .select_from(TrialRow)
                .where(~TrialRow.uid.in_(select(RegistryIdRow.trial_uid)))
            )
            or 0
        )
        if no_ids:
            problems.append(f"{no_ids} trials have no registry id")
        no_source = (
            session.scalar(
                select(func.count()).select_from(TrialRow).where(TrialRow.source_url == "")
            )
            or 0
        )
        if no_source:
            problems.append(f"{no_source} trials have no source URL")
        if db.is_sqlite:
            problems += _search_index_problems(session)
    if missing := db.missing_indexes():
        problems.append(
            f"indexes missing (a bulk load was interrupted?): {', '.join(missing)}; "
            "`isletbase db init` builds them"
        )
    if counts["quarantine"]:
        problems.append(
            f"{counts['quarantine']} records are in quarantine (see `isletbase quarantine`)"
        )
    return CheckReport(counts, problems)


def _search_index_problems(session: Session) -> list[str]:
    """SQLite's two text indexes: each checked inside by FTS5, and its set of documents
    compared with the trials' uids (both are contentless, so FTS5 cannot compare them)."""
    problems = []
    for index in TEXT_INDEXES:
        try:
            session.execute(
                text(f"INSERT INTO {index}({index}, rank) VALUES('integrity-check', 1)")
            )
        except DBAPIError as exc:
            problems.append(f"search index {index} is inconsistent: {exc.orig}")
        unindexed, stale = session.execute(
            text(
                f"SELECT (SELECT count(*) FROM trials WHERE uid NOT IN "
                f"(SELECT id FROM {index}_docsize)), "
                f"(SELECT count(*) FROM {index}_docsize WHERE id NOT IN (SELECT uid FROM trials))"
            )
        ).one()
        if unindexed or stale:
            problems.append(
                f"search index {index}: {unindexed} trials not indexed, "
                f"{stale} entries for no trial"
            )
    return problems
