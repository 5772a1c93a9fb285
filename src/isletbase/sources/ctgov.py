"""ClinicalTrials.gov API v2: the study JSON → ``TrialRecord`` field map, and the API client.

The field paths are the registry's own (``protocolSection.identificationModule.nctId`` …); the
map is declarative so a reader can check each one against the v2 data structure. Missing
modules or fields give ``None`` rather than an error: registry records are often incomplete.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import tenacity
from pydantic import ValidationError

from isletbase import places
from isletbase.errors import InputError, json_kind
from isletbase.model import TrialRecord, canonical_id, partial_date
from isletbase.sources import RawRecord
from isletbase.sources.chictr import other_registry_ids
from isletbase.sources.curated import describe

STUDY_URL = "https://clinicaltrials.gov/study/{nct}"

_NCT_ID = re.compile(r"NCT\d{8}")


def get(obj: Any, path: str) -> Any:
    """Follow a dotted path through nested dicts; ``None`` where any step is missing."""
    for key in _steps(path):
        # JSON objects are dicts: the exact type test spares the ABC check in the common case
        if type(obj) is not dict and not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


@cache
def _steps(path: str) -> tuple[str, ...]:
    """A dotted path's keys (a mapping reads ~30 paths a study, the same ones each time)."""
    return tuple(path.split("."))


def _field(ps: Mapping[str, Any], path: str) -> Any:
    """``get(ps, path)``, where each object on the way that is there must be an object: a
    date struct given as text was read as no date (a malformed record, quarantined)."""
    obj: Any = ps
    steps = _steps(path)
    for i, key in enumerate(steps):
        if obj is None:
            return None
        if type(obj) is not dict and not isinstance(obj, Mapping):  # as ``get``: dicts first
            where = ".".join(steps[:i])
            raise InputError(f"protocolSection.{where}: expected an object, got {json_kind(obj)}")
        obj = obj.get(key)
    return obj


def _list(value: Any, path: str = "") -> list:
    """A JSON array as a list, missing as empty; another type at ``path`` (a field of the
    record's own, not an item in one) is a malformed record, quarantined with the reason."""
    if isinstance(value, list):
        return value
    if value is None or not path:
        return []
    raise InputError(f"protocolSection.{path}: expected a list, got {json_kind(value)}")


