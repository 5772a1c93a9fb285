"""The words isletbase writes itself — why a check found what it found, why a pool left a record
out — in English and Chinese.

The API and the CLI give them in English; the web site in the reader's language. The texts live
in ``data/wording.yaml`` under a code, naming the values they hold as arguments, so a Chinese
page words them in Chinese instead of showing the English it had (“price in CNY: '15万元'”,
“single-arm: no control arm”).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from string import Formatter

import yaml

LANGUAGES = ("en", "zh")
#: The cookie that keeps a reader's choice of language (``?lang=``) for the pages after.
LANGUAGE_COOKIE = "lang"


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


def named(code: str, lang: str, default: str) -> str:
    """The name isletbase gives under ``code`` (an outcome's, a cell source's) in ``lang``, else
    ``default`` (a value it has no name for, shown as it is)."""
    texts = wordings().get(code)
    return texts[lang] if texts else default


class Said(str):
    """A text in English — the string itself, as the API and the CLI give it — that also has
    its Chinese (``zh``), for a page in Chinese. Code that reads it as text reads the English."""

    zh: str | None

    def __new__(cls, en: str, zh: str | None = None) -> Said:
        said = super().__new__(cls, en)
        said.zh = zh
        return said

    def __reduce__(self) -> tuple[type[Said], tuple[str, str | None]]:
        return (Said, (str(self), self.zh))

    def in_language(self, lang: str) -> str:
        """The text in ``lang`` where it has it, else in English."""
        return self.zh if lang == "zh" and self.zh else str(self)


def in_language(text: str, lang: str) -> str:
    """``text`` in ``lang`` where isletbase worded it (a ``Said``); any other text as it is."""
    return text.in_language(lang) if isinstance(text, Said) else text


def said(code: str, /, zh: Mapping[str, object] | None = None, **args: object) -> Said:
    """The text of ``code`` naming ``args``, in both languages; ``zh`` names some of them as a
    Chinese reader reads them (a country by its Chinese name where the English has its code)."""
    values = {k: str(v) for k, v in args.items()}
    chinese = {**values, **{k: str(v) for k, v in (zh or {}).items()}}
    return Said(worded(code, "en", values), worded(code, "zh", chinese))


def preferred(accept_language: str) -> str | None:
    """Of our languages, the one an ``Accept-Language`` header ranks highest (RFC 9110: by
    ``q``, the first listed where equal; ``zh-CN``, ``zh-Hant``, ``en-GB`` count as their
    language), or ``None`` where it names neither."""
    best, best_q = None, 0.0
    # its first 32 parts (the server caps a header's size; a browser sends a handful)
    for part in accept_language.split(",", 32)[:32]:
        tag, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = q if 0.0 <= q <= 1.0 else 0.0  # RFC 9110: 0 to 1; "q=2" or "inf" is none
        primary = tag.lower().replace("_", "-").split("-")[0]  # zh_CN as a locale writes it
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def page_language(cookie: str | None, accept_language: str) -> str:
    """A page's language where its address names none: the cookie's, else the browser's
    (``preferred``), else English — what a cached page is kept under, with its address."""
    return cookie if cookie in LANGUAGES else preferred(accept_language) or "en"
