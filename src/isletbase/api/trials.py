"""Trial, institution and statistics endpoints.

Field names follow the ClinicalTrials.gov API v2 where a field maps to one (``briefTitle``,
``overallStatus``, ``phases``, ``enrollmentInfo``, ``locations`` …); isletbase's own fields
(``cellSource``, ``derivations``, ``sources``) use the same camelCase style.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.convertors import Convertor, register_url_convertor

from isletbase.api.params import refuse_repeated
from isletbase.errors import InputError, NotFoundError
from isletbase.export import check_bom, render
from isletbase.model import Institution, Trial
from isletbase.store.facets import FACETS, facet_table, place_suggestions
from isletbase.store.institutions import get_institution, list_institutions
from isletbase.store.links import institution_trials
from isletbase.store.query import TrialQuery
from isletbase.store.search import all_matching, search_trials
from isletbase.store.stats import counts, stats
from isletbase.store.trial_reads import history, require_trial

router = APIRouter(prefix="/api", tags=["trials"])


class RegistryIdConvertor(Convertor[str]):
    """A registry id in a URL path, its own slashes included (``/trials/CTRI/2020/01/022781``).

    Each part of a registry id after its first holds a digit (``CTRI/2020/01/022781``,
    ``SLCTR/2019/012``) and the name of a trial's sub-resource (``/history``, ``/findings``)
    holds none, so ``/trials/{id}/findings`` is never read as one trial's id, whichever router
    declares it and in whatever order the routers are included.
    """

    # the digit a part holds is its first (the run before it holds none), so a path is split
    # into parts one way only: a path of many digit-filled parts that fails at its end is
    # rejected in linear time (the former "[^/]*\d[^/]*" tried every split, ~10× a part)
    regex = r"[^/]+(?:/[^/\d]*\d[^/]*)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("registry_id", RegistryIdConvertor())
#: The path parameter of a route for one trial (API and pages), by any of its registry ids.
TRIAL_ID = "{trial_id:registry_id}"

#: Most trials one export returns.
EXPORT_LIMIT = 5000
EXPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ris": "application/x-research-info-systems",
}


def trial_json(trial: Trial) -> dict[str, Any]:
    """A trial in v2-style field names, with its provenance."""
    return {
        "id": trial.display_id,
        "registryIds": [{"registry": r.registry, "id": r.id} for r in trial.registry_ids],
        "orgStudyIds": trial.org_study_ids,
        "briefTitle": trial.title_en,
        "officialTitle": trial.official_title_en,
        "titleZh": trial.title_zh,
        "leadSponsor": {"name": trial.sponsor, "nameZh": trial.sponsor_zh},
        "conditions": trial.conditions,
        "interventions": trial.interventions,
        "briefSummary": trial.summary,
        "phase": trial.phase,
        "phases": trial.phase_code.split("/") if trial.phase_code else [],
        "status": trial.status,
        "overallStatus": trial.status_code,
        "enrollmentInfo": {
            "count": trial.enrollment,
            "type": trial.enrollment_type.upper() if trial.enrollment_type else None,
        },
        "startDate": trial.start_date,
        "completionDate": trial.completion_date,
        "studyFirstPostDate": trial.first_posted,
        "lastUpdatePostDate": trial.last_update,
        "designInfo": trial.design,
        "primaryOutcome": trial.primary_outcome,
        "locations": [
            {
                "facility": s.name,
                "facilityZh": s.name_zh,
                "city": s.city,
                "state": s.province,
                "country": s.country,
                "institutionId": s.institution_id,
            }
            for s in trial.sites
        ],
        "country": trial.country,
        "region": trial.region,
        "cellSource": trial.cell_source,
        "condition": trial.condition,
        "route": trial.route,
        "derivations": [d.model_dump() for d in trial.derivations],
        "sourceUrl": trial.source_url,
        "sources": [s.model_dump() for s in trial.sources],
        "flags": trial.flags,
        "notes": trial.notes,
    }


def institution_json(inst: Institution) -> dict[str, Any]:
    return inst.model_dump(mode="json")


def given_once(request: Request) -> None:
    """Each search parameter at most once (``refuse_repeated``), for the web's pages (the API
    refuses every repeated parameter but a list's, ``known_query_parameters``)."""
    refuse_repeated(request, SEARCH_KEYS)


#: The parameters of a trial search.
SEARCH_KEYS = frozenset(TrialQuery.model_fields)


