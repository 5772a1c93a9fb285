"""Registry harvests: one documented function per source, plus review and quarantine retry.

Each ``run_*`` function is what a CLI command or the API's ingest endpoint calls: it reads or
fetches one registry's records and feeds them through ``ingest.Pipeline`` in batches, returning
the ``Report``. ``run_ctgov`` commits its paging position with every page, so an interrupted
download resumes from the first page not yet stored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, aliased

from isletbase import taxonomy
from isletbase.errors import InputError, NotFoundError
from isletbase.ingest import (
    BUNDLED_SOURCE,
    Partial,
    Pipeline,
    Progress,
    Report,
    batched,
    merged_record,
    refresh_trial,
)
from isletbase.ingest_worker import ingest_parallel
from isletbase.sources import RawRecord, chictr, chictr_xml, ctgov, ctgov_dump, ictrp
from isletbase.sources import curated as bundled
from isletbase.store.db import Database
from isletbase.store.institutions import load_index
from isletbase.store.merges import merge_trial
from isletbase.store.schema import (
    IngestRunRow,
    MatchCandidateRow,
    QuarantineRow,
    RawRecordRow,
    TrialRow,
    TrialVersionRow,
    utcnow,
)
from isletbase.store.trial_reads import id_spellings, ids_by_registry
from isletbase.store.trials import TrialWriter

API_SOURCE = "ClinicalTrials.gov API"
#: Studies in the v2 shape posted to the API's ingest endpoint.
POSTED_SOURCE = "ClinicalTrials.gov API v2 (posted)"
#: How each source's quarantined payloads are mapped again on ``quarantine --retry``.
MAPPERS: dict[str, Callable[[RawRecord], object]] = {
    API_SOURCE: ctgov.raw_to_record,
    POSTED_SOURCE: ctgov.raw_to_record,
    ctgov_dump.SOURCE: ctgov.raw_to_record,
    chictr.SOURCE: chictr.to_record,
    chictr_xml.SOURCE: chictr_xml.to_record,
    ictrp.SOURCE: ictrp.to_record,
}


#: Which records of a source give part of what it says of a trial (``Pipeline``'s ``partial``).
PARTIAL: dict[str, Partial] = {chictr.SOURCE: chictr.language_view}


def _today_iso() -> str:
    return datetime.now(UTC).date().isoformat()


def run_ctgov(
    db: Database,
    query: str,
    country: str | None = None,
    since: str | None = None,
    client: ctgov.CtgovClient | None = None,
    page_size: int = 100,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    today: date | None = None,
    restart: bool = False,
) -> Report:
    """Fetch a ClinicalTrials.gov search page by page and ingest each page in one transaction.

    The run is keyed by its parameters; if an earlier run with the same parameters stopped
    part-way, this one starts at the page after the last one stored, unless ``restart``.
    Where the registry refuses that stored page token (an expired one), the error says so and
    how to start again.
    """
    params = ctgov.search_params(query, country, since, page_size)
    db.init()
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    with db.session() as session:
        run = session.get(IngestRunRow, key)
        resumed = run is not None and not run.finished and not restart
        token = run.next_token if resumed else None
        done = run.pages if resumed else 0
        if run is None:
            session.add(IngestRunRow(key=key, source=API_SOURCE, params=params))
        elif not resumed:
            run.next_token, run.pages, run.fetched, run.finished = None, 0, 0, False
    client = client or ctgov.CtgovClient()
    pipeline = Pipeline(db, API_SOURCE, ctgov.raw_to_record, progress, today)
    pipeline.report.resumed_after = done
    retrieved = _today_iso()
    pages = client.pages(params, token)
    if token is not None:
        pages = _resumed(pages, token, done)
    try:
        _fetch_pages(pipeline, pages, done, key, retrieved, on_total)
    except InputError as exc:  # pages stored before it stay, and a rerun resumes after them
        if not pipeline.report.fetched:
            raise
        raise _stored_before(
            exc, pipeline.report, "; the same command again resumes after the last page stored"
        ) from exc
    return pipeline.finish()


def _fetch_pages(
    pipeline: Pipeline,
    pages: Iterable[ctgov.Page],
    done: int,
    key: str,
    retrieved: str,
    on_total: Callable[[int], None] | None,
) -> None:
    """Ingest each page in one transaction with its checkpoint (``run_ctgov``)."""
    for number, page in enumerate(pages, start=done + 1):
        if page.total is not None and on_total:
            on_total(page.total)

        def checkpoint(session: Session, page: ctgov.Page = page) -> None:
            session.execute(
                update(IngestRunRow)
                .where(IngestRunRow.key == key)
                .values(
                    next_token=page.next_token,
                    pages=IngestRunRow.pages + 1,
                    fetched=IngestRunRow.fetched + len(page.studies),
                    finished=page.next_token is None,
                    updated_at=utcnow(),
                )
            )

        place = f"search {key[:8]} page {number}"
        pipeline.batch(
            ctgov.study_raws(page.studies, API_SOURCE, retrieved, place), after=checkpoint
        )


def _resumed(pages: Iterator[ctgov.Page], token: str, done: int) -> Iterator[ctgov.Page]:
    """``pages`` of a run resumed at ``token``, where the registry's refusal of that first page
    says that the run resumed and how to start afresh (the stored token may have expired; a
    registry that is down says only that, as starting afresh would not help)."""
    try:
        first = next(pages, None)
    except ctgov.RefusedRequest as exc:
        raise InputError(
            f"{exc} (this run resumed an interrupted one after its {done} stored page(s), at "
            f"page token {token!r}; `--restart` starts again from the first page)"
        ) from exc
    if first is not None:
        yield first
        yield from pages


def run_records(
    db: Database,
    raws: Iterable[RawRecord],
    source: str,
    to_record: Callable[[RawRecord], object],
    batch_size: int = 1000,
    progress: Progress | None = None,
    today: date | None = None,
) -> Report:
    """Ingest a stream of raw records of one source, ``batch_size`` per transaction."""
    db.init()
    pipeline = Pipeline(db, source, to_record, progress, today, partial=PARTIAL.get(source))  # type: ignore[arg-type]
    for chunk in batched(raws, batch_size):
        pipeline.batch(chunk)
    return pipeline.finish()


def run_dump(
    db: Database,
    path: Path | str,
    batch_size: int = 1000,
    progress: Progress | None = None,
    today: date | None = None,
    workers: int | None = None,
) -> Report:
    """Ingest the ClinicalTrials.gov bulk download (zip or directory of v2 JSON), streamed.

    With ``workers`` 2 (the default where there are two CPUs) a second process reads and
    classifies the next batches while this one writes; 1 does everything in this process. Into
    a database holding fewer than ``BULK_BELOW`` trials, the trials' and sites' secondary
    indexes are built once at the end (``Database.bulk_load``).
    """
    db.init()
    pipeline = Pipeline(db, ctgov_dump.SOURCE, ctgov.raw_to_record, progress, today)
    read = partial(ctgov_dump.read_dump, path, _today_iso())
    try:
        with db.bulk_load():  # a first load builds the trials' and sites' indexes at its end
            if (workers or min(2, os.cpu_count() or 1)) > 1:
                ingest_parallel(pipeline, read, batch_size)
            else:
                for chunk in batched(read(), batch_size):
                    pipeline.batch(chunk)
    except InputError as exc:  # say what stayed stored (a rerun finds it unchanged)
        raise _stored_before(exc, pipeline.report) from exc
    return pipeline.finish()


def _stored_before(exc: InputError, done: Report, then: str = "") -> InputError:
    """``exc`` with what the run had stored before it, which stays (each batch or page is
    its own transaction), and ``then``, what a rerun does."""
    return InputError(
        f"{exc}; stored before it: {done.new:,} new, {done.updated:,} updated, "
        f"{done.quarantined:,} quarantined{then}"
    )


def run_chictr(
    db: Database, path: Path | str, progress: Progress | None = None, today: date | None = None
) -> Report:
    """Ingest ChiCTR records: record pages (``.html``) and the registry's XML exports
    (``.xml``), one file or a directory holding either or both."""
    path = Path(path)
    xml = path.suffix.lower() == ".xml"
    report = Report()
    if path.is_dir() or not xml:
        raws = chictr.read_pages(path, _today_iso())
        report += run_records(db, raws, chictr.SOURCE, chictr.to_record, 200, progress, today)
    if path.is_dir() or xml:
        raws = chictr_xml.read_exports(path, _today_iso())
        report += run_records(
            db, raws, chictr_xml.SOURCE, chictr_xml.to_record, 200, progress, today
        )
    return report


def run_ictrp(
    db: Database, path: Path | str, progress: Progress | None = None, today: date | None = None
) -> Report:
    """Ingest a WHO ICTRP XML export; secondary ids bridge its trials to other registries."""
    return run_records(
        db, ictrp.read_export(path), ictrp.SOURCE, ictrp.to_record, 500, progress, today
    )


# --- review of uncertain matches -----------------------------------------------------------------


@dataclass(frozen=True)
class MatchCandidate:
    """A pending pair for a curator: the trial, the possible duplicate, score and reasons."""

    id: int
    trial: str
    candidate: str
    title: str | None
    candidate_title: str | None
    score: float
    explanation: list[str]
    status: str

    def to_dict(self) -> dict:
        return asdict(self)


def list_matches(db: Database, status: str = "pending") -> list[MatchCandidate]:
    """Cross-registry matches awaiting review (or decided ones, by ``status``)."""
    with db.session() as session:
        rows = session.scalars(
            select(MatchCandidateRow)
            .where(MatchCandidateRow.status == status)
            .order_by(MatchCandidateRow.score.desc(), MatchCandidateRow.id)
        ).all()
        out = []
        for row in rows:
            a, b = session.get(TrialRow, row.trial_uid), session.get(TrialRow, row.candidate_uid)
            out.append(
                MatchCandidate(
                    row.id,
                    a.display_id,
                    b.display_id,
                    a.title_en or a.title_zh,
                    b.title_en or b.title_zh,
                    row.score,
                    list(row.explanation or []),
                    row.status,
                )
            )
        return out


class Decided(NamedTuple):
    """What ``decide_match`` did: the trial that stays (its display id) and what a curator
    should know of the merge (empty for a rejection)."""

    trial: str
    notes: list[str]


#: The names of no one registry (an ICTRP id of none it names; "other"): two ids of these are
#: as likely two registries' as one's, and say nothing of a study registered twice.
_NO_REGISTRY = frozenset(("ICTRP", "other"))


def _same_registry(session: Session, into: int, gone: int) -> list[str]:
    """The registries of which both trials hold an id: once merged the trial holds two
    registrations of one registry — one study registered twice, or a wrong match. Automatic
    matching never merges such a pair; a curator may, and is told (a second accepted pair of
    one trial is how it happens unseen)."""
    mine, theirs = ids_by_registry(session, into), ids_by_registry(session, gone)
    return [
        f"the trial now holds {', '.join(sorted(mine[r] | theirs[r]))} of one registry ({r}): "
        "two registrations of one study, or a wrong match (`isletbase review --split ID` "
        "takes one out)"
        for r in sorted(mine.keys() & theirs.keys() - _NO_REGISTRY)
    ]


def decide_match(db: Database, match_id: int, accept: bool, today: date | None = None) -> Decided:
    """Accept (merge the candidate into the trial, keeping every id, source and version) or
    reject a queued match; returns the surviving trial's display id and any notes."""
    with db.session() as session:
        row = session.get(MatchCandidateRow, match_id)
        if row is None:
            raise NotFoundError(f"no match candidate {match_id}; see `isletbase review`")
        if row.status != "pending":
            raise InputError(f"match candidate {match_id} was already {row.status}")
        row.status, row.decided_at = ("accepted" if accept else "rejected"), utcnow()
        target = session.get(TrialRow, row.trial_uid)
        if not accept:
            return Decided(target.display_id, [])
        gone, target_uid = row.candidate_uid, row.trial_uid
        gone_id = session.get(TrialRow, gone).display_id
        notes = _same_registry(session, target_uid, gone)
        row.explanation = [*row.explanation, f"merged {gone_id} into {target.display_id}", *notes]
        source = f"review: merged {gone_id}"
        merge_trial(session, target_uid, gone, source)
        writer = TrialWriter(session, load_index(session), source, today or date.today())
        refresh_trial(session, writer, target_uid)
        return Decided(target.display_id, notes)  # as the merge named it (``TrialWriter.upsert``)


