"""Stored simulator runs: save a ``TrialResult`` to the database and list what was run."""

from __future__ import annotations

from sqlalchemy import inspect, select

from isletbase.simulate.results import TrialResult
from isletbase.store.db import Database
from isletbase.store.simulate_tables import SimulationRunRow


def save_run(db: Database, result: TrialResult, backend: str, seconds: float) -> int:
    """Store the run's design, seed and per-arm endpoints; returns the new run id."""
    design = result.design
    row = SimulationRunRow(
        name=design.name,
        seed=design.seed,
        design=design.model_dump(mode="json"),
        arms=[result.arm_summary(a) for a in range(len(design.arms))],
        primary_endpoint=design.endpoints.primary,
        backend=backend,
        patient_days=design.repeats * len(design.arms) * design.sample_size * design.days,
        seconds=round(seconds, 3),
    )
    with db.session() as session:
        session.add(row)
        session.flush()
        return row.id


def list_runs(db: Database, limit: int = 50) -> list[dict]:
    """The latest stored runs, newest first, as JSON-ready dicts (none before any is stored:
    a read never creates the table)."""
    if not inspect(db.engine).has_table(SimulationRunRow.__tablename__):
        return []
    with db.session() as session:
        rows = session.scalars(
            select(SimulationRunRow).order_by(SimulationRunRow.id.desc()).limit(limit)
        ).all()
        return [
            {
                "id": r.id,
                "name": r.name,
                "seed": r.seed,
                "primary_endpoint": r.primary_endpoint,
                "backend": r.backend,
                "patient_days": r.patient_days,
                "seconds": r.seconds,
                "created_at": r.created_at.isoformat(),
                "arms": r.arms,
                "design": r.design,
            }
            for r in rows
        ]
