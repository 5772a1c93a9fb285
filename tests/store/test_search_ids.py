"""A query that is one registry id finds that trial through the id index, in any case."""

from __future__ import annotations

import pytest

from isletbase.store.facets import facet_counts
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials
from isletbase.store.trial_reads import get_trial, history


def _ids(db, q: str, **filters) -> list[str]:
    return [t.display_id for t in search_trials(db, TrialQuery(q=q, **filters)).items]


@pytest.mark.parametrize("q", ["NCT01219465", "nct01219465", " NCT01219465 "])
def test_an_nct_id_in_any_case_finds_its_trial(loaded_db, q):
    assert _ids(loaded_db, q) == ["NCT01219465"]


def test_a_chictr_id_typed_in_lower_case_finds_its_trial(loaded_db):
    found = search_trials(loaded_db, TrialQuery(q="chictr2300072200")).items
    assert len(found) == 1
    assert "ChiCTR2300072200" in [r.id for r in found[0].registry_ids]


def test_filters_still_apply_to_an_id_query(loaded_db):
    trial = search_trials(loaded_db, TrialQuery(q="NCT01219465")).items[0]
    other = "COMPLETED" if trial.status_code != "COMPLETED" else "RECRUITING"
    assert _ids(loaded_db, "NCT01219465", status=trial.status_code) == ["NCT01219465"]
    assert _ids(loaded_db, "NCT01219465", status=other) == []


def test_facets_of_an_id_query_count_that_trial(loaded_db):
    counts = facet_counts(loaded_db, TrialQuery(q="nct01219465"), "registry")
    assert sum(n for _, n in counts) == 1


def test_an_unknown_id_or_a_partial_id_is_searched_as_text(loaded_db):
    assert _ids(loaded_db, "NCT99999999") == []
    assert "NCT01219465" in _ids(loaded_db, "NCT0121946")  # a prefix: substring search


def test_a_trial_is_read_by_its_id_in_any_case_as_search_finds_it(loaded_db):
    for key in ("ChiCTR2300072200", "chictr2300072200", "CHICTR2300072200"):
        trial = get_trial(loaded_db, key)
        assert trial is not None and "ChiCTR2300072200" in [r.id for r in trial.registry_ids]
    assert history(loaded_db, "nct01219465")
    assert get_trial(loaded_db, "NCT99999999") is None