@dataclass(frozen=True)
class Split:
    """What ``split_record`` did: the record taken out, the trial it left, the trial it makes."""

    record: str
    trial: str
    new_trial: str

    def to_dict(self) -> dict:
        return asdict(self)


def split_record(db: Database, key: str, today: date | None = None) -> Split:
    """Take the stored records of registry id ``key`` out of the trial they were merged into,
    into a trial of their own, and keep the two apart for good.

    An exact link joins two registrations that name one registry id (two ClinicalTrials.gov
    records listing one ChiCTR id, one of them wrongly), and an automatic fuzzy merge can be
    wrong: a curator who finds two studies under one trial splits them here. The trial left is
    re-merged from its other records (the ids only the split records named go with them, an id
    both name stays), with a version naming the split; the new trial starts with a version
    saying where it came from. The pair is kept as a rejected match, so neither a re-ingest
    nor an exact link folds them together again (``store.merges.kept_apart``).
    """
    with db.session() as session:
        # the id in any spelling `show` and `history` take (ChiCTR-2300071975, full width)
        for spelling in id_spellings(key):
            moving = session.scalars(
                select(RawRecordRow).where(func.upper(RawRecordRow.record_key) == spelling.upper())
            ).all()
            if moving:
                break
        uids = {r.trial_uid for r in moving}
        if not moving or None in uids:
            raise NotFoundError(
                f"no stored record {key!r} in a trial; `isletbase show ID` lists a trial's records"
            )
        key = moving[0].record_key  # as stored, in the history too
        wanted = key.upper()
        if len(uids) > 1:
            raise InputError(f"{key}: its records are in {len(uids)} trials already")
        (uid,) = uids
        trial = session.get(TrialRow, uid)
        assert trial is not None  # a record's trial is deleted with it (foreign key)
        held = session.scalars(select(RawRecordRow).where(RawRecordRow.trial_uid == uid)).all()
        staying = [r for r in held if r not in moving]
        staying_keys = {r.record_key for r in staying}
        if not staying_keys:  # split already, or never merged
            raise InputError(
                f"{key} is trial {trial.display_id}'s only record, a trial of its own: "
                "nothing to split"
            )
        if trial.display_id.upper() == wanted:
            raise InputError(
                f"{key} is the record trial {trial.display_id} is named by: split out the "
                f"record(s) merged into it instead ({', '.join(sorted(staying_keys))})"
            )
        kept_ids = {r.id for r in merged_record(staying).registry_ids}
        if any(i.upper() == wanted for i in kept_ids):
            raise InputError(
                f"{key} is named by trial {trial.display_id}'s other records too "
                f"({', '.join(sorted(staying_keys))}): they link it to that trial"
            )
        leaving = merged_record(moving)
        source = f"review: split {key} from {trial.display_id}"
        # the split records' own ids go with them; an id both name stays where it was
        for row in [r for r in trial.registry_ids if r.registry_id not in kept_ids]:
            trial.registry_ids.remove(row)
        session.flush()
        own = leaving.model_copy(
            update={"registry_ids": [r for r in leaving.registry_ids if r.id not in kept_ids]}
        )
        writer = TrialWriter(session, load_index(session), source, today or date.today())
        _, new = writer.upsert(own, taxonomy.classify_record(own))
        for row in moving:
            row.trial_uid = new.uid
        session.add(
            MatchCandidateRow(
                trial_uid=uid,
                candidate_uid=new.uid,
                score=0.0,
                explanation=[
                    f"split by a curator: {new.display_id} is another study than {trial.display_id}"
                ],
                status="rejected",
                source=source,
                decided_at=utcnow(),
            )
        )
        session.add(
            TrialVersionRow(
                trial_uid=uid,
                field="split",
                old_value=new.display_id,
                new_value=trial.display_id,
                source=source,
            )
        )
        session.flush()
        refresh_trial(session, writer, uid)
        return Split(moving[0].record_key, trial.display_id, new.display_id)


