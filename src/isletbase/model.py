"""Pydantic types shared by every part of isletbase.

These are the shapes that cross module boundaries: sources produce them, ingest validates them,
the store persists them, and evidence/regulation/api/web/cli read them. Keeping one definition
means a field renamed here is renamed everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Registry = Literal[
    "ClinicalTrials.gov",
    "ChiCTR",
    # China's drug-trial registry (药物临床试验登记与信息公示平台, chinadrugtrials.org.cn, kept by
    # the NMPA's Center for Drug Evaluation): the trials of products on the drug track, CTR ids
    "ChinaDrugTrials",
    "ICTRP",
    "jRCT",
    "ISRCTN",
    "EU-CTR",
    "ANZCTR",
    "CRIS",
    "IRCT",
    "CTRI",
    "DRKS",
    "ReBEC",
    "PACTR",
    "TCTR",
    "SLCTR",
    "RPCEC",
    "LBCTR",
    "ITMCTR",
    "REPEC",
    "other",
]
#: The registries a trial's id may be of: ClinicalTrials.gov, ChiCTR, China's drug-trial
#: registry and the other primary registries of WHO's ICTRP, by the names they go by
#: ("ICTRP": an ICTRP id of none of them).
REGISTRIES: tuple[str, ...] = get_args(Registry)
Region = Literal["mainland China", "Hong Kong", "Macau", "Taiwan", "foreign"]

#: A date at the precision shown, optionally with a time of day after it, which is dropped
#: ("2024-04-01 00:00:00", "2024-04-01T08:00:00Z"); nothing else may follow ("2010-09-011").
_PARTIAL_DATE = re.compile(
    r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?)?"
)


def partial_date(value: str | None) -> str | None:
    """Normalise a registry date to ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

    Registries show dates at different precisions; we keep the precision that was shown rather
    than inventing a day. Raises ``ValueError`` naming the value when it is not a date.
    """
    if isinstance(value, str):
        # a record has four dates and a registry's repeat: each text is read once (~6 µs a
        # record of a bulk load otherwise)
        return _known_date(value) if value else None
    if value is None:
        return None
    return _read_date(value)


def _read_date(value: object) -> str:
    found = _PARTIAL_DATE.fullmatch(str(value).strip())
    if not found:
        raise ValueError(f"expected a date YYYY[-MM[-DD]], got {value!r}")
    text = found.group(1)
    parts = text.split("-")
    try:
        date(
            int(parts[0]),
            int(parts[1]) if len(parts) > 1 else 1,
            int(parts[2]) if len(parts) > 2 else 1,
        )
    except ValueError as exc:  # "day is out of range for month": which date
        raise ValueError(f"{value!r} is no date ({exc})") from None
    return text


#: ``_read_date`` of a text, remembered (a text that is no date raises each time it is read).
_known_date = lru_cache(maxsize=1 << 12)(_read_date)


#: Longest text a record's field may hold: ClinicalTrials.gov caps a brief summary at 5,000
#: characters and its titles at a few hundred, so a text ten times the longest is no registry's
#: (a 5 MB summary loaded, and ``show`` then took 15 s to print it): the record is refused
#: naming the field.
MAX_TEXT = 50_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=MAX_TEXT)


def canonical_id(registry: str, value: str) -> str:
    """A registry id as its registry writes it, whatever case or spacing a page used:
    ``NCT01219465``, ``ChiCTR2300071975`` (also from ``ChiCTR-2300071975``),
    ``ChiCTR-TRC-10000986``. Exact links between
    registries compare ids as text, so ``chictr2300071975`` on one page must be the same id as
    ``ChiCTR2300071975`` on another. Other registries' ids are kept as given (jRCT's, for one,
    are mixed case)."""
    compact = unicodedata.normalize("NFKC", "".join(value.split()))  # ＣｈｉＣＴＲ２０２０… too
    if registry in ("ClinicalTrials.gov", "ChinaDrugTrials"):
        return compact.upper()
    if registry == "ChiCTR" and compact[:6].upper() == "CHICTR":
        rest = compact[6:].upper()
        # ChiCTR-2000029990, as some records write ChiCTR2000029990 (an old id's class
        # stays: ChiCTR-TRC-10000986)
        return "ChiCTR" + (rest[1:] if rest[:1] == "-" and rest[1:].isdigit() else rest)
    return value


class RegistryId(_Model):
    registry: Registry
    id: str = Field(min_length=3, max_length=64)

    @model_validator(mode="after")
    def _canonical(self) -> RegistryId:
        self.id = canonical_id(self.registry, self.id)
        return self


class SourceRef(_Model):
    """A page that supplied a group of facts, and when it was read."""

    url: str = Field(min_length=8, max_length=2000)
    fields: list[str] = Field(default_factory=list)
    retrieved: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v


class Site(_Model):
    name: str | None = None
    name_zh: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    institution_id: str | None = None


class Curated(_Model):
    """Curator decisions that override the classifier, with the reason."""

    cell_source: str | None = None
    condition: str | None = None
    route: str | None = None
    note: str | None = None


class TrialRecord(_Model):
    """One trial as read from a source (bundled file or registry), before classification."""

    registry_ids: list[RegistryId] = Field(min_length=1)
    org_study_ids: list[str] = Field(default_factory=list)
    title_en: str | None = None
    official_title_en: str | None = None
    title_zh: str | None = None
    sponsor: str | None = None
    sponsor_zh: str | None = None
    sites: list[Site] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    interventions: list[str] = Field(default_factory=list)
    summary: str | None = None
    phase: str | None = None
    status: str | None = None
    enrollment: int | None = Field(default=None, ge=0, le=10_000_000)
    enrollment_type: Literal["actual", "estimated"] | None = None
    start_date: str | None = None
    completion_date: str | None = None
    first_posted: str | None = None
    last_update: str | None = None
    design: str | None = None
    primary_outcome: str | None = None
    country: str | None = None
    region: Region | None = None
    curated: Curated = Field(default_factory=Curated)
    source_url: str = Field(min_length=8)
    sources: list[SourceRef] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("start_date", "completion_date", "first_posted", "last_update", mode="before")
    @classmethod
    def _dates(cls, v: object) -> str | None:
        return partial_date(v)  # type: ignore[arg-type]

    @field_validator("source_url")
    @classmethod
    def _http(cls, v: str) -> str:
        return SourceRef._http(v)

    @field_validator("registry_ids")
    @classmethod
    def _distinct(cls, v: list[RegistryId]) -> list[RegistryId]:
        """One entry an id: a page may name one id twice, in two spellings."""
        seen: set[str] = set()
        return [r for r in v if not (r.id in seen or seen.add(r.id))]  # type: ignore[func-returns-value]

    @property
    def display_id(self) -> str:
        return self.registry_ids[0].id


#: Longest text a record may give as a place (a site's city, province or country, the trial's
#: country), phase or status. These are indexed, and PostgreSQL indexes a value of at most
#: ~2,700 bytes (a longer one failed the whole batch there, where SQLite stored it); no
#: registry writes a city of more than a line (a WHO ICTRP export's EU phase text runs to
#: ~140 characters). Checked when a record comes in (``check_short_texts``), not when a stored
#: one is read back.
MAX_SHORT_TEXT = 500


def check_short_texts(record: TrialRecord) -> None:
    """Refuse (``ValueError`` naming the field) a place, phase or status over
    ``MAX_SHORT_TEXT`` characters."""
    named = [(name, getattr(record, name)) for name in ("phase", "status", "country")]
    for i, site in enumerate(record.sites):
        named += [(f"sites.{i}.{n}", getattr(site, n)) for n in ("city", "province", "country")]
    for name, value in named:
        if value is not None and len(value) > MAX_SHORT_TEXT:
            raise ValueError(
                f"{name}: {len(value):,} characters, over the {MAX_SHORT_TEXT} a place, phase "
                "or status may have"
            )


class KeptRecord(TrialRecord):
    """A record as a database keeps it, read back without the length limit a record read from
    a registry meets (``MAX_TEXT``): one loaded before the limit may hold a longer text, and its
    trial must still merge, show and load again."""

    model_config = ConfigDict(str_max_length=None)


class Derivation(_Model):
    """How a derived field got its value: the classifier rule or the curator's note."""

    field: str
    value: str | None
    method: Literal["classifier", "curated", "registry"]
    rule: str


