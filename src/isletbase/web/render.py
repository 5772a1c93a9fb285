"""Rendering a page: the Jinja2 environment, the reader's language and the helpers templates use.

Templates get ``t`` (interface text in the reader's language), ``label`` (a vocabulary value's
label, e.g. ``UC-MSC`` → 脐带间充质干细胞), ``both`` (English and Chinese data side by side) and,
on a page showing a search (``query`` in its context), ``url_with`` (that search with some
parameters changed, for shareable filter and export links).
Autoescaping is on for every template, so registry text is always shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from isletbase import places, taxonomy, wording
from isletbase.errors import InputError, IsletbaseError
from isletbase.model import STALE_FLAG
from isletbase.regulation.facts import Evidence
from isletbase.regulation.rules import load_rulebook
from isletbase.sources import visible
from isletbase.store.query import TrialQuery
from isletbase.taxonomy import CJK
from isletbase.web.i18n import COOKIE, LANGUAGES, language, strings
from isletbase.wording import Said

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
_CODE = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """A page's own words with a command in backticks shown as code (the evidence page read
    "… and `isletbase evidence igls`."): the text escaped first, then each span marked up."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(Markup.escape(text))))


TEMPLATES.env.filters["code_spans"] = code_spans


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


@dataclass(frozen=True)
class Problem:
    """What a page says was wrong with a request, in the reader's language: a sentence (an
    interface text's ``key`` and its ``values``), then why where the interface has words for
    it (``why``, formatted with ``why_values``), else the technical ``detail``, which is in
    English (the validators' own words: a Chinese page marks it so)."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    detail: str | None = None
    why: str | None = None
    why_values: Mapping[str, Any] = field(default_factory=dict)


class PageInputError(InputError):
    """An ``InputError`` that carries the ``Problem`` a page shows for it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail or problem.key)
        self.problem = problem


def problem_of(exc: IsletbaseError, key: str) -> Problem:
    """The problem ``exc`` carries, else the sentence ``key`` with its message as the detail."""
    if isinstance(exc, PageInputError):
        return exc.problem
    said = exc.args[0] if exc.args and isinstance(exc.args[0], Said) else None
    return Problem(key, detail=said or str(exc))  # a ``Said`` shown in the page's language


def invalid_parameter(err: Mapping[str, Any]) -> Problem:
    """A pydantic error about a URL's or form's parameter, as a page says it: which parameter,
    what was given, and why in the reader's words where the error is a common kind (a number
    out of range, not a number, too long, not one of the choices)."""
    loc = err.get("loc") or ()
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    if not loc:  # the parameters together (a year range that ends before it starts)
        return Problem("invalid_together", detail=message)
    name = str(loc[0])
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    return Problem(
        "invalid_param",
        {"name": name, "given": visible(str(err.get("input", ""))[:80])},
        f"{name}: {message}",
        f"invalid_{err.get('type')}",
        ctx,
    )


def _coded(book: Any, name: str, code: str, lang: str) -> str:
    """A code of the rule book's (a claim, a condition, an offer's cell source) as a reader
    says it: on a Chinese page the first words its phrase list gives in Chinese (cure → 根治,
    diabetes → 糖尿病), else the code in words (no_side_effects → no side effects)."""
    lists = {"claims": book.phrases, "conditions_treated": book.conditions}
    phrases = lists.get(name, book.cell_sources).get(code)
    if lang == "zh" and phrases is not None and phrases.zh:
        return phrases.zh[0]
    return code.replace("_", " ")


#: Evidence a rule read from a trial's record: a field's name and its value
#: (``regulation.trial``), as the page names the field for readers.
_FIELD_VALUE = re.compile(r"(?P<field>[a-z][a-z_ ]*): (?P<value>.*)", re.S)

#: ``taxonomy.Match.explain``'s words: the rule, the text it matched (as Python quotes it), where.
_MATCHED = re.compile(
    r"^(?P<rule>[\w.-]+): matched (?P<q>['\"])(?P<text>.*)(?P=q) in (?P<field>\w+)$"
)


#: A letter of the Latin alphabet, accented or not (a text in English, French, Spanish …).
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")

#: A source's field as the data name it: a field's name, then what the curator noted in brackets.
_SOURCE_FIELD = re.compile(r"(?P<field>[a-z_.]+(?: [a-z]+)?)(?: \((?P<note>.*)\))?", re.S)

