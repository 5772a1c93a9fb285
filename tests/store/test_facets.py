"""Facet counts: under every filter but their own, most first, each place once, or sampled."""

from __future__ import annotations

import pytest

from isletbase.errors import InputError
from isletbase.store.facets import facet_counts, facet_table, one_per_place, place_suggestions
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials


def _ids(db, **kw) -> set[str]:
    result = search_trials(db, TrialQuery(per_page=500, **kw))
    assert result.total == len(result.items)
    return {t.display_id for t in result.items}


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"q": "umbilical", "condition": "T1D"},
        {"province": "Beijing", "status": "recruiting", "year_from": 2010},
        {"registry": "chictr", "cell_source": "uc-msc", "year_to": 2020},
    ],
)
def test_facets_read_together_match_each_read_alone_and_skip_their_own_filter(loaded_db, filters):
    query = TrialQuery(**filters)
    names = ("cell_source", "condition", "phase", "status", "registry", "province", "year")
    together = facet_table(loaded_db, query, dict.fromkeys(names))
    for name in names:
        assert together[name] == facet_counts(loaded_db, query, name)
    # a facet lists every value its own filter could take, counted under the other filters
    if "status" in filters:
        others = TrialQuery(**{k: v for k, v in filters.items() if k != "status"})
        assert together["status"] == facet_counts(loaded_db, others, "status")
        assert len(together["status"]) > 1


def test_a_facet_limit_keeps_the_most_frequent_values(loaded_db):
    every = facet_counts(loaded_db, TrialQuery(), "city")
    assert len(every) > 3
    # most trials first, as shown (they were ordered by sites: a city one trial lists thrice
    # came before cities of two trials, which a limit then cut off)
    for name in ("city", "province", "status"):
        counts = [n for _, n in facet_counts(loaded_db, TrialQuery(), name)]
        assert counts == sorted(counts, reverse=True), name
    assert facet_counts(loaded_db, TrialQuery(), "city", limit=3) == every[:3]
    assert facet_table(loaded_db, TrialQuery(), {"city": 3, "status": None}) == {
        "city": every[:3],
        "status": facet_counts(loaded_db, TrialQuery(), "status"),
    }
    with pytest.raises(InputError, match="unknown facet"):
        facet_table(loaded_db, TrialQuery(), {"colour": None})


def test_a_place_facet_lists_each_place_once_whatever_its_spelling(db):
    """A ChiCTR page in Chinese stores 上海 where CT.gov stores Shanghai: the facet showed two
    entries both named Shanghai."""
    rows = [("Shanghai", 3), ("上海", 2), ("Beijing", 4), (None, 1)]
    assert one_per_place("city", rows) == [("Shanghai", 5), ("Beijing", 4), (None, 1)]


def test_a_facets_not_stated_value_is_last_among_equal_counts(loaded_db):
    for field in ("cell_source", "condition", "route"):
        rows = facet_counts(loaded_db, TrialQuery(), field)
        for (value, n), (_, next_n) in zip(rows, rows[1:], strict=False):
            assert n > next_n or value is not None, (field, rows)


def test_facets_of_a_broad_text_are_counted_over_the_newest_matches(loaded_db, monkeypatch):
    from isletbase.store import facets

    query = TrialQuery(q="stem cells", status="recruiting")
    exact = facets.facet_table(loaded_db, query, {"cell_source": None, "status": None})
    assert exact.sampled == frozenset()
    matched = _ids(loaded_db, q="stem cells")
    monkeypatch.setattr(facets, "FACET_SAMPLE", 5)
    sampled = facets.facet_table(loaded_db, query, {"cell_source": None, "status": None})
    assert len(matched) > 5
    assert sampled.sampled == {"cell_source", "status"}
    # the status facet ignores its own filter: five of the text's matches, the newest
    assert sum(n for _, n in sampled["status"]) == 5
    newest = sorted(
        search_trials(loaded_db, TrialQuery(q="stem cells", per_page=500)).items,
        key=lambda t: t.uid,
        reverse=True,
    )[:5]
    expected: dict = {}
    for trial in newest:
        expected[trial.status_code] = expected.get(trial.status_code, 0) + 1
    assert dict(sampled["status"]) == expected


@pytest.mark.parametrize(
    ("filters", "meant"),
    [
        ({"country": "Korea"}, {"country": ["Korea, Republic of"]}),  # CT.gov's name
        ({"country": "korea"}, {"country": ["Korea, Republic of"]}),
        ({"city": "Shangai"}, {"city": ["Shanghai"]}),  # a spelling
        ({"province": "Guangdng"}, {"province": ["Guangdong"]}),
        ({"country": "Russia"}, {}),  # the book knows it: no trial is there, none misspelled
        ({"country": "Atlantis"}, {}),  # nothing like it stored
        ({"city": "北京"}, {}),
    ],
)
def test_a_place_filter_that_names_no_known_place_is_offered_the_stored_ones(
    loaded_db, filters, meant
):
    """``--country Korea`` found no trial and said nothing: ClinicalTrials.gov writes
    "Korea, Republic of"."""
    query = TrialQuery(**filters)
    if meant:
        assert search_trials(loaded_db, query).total == 0
        for kind, places in meant.items():
            assert search_trials(loaded_db, TrialQuery(**{kind: places[0]})).total > 0
    assert place_suggestions(loaded_db, query) == meant
