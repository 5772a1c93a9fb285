"""The database tables (SQLAlchemy 2 declarative), one row per fact as in AACT.

A trial's registry ids, sites, sources, derivations and versions live in their own tables so that
one trial can carry many registry ids and every change is kept. Raw records are stored as
received; derived values (classifier or curator) are kept apart with how they were set.
Capabilities that need tables of their own (evidence, simulator runs) declare them on the same
``Base`` in modules listed in ``EXTENSIONS`` so ``Database.init`` creates them all.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from isletbase.model import MAX_SHORT_TEXT

#: Modules that add tables to ``Base`` (imported by ``load_extensions``).
EXTENSIONS: tuple[str, ...] = ("isletbase.store.evidence_tables", "isletbase.store.simulate_tables")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class TrialRow(Base):
    __tablename__ = "trials"

    uid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    display_id: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str | None] = mapped_column(Text)
    official_title_en: Mapped[str | None] = mapped_column(Text)
    title_zh: Mapped[str | None] = mapped_column(Text)
    sponsor: Mapped[str | None] = mapped_column(Text)
    sponsor_zh: Mapped[str | None] = mapped_column(Text)
    sponsor_institution_id: Mapped[str | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="SET NULL"), index=True
    )
    summary: Mapped[str | None] = mapped_column(Text)
    design: Mapped[str | None] = mapped_column(Text)
    primary_outcome: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    interventions: Mapped[list] = mapped_column(JSON, default=list)
    org_study_ids: Mapped[list] = mapped_column(JSON, default=list)
    phase: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT))
    status: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT))
    phase_code: Mapped[str | None] = mapped_column(String(32), index=True)
    status_code: Mapped[str | None] = mapped_column(String(32))  # leads ix_trials_status_start
    cell_source: Mapped[str | None] = mapped_column(String(64))  # leads ix_trials_cell_source_start
    condition: Mapped[str | None] = mapped_column(String(64))  # leads ix_trials_condition_start
    route: Mapped[str | None] = mapped_column(String(32), index=True)
    enrollment: Mapped[int | None] = mapped_column(Integer)
    enrollment_type: Mapped[str | None] = mapped_column(String(16))
    start_date: Mapped[str | None] = mapped_column(String(10))
    start_year: Mapped[int | None] = mapped_column(Integer, index=True)
    completion_date: Mapped[str | None] = mapped_column(String(10))
    first_posted: Mapped[str | None] = mapped_column(String(10))
    last_update: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT), index=True)
    region: Mapped[str | None] = mapped_column(String(32), index=True)
    source_url: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    curated: Mapped[dict] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    registry_ids: Mapped[list[RegistryIdRow]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="RegistryIdRow.position"
    )
    sites: Mapped[list[SiteRow]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="SiteRow.position"
    )
    sources: Mapped[list[SourceRow]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="SourceRow.id"
    )
    derivations: Mapped[list[DerivationRow]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="DerivationRow.id"
    )
    versions: Mapped[list[TrialVersionRow]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="TrialVersionRow.id"
    )


class RegistryIdRow(Base):
    __tablename__ = "registry_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    registry_name: Mapped[str] = mapped_column("registry", String(32))
    registry_id: Mapped[str] = mapped_column(String(64), unique=True)
    trial: Mapped[TrialRow] = relationship(back_populates="registry_ids")


class SiteRow(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # found by trial through ix_sites_trial_city, which it leads
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(Text)
    name_zh: Mapped[str | None] = mapped_column(Text)
    # filtered through ix_sites_city_lower / _province_lower, counted through
    # ix_sites_trial_city (a facet counts the sites of matching trials)
    city: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT))
    province: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT))
    country: Mapped[str | None] = mapped_column(String(MAX_SHORT_TEXT))
    institution_id: Mapped[str | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="SET NULL"), index=True
    )
    trial: Mapped[TrialRow] = relationship(back_populates="sites")


class SourceRow(Base):
    """A page that supplied a group of a trial's facts, with when it was read."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    retrieved: Mapped[str | None] = mapped_column(String(32))
    trial: Mapped[TrialRow] = relationship(back_populates="sources")


class DerivationRow(Base):
    """How a derived field got its value (classifier rule or curator), kept apart from raw."""

    __tablename__ = "derivations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(Text)
    trial: Mapped[TrialRow] = relationship(back_populates="derivations")


