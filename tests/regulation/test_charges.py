"""Who pays, read clause by clause (``regulation.charges``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from isletbase.regulation.charges import charge_words
from isletbase.regulation.extract import Extractor
from isletbase.regulation.phrases import clause_start, clause_starts
from isletbase.regulation.rules import load_rulebook


@given(st.text(alphabet=".5 -,a。b\n:", max_size=40))
def test_clause_starts_from_one_scan_are_clause_start_of_each_position(text: str) -> None:
    """A '.' before a digit ends no clause, but does where a scan stops right after it."""
    positions = range(len(text) + 1)
    assert clause_starts(text, positions) == {p: clause_start(text, p) for p in positions}


def test_each_clause_of_a_long_text_is_read_on_its_own() -> None:
    """Another payer turned away from a charge word (the sponsor covers travel, and you pay
    the fee) leaves it a charge, in every sentence of a long text; and only within its
    clause does a payer speak of a charge word."""
    matcher = Extractor(load_rulebook()).phrases
    sentence = "The sponsor covers travel, and you pay the fee. "
    said, _ = charge_words(matcher, sentence * 400)
    alone, _ = charge_words(matcher, sentence)
    assert alone and len(said) == 400 * len(alone)
    assert [m.quote for m in said[: len(alone)]] == [m.quote for m in alone]
