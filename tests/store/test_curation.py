"""A curator's decision on a derived field: its value is the vocabulary's code, however given."""

from __future__ import annotations

import pytest

from isletbase.errors import InputError
from isletbase.ingest import load_bundled
from isletbase.store.curation import curate
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials
from isletbase.store.trial_reads import history


@pytest.mark.parametrize("given", ["BM-MSC", "bm-msc", "骨髓间充质干细胞", "骨髓間充質幹細胞"])
def test_a_curated_value_is_stored_as_its_code_given_as_code_or_name(db, given):
    load_bundled(db)  # a database of its own: a curation changes the trial
    trial = curate(db, "NCT01219465", "cell_source", given, "A. Curator", "the record says")
    assert trial.cell_source == "BM-MSC"
    found = search_trials(db, TrialQuery(cell_source=given))
    assert "NCT01219465" in {t.display_id for t in found.items}


def test_a_complication_outside_the_vocabulary_is_refused(loaded_db):
    """A search filters by the vocabulary's codes: a curated complication:DFU was a facet
    value whose link answered an error."""
    with pytest.raises(InputError, match="'complication:DFU' is not in the vocabulary"):
        curate(loaded_db, "NCT01219465", "condition", "complication:DFU", "A. Curator", "why")


def test_the_same_decision_again_writes_no_history_a_new_reason_does(db):
    """A client retrying after a timeout wrote a change from BM-MSC to BM-MSC each time."""
    load_bundled(db)
    before = len(history(db, "NCT01219465"))
    for given in ("BM-MSC", "bm-msc", "骨髓间充质干细胞"):
        curate(db, "NCT01219465", "cell_source", given, "A. Curator", "the record says")
    assert len(history(db, "NCT01219465")) == before + 1
    curate(db, "NCT01219465", "cell_source", "BM-MSC", "A. Curator", "the paper says so too")
    changes = history(db, "NCT01219465")
    assert len(changes) == before + 2 and "the paper says" in changes[-1].source