@router.get("/trials", summary="Search trials")
def list_trials(request: Request, query: Annotated[TrialQuery, Query()]) -> dict[str, Any]:
    """Trials matching free text (English, Chinese, pinyin) and filters, paged, with the total."""
    db = request.app.state.db
    result = search_trials(db, query)
    found = {
        "total": result.total,
        "totalExact": result.total_exact,
        "page": result.page,
        "perPage": result.per_page,
        "pages": result.pages,
        "filters": query.filters(),
        "trials": [trial_json(t) for t in result.items],
    }
    if not result.total and (meant := place_suggestions(db, query)):
        found["placesMeant"] = meant  # ``country=Korea``: {"country": ["Korea, Republic of"]}
    return found


class ExportQuery(TrialQuery):
    """A search to export, and how its file is written."""

    bom: bool = Field(
        default=False,
        description="CSV only: start the file with a UTF-8 byte-order mark, for Excel",
    )


@router.get(
    "/export/{fmt}",
    summary="Export matching trials as CSV, JSON or RIS",
    response_class=Response,
    responses={200: {"content": {m: {} for m in EXPORT_MEDIA.values()}}},
)
def export_trials(
    request: Request, fmt: Literal["csv", "json", "ris"], query: Annotated[ExportQuery, Query()]
) -> Response:
    """The trials ``/api/trials`` would list for the same filters (all pages), as a file with
    each trial's registry ids and source URL. More than ``EXPORT_LIMIT`` matches are refused
    (400 saying how many): a file cut at the limit was taken for all of them."""
    paging = [key for key in ("page", "per_page") if key in request.query_params]
    if paging:
        raise InputError(
            f"query parameter(s) {', '.join(paging)}: an export holds every matching trial, "
            "not a page of them; leave them out"
        )
    check_bom(fmt, query.bom, "query parameter bom")
    db = request.app.state.db
    counted = search_trials(db, query.model_copy(update={"page": 1, "per_page": 1}))
    if counted.total > EXPORT_LIMIT:
        many = f"{counted.total:,}" if counted.total_exact else f"more than {counted.total:,}"
        raise InputError(
            f"{many} trials match; an export holds at most {EXPORT_LIMIT:,}: narrow the "
            "search (text or filters), or write them all with `isletbase export`"
        )
    text = render(all_matching(db, query, EXPORT_LIMIT), fmt, query.bom)
    return Response(
        text,
        media_type=EXPORT_MEDIA[fmt],
        headers={"content-disposition": f'attachment; filename="isletbase-trials.{fmt}"'},
    )


@router.get(f"/trials/{TRIAL_ID}", summary="One trial by any registry id")
def one_trial(request: Request, trial_id: str) -> dict[str, Any]:
    return trial_json(require_trial(request.app.state.db, trial_id))


@router.get(f"/trials/{TRIAL_ID}/history", summary="Every recorded change of a trial")
def trial_history(request: Request, trial_id: str) -> dict[str, Any]:
    """The trial's changes under its display id, whichever of its ids (in any case) was asked."""
    db = request.app.state.db
    trial = require_trial(db, trial_id)
    return {
        "id": trial.display_id,
        "changes": [c.__dict__ for c in history(db, trial.display_id)],
    }


@router.get("/institutions", summary="The bilingual institution directory")
def institutions(
    request: Request, q: Annotated[str | None, Query(max_length=200)] = None
) -> dict[str, Any]:
    found = list_institutions(request.app.state.db, q)
    return {"total": len(found), "institutions": [institution_json(i) for i in found]}


@router.get("/institutions/{institution_id}", summary="One institution and its trials")
def institution(request: Request, institution_id: str) -> dict[str, Any]:
    db = request.app.state.db
    inst = get_institution(db, institution_id)
    if inst is None:
        raise NotFoundError(f"no institution with id {institution_id!r}")
    trials = institution_trials(db, inst.id)
    return {
        **institution_json(inst),
        "trials": [
            {
                "id": t.display_id,
                "briefTitle": t.title_en,
                "titleZh": t.title_zh,
                "overallStatus": t.status_code,
            }
            for t in trials
        ],
    }


@router.get("/stats", summary="Headline numbers and counts by facet")
def statistics(
    request: Request,
    by: Annotated[list[str], Query(description=f"facets: {', '.join(FACETS)}")] = ["cell_source"],  # noqa: B006
) -> dict[str, Any]:
    db = request.app.state.db
    return {
        "counts": counts(db),
        "by": by,
        "rows": stats(db, by),
        "facets": facet_table(
            db, TrialQuery(), {"cell_source": None, "condition": None, "status": None}
        ),
    }
