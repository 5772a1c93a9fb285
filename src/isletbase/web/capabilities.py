"""The Evidence, Regulation and Simulator pages: each shows what its library module computes.

Evidence reads the standing pools (``evidence.pools``) and outcome records; Regulation lists the
rule book and timeline and checks an offer posted from a form (``regulation.check_offer``, the
same call as ``POST /api/check``); the Simulator runs the bundled example design at a size the
page allows (``simulate.run_trial``, bounded like ``POST /api/simulate``) and lists stored runs.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from isletbase.api.simulate import MAX_SIMULATED_PATIENT_DAYS
from isletbase.api.slots import CHECK, RETRY_AFTER_S, SIMULATION
from isletbase.errors import InputError, IsletbaseError
from isletbase.evidence.cases import load_cases
from isletbase.evidence.living import current_outcomes
from isletbase.evidence.outcomes import Outcome
from isletbase.evidence.pools import pool_specs
from isletbase.regulation.engine import check_offer
from isletbase.regulation.offer import Offer
from isletbase.regulation.rules import load_rulebook
from isletbase.regulation.timeline import load_timeline
from isletbase.simulate.design import load_design
from isletbase.simulate.params import DATA
from isletbase.simulate.plots import graft_mass_svg
from isletbase.simulate.runs import list_runs
from isletbase.simulate.trial import run_trial, simulated_patient_days
from isletbase.web.i18n import language, strings
from isletbase.web.render import PageInputError, Problem, problem_of, render

router = APIRouter(include_in_schema=False)

#: The design the Simulator page runs, resized by the reader within the API's limit: the
#: bundled file, whatever the server's working directory holds.
EXAMPLE_DESIGN = Path(str(DATA / "designs" / "example.yaml"))
MAX_FORM_BYTES = 100_000
OFFER_FIELDS = ("text", "institution", "registered_trial_id", "price", "currency", "country")


def standing_pools(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Each standing pool over ``outcomes`` with its result, or the reason it cannot be
    computed yet."""
    out = []
    for spec in pool_specs():
        params = {
            k: v
            for k, v in spec.model_dump().items()
            if k in ("outcome", "condition", "cell_source", "measure", "method") and v
        }
        try:
            result = spec.run(outcomes)
        except InputError as exc:
            out.append({"spec": spec, "result": None, "error": str(exc), "plot": None})
            continue
        out.append(
            {
                "spec": spec,
                "result": result.to_dict(),
                "error": None,
                "plot": "/api/evidence/pool.svg?" + urlencode(params),
            }
        )
    return out


def pooled_study_count(pools: list[dict[str, Any]]) -> int:
    """Distinct studies that enter at least one standing pool (a study at two time points
    counts once: labels are ``"Author year (timepoint)"``)."""
    labels = {
        s["study"].split(" (")[0] for p in pools if p["result"] for s in p["result"]["studies"]
    }
    return len(labels)


@router.get("/evidence", response_class=HTMLResponse)
def evidence(request: Request) -> HTMLResponse:
    outcomes = current_outcomes(request.app.state.db)
    return render(
        request,
        "evidence.html",
        {
            "pools": standing_pools(outcomes),
            "outcomes": outcomes,
            "outcome_of": {o.id: o for o in outcomes},
            "cases": load_cases(),
            "cases_translated": all(c.translated for c in load_cases()),
        },
    )


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form (``application/x-www-form-urlencoded``), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InputError(f"form: larger than {MAX_FORM_BYTES} bytes")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=False)
    except UnicodeDecodeError:
        raise InputError("form: not UTF-8") from None
    return {k: v[0].strip() for k, v in parsed.items() if v and v[0].strip()}


def regulation_context() -> dict[str, Any]:
    book = load_rulebook()
    own = {rule.jurisdiction for rule in book.rules}
    # the places with rules of their own, for the form's "where is the offer made" choice
    places = [(code, v.en[0].title(), v.zh[0]) for code, v in book.countries.items() if code in own]
    return {
        "rules": book.select(None, None),
        "timeline": load_timeline().events,
        "places": places,
        "price_marks": ", ".join(sorted(book.param("high_price"))),
    }


@router.get("/regulation", response_class=HTMLResponse)
def regulation(request: Request) -> HTMLResponse:
    return render(request, "regulation.html", {**regulation_context(), "offer": {}, "check": None})


