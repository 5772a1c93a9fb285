"""Simulator routes: run a small virtual trial (``POST /api/simulate``) and list stored runs.

Running a design is open to anyone and writes nothing. Storing the run (``?store=true``) is a
write and, like every write endpoint, needs the server's bearer token (``api.admin``). A design
sent here names its scenario inline or by a bundled name, never by a path on the server.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BeforeValidator, TypeAdapter, ValidationError

from isletbase.api.admin import TokenFirst, require_token
from isletbase.api.admin import bearer as admin_bearer
from isletbase.api.slots import SIMULATION
from isletbase.errors import InputError
from isletbase.simulate.design import parse_design
from isletbase.simulate.endpoints import run_in_days
from isletbase.simulate.engine import resolve_backend
from isletbase.simulate.runs import list_runs, save_run
from isletbase.simulate.trial import run_trial, simulated_patient_days
from isletbase.store.query import as_written

router = APIRouter(prefix="/api/simulate", tags=["simulate"])

#: Largest design the API runs inline: simulated patient-days (patients × arms × repeats × days
#: / stride). Bigger designs belong on the CLI (``isletbase simulate trial``).
MAX_SIMULATED_PATIENT_DAYS = 20_000

EXAMPLE = {
    "name": "small example",
    "seed": 1,
    "days": 90,
    "sample_size": 10,
    "stride_days": 7,
    "arms": [
        {"name": "insulin only", "graft": None},
        {"name": "graft + standard IS", "graft": {"regimen": "standard"}},
    ],
}


def storing(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_bearer)],
    store: Annotated[
        bool, Query(description="store the run in the database (needs the bearer token)")
    ] = False,
) -> bool:
    """``store``, once the server's token is checked (``require_token``) when it is asked for;
    checked before the simulation runs."""
    if store:
        require_token(credentials)
    return store


_FLAG = TypeAdapter(bool)


def asks_to_store(request: Request) -> bool:
    """Whether a request asks for its run to be stored (``?store=``, read as the route reads
    it; a value that is no boolean is left for the route to refuse)."""
    try:
        return _FLAG.validate_python(request.query_params.get("store", False))
    except ValidationError:
        return False


class StoreNeedsToken(TokenFirst):
    """A simulation to be stored is a write: its token is checked before its body is read."""

    needs_token = staticmethod(asks_to_store)


def simulate(
    request: Request,
    design: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
    store: Annotated[bool, Depends(storing)],
) -> dict:
    """Run a small virtual trial design and return per-arm endpoints and curves.

    With ``?store=true`` and the server's bearer token, the run is also stored (``run_id``).
    """
    parsed = parse_design(design, "design", files=False)
    size = simulated_patient_days(parsed)
    if size > MAX_SIMULATED_PATIENT_DAYS:
        raise InputError(
            f"design: {size} simulated patient-days (sample_size × arms × repeats × "
            f"({run_in_days()} run-in days + days / stride_days)) is over the API's limit of "
            f"{MAX_SIMULATED_PATIENT_DAYS}; use `isletbase simulate trial`"
        )
    with SIMULATION.held():
        tic = time.perf_counter()
        result = run_trial(parsed)
        seconds = time.perf_counter() - tic
    data = result.to_dict()
    if store:
        db = request.app.state.db
        db.init()
        data["run_id"] = save_run(db, result, resolve_backend("auto"), seconds)
    return data


# not the decorator: only ``add_api_route`` takes a route class for one route
router.add_api_route("", simulate, methods=["POST"], route_class_override=StoreNeedsToken)


@router.get("/runs")
def runs(
    request: Request,
    # the bounds before the validator: after it they reached the schema as "ge"/"le", no
    # words of JSON Schema, so a client never saw them
    limit: Annotated[int, Query(ge=1, le=500), BeforeValidator(as_written)] = 50,
) -> list[dict]:
    """Stored simulator runs, newest first (design, seed, endpoints per arm)."""
    return list_runs(request.app.state.db, limit)
