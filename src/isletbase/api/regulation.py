"""Regulation endpoints: rules, checking an offer, findings for trials, China's timeline.

``POST /api/check`` takes the same input as ``isletbase check``: a JSON object of offer fields
(optionally with ``text``) or a plain-text body, and answers the same stable JSON shape.
"""

from __future__ import annotations

import codecs
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from isletbase.api.params import media_type
from isletbase.api.slots import CHECK, FINDINGS
from isletbase.api.trials import TRIAL_ID
from isletbase.errors import InputError
from isletbase.regulation.engine import (
    check_offer,
    findings_for_all_trials,
    findings_for_trial,
    severity_floor,
    worst_of,
)
from isletbase.regulation.offer import MAX_TEXT, Offer
from isletbase.regulation.rules import JURISDICTIONS_TEXT, TARGETS_TEXT, load_rulebook
from isletbase.regulation.timeline import load_timeline
from isletbase.sources import codec_for
from isletbase.store.db import Database
from isletbase.store.trial_reads import require_trial

router = APIRouter(prefix="/api", tags=["regulation"])

#: Largest request body ``/api/check`` reads (an offer's text, not a website dump): room for
#: an offer of ``MAX_TEXT`` characters in Chinese, even as JSON writes them by default (six
#: bytes each: ``\u5e72``), and its fields; the text's own limit is in characters (``Offer``).
MAX_CHECK_BYTES = 7 * MAX_TEXT


@router.get("/rules")
def rules(
    jurisdiction: Annotated[str | None, Query(description=JURISDICTIONS_TEXT)] = None,
    applies_to: Annotated[str | None, Query(description=TARGETS_TEXT)] = None,
) -> dict[str, Any]:
    """The rules, bilingual, each with its source and condition."""
    return {"rules": [r.to_dict() for r in load_rulebook().select(jurisdiction, applies_to)]}


#: The media types ``/api/check`` reads: an offer's fields, or its text.
CHECK_TYPES = ("application/json", "text/plain")


async def _read_body(request: Request) -> tuple[str, str]:
    """The request's media type and body text, within ``MAX_CHECK_BYTES``."""
    media = media_type(request)
    if media not in CHECK_TYPES:
        raise HTTPException(
            status_code=415,
            detail=f"request body: Content-Type {media or 'missing'!r}; "
            f"send {' or '.join(CHECK_TYPES)}",
        )
    too_large = HTTPException(  # 413, as the server's own limit on every body answers
        status_code=413, detail=f"request body: larger than {MAX_CHECK_BYTES} bytes"
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_CHECK_BYTES:
        raise too_large
    body = bytearray()  # grown in place: a body in many small chunks is not copied each time
    async for chunk in request.stream():  # a client leaving midway: ``create_app``'s 400
        body += chunk
        if len(body) > MAX_CHECK_BYTES:
            raise too_large
    codec = _charset(request, media)
    try:
        return media, body.decode(codec)
    except UnicodeError:  # not of the charset; UTF-16 or -32 without whole code units too
        raise InputError(f"request body: not {codec} text") from None


def _charset(request: Request, media: str) -> str:
    """The codec a text body declares (``text/plain; charset=gbk``: a clinic's page as Chinese
    Windows saves it, which was refused as not UTF-8), UTF-8 where it declares none; JSON is
    UTF-8 whatever it says (RFC 8259). An unknown charset is a 415 naming it."""
    params = request.headers.get("content-type", "").split(";")[1:]
    declared = next(
        (v.strip().strip('"') for k, _, v in (p.partition("=") for p in params)
         if k.strip().lower() == "charset"),
        None,
    )  # fmt: skip
    if not declared or media != "text/plain":
        return "utf-8"
    try:
        codec = codecs.lookup(codec_for(declared)).name
    except LookupError:
        codec = None
    if codec not in TEXT_CHARSETS:  # base64, rot13, zlib: codecs, but of no text (a 500)
        raise HTTPException(
            status_code=415,
            detail=f"request body: charset {declared!r}; send one of {', '.join(TEXT_CHARSETS)}",
        )
    return codec


#: The charsets a text body may declare (Python's names for them): Unicode's, China's (GBK
#: and GB2312 are read as GB18030, their superset), Taiwan's and Hong Kong's, and Latin-1.
TEXT_CHARSETS = (
    "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "gb18030", "big5", "big5hkscs",
    "iso8859-1", "cp1252",
)  # fmt: skip


def _offer(media: str, text: str) -> Offer:
    return (Offer.from_json if media == "application/json" else Offer.from_text)(
        text, "request body"
    )


def _check(offer: Offer, db: Database) -> dict[str, Any]:
    return check_offer(offer, db).to_dict()


@router.post(
    "/check",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": Offer.model_json_schema()},
                "text/plain": {"schema": {"type": "string", "maxLength": MAX_TEXT}},
            },
        }
    },
)
async def check(request: Request) -> dict[str, Any]:
    """Check a clinic's offer: ``{"worst", "findings", "facts"}`` (same as ``check --json``).

    The body is read here; reading the offer and checking it take CPU in proportion to its
    text (~1 s for the longest), so they run in a worker thread, not on the event loop that
    every other request waits on."""
    media, text = await _read_body(request)
    # read before the slot is taken: a malformed offer is a 400 even while another runs
    offer = await run_in_threadpool(_offer, media, text)
    with CHECK.held():
        return await run_in_threadpool(_check, offer, request.app.state.db)


@router.get("/findings")
def findings(
    request: Request,
    severity: Annotated[str | None, Query(description="violation, red_flag or info")] = None,
) -> dict[str, Any]:
    """Rule findings across all trials in the database (one report at a time per server
    process: it scores every trial; another is answered 503 with ``Retry-After``)."""
    floor = severity_floor(severity)  # a bad word is a 400 even while a report runs
    with FINDINGS.held():
        return findings_for_all_trials(request.app.state.db, severity=floor).to_dict()


@router.get("/timeline")
def timeline() -> dict[str, Any]:
    """China's regulatory timeline for stem-cell therapy, each event with its source."""
    return load_timeline().to_dict()


@router.get(f"/trials/{TRIAL_ID}/findings")
def trial_findings(request: Request, trial_id: str) -> dict[str, Any]:
    """The rule findings for one trial (any of its registry ids, slashes included:
    ``/api/trials/CTRI/2020/01/022781/findings``)."""
    db = request.app.state.db
    trial = require_trial(db, trial_id)
    found = findings_for_trial(trial, db)
    return {
        "trial": trial.display_id,
        "worst": worst_of(found),
        "findings": [f.to_dict() for f in found],
    }
