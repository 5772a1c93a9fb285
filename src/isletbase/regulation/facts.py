"""Facts and their evidence: what a finding points at when it says why it fired.

An offer's facts come from words in its text or from JSON fields; a trial's facts come from its
database record. Either way each fact keeps the words or field it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from isletbase.wording import worded

Source = Literal["text", "json", "database", "derived"]


@dataclass(frozen=True)
class Evidence:
    """Where a fact came from: words in the text (with offsets), a JSON field, or the database.

    Evidence the checker words itself (``said``) keeps its wording's code and values, so a page
    can give it in the reader's language (``in_language``); ``quote`` is its English."""

    source: Source
    quote: str
    start: int | None = None
    end: int | None = None
    code: str | None = None
    args: tuple[tuple[str, str], ...] = ()

    @classmethod
    def said(cls, source: Source, code: str, /, **args: object) -> Evidence:
        """Evidence in the checker's words (``data/wording.yaml``'s ``code``) naming ``args``."""
        values = {k: str(v) for k, v in args.items()}
        return cls(source, worded(code, "en", values), code=code, args=tuple(values.items()))

    def in_language(
        self, lang: str, names: Mapping[str, Callable[[str], str]] | None = None
    ) -> str:
        """The evidence in ``lang``: the checker's own words in that language, each value
        that ``names`` has a namer for (a country's code, a status's) named by it; a quote from
        a text or a record as it is."""
        if self.code is None or lang == "en":
            return self.quote
        names = names or {}
        values = {k: names[k](v) if k in names else v for k, v in self.args}
        return worded(self.code, lang, values)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "quote": self.quote}
        if self.start is not None:
            data["start"], data["end"] = self.start, self.end
        return data


@dataclass
class Fact:
    field: str
    value: Any
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "evidence": [e.to_dict() for e in self.evidence]}
