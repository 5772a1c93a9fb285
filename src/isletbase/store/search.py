"""Search: the trials a ``TrialQuery`` matches, counted, ranked and read a page at a time.

Which trials match is ``store.matching``'s. Here they are counted (exactly up to
``COUNT_LIMIT``), ranked when few enough match (``RANK_LIMIT``: by BM25 on SQLite, by trigram
word similarity on PostgreSQL) or else put in the sort's order, and one page of them is read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import (
    Connection,
    Select,
    TextClause,
    desc,
    func,
    nulls_last,
    select,
    text,
)

from isletbase.model import Institution, Trial
from isletbase.store.db import Database
from isletbase.store.institutions import list_institutions
from isletbase.store.matching import _WORDS, _Matching, _matching
from isletbase.store.query import TrialQuery, query_terms
from isletbase.store.schema import TrialRow
from isletbase.store.trial_reads import MODEL_COLUMNS, load_models, models_from_rows

#: Counting stops here: an exact count of a very broad result costs a scan of every match and
#: tells a reader nothing a "10,000+" does not.
COUNT_LIMIT = 10_000
#: Relevance (BM25 / trigram similarity) is computed when at most this many trials match; a
#: broader text lists the newest-loaded matches first, since ranking every match of a common
#: term costs a scan of all of them (SQLite's BM25: ~3-5 µs a match with a few terms, so
#: 1,650 matches of "type 2 diabetes" + recruiting took 10 ms at 500,000 trials).
RANK_LIMIT = 1_000


@dataclass
class SearchResult:
    """One page of a search. ``total`` is exact up to ``COUNT_LIMIT``; past it ``total_exact``
    is false and ``total`` means "at least" (as search engines say "10,000+")."""

    total: int
    page: int
    per_page: int
    items: list[Trial] = field(default_factory=list)
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def institutions_named(db: Database, q: str | None) -> list[Institution]:
    """The institutions a search's text names (its terms, quotes off; accents kept, as names
    keep them), for a reader who typed a hospital's name into a trial search: a search that
    finds few trials or none can say which institution it means."""
    named = " ".join(query_terms(q)) if q else ""
    return list_institutions(db, named) if named else []


#: Ranking by the text alone scans every trial the text matches; it is chosen when that is
#: estimated at most this many (see ``_rank_by_text``).
TEXT_RANK_SCAN = 20_000
#: ... and when the tags' posting lists hold at least this many trials in all: shorter ones
#: cost BM25 less than the extra statement.
TAG_POSTINGS = 20_000
#: How long a count used to choose a plan is remembered (it steers the plan, not the answer).
_PLAN_COUNT_TTL = 3600.0
_plan_counts: dict[tuple[str, str], tuple[float, int]] = {}


def _plan_count(db: Database, conn: Connection, tag: str | None) -> int:
    """How many trials carry a facet tag, or (``None``) the highest trial uid — remembered for
    ``_PLAN_COUNT_TTL`` seconds."""
    key, now = (db.url, tag or ""), time.monotonic()
    cached = _plan_counts.get(key)
    if cached is None or now - cached[0] > _PLAN_COUNT_TTL:
        if tag is None:
            count = conn.scalar(select(func.max(TrialRow.uid))) or 0
        else:
            where = text("trial_words MATCH :tag").bindparams(tag=f"search_tags : {tag}")
            count = conn.scalar(select(func.count()).select_from(_WORDS).where(where)) or 0
        cached = _plan_counts[key] = (now, count)
    return cached[1]


def _rank_by_text(db: Database, conn: Connection, matching: _Matching, counted: int) -> bool:
    """Whether ``counted`` matches of a tagged text are cheaper to rank by their text alone.

    FTS5's BM25 reads the whole posting list of every phrase of a query for its weights,
    the tags' too (their weight is nil, so the scores are the same without them): ~2.5 ms for
    a tag held by a tenth of 500,000 trials. Without the tags the text's own matches are
    scanned, about ``counted`` × trials ÷ trials with the rarest tag of them.
    """
    if not matching.tags or matching.words is None:
        return False
    postings = [_plan_count(db, conn, tag) for tag in matching.tags]
    if sum(postings) < TAG_POSTINGS:
        return False
    return counted * _plan_count(db, conn, None) <= TEXT_RANK_SCAN * max(min(postings), 1)


def _ranked_by_text(matching: _Matching, found: Sequence[int]) -> Select:
    """The matches ``found`` in BM25 order, ranked by a query of their text alone."""
    # the uid list is kept from FTS5, which would run its query once per uid; an explicit
    # bm25 (not ``rank``) is computed by SQLite for the listed rows alone
    return (
        select(_WORDS.c.rowid.label("uid"))
        .where(
            text("trial_words MATCH :words").bindparams(words=matching.words),
            _among("trial_words.rowid", found, drive=False),
        )
        .order_by(text("bm25(trial_words, 1.0, 0.0)"), _WORDS.c.rowid)
    )


def _among(column: str, found: Sequence[int], drive: bool) -> TextClause:
    """``column`` is one of the uids ``found``, passed as one JSON parameter (``json_each``)
    rather than a bound parameter each. Unless ``drive``, a leading ``+`` keeps the condition
    from the planner's choice of where to start (and from a virtual table's own lookups)."""
    return text(
        f"{'' if drive else '+'}{column} IN (SELECT value FROM json_each(:found))"
    ).bindparams(found=orjson.dumps(list(found)).decode())


def _ordered(
    db: Database, matching: _Matching, query: TrialQuery, total: int, joined: bool = False
) -> Select:
    """The matches in the query's order (``joined``: with ``trials`` joined, to read its
    columns). Relevance ranks (BM25 on SQLite, trigram similarity on PostgreSQL) when at
    most ``RANK_LIMIT`` trials match; otherwise the newest-loaded matches come first."""
    sort, fts = query.sort, matching.fts
    if sort == "relevance" and query.q:
        if fts is not None:
            stmt = matching.select(joined)
            if total > RANK_LIMIT:
                return stmt.order_by(desc(fts.c.rowid))
            return stmt.order_by(fts.c.rank, fts.c.rowid)
        stmt = matching.select()
        if not db.is_sqlite and total <= RANK_LIMIT:
            score = func.word_similarity(query.q.lower(), func.lower(TrialRow.search_text))
            return stmt.order_by(desc(score), TrialRow.display_id)
        return stmt.order_by(desc(TrialRow.uid))
    return _by_column(db, matching.select(joined=True), query)


def _by_column(db: Database, stmt: Select, query: TrialQuery) -> Select:
    """``stmt`` (selecting from ``trials``) in the order of a sort on the trials' columns."""
    sort = query.sort
    if sort in ("relevance", "-start_date"):
        first = desc(TrialRow.start_date) if db.is_sqlite else nulls_last(desc(TrialRow.start_date))
        return stmt.order_by(first, desc(TrialRow.display_id))
    if sort == "start_date":
        dated = query.year_from is not None or query.year_to is not None
        # a year filter already excludes undated trials, and a plain order can use the index
        first = TrialRow.start_date if dated else nulls_last(TrialRow.start_date)
        return stmt.order_by(first, TrialRow.display_id)
    if sort == "enrollment":
        return stmt.order_by(nulls_last(TrialRow.enrollment), TrialRow.display_id)
    if sort == "-enrollment":
        first = desc(TrialRow.enrollment) if db.is_sqlite else nulls_last(desc(TrialRow.enrollment))
        return stmt.order_by(first, desc(TrialRow.display_id))
    if sort == "updated":
        return stmt.order_by(desc(TrialRow.updated_at), TrialRow.display_id)
    return stmt.order_by(TrialRow.display_id)


