"""Simulator runs: one row per virtual trial with its design, seed and per-arm endpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from isletbase.store.schema import Base, utcnow


class SimulationRunRow(Base):
    """A stored virtual-trial run: enough to re-run it (design, seed) and to show it (arms)."""

    __tablename__ = "simulation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer)
    design: Mapped[dict] = mapped_column(JSON)
    arms: Mapped[list] = mapped_column(JSON)
    primary_endpoint: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(String(16))
    patient_days: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
