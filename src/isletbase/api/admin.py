"""Write endpoints: trigger an ingest, curate a derived field, review matches and split wrong
merges. Behind a bearer token.

The token is the ``ISLETBASE_TOKEN`` environment variable of the server. Without it the write
endpoints are off (``403`` saying so); a request without the right ``Authorization: Bearer``
header gets ``401``. Every write goes through the library (``isletbase.ingest``,
``isletbase.store.curation``), so the API adds no behaviour of its own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

from isletbase.api.middleware import mark_write
from isletbase.api.trials import TRIAL_ID, trial_json
from isletbase.errors import InputError
from isletbase.harvest import POSTED_SOURCE, decide_match, list_matches, run_records, split_record
from isletbase.ingest import load_bundled
from isletbase.sources import ctgov
from isletbase.store.curation import curate
from isletbase.store.db import printable

TOKEN_ENV = "ISLETBASE_TOKEN"
#: Most studies one POST may carry.
MAX_STUDIES = 100

#: The bearer credentials of a write request (shared by every write endpoint).
bearer = HTTPBearer(auto_error=False, description=f"the server's ${TOKEN_ENV}")


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through only with the server's token."""
    expected = os.environ.get(TOKEN_ENV)
    if not expected:
        raise HTTPException(
            403, f"write endpoints are off: the server was started without ${TOKEN_ENV}"
        )
    if credentials is None:
        raise HTTPException(
            401,
            "this endpoint needs an 'Authorization: Bearer <token>' header",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # the header's bytes as sent (the server decodes headers as Latin-1) against the token's
    # UTF-8: a token outside ASCII, sent as UTF-8 as clients send it, never matched
    sent = credentials.credentials.encode("latin-1")
    if not secrets.compare_digest(sent, expected.encode()):
        raise HTTPException(
            401,
            "the bearer token is not the server's token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def always(_: Request) -> bool:
    """Every request to an admin route needs the token."""
    return True


class TokenFirst(APIRoute):
    """A write route that checks the bearer token before it reads the request's body, and
    marks a request that passed it as a write (the response cache forgets its answers after).

    FastAPI decodes a JSON body before it runs any dependency, so a route guarded by a
    dependency alone answered a malformed body from anyone with ``422`` (and its parse error)
    where the ``401`` is due. ``needs_token`` says which requests need the token (every one by
    default; a simulation only when it is to be stored)."""

    needs_token: Callable[[Request], bool] = staticmethod(always)

    def get_route_handler(self) -> Callable[[Request], Coroutine[None, None, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            if self.needs_token(request):
                require_token(await bearer(request))
                mark_write(request.scope.setdefault("state", {}))
            return await handler(request)

        return checked


#: The dependency stays for the OpenAPI document, which shows the routes' bearer scheme from it.
router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(require_token)],
    route_class=TokenFirst,
)


class Curation(BaseModel):
    """A curator's decision on one derived field."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="cell_source, condition or route", examples=["cell_source"])
    value: str = Field(min_length=1, max_length=128, examples=["UC-MSC"])
    curator: str = Field(min_length=1, max_length=200, description="who decided")
    reason: str = Field(min_length=1, max_length=2000, description="why, with a source if any")

    @field_validator("field", "value", "curator", "reason")
    @classmethod
    def _printable(cls, v: str) -> str:
        """Stored in the trial's history: no control character (PostgreSQL refuses a NUL)."""
        return printable(v)


@router.post(f"/trials/{TRIAL_ID}/curate", summary="Override a derived field of a trial")
def curate_field(request: Request, trial_id: str, body: Curation) -> dict[str, Any]:
    """Record a curator's value for a trial's cell source, condition or route, with who and why."""
    trial = curate(
        request.app.state.db, trial_id, body.field, body.value, body.curator, body.reason
    )
    return trial_json(trial)


@router.post("/ingest/bundled", summary="Load the bundled data")
def ingest_bundled(request: Request) -> dict[str, Any]:
    """Re-load the data bundled with the package; unchanged trials are left as they are."""
    return load_bundled(request.app.state.db).to_dict()


@router.post("/ingest/ctgov", summary="Ingest ClinicalTrials.gov v2 study JSON")
def ingest_ctgov(
    request: Request,
    payload: Annotated[
        dict[str, Any], Body(description='one v2 study object, or {"studies": [...]}')
    ],
) -> dict[str, Any]:
    """Ingest studies in the ClinicalTrials.gov API v2 format; bad ones are quarantined."""
    studies = payload["studies"] if "studies" in payload else [payload]
    if not isinstance(studies, list) or not studies:
        raise InputError("'studies' must be a non-empty list of v2 study objects")
    if len(studies) > MAX_STUDIES:
        raise InputError(f"{len(studies)} studies posted; at most {MAX_STUDIES} per request")
    raws = ctgov.study_raws(studies, POSTED_SOURCE, date.today().isoformat())
    return run_records(request.app.state.db, raws, POSTED_SOURCE, ctgov.raw_to_record).to_dict()


@router.get("/review", summary="Uncertain cross-registry matches awaiting a curator")
def review(request: Request) -> dict[str, Any]:
    """The pending pairs ``isletbase review`` lists: each with its score and why."""
    matches = list_matches(request.app.state.db)
    return {"total": len(matches), "matches": [m.to_dict() for m in matches]}


class Decision(BaseModel):
    """A curator's answer to a pending match."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject"] = Field(
        description="accept merges the pair; reject keeps it apart for good"
    )


@router.post("/review/{match_id}", summary="Accept (merge) or reject a pending match")
def decide(
    request: Request, match_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: Decision
) -> dict[str, Any]:
    """As ``isletbase review --accept/--reject``; returns the trial that stays."""
    accept = body.decision == "accept"
    kept, notes = decide_match(request.app.state.db, match_id, accept)
    return {"match": match_id, "decision": body.decision, "trial": kept, "notes": notes}


@router.post(f"/records/{TRIAL_ID}/split", summary="Undo a wrong merge: a record's own trial")
def split(request: Request, trial_id: str) -> dict[str, Any]:
    """As ``isletbase review --split``: the registry id's record(s) leave the trial they were
    merged into, as a trial of their own, kept apart from it."""
    return split_record(request.app.state.db, trial_id).to_dict()