@router.post("/regulation", response_class=HTMLResponse)
async def regulation_check(request: Request) -> HTMLResponse:
    fields: dict[str, str] = {}
    try:
        fields = {k: v for k, v in (await form_fields(request)).items() if k in OFFER_FIELDS}
        if not fields:  # the commonest mistake: said in the reader's words, not the engine's
            raise PageInputError(Problem("offer_unreadable", why="offer_nothing_given"))
        # read, then checked, in worker threads (both take CPU in proportion to the text, and
        # the event loop serves every other request); read before the slot is taken, so a
        # wrong form is told what is wrong even while other checks run
        offer = await run_in_threadpool(Offer.parse, fields, "form")
        with CHECK.held():
            result = await run_in_threadpool(check_offer, offer, request.app.state.db)
        error, status = None, 200
    except IsletbaseError as exc:
        result, error, status = None, problem_of(exc, "offer_unreadable"), 400
    except HTTPException as exc:
        result, error, status = None, _busy(exc, "check_busy"), 503
    context = {
        **regulation_context(),
        "offer": fields,
        "check": result,
        "error": error,
        "resend": fields,  # the language switch sends the offer again
    }
    return _answered(render(request, "regulation.html", context, status))


def _busy(exc: HTTPException, key: str) -> Problem:
    """A form's page told another run holds the server (``api.slots``): said in the reader's
    words with the form kept, where a bare 503 page in English lost what was typed."""
    if exc.status_code != 503:
        raise exc
    return Problem(key)


def _answered(page: HTMLResponse) -> HTMLResponse:
    """A busy page tells a client when to come back, as the API's 503 does."""
    if page.status_code == 503:
        page.headers["Retry-After"] = str(RETRY_AFTER_S)
    return page


def simulate_example(sample_size: int, days: int, lang: str = "en") -> dict[str, Any]:
    """Run the example design with ``sample_size`` patients per arm for ``days`` days; its plot
    in ``lang``."""
    design = load_design(EXAMPLE_DESIGN)
    design = design.model_validate(
        {**design.model_dump(), "sample_size": sample_size, "days": days}
    )
    size = simulated_patient_days(design)
    if size > MAX_SIMULATED_PATIENT_DAYS:
        raise PageInputError(
            Problem("simulator_too_big", {"size": size, "limit": MAX_SIMULATED_PATIENT_DAYS})
        )
    with SIMULATION.held():
        result = run_trial(design)
    text = strings()[lang]
    names = [text.get(f"arm_{arm.name}", arm.name) for arm in design.arms]
    svg = graft_mass_svg(result, lang, names)
    return {
        "design": design,
        "summary": result.to_dict()["arms"],
        "plot": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
    }


@router.get("/simulator", response_class=HTMLResponse)
def simulator(request: Request) -> HTMLResponse:
    db = request.app.state.db
    return render(
        request,
        "simulator.html",
        {
            "design": load_design(EXAMPLE_DESIGN),
            "runs": list_runs(db, 10) if db.is_initialised() else [],
            "run": None,
            "form": {},
            "limit": MAX_SIMULATED_PATIENT_DAYS,
        },
    )


def example_size(form: dict[str, str]) -> tuple[int, int]:
    """The posted ``sample_size`` (1–50) and ``days`` (7–730), or ``InputError``."""
    try:
        sample_size, days = int(form.get("sample_size", "")), int(form.get("days", ""))
    except ValueError:
        sample_size = days = 0
    if not (1 <= sample_size <= 50 and 7 <= days <= 730):
        raise PageInputError(Problem("simulator_bad_size"))
    return sample_size, days


@router.post("/simulator", response_class=HTMLResponse)
async def simulator_run(request: Request) -> HTMLResponse:
    db = request.app.state.db
    context: dict[str, Any] = {
        "design": load_design(EXAMPLE_DESIGN),
        "form": {},
        "run": None,
        "runs": list_runs(db, 10),
        "limit": MAX_SIMULATED_PATIENT_DAYS,
    }
    try:
        context["form"] = context["resend"] = form = await form_fields(request)
        # seconds of work: in a thread, so the server answers other requests meanwhile
        sample_size, days = example_size(form)
        context["run"] = await run_in_threadpool(
            simulate_example, sample_size, days, language(request)
        )
    except IsletbaseError as exc:
        problem = problem_of(exc, "bad_request")
        return render(request, "simulator.html", {**context, "error": problem}, 400)
    except HTTPException as exc:
        problem = _busy(exc, "simulator_busy")
        return _answered(render(request, "simulator.html", {**context, "error": problem}, 503))
    return render(request, "simulator.html", context)
