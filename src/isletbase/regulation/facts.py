"""Facts and their evidence: what a finding points at when it says why it fired.

An offer's facts come from words in its text or from JSON fields; a trial's facts come from its
database record. Either way each fact keeps the words or field it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from isletbase.wording import said

Source = Literal["text", "json", "database", "derived"]


@dataclass(frozen=True)
class Evidence:
    """Where a fact came from: words in the text (with offsets), a JSON field, or the database.

    Evidence the checker words itself (``said``) has its Chinese beside its English
    (``wording.Said``: the quote is its English, as the API and the CLI give it)."""

    source: Source
    quote: str
    start: int | None = None
    end: int | None = None

    @classmethod
    def said(
        cls, source: Source, code: str, /, zh: Mapping[str, object] | None = None, **args: object
    ) -> Evidence:
        """Evidence in the checker's words (``data/wording.yaml``'s ``code``) naming ``args``
        (``zh``: some of them as a Chinese reader reads them)."""
        return cls(source, said(code, zh=zh, **args))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "quote": str(self.quote)}
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
