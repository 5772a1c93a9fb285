"""The web pages: home, trials (search with facets), one trial, institutions; ``mount`` adds
them and the capability pages (``web.capabilities``) to the app. Each route asks the library for
what it shows and hands it to a template; no page needs JavaScript, and every search is a
shareable URL with the same parameters as ``/api/trials``.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from isletbase import census
from isletbase.api import headers_of
from isletbase.api.middleware import is_api, secured
from isletbase.api.trials import EXPORT_LIMIT, SEARCH_KEYS, TRIAL_ID, given_once
from isletbase.errors import InputError
from isletbase.evidence.living import current_outcomes
from isletbase.evidence.outcomes import Outcome
from isletbase.model import Institution, Site, SourceRef, Trial
from isletbase.regulation.engine import findings_for_trial
from isletbase.sources import chictr, registry_page
from isletbase.sources.ctgov import STUDY_URL
from isletbase.store.db import Database
from isletbase.store.facets import facet_table, place_suggestions
from isletbase.store.institutions import directory, get_institution, list_institutions, pinyin_key
from isletbase.store.links import institution_trials
from isletbase.store.query import TrialQuery, prefix_suggestion
from isletbase.store.search import SearchResult, institutions_named, search_trials
from isletbase.store.stats import counts, stats
from isletbase.store.trial_reads import get_trial, history
from isletbase.web import capabilities
from isletbase.web.charts import year_chart
from isletbase.web.i18n import language, strings
from isletbase.web.render import (
    PageInputError,
    Problem,
    invalid_parameter,
    problem_of,
    render,
)

router = APIRouter(include_in_schema=False)

#: Facets shown beside the results, with how many values each lists at most.
PAGE_FACETS = {
    "cell_source": 20,
    "condition": 20,
    "phase": 10,
    "status": 12,
    "registry": 10,
    "province": 15,
    "city": 15,
}
#: Fields shown on a trial page, in order; derived ones show how they were derived.
TRIAL_FIELDS = (
    "title_en",
    "official_title_en",
    "title_zh",
    "sponsor",
    "cell_source",
    "condition",
    "route",
    "phase",
    "status",
    "enrollment",
    "start_date",
    "completion_date",
    "first_posted",
    "last_update",
    "design",
    "primary_outcome",
    "conditions",
    "interventions",
    "org_study_ids",
    "summary",
    "country",
    "region",
    "notes",
)
DERIVED = {
    "cell_source": "cell_source",
    "condition": "condition",
    "route": "route",
    "phase": "phase_code",
    "status": "status_code",
}
#: Most institutions a trial search that found trials points to (more: the text is a common word).
MOST_NAMED = 3
SORTS = ("relevance", "-start_date", "start_date", "-enrollment", "enrollment", "updated", "id")


def db_of(request: Request) -> Any:
    return request.app.state.db


def parse_query(request: Request) -> TrialQuery:
    """The search in the URL; raises ``InputError`` naming the parameter that is wrong."""
    given_once(request)
    params = {k: v for k, v in request.query_params.items() if k in SEARCH_KEYS and v.strip()}
    try:
        return TrialQuery.model_validate(params)
    except ValidationError as exc:
        raise PageInputError(invalid_parameter(exc.errors()[0])) from exc


def error_page(
    request: Request,
    status: int,
    problem: Problem,
    search_again: tuple[str, list[tuple[str, str]]] | None = None,
) -> HTMLResponse:
    """An HTML error page saying ``problem`` in the reader's language; ``search_again``: a
    search that could not be run, offered in a search box to mend (the page was a dead end)."""
    title = "not_found_title" if status == 404 else "bad_request_title"
    context = {"title_key": title, "problem": problem, "search_again": search_again}
    return render(request, "error.html", context, status)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    db = db_of(request)
    newest = search_trials(db, TrialQuery(sort="updated", per_page=8)).items
    changes = [(trial, (history(db, trial.display_id) or [None])[-1]) for trial in newest]
    return render(
        request,
        "home.html",
        {
            "numbers": counts(db),
            "pooled": capabilities.pooled_study_count(
                capabilities.standing_pools(current_outcomes(db))
            ),
            "chart": year_chart(stats(db, ["year", "cell_source"])),
            "changes": changes,
        },
    )


@router.get("/trials", response_class=HTMLResponse)
def trials(request: Request) -> HTMLResponse:
    try:
        query = parse_query(request)
        db = db_of(request)
        result = search_trials(db, query)
        facets = facet_table(db, query, PAGE_FACETS)
        suggestion = _prefix_suggestion(db, query) if result.total == 0 else None
        places_meant = place_suggestions(db, query) if result.total == 0 else {}
        named = institutions_named(db, query.q)
        # a search for one institution, or one that found no trial: not every hospital a
        # common word (医院, university) names
        named = named[:5] if result.total == 0 or len(named) <= MOST_NAMED else []
    except InputError as exc:
        return error_page(request, 400, problem_of(exc, "bad_search"), _typed_search(request))
    return render(
        request,
        "trials.html",
        {
            "query": query,
            "result": result,
            "suggestion": suggestion,
            "places_meant": places_meant,
            "institutions": named,
            "facets": facets,
            "sorts": SORTS,
            "filters": query.filters(),
            "export_limit": EXPORT_LIMIT,
        },
    )


def _typed_search(request: Request) -> tuple[str, list[tuple[str, str]]] | None:
    """A search's text as typed, for the error page to offer again, with its other parameters
    kept (a page number aside), where it had a text: its controls (a NUL, an ESC) left out, as
    no search box shows them, its spaces kept (U+3000 and no-break ones too)."""
    typed = _shown(request.query_params.get("q", ""))
    if not typed.strip():
        return None
    kept = [(k, _shown(v)) for k, v in request.query_params.multi_items() if k not in ("q", "page")]
    return typed, kept


def _shown(text: str) -> str:
    """``text`` without the characters no form field shows (Unicode's "other" categories)."""
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))


