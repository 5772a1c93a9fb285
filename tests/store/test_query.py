"""Reading a search: filters refused with what they could be, and the words offered as prefixes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from isletbase.store.query import TrialQuery, prefix_suggestion


def test_an_overlong_query_is_refused_with_the_limit():
    with pytest.raises(ValidationError, match="200"):
        TrialQuery(q="x" * 201)


@pytest.mark.parametrize(("field", "value"), [("status", "bogus"), ("phase", "Phase 9")])
def test_an_unknown_status_or_phase_is_refused_naming_the_codes(field, value):
    with pytest.raises(ValidationError, match=f"unknown {field}"):
        TrialQuery(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("cell_source", "magic"), ("route", "口服")])
def test_an_unknown_vocabulary_value_is_refused_naming_the_codes(field, value):
    with pytest.raises(ValidationError, match=f"unknown {field} .*expected one of"):
        TrialQuery(**{field: value})


@pytest.mark.parametrize(
    "q, offered",
    [
        ("umbilic cord", "umbilic* cord"),
        ('"stem cel" islet', '"stem cel*" islet'),
        ("Umbilic  Cord", "umbilic* cord"),
        ("umbilical", None),  # the last word is a prefix already
        ("t1 cord", None),  # too short to be a prefix
        ("umbilic* cord", None),
        ("cord 脐带", None),
    ],
)
def test_a_search_is_offered_with_its_earlier_words_as_prefixes(q, offered):
    assert prefix_suggestion(q) == offered


@pytest.mark.parametrize(
    "written",
    [
        "phase1, phase2, phase3",
        "PHASE1/PHASE2/PHASE3",
        "Phase I/II/III",
        "Phase I-III",
        "I/II/III期",
    ],
)
def test_a_three_phase_filter_is_the_stored_three_phase_code(written):
    assert TrialQuery(phase=written).phase == "PHASE1/PHASE2/PHASE3"


@pytest.mark.parametrize("written", ["1_0", " 2", "3 "])
def test_a_page_is_read_only_as_written_in_digits(written):
    """The web's pages read a search through this model too: ``/trials?page=1_0`` was page 10."""
    with pytest.raises(ValidationError, match="expected a number written in digits"):
        TrialQuery(page=written)
    assert TrialQuery(page="10").page == 10