#: Sorts SQLite serves from an index read in order (``ix_trials_start_date``,
#: ``ix_trials_enrollment``, the unique display id), stopping at the page's last row.
_INDEXED_SORTS = {"relevance", "-start_date", "-enrollment", "id"}
#: A listed set of matches larger than this is put in a column's order by reading that
#: column's index in order and keeping the listed trials (about ``per_page`` × trials ÷ matches
#: index entries); a smaller one by reading each listed trial and sorting them.
SCAN_ABOVE = 2_000


def _listed_page(
    db: Database, conn: Connection, query: TrialQuery, found: Sequence[int], offset: int
) -> list[int]:
    """The page's uids among every match's uid (``found``), in a sort on the trials' columns."""
    scan = len(found) > SCAN_ABOVE and query.sort in _INDEXED_SORTS
    # scanning, SQLite reads the sort's index in order and keeps the listed trials; else it
    # reads each listed trial once and sorts the few
    member = _among("trials.uid", found, drive=not scan)
    stmt = _by_column(db, select(TrialRow.uid).where(member), query)
    return list(conn.scalars(stmt.limit(query.per_page).offset(offset)))


#: Trials read a page at a time by ``all_matching``.
EXPORT_PAGE = 500


def all_matching(db: Database, query: TrialQuery, limit: int | None = None) -> Iterator[Trial]:
    """Every trial matching ``query`` in its sort order (up to ``limit``), read page by page
    until a page comes back short: past ``COUNT_LIMIT`` the total is only "at least"."""
    page, seen = 1, 0
    while limit is None or seen < limit:
        result = search_trials(db, query.model_copy(update={"page": page, "per_page": EXPORT_PAGE}))
        for trial in result.items if limit is None else result.items[: limit - seen]:
            seen += 1
            yield trial
        if len(result.items) < EXPORT_PAGE:
            return
        page += 1