def _prefix_suggestion(db: Database, query: TrialQuery) -> tuple[str, SearchResult] | None:
    """For a search that found nothing: the same search with its words as prefixes
    (``prefix_suggestion``) and what it finds, where it finds something."""
    alternative = prefix_suggestion(query.q) if query.q else None
    if alternative is None:
        return None
    found = search_trials(db, query.model_copy(update={"q": alternative, "page": 1, "per_page": 1}))
    return (alternative, found) if found.total else None


def field_rows(trial: Trial) -> list[dict[str, Any]]:
    """Each shown field with its value, the page it came from, when read, and how it was derived."""
    derivations = {d.field: d for d in trial.derivations}
    rows = []
    for name in TRIAL_FIELDS:
        value = getattr(trial, name)
        if value in (None, [], ""):
            continue
        source = next((s for s in trial.sources if name in s.fields or "all" in s.fields), None)
        rows.append(
            {
                "name": name,
                "value": value,
                "code": getattr(trial, DERIVED[name]) if name in DERIVED else None,
                "source_url": source.url if source else trial.source_url,
                "source_host": urlparse(source.url if source else trial.source_url).netloc,
                "retrieved": source.retrieved if source else None,
                "derivation": derivations.get(DERIVED.get(name, "")),
                # a trial in Hong Kong, Macau or Taiwan is filed under China, each its own
                # region: its record names the region as the country (a Taipei site's
                # "Taiwan"), so the page says the country is isletbase's grouping
                "grouped": trial.region if name == "country" and trial.region in _REGIONS else None,
            }
        )
    return rows


#: Regions of China a registry writes as a country (``places.trial_country``).
_REGIONS = ("Hong Kong", "Macau", "Taiwan")


def sites_by_city(sites: list[Site]) -> list[tuple[str | None, str | None, list[Site]]]:
    """Sites grouped by (province, city), places without a city last."""
    groups: dict[tuple[str | None, str | None], list[Site]] = defaultdict(list)
    for site in sites:
        groups[(site.province, site.city)].append(site)
    keys = sorted(groups, key=lambda k: (k[1] is None, k[0] or "", k[1] or ""))
    return [(p, c, groups[(p, c)]) for p, c in keys]


def other_sources(trial: Trial) -> list[SourceRef]:
    """The trial's sources besides its record's page (shown first, on its own), each once: a
    merged trial listed its record's page two and three times over."""
    seen = {(trial.source_url, ("record",), None)}
    out = []
    for source in trial.sources:
        key = (source.url, tuple(source.fields), source.retrieved)
        if key not in seen:
            seen.add(key)
            out.append(source)
    return out