# --- quarantine -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarantined:
    id: int
    source: str
    ref: str | None
    reason: str
    created_at: str

    def to_dict(self) -> dict:
        return asdict(self)


def list_quarantine(db: Database) -> list[Quarantined]:
    """Every rejected record with the reason, oldest first."""
    with db.session() as session:
        rows = session.scalars(select(QuarantineRow).order_by(QuarantineRow.id)).all()
        return [
            Quarantined(
                r.id, r.source, r.record_ref, r.reason, r.created_at.isoformat(timespec="seconds")
            )
            for r in rows
        ]


def drop_quarantined(db: Database, ids: list[int]) -> int:
    """Remove the quarantined records numbered ``ids`` (as ``list_quarantine`` numbers them):
    a curator's way out for one kept under its place in a file (``trial 3``, a file name)
    because it had no registry id, once the mended record has loaded under its own id — a
    place in a file may hold another trial next time, so none is dropped by itself. Raises
    ``NotFoundError`` naming any number not in quarantine, dropping none."""
    with db.session() as session:
        held = set(session.scalars(select(QuarantineRow.id).where(QuarantineRow.id.in_(ids))))
        missing = sorted(set(ids) - held)
        if missing:
            raise NotFoundError(
                f"no quarantined record numbered {', '.join(map(str, missing))}; "
                "`isletbase quarantine` lists them"
            )
        session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(ids)))
    return len(held)


