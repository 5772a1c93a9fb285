"""Chinese medical words and their English, read from bilingual pages (``data/glossary.yaml``),
so that a search in Chinese also finds the trials whose records say it only in English."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from isletbase.taxonomy import normalise, simplified


def _key(text: str) -> str:
    return simplified(normalise(text)).casefold()


@cache
def _book() -> dict[str, tuple[str, ...]]:
    """Chinese word (as looked up) → its English words."""
    raw = yaml.safe_load(
        resources.files("isletbase.data").joinpath("glossary.yaml").read_text("utf-8")
    )
    return {_key(zh): tuple(entry["en"]) for entry in raw["terms"] for zh in entry["zh"]}


def english(term: str) -> tuple[str, ...]:
    """The English words of the Chinese ``term`` (traditional characters and full-width forms
    too), or an empty tuple where the glossary lacks it."""
    return _book().get(_key(term), ())


def chinese_words() -> tuple[str, ...]:
    """Every Chinese word the glossary holds (as looked up: simplified, folded)."""
    return tuple(_book())
