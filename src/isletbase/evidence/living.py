"""The living part: keep stored outcomes current and re-pool only what a change touches.

:func:`update` loads outcome records (bundled or a curator's file) into the database, bumping an
outcome's version and appending to its history when its content changes, then recomputes each
standard pool whose input versions differ from those it was last computed with. Each stored pool
keeps ``inputs`` (outcome id → version), so anyone can see exactly what a number rests on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from isletbase.errors import InputError
from isletbase.evidence.dataset import from_outcomes
from isletbase.evidence.meta import pool
from isletbase.evidence.outcomes import Outcome, load_outcomes, select
from isletbase.evidence.overlaps import overlaps_digest
from isletbase.evidence.pools import PoolSpec, pool_specs
from isletbase.store.db import Database
from isletbase.store.evidence_tables import OutcomeRow, OutcomeVersionRow, PoolRow


@dataclass
class UpdateReport:
    """What an update did: outcome records added/changed/unchanged and pools recomputed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    #: stored records the file does not hold, kept (``update``'s ``withdraw_missing``)
    missing: list[str] = field(default_factory=list)
    unchanged: int = 0
    recomputed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "outcomes": {
                "added": len(self.added),
                "changed": self.changed,
                "withdrawn": self.withdrawn,
                "missing": self.missing,
                "unchanged": self.unchanged,
            },
            "pools": {"recomputed": self.recomputed, "current": self.current},
        }


