"""The words of the evidence ``check`` derives or looks up, in English and Chinese.

A finding's evidence is read in the API and the CLI as English (``Evidence.quote``) and on the
web site in the reader's language; the texts live in ``data/wording.yaml`` under a code, with
the values they name as arguments, so a Chinese page words them in Chinese instead of showing
the English it had (“price in CNY: '15万元'”).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Formatter

import yaml

LANGUAGES = ("en", "zh")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@cache
def wordings() -> dict[str, dict[str, str]]:
    """``{code: {lang: template}}``; ``ValueError`` naming a code that lacks a language or
    whose languages name different values."""
    raw = yaml.safe_load(
        resources.files("isletbase.data").joinpath("wording.yaml").read_text("utf-8")
    )
    for code, texts in raw.items():
        if not isinstance(texts, dict) or any(
            not isinstance(texts.get(lang), str) for lang in LANGUAGES
        ):
            raise ValueError(f"wording.yaml: {code!r} needs an 'en' and a 'zh' text")
        if _fields(texts["en"]) != _fields(texts["zh"]):
            raise ValueError(f"wording.yaml: {code!r} names other values in 'en' and 'zh'")
    return raw


def worded(code: str, lang: str, args: dict[str, str]) -> str:
    """The text of ``code`` in ``lang`` with ``args``; ``KeyError`` for an unknown code."""
    return wordings()[code][lang].format(**args)
