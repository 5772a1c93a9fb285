"""Evidence tables: outcome records with their version history, and pooled results that record
the versions of the inputs they were computed from (so a correction re-pools what it touches)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from isletbase.store.schema import Base, utcnow


class OutcomeRow(Base):
    """The current version of one published outcome record (payload as in outcomes.jsonl)."""

    __tablename__ = "evidence_outcomes"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64), index=True)
    condition: Mapped[str] = mapped_column(String(16), index=True)
    cell_source: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutcomeVersionRow(Base):
    """Every version an outcome record has had: history is appended, never overwritten."""

    __tablename__ = "evidence_outcome_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outcome_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_outcomes.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PoolRow(Base):
    """A standing pooled result with the spec it answers and the input versions it used."""

    __tablename__ = "evidence_pools"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    spec: Mapped[dict] = mapped_column(JSON)
    inputs: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
