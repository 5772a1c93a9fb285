"""Reports that may count the same patients as another (``data/evidence/overlaps.yaml``).

Two papers from one trial (a primary report and a later analysis of its patients) entering one
pool would count those patients twice and make the estimate look surer than it is. Whether two
reports overlap is a curator's judgement, so it is kept as data, with the reason and sources;
``from_outcomes`` keeps the later report out of any pool that holds its primary one.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from isletbase.wording import Said


class Overlap(BaseModel):
    """``report`` may count patients of ``primary`` (studies as outcome records name them)."""

    model_config = ConfigDict(extra="forbid")

    report: str
    primary: str
    #: the reason a pool gives for leaving ``report`` out (one line), and in Chinese
    why: str = Field(min_length=20, max_length=200)
    why_zh: str | None = Field(default=None, min_length=10, max_length=200)
    #: the curator's evidence for the overlap
    detail: str = Field(min_length=20)
    sources: list[str] = Field(min_length=1)

    @property
    def said(self) -> Said:
        """The reason a pool gives, in both languages."""
        return Said(self.why, self.why_zh)


def _text() -> str:
    return (resources.files("isletbase") / "data" / "evidence" / "overlaps.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def overlaps() -> tuple[Overlap, ...]:
    """The bundled overlaps."""
    return tuple(Overlap.model_validate(o) for o in yaml.safe_load(_text()) or [])


@lru_cache(maxsize=1)
def overlaps_digest() -> str:
    """A hash of the overlaps: a standing pool computed before they changed is stale."""
    return hashlib.sha256(_text().encode()).hexdigest()[:16]


def left_out(studies: set[str]) -> dict[str, Overlap]:
    """Among ``studies`` (names) that would enter one pool, those to keep out, each with the
    overlap that keeps it out (its primary report is among them)."""
    return {o.report: o for o in overlaps() if o.report in studies and o.primary in studies}