#: Fields of a piece of evidence whose value is a place (``place`` names it for the reader).
_PLACE_FIELDS = ("region", "country", "province", "city")

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

    colon = "：" if lang == "zh" else ": "  # a label's colon: full-width, no space, in Chinese
    site = str(request.base_url).rstrip("/")
    own_path = context.get("canonical_path") or request.url.path

    def paren(inner: object) -> str:
        """An aside in brackets after what it follows: full-width and unspaced in Chinese
        ("规则（54）"), spaced in English ("Rules (54)")."""
        return f"（{inner}）" if lang == "zh" else f" ({inner})"

    def t(key: str, **kw: Any) -> str:
        return text[key].format(**kw) if kw else text[key]

    def has(key: str | None) -> bool:
        return key is not None and key in text

    def named(kind: str, value: str, fallback: str | None = None) -> str:
        """``value`` (an outcome, a design, a regimen …) as the interface names it, under the
        key ``kind_value``; else ``fallback``, else the value itself."""
        return text.get(f"{kind}_{value}", value if fallback is None else fallback)

    def field_label(name: str) -> str:
        return text.get(name, name)

    def lang_mark(value: object) -> Markup:
        """The ``lang`` of a text in the page's other language, for screen readers and fonts:
        ` lang="en"` for a registry's English on a Chinese page (one read "Phase 1/Phase 2"
        and a sponsor's name as Chinese) — Latin letters and no Chinese character (™, é or β
        in it is English still) — and ` lang="zh-Hans"` (or ``zh-Hant``, in traditional
        characters) for Chinese on an English page (a trial's Chinese title, an institution's
        Chinese name): more Han characters than Latin letters, so "Tianjin First Central
        Hospital / 天津市第一中心医院" is neither; nothing otherwise."""
        if not isinstance(value, str):
            return Markup("")
        if lang == "zh":
            english = _LATIN.search(value) is not None and CJK.search(value) is None
            return Markup(' lang="en"') if english else Markup("")
        han = len(CJK.findall(value))
        if not han or han <= len(_LATIN.findall(value)):  # English, or both languages
            return Markup("")
        traditional = taxonomy.simplified(value) != value
        return Markup(' lang="zh-Hant"') if traditional else Markup(' lang="zh-Hans"')

    def source_field(name: str) -> str:
        """What a source gave, as a trial's source list names it: a field for readers, with
        what the curator noted of it in brackets ("sponsor (Responsible Party)" → 申办方
        (Responsible Party)); "see notes" and "all fields" in the reader's words."""
        found = _SOURCE_FIELD.fullmatch(name)
        if found is None:
            return name
        field, note = found["field"], found["note"]
        named = {"all": text["all_fields"], "all fields": text["all_fields"], "record": text[
            "record_source"], "see notes": text["see_notes"]}.get(field)  # fmt: skip
        if named is None:
            named = text.get(field.removeprefix("curated."), field)
        return named + paren(note) if note else named

    def label(field: str, value: str | None) -> str:
        if value is None:
            return text["unknown"]
        if field == "registry":  # a registry by its name, one we named in the reader's words
            return wording.named(f"registry_{value}", lang, value)
        if field == "cell_source" and tax.term(field, value) is None:  # an outcome's own code
            return wording.named(f"cell_{value}", lang, value)
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
        if lang == "zh":  # a registry's "country" Taiwan, Hong Kong, Macau: our region's name
            region = places.chinese("region", name) if kind in ("country", "province") else None
            return places.chinese(kind, name) or region or name
        return places.english(kind, name)

    def where(city: str | None, province: str | None = None, country: str | None = None) -> str:
        """A place from its parts, as the reader writes it: "江苏南京" on a Chinese page where
        every part has a Chinese name (largest first, run together; "南京, 江苏" read as an
        English address), else "Nanjing, Jiangsu"; a province that is its city's own name
        (北京) once."""
        given = [("city", city), ("province", province if province != city else None)]
        parts = [named for kind, name in [*given, ("country", country)] if name
                 for named in [place(kind, name)] if named]  # fmt: skip
        if lang == "zh" and parts and not any(p.isascii() for p in parts):
            return "".join(reversed(parts))
        return ", ".join(parts)

    def fact_label(name: str) -> str:
        """A regulation fact's name for readers ("product_approved" → "a regulator's approval
        stated" / 声明已获监管部门批准)."""
        spec = load_rulebook().fields.get(name)
        return getattr(spec.label, lang) if spec else name

    def fact_value(name: str, value: Any) -> str:
        """A fact's value for readers: yes / no / not stated, a country by its name, claims by
        their words, a list joined (not Python's ``True``, ``None``, ``['cure']``)."""
        if value is None:  # a filing list is read for who is on it: not seen, not "not stated"
            return text["not_seen" if name == "institution_filed" else "unknown"]
        if isinstance(value, bool):
            return text["answer_yes" if value else "answer_no"]
        book = load_rulebook()
        if name == "country" and value in book.countries:
            return book.country_name(value, lang)
        if name == "country" and f"jurisdiction_{value}" in text:  # INTL, EU: no country
            return text[f"jurisdiction_{value}"]
        if isinstance(value, list):
            if name in ("claims", "conditions_treated"):
                value = [_coded(book, name, code, lang) for code in value]
            return ("、" if lang == "zh" else ", ").join(map(str, value))
        return coded_value(name, str(value))

    def coded_value(name: str, value: str) -> str:
        """A trial's or an offer's coded value on a Chinese page by its Chinese name: a cell
        source, condition or route by the taxonomy's label (UC-MSC → 脐带间充质干细胞), an
        offer's cell source by its words (bone_marrow → 骨髓干细胞), a status by its label
        (RECRUITING → 正在招募); any other value, and every value in English, as it is."""
        if lang != "zh":
            return value
        field = "status" if name == "status_code" else name
        if field in ("cell_source", "condition", "route", "status") and tax.term(field, value):
            return tax.label(field, value, lang) or value
        if name == "cell_source" and value in load_rulebook().cell_sources:
            return _coded(load_rulebook(), name, value, lang)
        return value

    def derivation(rule: str) -> str:
        """A classifier rule's explanation in the reader's language ("ucmsc-zh: matched '脐带'
        in title_zh", ``taxonomy.Match.explain``), its field named for readers in English too
        ("in title_en" was the record's key); any other text as it is."""
        found = _MATCHED.match(rule)
        if found is None:
            return rule
        return text["rule_matched"].format(
            rule=found["rule"], text=found["text"], field=field_label(found["field"])
        )

    def evidence_quote(evidence: Evidence) -> str:
        """What a piece of evidence says: a quote from the offer as written; a trial record's
        field as "name: value" with the field named for readers ("first_posted: 2020-09-29"
        was shown as it is, in English on a Chinese page); the checker's own words in the
        reader's language ("price in CNY: '15万元'" was English on a Chinese page too)."""
        quote = evidence.quote
        if isinstance(quote, Said):
            return in_language(quote)
        found = None if evidence.source == "text" else _FIELD_VALUE.match(quote)
        field = found["field"].replace(" ", "_") if found else None  # "registry id"
        if found is None or not has(field):
            return quote
        value = found["value"]
        if field == "country" and value in load_rulebook().countries:  # an offer's "CN"
            value = fact_value("country", value)
        elif field in _PLACE_FIELDS:  # "region: mainland China" on a Chinese page
            value = place(field, value)
        else:  # "cell_source: UC-MSC"
            value = coded_value(field, value)
        # an offer's place may be Hong Kong or Taiwan: not a country ("国家：台湾")
        named = text["country_or_region"] if field == "country" else text[field]
        return f"{named}{colon}{value}"

    def in_language(text: str) -> str:
        """A text isletbase words itself (``wording.Said``: why a pool left a record out) in
        the reader's language where it has it; any other text as it is."""
        return wording.in_language(text, lang)

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
            "colon": colon,
            "paren": paren,
            "source_field": source_field,
            "lang_mark": lang_mark,
            "where": where,
            "t": t,
            "has": has,
            "named": named,
            "label": label,
            "place": place,
            "fact_label": fact_label,
            "derivation": derivation,
            "stale_prefix": STALE_FLAG,
            "fact_value": fact_value,
            "evidence_quote": evidence_quote,
            "in_language": in_language,
            "both": both,
            "field_label": field_label,
            "url_with": lambda path=None, **kw: url_with(request, context["query"], path, **kw),
            "switch_url": request.url.path + "?" + urlencode(switch),
            # the page in each language, for search engines and shared links (hreflang), and
            # this one's own address (canonical): absolute, as search engines read them, and
            # under the path a page names for itself (a trial's id as its registry writes it:
            # /trials/nct01219465 is /trials/NCT01219465)
            "alternates": [
                (code, f"{site}{own_path}?{urlencode([*switch[:-1], ('lang', each)])}")
                for each, code in (("en", "en"), ("zh", "zh-Hans"))
            ],
            "canonical": f"{site}{own_path}?{urlencode([*switch[:-1], ('lang', lang)])}",
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
