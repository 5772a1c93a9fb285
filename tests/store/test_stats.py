"""Stats and headline counts add up to the trials a search lists, a site's places paired."""

from __future__ import annotations

from datetime import date

import pytest

from isletbase.errors import InputError
from isletbase.store.facets import facet_counts
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials
from isletbase.store.stats import counts, stats


def test_stats_and_facets_add_up(loaded_db):
    total = counts(loaded_db)["trials"]
    assert sum(r["trials"] for r in stats(loaded_db, ["cell_source"])) == total
    assert sum(n for _, n in facet_counts(loaded_db, TrialQuery(), "status")) == total
    by_two = stats(loaded_db, ["cell_source", "year"])
    assert sum(r["trials"] for r in by_two) == total
    with pytest.raises(InputError, match="unknown facet 'colour' to count by"):
        stats(loaded_db, ["colour"])


def test_stats_by_two_facets_of_one_table_pair_each_sites_own_values(loaded_db):
    trials = search_trials(loaded_db, TrialQuery(per_page=500)).items
    assert len(trials) == counts(loaded_db)["trials"]
    places: dict[tuple, set[str]] = {}
    for trial in trials:
        for site in trial.sites:
            places.setdefault((site.province, site.city), set()).add(trial.display_id)
        if not trial.sites:  # counted too, under no place (an outer join)
            places.setdefault((None, None), set()).add(trial.display_id)
    rows = stats(loaded_db, ["province", "city"])
    assert {(r["province"], r["city"]): r["trials"] for r in rows} == {
        place: len(ids) for place, ids in places.items()
    }
    by_four = stats(loaded_db, ["registry", "province", "city", "cell_source"])
    assert {r["registry"] for r in by_four} >= {"ClinicalTrials.gov", "ChiCTR"}
    with pytest.raises(InputError, match="'city' is given twice"):
        stats(loaded_db, ["city", "province", "city"])


def test_the_recruiting_count_says_how_many_are_stale(loaded_db):
    """The home page said "27 recruiting now" where 20 of the 27 had no update for years."""
    recruiting = search_trials(loaded_db, TrialQuery(status="recruiting", per_page=500)).items
    numbers = counts(loaded_db)
    assert numbers["recruiting"] == len(recruiting)
    assert numbers["recruiting_stale"] == sum(t.stale for t in recruiting) > 0
    first_update = min(t.last_update or t.first_posted or "9999" for t in recruiting)
    long_ago = date.fromisoformat(first_update[:4] + "-01-01")
    assert counts(loaded_db, long_ago)["recruiting_stale"] == 0