class TrialVersionRow(Base):
    """One changed field of a trial: history is appended, never overwritten."""

    __tablename__ = "trial_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    source: Mapped[str | None] = mapped_column(Text)
    trial: Mapped[TrialRow] = relationship(back_populates="versions")


class RawRecordRow(Base):
    """A source record exactly as received, keyed by source and record id, with its hash."""

    __tablename__ = "raw_records"
    __table_args__ = (UniqueConstraint("source", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(128))
    trial_uid: Mapped[int | None] = mapped_column(
        ForeignKey("trials.uid", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    retrieved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InstitutionRow(Base):
    __tablename__ = "institutions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str | None] = mapped_column(Text)
    name_zh: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(128))
    province: Mapped[str | None] = mapped_column(String(128))
    country: Mapped[str | None] = mapped_column(String(64))
    filed_stem_cell_institution: Mapped[bool | None] = mapped_column()
    filing_source_url: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(Text)
    name_zh_source_url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[InstitutionAliasRow]] = relationship(
        cascade="all, delete-orphan", order_by="InstitutionAliasRow.id"
    )


class InstitutionAliasRow(Base):
    """An alias of an institution: as seen on a source (``alias``) or derived (``pinyin``)."""

    __tablename__ = "institution_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_id: Mapped[str] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))


class QuarantineRow(Base):
    """A record that could not be accepted, kept with the reason so it can be fixed and retried."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128))
    record_ref: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: the page the record was read from and what else its reader kept (its retrieval date),
    #: as JSON: a record that loads on ``quarantine --retry`` keeps where it came from
    url: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[str | None] = mapped_column(Text)


class MatchCandidateRow(Base):
    """A possible cross-registry duplicate awaiting a curator: two trials, a score and why.

    Fuzzy matches between the automatic-merge threshold and the review threshold land here;
    ``isletbase review`` accepts (merges) or rejects them; a decided pair is kept as a record.
    """

    __tablename__ = "match_candidates"
    __table_args__ = (UniqueConstraint("trial_uid", "candidate_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_uid: Mapped[int] = mapped_column(ForeignKey("trials.uid", ondelete="CASCADE"), index=True)
    candidate_uid: Mapped[int] = mapped_column(
        ForeignKey("trials.uid", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class IngestRunRow(Base):
    """Where a paged registry download got to, committed with each page's trials, so a run
    interrupted at any point resumes from the first page not yet stored."""

    __tablename__ = "ingest_runs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    next_token: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


Index("ix_sites_trial_city", SiteRow.trial_uid, SiteRow.city)
# Search filters compare case-insensitively and sort by date or size; these serve them.
Index("ix_sites_province_lower", func.lower(SiteRow.province), SiteRow.trial_uid)
Index("ix_sites_city_lower", func.lower(SiteRow.city), SiteRow.trial_uid)
Index("ix_trials_country_lower", func.lower(TrialRow.country), TrialRow.enrollment)
Index("ix_trials_start_date", TrialRow.start_date, TrialRow.display_id)
# the main facets, each ordered by the default sort, so a filtered first page reads 20 rows
Index("ix_trials_cell_source_start", TrialRow.cell_source, TrialRow.start_date, TrialRow.display_id)
Index("ix_trials_condition_start", TrialRow.condition, TrialRow.start_date, TrialRow.display_id)
Index("ix_trials_status_start", TrialRow.status_code, TrialRow.start_date, TrialRow.display_id)
Index("ix_trials_enrollment", TrialRow.enrollment, TrialRow.display_id)
Index("ix_registry_ids_registry", RegistryIdRow.registry_name, RegistryIdRow.trial_uid)

#: Indexes older versions created that a composite index above now serves (its leading
#: column), or that no query reads: ``Database.init`` drops them, as each one slows every
#: insert.
RETIRED_INDEXES = (
    "ix_trials_status_code",
    "ix_trials_cell_source",
    "ix_trials_condition",
    "ix_sites_trial_uid",
    # no query read these: filters compare lower-cased names, facets go by trial (500k: 2 s
    # of a first load's index build)
    "ix_sites_city",
    "ix_sites_province",
    # regions are a closed list, filtered in their stored case through ix_trials_region (a
    # 100k load's end: 85 ms)
    "ix_trials_region_lower",
)


def load_extensions() -> None:
    """Import the modules in ``EXTENSIONS`` so their tables join ``Base.metadata``."""
    for name in EXTENSIONS:
        importlib.import_module(name)
