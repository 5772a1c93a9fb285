"""Rendering a page: the Jinja2 environment, the reader's language and the helpers templates use.

Templates get ``t`` (interface text in the reader's language), ``label`` (a vocabulary value's
label, e.g. ``UC-MSC`` → 脐带间充质干细胞), ``both`` (English and Chinese data side by side) and,
on a page showing a search (``query`` in its context), ``url_with`` (that search with some
parameters changed, for shareable filter and export links).
Autoescaping is on for every template, so registry text is always shown as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from isletbase import places, taxonomy
from isletbase.store.search import TrialQuery
from isletbase.web.i18n import COOKIE, LANGUAGES, language, strings

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def url_with(request: Request, query: TrialQuery, path: str | None = None, **changes: Any) -> str:
    """The current page (or ``path``) showing the search ``query`` with parameters set, or
    removed where ``None``. Changing anything but the page number returns to page 1.

    Built from the parsed search, not the URL as typed, so a link carries only parameters that
    ``/trials`` and ``/api/export`` both accept: an empty ``year_from=`` or a ``utm_source``
    that the page ignored would make an export link fail.
    """
    params = {**query.model_dump(exclude_defaults=True), "page": None, **changes}
    encoded = urlencode([(k, str(v)) for k, v in params.items() if v not in (None, "")])
    return (path or request.url.path) + (f"?{encoded}" if encoded else "")


#: The regions that are ours, not a place's name: their labels' keys in the interface text.
_OUR_REGIONS = {"mainland China": "region_mainland", "foreign": "region_foreign"}


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """The page in the reader's language; a ``?lang=`` choice is remembered in a cookie."""
    lang = language(request)
    text = strings()[lang]
    tax = taxonomy.load()
    other = LANGUAGES[1 - LANGUAGES.index(lang)]
    switch = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [
        ("lang", other)
    ]

    def t(key: str, **kw: Any) -> str:
        return text[key].format(**kw) if kw else text[key]

    def label(field: str, value: str | None) -> str:
        if value is None:
            return text["unknown"]
        if (
            field == "condition"
            and value.startswith("complication:")
            and tax.term(field, value) is None
        ):
            return value
        return tax.label(field, value, lang) or value

    def place(kind: str, name: str | None) -> str | None:
        """A place (country, region, province, city) as the reader reads it: its Chinese name
        on a Chinese page where the place book knows it, else its English one (a site a ChiCTR
        page wrote 武汉 is Wuhan on an English page); a region of ours by its label."""
        if not name:
            return name
        if kind == "region" and name in _OUR_REGIONS:
            return text[_OUR_REGIONS[name]]
        if lang == "zh":
            return places.chinese(kind, name) or name
        return places.english(kind, name)

    def both(en: str | None, zh: str | None) -> list[str]:
        first, second = (zh, en) if lang == "zh" else (en, zh)
        return [x for x in (first, second) if x]

    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            **context,
            "lang": lang,
            "other_lang": other,
            "t": t,
            "label": label,
            "place": place,
            "both": both,
            "field_label": lambda name: text.get(name, name),
            "url_with": lambda path=None, **kw: url_with(request, context["query"], path, **kw),
            "switch_url": request.url.path + "?" + urlencode(switch),
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
