"""The glossary of Chinese medical words (``isletbase.glossary``) and its data file."""

from __future__ import annotations

from importlib import resources

import yaml

from isletbase import glossary, taxonomy


def _book() -> dict:
    path = resources.files("isletbase.data").joinpath("glossary.yaml")
    return yaml.safe_load(path.read_text("utf-8"))


def test_every_term_names_the_pages_it_was_read_from() -> None:
    book = _book()
    assert all(url.startswith(("http://", "https://")) for url in book["sources"].values())
    for entry in book["terms"]:
        assert entry["source"] and set(entry["source"]) <= set(book["sources"]), entry["zh"]
        assert all(not zh.isascii() for zh in entry["zh"]) and all(e.isascii() for e in entry["en"])


def test_a_word_is_found_in_either_script_and_an_unknown_one_has_no_english() -> None:
    assert glossary.english("胰岛素") == glossary.english("胰島素") == ("insulin",)
    assert glossary.english("干细胞") == ()
    assert glossary.english("幹細胞療法") == ("stem cell treatment", "stem cell therapy")


def test_no_term_is_a_vocabulary_label_whose_trials_carry_it_in_both_languages() -> None:
    """A label is written into each classified trial's search text in Chinese and English; a
    search for it stays on the trigram index (the search benchmark's 糖尿病足)."""
    tax = taxonomy.load()
    labels = {
        tax.label(field, value, "zh") for field in tax.vocabularies for value in tax.values(field)
    }
    assert "糖尿病足" in labels
    assert not {zh for e in _book()["terms"] for zh in e["zh"]} & labels