def search_trials(db: Database, query: TrialQuery) -> SearchResult:
    """The page of trials matching ``query`` and how many match (exact up to COUNT_LIMIT).

    The count comes first (it picks the order); a page past the last match is not read, and
    when every match fits on the first page one query reads the trials themselves in order.
    On SQLite a text search (or a registry filter) sorted on the trials' columns reads its
    matches' uids instead of counting them, and orders those: the text index is asked once;
    a ranked text search with facet tags and at most ``RANK_LIMIT`` matches may be ranked by
    its text alone (``_rank_by_text``).
    """
    matching = _matching(db, query)
    offset = (query.page - 1) * query.per_page
    items: list[Trial] = []
    with db.session() as session:
        # plain Core statements: run on the connection, past the ORM's per-statement work
        conn = session.connection()
        ranked = query.sort == "relevance" and query.q
        listed = None if ranked else matching.listing()
        by_text = None
        if listed is not None:
            found = conn.scalars(listed.limit(COUNT_LIMIT + 1)).all()
            counted = len(found)
        else:
            stmt = matching.counter if matching.counter is not None else matching.select()
            capped = stmt.limit(COUNT_LIMIT + 1).subquery()
            counted = conn.scalar(select(func.count()).select_from(capped)) or 0
        if ranked and 0 < counted <= RANK_LIMIT and _rank_by_text(db, conn, matching, counted):
            # read the few uids again (a scan of a text this rare is cheap) to rank them alone
            found = conn.scalars(matching.select()).all()
            by_text = _ranked_by_text(matching, found)
        past_end = counted == 0 or (counted <= COUNT_LIMIT and offset >= counted)
        if not past_end:
            if by_text is not None:
                page = by_text.limit(query.per_page).offset(offset)
                uids, whole = list(conn.scalars(page)), False
            elif listed is not None and counted <= COUNT_LIMIT:
                uids, whole = _listed_page(db, conn, query, found, offset), False
            else:
                uids, whole = None, counted <= query.per_page
                page = _ordered(db, matching, query, counted, joined=whole)
                page = page.limit(query.per_page).offset(offset)
            if whole:
                rows = conn.execute(page.with_only_columns(*MODEL_COLUMNS)).all()
                items = models_from_rows(session, rows)
            else:
                if uids is None:
                    uids = list(conn.scalars(page).all())
                models = load_models(session, uids)
                items = [models[u] for u in uids if u in models]
    return SearchResult(
        total=min(counted, COUNT_LIMIT),
        page=query.page,
        per_page=query.per_page,
        items=items,
        total_exact=counted <= COUNT_LIMIT,
    )