def _content_hash(outcome: Outcome) -> str:
    payload = outcome.model_dump(mode="json", exclude={"version"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def update(
    db: Database,
    path: Path | None = None,
    specs: Sequence[PoolSpec] | None = None,
    withdraw_missing: bool = False,
) -> UpdateReport:
    """Sync outcome records from ``path`` (default: bundled) and re-pool the pools they touch.
    A stored record the file does not hold is listed (``missing``); with ``withdraw_missing``
    the file is the whole set and such a record (a retraction, a duplicate removed) is
    withdrawn: it leaves every pool, and its history gains the withdrawal. Asked for, not
    done by default: a file of three corrections withdrew the other 68 records."""
    outcomes = load_outcomes(path)
    if not outcomes:  # an empty or cut-off file withdrew every record, and said so with exit 0
        raise InputError(f"{path or 'bundled outcomes.jsonl'}: no outcome record in it")
    report = UpdateReport()
    source = str(path) if path else "bundled outcomes.jsonl"
    with db.session() as session:
        for outcome in outcomes:
            _sync(session, outcome, source, report)
        _withdraw(session, {o.id for o in outcomes}, source, report, withdraw_missing)
        stored = stored_outcomes(session)
        for spec in specs or pool_specs():
            _repool(session, spec, stored, report)
    return report


def _sync(session: Session, outcome: Outcome, source: str, report: UpdateReport) -> None:
    digest = _content_hash(outcome)
    row = session.get(OutcomeRow, outcome.id)
    if row is not None and row.content_hash == digest:
        report.unchanged += 1
        return
    version = max(outcome.version, row.version + 1) if row is not None else outcome.version
    payload = outcome.model_copy(update={"version": version}).model_dump(mode="json")
    if row is None:
        row = OutcomeRow(id=outcome.id)
        session.add(row)
        report.added.append(outcome.id)
    else:
        report.changed.append(outcome.id)
    row.version, row.content_hash, row.payload = version, digest, payload
    row.outcome, row.condition, row.cell_source = (
        outcome.outcome,
        outcome.condition,
        outcome.cell_source,
    )
    session.flush()
    session.add(
        OutcomeVersionRow(outcome_id=outcome.id, version=version, payload=payload, source=source)
    )


#: What a withdrawn record's current version holds instead of the record.
WITHDRAWN = "withdrawn"


def _withdraw(
    session: Session, kept: set[str], source: str, report: UpdateReport, withdraw: bool
) -> None:
    """List the stored records not in ``kept``, and with ``withdraw`` withdraw them: a
    version saying so, with the source."""
    for row in session.scalars(sql_select(OutcomeRow).order_by(OutcomeRow.id)):
        if row.id in kept or row.content_hash == WITHDRAWN:
            continue
        if not withdraw:
            report.missing.append(row.id)
            continue
        row.version += 1
        row.content_hash, row.payload = WITHDRAWN, {WITHDRAWN: True, "id": row.id}
        session.add(
            OutcomeVersionRow(
                outcome_id=row.id, version=row.version, payload=row.payload, source=source
            )
        )
        report.withdrawn.append(row.id)
    session.flush()


def current_outcomes(db: Database | None) -> list[Outcome]:
    """The outcome records a reader is shown and pools are drawn from: the database's once
    ``update`` has stored any — with a curator's additions, corrections and withdrawals — else
    the bundled file's (``db`` ``None``: no database to read). Listing and pooling read the
    bundled file alone before, so a study added by ``evidence update`` entered the standing
    pools the API keeps and no forest plot or list a reader saw."""
    if db is not None:
        with db.session() as session:
            if session.scalar(sql_select(OutcomeRow.id).limit(1)) is not None:
                return stored_outcomes(session)
    return list(_bundled())


@cache
def _bundled() -> tuple[Outcome, ...]:
    """The bundled outcome records, read and validated once per process (the file changes
    only with a release): every trial page and the home page ask for them."""
    return tuple(load_outcomes())


def stored_outcomes(session: Session) -> list[Outcome]:
    """Every stored outcome at its current version (a withdrawn one is none)."""
    rows = session.scalars(sql_select(OutcomeRow).order_by(OutcomeRow.id))
    return [Outcome.model_validate(r.payload) for r in rows if r.content_hash != WITHDRAWN]


def _repool(
    session: Session, spec: PoolSpec, outcomes: list[Outcome], report: UpdateReport
) -> None:
    chosen, inputs, spec_dict = _drawn(spec, outcomes)
    row = session.get(PoolRow, spec.name)
    if row is not None and row.inputs == inputs and row.spec == spec_dict:
        report.current.append(spec.name)
        return
    result, error = _pooled(spec, chosen)
    if row is None:
        row = PoolRow(name=spec.name)
        session.add(row)
    row.spec, row.inputs, row.result, row.error = spec_dict, inputs, result, error
    report.recomputed.append(spec.name)


def _drawn(spec: PoolSpec, outcomes: list[Outcome]) -> tuple[list[Outcome], dict, dict]:
    """The records ``spec`` pools, their versions, and the spec as stored: with the overlaps
    it was pooled under, so a pool computed before they changed is stale."""
    chosen = select(
        outcomes, condition=spec.condition, cell_source=spec.cell_source, outcome=spec.outcome
    )
    return (
        chosen,
        {o.id: o.version for o in chosen},
        {**spec.model_dump(), "overlaps": overlaps_digest()},
    )


def _pooled(spec: PoolSpec, chosen: list[Outcome]) -> tuple[dict | None, str | None]:
    """``spec``'s pooled result over ``chosen``, or why it cannot be computed."""
    try:
        return pool(from_outcomes(chosen, spec.measure), spec.method, spec.hk).to_dict(), None
    except InputError as exc:
        return None, str(exc)


def current_pools(db: Database) -> list[dict]:
    """The standing pools as last computed (``stored_pools``), else — before any ``evidence
    update`` — as the current outcomes give them now, with ``computed_at`` null: the evidence
    page draws them from the outcomes, and its JSON link answered an empty list after a
    ``db load``."""
    stored = stored_pools(db)
    if stored:
        return stored
    outcomes = current_outcomes(db)
    out = []
    for spec in pool_specs():
        chosen, inputs, spec_dict = _drawn(spec, outcomes)
        result, error = _pooled(spec, chosen)
        out.append(
            {
                "name": spec.name,
                "spec": spec_dict,
                "inputs": inputs,
                "result": result,
                "error": error,
                "computed_at": None,
            }
        )
    return sorted(out, key=lambda p: p["name"])


def stored_pools(db: Database) -> list[dict]:
    """Every standing pool as last computed, with its input versions."""
    with db.session() as session:
        rows = session.scalars(sql_select(PoolRow).order_by(PoolRow.name))
        return [
            {
                "name": r.name,
                "spec": r.spec,
                "inputs": r.inputs,
                "result": r.result,
                "error": r.error,
                "computed_at": r.computed_at.isoformat(),
            }
            for r in rows
        ]
