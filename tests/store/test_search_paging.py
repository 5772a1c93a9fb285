"""Paging of search results: one page of every match, pages past the end, pages past the
count limit, and trials read a page at a time are the trials read one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from isletbase.store import search
from isletbase.store.query import TrialQuery
from isletbase.store.schema import RegistryIdRow, TrialRow
from isletbase.store.search import search_trials
from isletbase.store.trial_reads import find_row, load_models, to_model
from isletbase.store.trials import LOAD_OPTIONS

QUERIES = [
    {"q": "umbilical", "condition": "T1D"},
    {"q": "脐带间充质干细胞"},
    {"q": "胰"},
    {"q": "stem cell", "sort": "-enrollment"},
    {"country": "China", "sort": "updated"},
    {"year_from": 2015, "year_to": 2020, "sort": "start_date"},
    {"registry": "chictr", "sort": "id"},
]


def _page_by_page(db, per_page: int, **kw) -> list[str]:
    ids, page = [], 1
    while True:
        result = search_trials(db, TrialQuery(per_page=per_page, page=page, **kw))
        ids += [t.display_id for t in result.items]
        if page >= result.pages:
            return ids
        page += 1


def find_row_of(db, display_id: str):
    with db.session() as session:
        row = find_row(session, display_id)
        assert row is not None
        return row


@pytest.mark.parametrize("kw", QUERIES)
def test_one_page_of_every_match_lists_them_in_the_order_of_smaller_pages(loaded_db, kw):
    whole = search_trials(loaded_db, TrialQuery(per_page=500, **kw))
    assert whole.total == len(whole.items) > 0
    paged = _page_by_page(loaded_db, 3, **kw)
    assert [t.display_id for t in whole.items] == paged
    assert whole.items == [to_model(find_row_of(loaded_db, t.display_id)) for t in whole.items]


def test_a_page_past_the_last_match_is_empty_and_keeps_the_total(loaded_db):
    total = search_trials(loaded_db, TrialQuery(q="umbilical")).total
    past = search_trials(loaded_db, TrialQuery(q="umbilical", page=total + 1, per_page=1))
    assert past.items == [] and past.total == total and past.total_exact


def test_no_match_is_an_empty_exact_page(loaded_db):
    result = search_trials(loaded_db, TrialQuery(q="xyzzy-no-such-trial"))
    assert (result.total, result.items, result.total_exact) == (0, [], True)


def test_pages_past_the_count_limit_still_list_trials(loaded_db, monkeypatch):
    monkeypatch.setattr(search, "COUNT_LIMIT", 5)
    every = _page_by_page(loaded_db, 500, sort="id")
    far = search_trials(loaded_db, TrialQuery(sort="id", page=4, per_page=3))
    assert far.total == 5 and not far.total_exact
    assert [t.display_id for t in far.items] == every[9:12]


def test_a_page_of_trials_read_together_equals_each_read_on_its_own(loaded_db):
    with loaded_db.session() as session:
        uids = list(session.scalars(select(TrialRow.uid).order_by(TrialRow.uid)))
        together = load_models(session, uids)
        rows = session.scalars(select(TrialRow).options(*LOAD_OPTIONS)).all()
        alone = {row.uid: to_model(row) for row in rows}
    assert sorted(together) == uids
    assert together == alone
    assert any(t.sources for t in alone.values()) and any(len(t.sites) > 1 for t in alone.values())


#: Searches whose page SQLite cuts from the listed matches (a text or a registry, sorted on
#: the trials' columns), each with the set of trials it must list found another way.
LISTED = [
    {"q": "stem cell", "sort": "-start_date"},
    {"q": "diabetes", "sort": "-enrollment"},
    {"q": "umbilical", "sort": "id"},
    {"q": "islet", "sort": "start_date"},
    {"registry": "chictr"},
    {"registry": "ctgov", "sort": "-enrollment"},
]


def _matched(db, kw: dict) -> set[str]:
    """The trials a listed search must find, through another path: a text by relevance, a
    registry from its ids."""
    if "q" in kw:
        found = search_trials(db, TrialQuery(q=kw["q"], per_page=500))
        return {t.display_id for t in found.items}
    registry = TrialQuery(registry=kw["registry"]).registry
    with db.session() as session:
        return set(
            session.scalars(
                select(TrialRow.display_id)
                .join(RegistryIdRow, RegistryIdRow.trial_uid == TrialRow.uid)
                .where(RegistryIdRow.registry_name == registry)
            )
        )


def _sorted(db, ids: set[str], sort: str) -> list[str]:
    """``ids`` in the order of ``sort``, worked out in Python from the stored columns."""
    with db.session() as session:
        rows = session.execute(
            select(TrialRow.display_id, TrialRow.start_date, TrialRow.enrollment).where(
                TrialRow.display_id.in_(ids)
            )
        ).all()
    if sort == "id":
        return sorted(ids)
    column = 2 if sort.endswith("enrollment") else 1
    known = [r for r in rows if r[column] is not None]
    unknown = [r for r in rows if r[column] is None]
    if sort.startswith("-"):
        known.sort(key=lambda r: (r[column], r[0]), reverse=True)
        unknown.sort(key=lambda r: r[0], reverse=True)
    else:
        known.sort(key=lambda r: (r[column], r[0]))
        unknown.sort(key=lambda r: r[0])
    return [r[0] for r in known + unknown]


@pytest.mark.parametrize("scan_above", [search.SCAN_ABOVE, 0])
@pytest.mark.parametrize("kw", LISTED)
def test_listed_matches_are_ordered_and_paged_as_the_sort_says(
    loaded_db, monkeypatch, kw, scan_above
):
    # scan_above 0: every list is ordered by reading the sort's index (where one serves it)
    monkeypatch.setattr(search, "SCAN_ABOVE", scan_above)
    expected = _sorted(loaded_db, _matched(loaded_db, kw), kw.get("sort", "-start_date"))
    assert len(expected) > 3
    whole = search_trials(loaded_db, TrialQuery(per_page=500, **kw))
    assert [t.display_id for t in whole.items] == expected
    assert whole.total == len(expected) and whole.total_exact
    assert _page_by_page(loaded_db, 3, **kw) == expected


def test_a_text_sorted_past_the_count_limit_pages_through_the_first_matches(loaded_db, monkeypatch):
    expected = _sorted(loaded_db, _matched(loaded_db, {"q": "stem cell"}), "-start_date")
    monkeypatch.setattr(search, "COUNT_LIMIT", 5)
    page = search_trials(
        loaded_db, TrialQuery(q="stem cell", sort="-start_date", page=2, per_page=3)
    )
    assert (page.total, page.total_exact) == (5, False)
    assert [t.display_id for t in page.items] == expected[3:6]
