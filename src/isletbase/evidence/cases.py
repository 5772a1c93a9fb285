"""Landmark case studies (what was done, outcome, follow-up, caveats, sources) from bundled YAML."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Annotated, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from isletbase.errors import InputError, NotFoundError

#: A source as ``cases.yaml`` writes it: a page's address, then `` (secondary)`` where the page
#: reports the case (news) rather than publishing it.
_SOURCE = re.compile(r"(https?://\S+)( \(secondary\))?")


class Link(NamedTuple):
    """A case's source page, and whether it is a secondary report."""

    url: str
    secondary: bool


class Case(BaseModel):
    """One landmark case with its verified facts and the pages they came from."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]+$")
    title: str
    #: our translation of ``title``, for the Chinese page
    title_zh: str | None = None
    country: str
    year: int
    condition: str
    cell_source: str
    publication: str
    pmid: str | None = None
    doi: str | None = None
    registry: str | None = None
    sites: str | None = None
    what_was_done: str
    outcome: str
    follow_up: str | None = None
    caveats: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    #: our translations of the write-up, for the Chinese page (numbers as in the English)
    what_was_done_zh: str | None = Field(default=None, min_length=1)
    outcome_zh: str | None = Field(default=None, min_length=1)
    follow_up_zh: str | None = Field(default=None, min_length=1)
    caveats_zh: list[Annotated[str, Field(min_length=1)]] | None = None

    @field_validator("sources")
    @classmethod
    def _pages(cls, sources: list[str]) -> list[str]:
        for source in sources:
            if not _SOURCE.fullmatch(source):
                raise ValueError(
                    f"expected an http(s) address, then ' (secondary)' or nothing: {source!r}"
                )
        return sources

    @model_validator(mode="after")
    def _translated_whole(self) -> Case:
        """A translation covers the whole write-up or none of it: a Chinese page showing half
        of it in Chinese would leave the rest unsaid."""
        english = {
            "what_was_done": self.what_was_done,
            "outcome": self.outcome,
            "follow_up": self.follow_up,
        }
        chinese = [self.what_was_done_zh, self.outcome_zh, self.follow_up_zh, self.caveats_zh]
        if not any(chinese):
            return self
        for field, text in english.items():
            if bool(text) != bool(getattr(self, f"{field}_zh")):
                raise ValueError(f"{field}_zh: given where {field} is not, or missing where it is")
        if len(self.caveats_zh or []) != len(self.caveats):
            raise ValueError(
                f"caveats_zh: {len(self.caveats_zh or [])} items for {len(self.caveats)}"
            )
        return self

    @property
    def translated(self) -> bool:
        """Whether the write-up has its Chinese translation."""
        return self.what_was_done_zh is not None

    @property
    def links(self) -> list[Link]:
        """The sources as links: the marker `` (secondary)`` was part of the address a page
        linked to, so four of them led nowhere."""
        return [Link(m[1], m[2] is not None) for m in map(_SOURCE.fullmatch, self.sources) if m]

    def to_dict(self) -> dict:
        return self.model_dump()


@lru_cache(maxsize=1)
def load_cases() -> tuple[Case, ...]:
    """Every bundled case, validated (a malformed entry raises ``InputError`` naming it)."""
    path = resources.files("isletbase") / "data" / "evidence" / "cases.yaml"
    cases = []
    for index, raw in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or [], 1):
        try:
            cases.append(Case.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise InputError(f"cases.yaml entry {index}: field {field!r}: {err['msg']}") from exc
    return tuple(cases)


def get_case(name: str) -> Case:
    """The case called ``name``, or the one whose name starts with it, or else holds it as one
    of its words (``zimislecel`` is ``vx-880-zimislecel``, as the README names it).

    ``NotFoundError`` lists the case names when there is no single match.
    """
    cases = load_cases()
    wanted = name.strip().lower()
    exact = [c for c in cases if c.name == wanted]
    found = exact or [c for c in cases if c.name.startswith(wanted)]
    found = found or [c for c in cases if wanted in c.name.split("-")]
    if len(found) == 1:
        return found[0]
    names = ", ".join(c.name for c in (found or cases))
    what = "is ambiguous" if found else "is not a case"
    raise NotFoundError(f"{name!r} {what}; cases: {names}")