#: How a stale trial's flag begins.
STALE_FLAG = "stale: "


class Trial(TrialRecord):
    """A trial as stored: the record plus normalised fields and how each was derived (read
    back without ``MAX_TEXT``, as ``KeptRecord``)."""

    model_config = ConfigDict(str_max_length=None)

    uid: int | None = None
    cell_source: str | None = None
    condition: str | None = None
    route: str | None = None
    phase_code: str | None = None
    status_code: str | None = None
    derivations: list[Derivation] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    updated_at: datetime | None = None

    @property
    def start_year(self) -> int | None:
        return int(self.start_date[:4]) if self.start_date else None

    @property
    def stale(self) -> bool:
        """Whether the trial's status promises activity its record has not shown for two
        years (the flag ``store.trials.stale_flags`` gives it)."""
        return any(flag.startswith(STALE_FLAG) for flag in self.flags)


class Institution(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name_en: str | None = None
    name_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)
    type: Literal["hospital", "university", "institute", "company", "regulator", "other"] = "other"
    city: str | None = None
    province: str | None = None
    country: str | None = None
    filed_stem_cell_institution: bool | None = None
    filing_source_url: str | None = None
    source_url: str = Field(min_length=8)
    name_zh_source_url: str | None = None
    notes: str | None = None

    @field_validator("source_url")
    @classmethod
    def _http(cls, v: str) -> str:
        return SourceRef._http(v)

    @property
    def display_name(self) -> str:
        return self.name_en or self.name_zh or self.id

    @property
    def name_for_chinese(self) -> str:
        """The name a Chinese reader reads: the Chinese one where a source gave it."""
        return self.name_zh or self.display_name
