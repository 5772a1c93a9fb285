"""Facet counts: how many trials a search matches per value of a facet, beside its results.

A facet is counted under every filter of the search but its own (so it lists each value its
own filter could take), and with a search text over at most the newest ``FACET_SAMPLE``
matches; a place is counted once whatever its spelling (``one_per_place``).
"""

from __future__ import annotations

import difflib

from sqlalchemy import Select, desc, func, nulls_last, select

from isletbase import places
from isletbase.errors import InputError
from isletbase.store.db import Database
from isletbase.store.matching import _conditions, _matching
from isletbase.store.query import TrialQuery
from isletbase.store.schema import RegistryIdRow, SiteRow, TrialRow
from isletbase.store.search import COUNT_LIMIT

#: Facets a caller can filter on and count by, and the column or relation behind each.
FACETS = (
    "cell_source",
    "condition",
    "phase",
    "status",
    "registry",
    "region",
    "country",
    "province",
    "city",
    "route",
    "year",
)


def _facet_column(name: str):  # noqa: ANN202 - (column, join) for a facet
    if name == "registry":
        return RegistryIdRow.registry_name, RegistryIdRow
    if name in ("province", "city"):
        return getattr(SiteRow, name), SiteRow
    if name == "year":
        return TrialRow.start_year, None
    if name == "phase":
        return TrialRow.phase_code, None
    if name == "status":
        return TrialRow.status_code, None
    return getattr(TrialRow, name), None


def facet_counts(
    db: Database, query: TrialQuery, name: str, limit: int | None = None
) -> list[tuple[str | int | None, int]]:
    """Counts of trials per value of one facet, under every other filter of ``query``, most
    frequent first (at most ``limit`` values).

    A trial with sites in two cities counts once for each city. With a search text, the counts
    are over at most the newest ``FACET_SAMPLE`` matching trials (see ``facet_table``).
    """
    return facet_table(db, query, {name: limit})[name]


#: With a search text, facets are counted over at most this many of the newest matching trials:
#: a common word matches a large share of a registry-sized database, and counting a facet reads
#: a row per match, so the work of a search page would grow with the database.
FACET_SAMPLE = COUNT_LIMIT


class FacetTable(dict):
    """Facet → ``[(value, count), …]``; ``sampled`` names the facets counted over the newest
    ``FACET_SAMPLE`` matches because more trials matched (the counts are then lower bounds)."""

    sampled: frozenset[str] = frozenset()
    sample: int = 0


def facet_table(db: Database, query: TrialQuery, limits: dict[str, int | None]) -> FacetTable:
    """``facet_counts`` for each facet named in ``limits`` (facet → most values, or ``None``),
    read in one transaction; facets whose own filter is not set share one set of matches."""
    for name in limits:
        if name not in FACETS:
            raise InputError(f"unknown facet {name!r}; expected one of {', '.join(FACETS)}")
    shared: tuple | None = None
    out = FacetTable()
    sampled = set()
    with db.session() as session:
        conn = session.connection()
        for name, limit in limits.items():
            if _filtered_by(query, name):
                scope = _facet_scope(db, conn, _without(query, name))
            else:
                shared = _facet_scope(db, conn, query) if shared is None else shared
                scope = shared
            conds, capped = scope
            if capped:
                sampled.add(name)
            stmt = _facet_statement(name, conds)
            placed = name in _PLACE_FACETS
            if limit is not None:  # a place's spellings merge below: read some more of them
                stmt = stmt.limit(limit * 3 if placed else limit)
            rows = [(value, count) for value, count in conn.execute(stmt).all()]
            out[name] = one_per_place(name, rows)[:limit] if placed else rows
    out.sampled, out.sample = frozenset(sampled), FACET_SAMPLE
    return out


#: Facets whose values are places, stored as each registry wrote them (上海 and Shanghai).
_PLACE_FACETS = ("country", "province", "city")


