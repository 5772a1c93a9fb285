"""Interface strings in English and Chinese, read from ``i18n.yaml``, and the reader's language.

The language is chosen by ``?lang=`` (which the switch link sets and a cookie remembers), then the
cookie, then the browser's ``Accept-Language``, then English. Data shown on pages (titles, names,
vocabulary labels) is bilingual in the database and ``taxonomy.yaml``; only the interface's own
words live here.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from starlette.requests import Request

from isletbase.wording import LANGUAGE_COOKIE, LANGUAGES, page_language, wordings

COOKIE = LANGUAGE_COOKIE


@cache
def strings() -> dict[str, dict[str, str]]:
    """``{lang: {key: text}}``; raises ``ValueError`` naming a key that lacks a language."""
    data = yaml.safe_load(resources.files("isletbase.web").joinpath("i18n.yaml").read_text("utf-8"))
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for key, texts in data.items():
        for lang in LANGUAGES:
            if not isinstance(texts, dict) or not isinstance(texts.get(lang), str):
                raise ValueError(f"i18n.yaml: key {key!r} has no {lang!r} text")
            out[lang][str(key)] = texts[lang]
    # the names of outcomes and of pooling methods are isletbase's own words (data/wording.yaml):
    # a plot and the API use them too
    for key, texts in wordings().items():
        if key.startswith(("outcome_", "method_")):
            if key in data:
                raise ValueError(f"i18n.yaml: {key!r} is named in data/wording.yaml already")
            for lang in LANGUAGES:
                out[lang][key] = texts[lang]
    return out


def language(request: Request) -> str:
    """The language to answer in: ``?lang=``, else the cookie, else the browser's choice
    (``Accept-Language``: a first visit from a Chinese browser was answered in English), else
    English."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    return page_language(request.cookies.get(COOKIE), request.headers.get("accept-language", ""))
