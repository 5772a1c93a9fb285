"""Counts of trials: grouped by facets under a search's filters (``stats``, for tables and
charts), and the headline numbers of the whole store (``counts``, for the home page).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, case, func, nulls_last, select

from isletbase.errors import InputError
from isletbase.store.db import Database
from isletbase.store.facets import FACETS, _facet_column
from isletbase.store.matching import _conditions
from isletbase.store.query import TrialQuery
from isletbase.store.schema import SiteRow, TrialRow
from isletbase.store.trials import STALE_AFTER_DAYS


def stats(db: Database, by: list[str], query: TrialQuery | None = None) -> list[dict]:
    """Trial counts grouped by one or more facets (e.g. ``cell_source`` and ``year``).

    Facets read from the same table (``province`` and ``city`` from sites) share one join of
    it, so each row counts a site's own province and city together."""
    if not by:
        raise InputError(f"stats needs a facet to count by: one of {', '.join(FACETS)}")
    for position, name in enumerate(by):
        if name not in FACETS:
            raise InputError(
                f"unknown facet {name!r} to count by; expected one of {', '.join(FACETS)}"
            )
        if name in by[:position]:
            raise InputError(f"facet {name!r} is given twice; count by each facet once")
    query = query or TrialQuery()
    conds = _conditions(db, query)
    columns = []
    stmt = select()
    joins: list[type] = []
    for name in by:
        column, joined = _facet_column(name)
        columns.append(column.label(name))
        if joined is not None and joined not in joins:
            joins.append(joined)
            # outer: a trial with no site (or no id of a registry) counts under "none"
            stmt = stmt.outerjoin_from(TrialRow, joined, joined.trial_uid == TrialRow.uid)
    stmt = (
        stmt.add_columns(*columns, func.count(func.distinct(TrialRow.uid)).label("trials"))
        .select_from(TrialRow)
        .where(*conds)
        .group_by(*columns)
        .order_by(*[nulls_last(c) for c in columns])
    )
    with db.session() as session:
        return [dict(row._mapping) for row in session.execute(stmt).all()]


def _stale_since(today: date) -> ColumnElement[bool]:
    """Whether a trial's last update (else first posting) is over ``STALE_AFTER_DAYS`` before
    ``today``, a partial date read as ``stale_flags`` reads it (2022 as 2022-12-28)."""
    seen = func.coalesce(TrialRow.last_update, TrialRow.first_posted)
    day = case(
        (func.length(seen) == 4, seen + "-12-28"),
        (func.length(seen) == 7, seen + "-28"),
        else_=seen,
    )
    return day < (today - timedelta(days=STALE_AFTER_DAYS)).isoformat()


def counts(db: Database, today: date | None = None) -> dict[str, int]:
    """Headline numbers: trials, registered as recruiting (and of those, how many are stale
    ``today``: no update for two years), China trials, cell sources, provinces."""
    today = today or date.today()
    with db.session() as session:
        total = session.scalar(select(func.count(TrialRow.uid))) or 0
        recruiting, recruiting_stale = session.execute(
            select(
                func.count(TrialRow.uid), func.count(TrialRow.uid).filter(_stale_since(today))
            ).where(TrialRow.status_code == "RECRUITING")
        ).one()
        china = (
            session.scalar(select(func.count(TrialRow.uid)).where(TrialRow.region != "foreign"))
            or 0
        )
        sources = session.scalar(select(func.count(func.distinct(TrialRow.cell_source)))) or 0
        provinces = (
            session.scalar(
                select(func.count(func.distinct(SiteRow.province))).where(
                    SiteRow.country == "China"
                )
            )
            or 0
        )
    return {
        "trials": total,
        "recruiting": recruiting,
        "recruiting_stale": recruiting_stale,
        "china_trials": china,
        "cell_sources": sources,
        "provinces": provinces,
    }