def _text(value: Any, path: str = "") -> str | None:
    """A JSON string, stripped (``None`` where blank or missing); another type at ``path`` is
    a malformed record (a title that is a number was stored as no title)."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None or not path:
        return None
    raise InputError(f"protocolSection.{path}: expected text, got {json_kind(value)}")


def _phase(phases: Any) -> str | None:
    if not isinstance(phases, list) or not phases:
        return None
    return "/".join(str(p) for p in phases)


def _design(design_info: Any) -> str | None:
    """An interventional study's allocation, model, masking and purpose; an observational
    one's model and time perspective (its design was empty: a cohort read like a trial with
    nothing said of its design)."""
    if not isinstance(design_info, Mapping):
        return None
    parts = [
        ("Allocation", design_info.get("allocation")),
        ("Intervention Model", design_info.get("interventionModel")),
        ("Observational Model", design_info.get("observationalModel")),
        ("Time Perspective", design_info.get("timePerspective")),
        ("Masking", get(design_info, "maskingInfo.masking")),
        ("Primary Purpose", design_info.get("primaryPurpose")),
    ]
    text = "; ".join(f"{k}: {v}" for k, v in parts if v)
    return text or None


#: Field paths read with their type checked (a wrong type is a malformed record).
_NCT = "identificationModule.nctId"
_TITLE = "identificationModule.briefTitle"
_OFFICIAL = "identificationModule.officialTitle"
_STATUS = "statusModule.overallStatus"
_CONDITIONS = "conditionsModule.conditions"
_SUMMARY = "descriptionModule.briefSummary"
_INTERVENTIONS = "armsInterventionsModule.interventions"
_LOCATIONS = "contactsLocationsModule.locations"
_SPONSOR = "sponsorCollaboratorsModule.leadSponsor.name"
_ENROLLMENT = "designModule.enrollmentInfo.count"


def flat_fields(study: Mapping[str, Any]) -> dict[str, Any]:
    """The classifier's view of a v2 study: titles, conditions, interventions, phase, status;
    ``InputError`` where the study or a field it reads is not of its v2 type."""
    ps = study.get("protocolSection")
    if not isinstance(ps, Mapping):
        raise InputError(f"protocolSection: expected an object, got {json_kind(ps)}")
    interventions = []
    for item in _list(get(ps, _INTERVENTIONS), _INTERVENTIONS):
        if isinstance(item, Mapping):
            words = [
                item.get("type"),
                item.get("name"),
                item.get("description"),
                *_list(item.get("otherNames")),
            ]
            interventions.append(
                ": ".join(str(w) for w in words[:2] if w)
                + "".join(f" — {w}" for w in words[2:] if w)
            )
    status = _text(get(ps, _STATUS), _STATUS)
    return {
        "id": _text(get(ps, _NCT), _NCT),
        "title_en": _text(get(ps, _TITLE), _TITLE),
        "official_title_en": _text(get(ps, _OFFICIAL), _OFFICIAL),
        "conditions": [c for c in _list(get(ps, _CONDITIONS), _CONDITIONS) if isinstance(c, str)],
        "interventions": interventions,
        "summary": _text(get(ps, _SUMMARY), _SUMMARY),
        "design": _design(get(ps, "designModule.designInfo")),
        "phase": _phase(get(ps, "designModule.phases")),
        "status": status.replace("_", " ").capitalize() if status else None,
    }


def to_record(study: Mapping[str, Any], retrieved: str | None = None) -> TrialRecord:
    """Map one v2 study object to a ``TrialRecord``; raises ``InputError`` without an NCT id."""
    ps = study.get("protocolSection")
    if not isinstance(ps, Mapping):
        raise InputError("study has no protocolSection object")
    given = get(ps, _NCT)
    nct = canonical_id("ClinicalTrials.gov", given) if isinstance(given, str) else None
    if nct is None or not _NCT_ID.fullmatch(nct):
        raise InputError(
            f"protocolSection.identificationModule.nctId: expected NCT and 8 digits, got {given!r}"
        )
    flat = flat_fields(study)
    ids = [{"registry": "ClinicalTrials.gov", "id": nct}]
    org_ids = []
    org = get(ps, "identificationModule.orgStudyIdInfo.id")
    if isinstance(org, str) and org:
        org_ids.append(org)
    for sec in _list(get(ps, "identificationModule.secondaryIdInfos")):
        sid = sec.get("id") if isinstance(sec, Mapping) else None
        if not isinstance(sid, str) or not sid:
            continue
        # another registry's id, however the record words it ("ChiCTR2000029990 (ChiCTR)",
        # "Chinese Clinical Trial Registry: ChiCTR…", a jRCT or ISRCTN id); else the sponsor's
        named = other_registry_ids(sid, skip=("ClinicalTrials.gov",))
        if named:
            ids += [i for i in named if i not in ids]
        elif sid not in org_ids:  # one id under two domains (NRG-GY032 for NRG and CTEP)
            org_ids.append(sid)
    sites = []
    for loc in _list(get(ps, _LOCATIONS), _LOCATIONS):
        if isinstance(loc, Mapping):
            sites.append(
                {
                    "name": _text(loc.get("facility")),
                    "city": _text(loc.get("city")),
                    "province": _text(loc.get("state")),
                    "country": _text(loc.get("country")),
                }
            )
    countries = [s["country"] for s in sites if s["country"]]
    enrollment = _field(ps, _ENROLLMENT)
    if enrollment is not None and (
        type(enrollment) is not int or not 0 <= enrollment <= 10_000_000  # noqa: E721 - not bool
    ):
        raise InputError(
            f"protocolSection.{_ENROLLMENT}: expected a whole number of participants, "
            f"got {enrollment!r}"[:200]
        )
    etype = _field(ps, "designModule.enrollmentInfo.type")
    outcomes = _list(get(ps, "outcomesModule.primaryOutcomes"))
    first_outcome = (
        outcomes[0].get("measure") if outcomes and isinstance(outcomes[0], Mapping) else None
    )
    url = STUDY_URL.format(nct=nct)
    return TrialRecord.model_validate(
        {
            "registry_ids": ids,
            "org_study_ids": org_ids,
            "title_en": flat["title_en"],
            "official_title_en": flat["official_title_en"],
            "sponsor": _text(get(ps, _SPONSOR), _SPONSOR),
            "sites": sites,
            "conditions": flat["conditions"],
            "interventions": flat["interventions"],
            "summary": flat["summary"],
            "phase": flat["phase"],
            "status": flat["status"],
            "enrollment": enrollment,
            "enrollment_type": etype.lower() if etype in ("ACTUAL", "ESTIMATED") else None,
            "start_date": _field(ps, "statusModule.startDateStruct.date"),
            "completion_date": _field(ps, "statusModule.completionDateStruct.date"),
            "first_posted": _field(ps, "statusModule.studyFirstPostDateStruct.date"),
            "last_update": _field(ps, "statusModule.lastUpdatePostDateStruct.date"),
            "design": flat["design"],
            "primary_outcome": _text(first_outcome),
            "country": places.trial_country(countries),
            "region": places.trial_region(countries),
            "source_url": url,
            "sources": [{"url": url, "fields": ["all"], "retrieved": retrieved}],
        }
    )


# --- the API v2 client ---------------------------------------------------------------------------

API_URL = "https://clinicaltrials.gov/api/v2/studies"
#: Largest page the API serves (``pageSize`` above this is refused by the registry).
MAX_PAGE_SIZE = 1000


class RefusedRequest(InputError):
    """The registry refused a request (a 4xx other than 429): asking again would not help."""


class RetryableResponse(Exception):
    """A response worth asking for again: 429, a 5xx, or a body cut short."""


@dataclass
class Page:
    """One page of ``/api/v2/studies``: its studies, the token of the next page, the total."""

    studies: list[dict[str, Any]]
    next_token: str | None
    total: int | None
    token: str | None


def search_params(
    query: str, country: str | None = None, since: str | None = None, page_size: int = 100
) -> dict[str, str]:
    """The v2 query parameters for a search: ``query.term``, ``query.locn``, ``filter.advanced``.

    ``since`` keeps studies whose last update was posted on or after that date, which is what
    an incremental re-ingest needs. A blank query is refused: it would ask for the whole
    registry. ``since`` must be a date and nothing more, as it is written into the registry's
    own query language.
    """
    if not query.strip():
        raise InputError("--query: empty (a blank search would fetch the whole registry)")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"--page-size {page_size}: expected 1..{MAX_PAGE_SIZE}")
    params = {"query.term": query, "pageSize": str(page_size), "format": "json"}
    if country:
        params["query.locn"] = country
    if since is not None:
        try:
            day = partial_date(since.strip())
        except ValueError as exc:
            raise InputError(f"--since: {exc}") from exc
        if day is None or day != since.strip():
            raise InputError(f"--since: expected a date YYYY[-MM[-DD]], got {since!r}")
        params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{day},MAX]"
    return params


class CtgovClient:
    """A polite client for ``/api/v2/studies``: paged, rate-limited, retried with backoff.

    429s, 5xx answers, timeouts, dropped connections and truncated bodies are retried with
    exponential backoff (tenacity); anything else (a 400 for a bad query, say) is an
    ``InputError`` naming the URL and the registry's message.
    """

    def __init__(
        self,
        base_url: str = API_URL,
        rate: float = 3.0,
        timeout: float = 30.0,
        attempts: int = 6,
        backoff: float = 1.0,
        client: httpx.Client | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise InputError(f"base URL {base_url!r}: expected an http(s) URL with a host")
        self.base_url = base_url
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.client = client or httpx.Client(timeout=timeout, headers={"User-Agent": "isletbase"})
        self._last = 0.0
        self.requests = 0
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((RetryableResponse, httpx.TransportError)),
            wait=tenacity.wait_exponential(multiplier=backoff, max=60 * backoff),
            stop=tenacity.stop_after_attempt(attempts),
            reraise=True,
        )

    def _get(self, params: Mapping[str, str]) -> dict[str, Any]:
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        self.requests += 1
        response = self.client.get(self.base_url, params=params)
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableResponse(f"{response.status_code} from {response.url}")
        if response.status_code != 200:
            raise RefusedRequest(
                f"{response.url}: registry answered {response.status_code}: {response.text[:200]}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            if response.text.lstrip()[:1] == "<":  # a proxy's or the registry's own page
                raise RetryableResponse(
                    f"{response.url} answered an HTML page, not JSON (a maintenance or error "
                    f"page?): {response.text.lstrip()[:120]!r}"
                ) from exc
            raise RetryableResponse(f"incomplete JSON from {response.url}: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("studies", []), list):
            raise InputError(
                f"{response.url}: expected {{'studies': [...]}}, got {str(body)[:120]}"
            )
        return body

    def page(self, params: Mapping[str, str], token: str | None = None) -> Page:
        """Fetch one page (the first, with ``countTotal``, when ``token`` is ``None``)."""
        query = dict(params)
        if token:
            query["pageToken"] = token
        else:
            query["countTotal"] = "true"
        try:
            body = self._retrying(self._get, query)
        except (RetryableResponse, httpx.TransportError) as exc:
            raise InputError(f"ClinicalTrials.gov did not answer after retries: {exc}") from exc
        total = body.get("totalCount")
        return Page(
            [s for s in body.get("studies") or []],
            body.get("nextPageToken"),
            total if isinstance(total, int) else None,
            token,
        )

    def pages(self, params: Mapping[str, str], token: str | None = None) -> Iterator[Page]:
        """Every page from ``token`` on (the first page when ``None``), following nextPageToken.

        A token given again (a faulty mirror or proxy) ends the run with an ``InputError``:
        the same pages would follow for ever."""
        seen = {token}
        while True:
            page = self.page(params, token)
            yield page
            if not page.next_token:
                return
            if page.next_token in seen:
                raise InputError(
                    f"the registry gave page token {page.next_token!r} again after "
                    f"{len(seen)} page(s): stopped, as the same pages would follow for ever"
                )
            token = page.next_token
            seen.add(token)


def study_ref(nct: object) -> str | None:
    """A study's ref as its record names it: its NCT id in the canonical form where it is one
    ("nct80000030" is NCT80000030, so the record loading later under that id releases the
    rejected one from quarantine), else the text as given; ``None`` for no text."""
    if not isinstance(nct, str):
        return None
    if len(nct) == 11 and nct.startswith("NCT") and nct[3:].isascii() and nct[3:].isdigit():
        return nct  # as the registry writes it (a dump's every study: no regex)
    canonical = nct.strip().upper()
    return canonical if _NCT_ID.fullmatch(canonical) else nct


def study_raws(
    studies: Iterable[Any], source: str, retrieved: str | None = None, place: str | None = None
) -> Iterator[RawRecord]:
    """Wrap v2 study objects as raw records named by NCT id, or where it is missing by
    position (after ``place``, where given — a search and its page: two id-less studies of
    two pages or two searches are two records)."""
    where = f"{place}, " if place else ""
    for i, study in enumerate(studies):
        nct = (
            get(study, "protocolSection.identificationModule.nctId")
            if isinstance(study, Mapping)
            else None
        )
        ref = study_ref(nct) or f"{where}study #{i + 1}"
        if not isinstance(study, Mapping):
            yield RawRecord(
                source, ref, None, str(study)[:2000], error=f"{ref}: expected a study object"
            )
            continue
        yield RawRecord(
            source,
            ref,
            dict(study),
            url=STUDY_URL.format(nct=nct) if nct else None,
            extra={"retrieved": retrieved},
        )


def raw_to_record(raw: RawRecord) -> TrialRecord:
    """The ingest mapper for v2 raw records: ``to_record`` with the reason named by NCT id."""
    if raw.payload is None:
        raise InputError(raw.error or f"{raw.ref}: empty record")
    try:
        return to_record(raw.payload, raw.extra.get("retrieved"))
    except ValidationError as exc:
        raise InputError(describe(exc, raw.ref)) from exc