def one_per_place(kind: str, rows: list[tuple]) -> list[tuple]:
    """A place facet's counts with each place once, under its English name (a ChiCTR page's
    上海 and CT.gov's Shanghai were two entries both shown as Shanghai), most first. A trial
    that names one place in both spellings counts twice: the counts are the rows', summed."""
    merged: dict[object, int] = {}
    for value, count in rows:
        key = places.english(kind, value) if isinstance(value, str) else value
        merged[key] = merged.get(key, 0) + count
    return sorted(merged.items(), key=lambda item: (-item[1], str(item[0])))


def _without(query: TrialQuery, name: str) -> TrialQuery:
    """``query`` without its filter on facet ``name`` (a facet's counts ignore its own filter)."""
    if name == "year":
        return query.model_copy(update={"year_from": None, "year_to": None})
    return query.model_copy(update={name: None})


def _facet_scope(db: Database, conn, query: TrialQuery) -> tuple[list, bool]:  # noqa: ANN001
    """Conditions selecting the trials a facet is counted over, and whether they were capped:
    without a search text every match (the trials' indexes count them); with one, the newest
    ``FACET_SAMPLE`` matches when more match."""
    if not query.q:
        return _conditions(db, query), False
    matching = _matching(db, query)
    order = desc(matching.fts.c.rowid) if matching.fts is not None else desc(TrialRow.uid)
    newest = matching.select().order_by(order)
    probe = select(func.count()).select_from(newest.limit(FACET_SAMPLE + 1).subquery())
    capped = (conn.scalar(probe) or 0) > FACET_SAMPLE
    # the matches as the search finds them (text and tags in one index query), read once
    matches = (newest.limit(FACET_SAMPLE) if capped else matching.select()).subquery()
    return [TrialRow.uid.in_(select(matches.c.uid))], capped


def _filtered_by(query: TrialQuery, name: str) -> bool:
    """Whether ``query`` filters on facet ``name`` (so its counts must skip that filter)."""
    if name == "year":
        return query.year_from is not None or query.year_to is not None
    return bool(getattr(query, name))


def _facet_statement(name: str, conds: list) -> Select:
    column, joined = _facet_column(name)
    if joined is None:
        counted = func.count(TrialRow.uid)
        stmt = select(column, counted).where(*conds)
    else:
        # trials, not sites: a city with three sites of one trial counts one, and is ordered so
        uids = select(TrialRow.uid).where(*conds).subquery()
        counted = func.count(func.distinct(joined.trial_uid))
        stmt = select(column, counted).where(joined.trial_uid.in_(select(uids.c.uid)))
    return stmt.group_by(column).order_by(desc(counted), nulls_last(column))


#: Most stored places ``place_suggestions`` offers for one filter.
MOST_SUGGESTED = 5


def place_suggestions(db: Database, query: TrialQuery) -> dict[str, list[str]]:
    """For a search that found nothing: each place filter (country, province, city) whose value
    is no place the book or ISO 3166 knows, with the stored places it may have meant, by name
    (``Korea``: "Korea, Republic of", as ClinicalTrials.gov writes it) or by spelling
    (``Shangai``: Shanghai). A filter the book knows (``Russia``, with no trial there) has none:
    nothing was misspelled."""
    out: dict[str, list[str]] = {}
    for kind in _PLACE_FACETS:
        given = getattr(query, kind)
        if not given or places.english(kind, given) != given or places.find(kind, given):
            continue
        stored = [str(v) for v, _ in facet_counts(db, TrialQuery(), kind) if v]
        folded = given.casefold()
        named = [v for v in stored if folded in v.casefold().replace(",", " ").split()]
        spelled = difflib.get_close_matches(given, stored, n=MOST_SUGGESTED, cutoff=0.8)
        if found := list(dict.fromkeys([*named, *spelled]))[:MOST_SUGGESTED]:
            out[kind] = found
    return out
