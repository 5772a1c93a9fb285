"""China's regulatory timeline for stem-cell therapy, read from ``data/timeline.yaml``.

Each event carries the page it was read from; dates keep the precision the source showed
(a year, a month or a day), so nothing is invented to fill a calendar.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isletbase.errors import InputError
from isletbase.model import partial_date


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str
    title_en: str = Field(min_length=3)
    title_zh: str = Field(min_length=2)
    summary: str = Field(min_length=10)
    #: Our Chinese rendering of ``summary`` (a paraphrase, not an official wording).
    summary_zh: str | None = Field(default=None, min_length=4)
    source_url: str
    also_source: str | None = None
    note: str | None = None

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        return partial_date(v) or ""

    @field_validator("source_url", "also_source")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v


class Timeline(BaseModel):
    events: list[Event]

    def to_dict(self) -> dict[str, Any]:
        return {"events": [e.model_dump(exclude_none=True) for e in self.events]}


def parse_timeline(text: str, where: str) -> Timeline:
    """Validate timeline YAML; events are returned in date order."""
    try:
        data = yaml.safe_load(text)
        timeline = Timeline(**data)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML ({exc.__class__.__name__})") from None
    except (TypeError, ValidationError) as exc:
        detail = (
            exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": (), "msg": str(exc)}
        )
        loc = ".".join(str(p) for p in detail["loc"])
        raise InputError(f"{where}: {loc}: {detail['msg']}") from None
    return Timeline(events=sorted(timeline.events, key=lambda e: e.date))


@lru_cache(maxsize=1)
def load_timeline() -> Timeline:
    """The bundled timeline of Chinese stem-cell regulation, oldest first."""
    text = (
        resources.files("isletbase").joinpath("data", "timeline.yaml").read_text(encoding="utf-8")
    )
    return parse_timeline(text, "data/timeline.yaml")