def retry_quarantine(db: Database, today: date | None = None) -> Report:
    """Map every quarantined record again: those that now pass load, the rest stay, with why."""
    report = Report()
    with db.session() as session:
        rows = session.scalars(select(QuarantineRow).order_by(QuarantineRow.id)).all()
        by_source: dict[str, list[tuple[int, RawRecord]]] = {}
        for r in rows:
            by_source.setdefault(r.source, []).append((r.id, _raw_again(r)))
    for source, items in by_source.items():
        mapper = MAPPERS.get(source) or (
            bundled.to_trial if source.startswith("bundled:") else None
        )
        if mapper is None:  # left where they are, and said
            report.errors.append(
                f"{len(items)} quarantined record(s) of source {source!r}: no reader to retry them"
            )
            continue
        pipeline = Pipeline(
            db,
            BUNDLED_SOURCE if source.startswith("bundled:") else source,
            mapper,  # type: ignore[arg-type]
            None,
            today,
            partial=PARTIAL.get(source),
        )
        ids = [i for i, _ in items]

        def superseded(session: Session, ids: list[int] = ids) -> None:
            # one rejected again for the same reason keeps its entry (its number and time);
            # one that now loads is released by the pipeline; one rejected for a new reason
            # has a newer entry, and the old one goes
            newer = aliased(QuarantineRow)
            replaced = select(newer.id).where(
                newer.source == QuarantineRow.source,
                newer.record_ref == QuarantineRow.record_ref,
                newer.id > QuarantineRow.id,
            )
            session.execute(
                delete(QuarantineRow).where(QuarantineRow.id.in_(ids), replaced.exists())
            )

        pipeline.batch([raw for _, raw in items], after=superseded)
        for key in ("fetched", "new", "updated", "unchanged", "merged", "quarantined", "review"):
            setattr(report, key, getattr(report, key) + getattr(pipeline.report, key))
        report.errors += pipeline.report.errors
    return report


def _raw_again(row: QuarantineRow) -> RawRecord:
    try:
        payload = json.loads(row.payload)
    except json.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict):
        return RawRecord(row.source, row.record_ref or "?", None, row.payload, error=row.reason)
    try:
        extra = json.loads(row.extra) if row.extra else {}
    except json.JSONDecodeError:
        extra = {}
    return RawRecord(
        row.source,
        row.record_ref or "?",
        payload,
        row.payload,
        url=row.url,
        extra=extra if isinstance(extra, dict) else {},
    )