def linked_outcomes(trial: Trial, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Those of ``outcomes`` (``current_outcomes``) that cite one of the trial's registry ids.

    Outcome records carry no registry-id field of their own; their design notes name the
    registration where the paper gives it, so the link is an exact id match in that text.
    """
    ids = [r.id for r in trial.registry_ids]
    return [o for o in outcomes if (text := o.model_dump_json()) and any(i in text for i in ids)]


@router.get(f"/trials/{TRIAL_ID}", response_class=HTMLResponse)
def trial_page(request: Request, trial_id: str) -> HTMLResponse:
    db = db_of(request)
    trial = get_trial(db, trial_id)
    if trial is None:
        return error_page(request, 404, Problem("trial_not_found", {"id": trial_id}))
    return render(
        request,
        "trial.html",
        {
            "trial": trial,
            "rows": field_rows(trial),
            "sites": sites_by_city(trial.sites),
            "site_institutions": {
                i.id: i for i in directory(db) if i.id in {s.institution_id for s in trial.sites}
            },
            "changes": history(db, trial_id),
            "findings": findings_for_trial(trial, db),
            "outcomes": linked_outcomes(trial, current_outcomes(db)),
            "from_registry": registry_page(trial.source_url),
            "other_sources": other_sources(trial),
            "registry_pages": registry_pages(trial),
            "canonical_path": f"/trials/{quote(trial.display_id, safe='')}",
        },
    )


def registry_pages(trial: Trial) -> dict[str, str]:
    """Each registry id's page at its registry, where its address follows from the id: a
    ClinicalTrials.gov study's, and ChiCTR's search for a ChiCTR id (its record pages are
    numbered apart from the id)."""
    pages = {}
    for r in trial.registry_ids:
        if r.registry == "ClinicalTrials.gov":
            pages[r.id] = STUDY_URL.format(nct=r.id)
        elif r.registry == "ChiCTR":
            pages[r.id] = chictr.search_url(r.id)
    return pages


@router.get("/institutions", response_class=HTMLResponse)
def institutions(request: Request) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()[:200]
    try:
        found = list_institutions(db_of(request), q or None)
    except InputError as exc:
        return error_page(request, 400, problem_of(exc, "bad_search"))
    if not q:  # by name, as a reader looks one up (the ids put "The Second …" first)
        found.sort(key=_by_name_in(language(request)))
    return render(request, "institutions.html", {"institutions": found, "q": q})


def _by_name_in(lang: str) -> Callable[[Institution], tuple[bool, str]]:
    """How a reader looks an institution up: by its English name, or on a Chinese page by its
    Chinese name in pinyin order (贵州… under g), those without one after."""
    if lang != "zh":
        return lambda i: (False, i.display_name.casefold())
    return lambda i: (i.name_zh is None, pinyin_key(i.name_zh or i.display_name))


@router.get("/institutions/{institution_id}", response_class=HTMLResponse)
def institution_page(request: Request, institution_id: str) -> HTMLResponse:
    db = db_of(request)
    inst = get_institution(db, institution_id)
    if inst is None:
        return error_page(request, 404, Problem("institution_not_found", {"id": institution_id}))
    return render(
        request, "institution.html", {"inst": inst, "trials": institution_trials(db, inst.id)}
    )


@cache
def _census() -> tuple[census.Protocol, census.PrismaCounts]:
    """The bundled census, counted once per process (it changes only with a release)."""
    protocol = census.load_protocol()
    return protocol, census.prisma(census.load_screening(), protocol, census.load_trials())


@cache
def _flow(lang: str) -> str:
    """The census's flow diagram in ``lang``, drawn once per process and language."""
    protocol, counts = _census()
    text = strings()[lang]
    words = {key: text[f"flow_{key}"] for key in census.FLOW_WORDS}
    labels = {
        code: text.get(f"exclude_{code}", reason)
        for code, reason in protocol.exclusion_codes.items()
    }
    return census.flow_svg(counts, labels, words)


@router.get("/census", response_class=HTMLResponse)
def census_page(request: Request) -> HTMLResponse:
    protocol, counts = _census()
    return render(request, "census.html", {"protocol": protocol, "counts": counts})


@router.get("/census/flow.svg")
def census_flow(request: Request) -> Response:
    return Response(_flow(language(request)), media_type="image/svg+xml")


def mount(app: FastAPI) -> None:
    """Add the pages and ``/static`` to the application."""
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static"
    )
    app.include_router(router)
    app.include_router(capabilities.router)
    api_errors = app.exception_handlers[StarletteHTTPException]  # ``create_app``'s

    async def _page_errors(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        """A page that is not there is a page saying so, in the reader's language; the API's
        answers stay problem documents."""
        if is_api(request.url.path):
            return await api_errors(request, exc)
        if exc.status_code == 404:
            return error_page(request, 404, Problem("page_not_found", {"id": request.url.path}))
        if exc.status_code == 405:
            problem = Problem("method_not_allowed", {"method": request.method})
        else:
            problem = Problem("bad_request", detail=str(exc.detail))
        page = error_page(request, exc.status_code, problem)
        page.headers.update(headers_of(exc) or {})  # a 405's Allow, a 503's Retry-After
        return page

    app.add_exception_handler(StarletteHTTPException, _page_errors)
    api_failures = app.exception_handlers[Exception]

    async def _page_failures(request: Request, exc: Exception):  # noqa: ANN202
        """A failure of the server's own on a page is a page saying so (the API's, a problem
        document); the server logs it with its traceback."""
        if is_api(request.url.path):
            return await api_failures(request, exc)
        page = error_page(request, 500, Problem("server_error"))
        secured(page.headers, request.url.path)  # answered outside every middleware
        return page

    app.add_exception_handler(Exception, _page_failures)
