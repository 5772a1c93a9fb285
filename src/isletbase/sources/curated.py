"""The bundled, curated data files: JSON Lines of trials and institutions.

Reading is separate from validating: a line that is not JSON becomes a ``RawRecord`` with an
error naming the file and line, so the loader can quarantine it and carry on with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from isletbase.errors import InputError, json_kind
from isletbase.model import Institution, TrialRecord
from isletbase.sources import RawRecord

M = TypeVar("M", bound=BaseModel)


def bundled_dir() -> Traversable:
    return resources.files("isletbase.data")


def trial_files(root: Traversable | Path | None = None) -> list[Traversable | Path]:
    """The trial files to load, in a stable order (``core.jsonl`` first, then by name)."""
    base = (root or bundled_dir()).joinpath("trials")
    files = [f for f in base.iterdir() if f.name.endswith(".jsonl")]
    return sorted(files, key=lambda f: (f.name != "core.jsonl", f.name))


def institutions_file(root: Traversable | Path | None = None) -> Traversable | Path:
    return (root or bundled_dir()).joinpath("institutions.jsonl")


def read_jsonl(path: Traversable | Path, source: str | None = None) -> Iterator[RawRecord]:
    """Yield one ``RawRecord`` per non-blank line; bad JSON is reported, not raised."""
    name = source or f"bundled:{path.name}"
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            ref = f"{path.name}:{number}"
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRecord(
                    name,
                    ref,
                    None,
                    text,
                    error=f"{ref}: not valid JSON ({exc.msg} at column {exc.colno})",
                )
                continue
            if not isinstance(payload, dict):
                yield RawRecord(
                    name,
                    ref,
                    None,
                    text,
                    error=f"{ref}: expected a JSON object, got {json_kind(payload)}",
                )
                continue
            yield RawRecord(name, ref, payload, text, url=payload.get("source_url"))


def describe(exc: ValidationError, ref: str) -> str:
    """One line naming the record and each field at fault (``core.jsonl:7 (NCT…): …``)."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        problems.append(f"field {loc!r}: {err['msg']}")
    return f"{ref}: " + "; ".join(problems)


def validate(raw: RawRecord, model: type[M], ident: str = "") -> M:
    """Validate a raw line as ``model``; ``InputError`` names the line, ``ident`` and each field."""
    if raw.payload is None:
        raise InputError(raw.error or f"{raw.ref}: empty record")
    try:
        return model.model_validate(raw.payload)
    except ValidationError as exc:
        raise InputError(describe(exc, f"{raw.ref}{ident}")) from exc


def parse_line(text: str, model: type[M], where: str) -> M:
    """Validate one JSON line as ``model``; ``InputError`` names ``where`` and each bad field."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InputError(describe(exc, where)) from exc


def to_trial(raw: RawRecord) -> TrialRecord:
    """Validate a raw trial line; the error names the line, the registry id and the fields."""
    ids = (raw.payload or {}).get("registry_ids")
    first = ids[0] if isinstance(ids, list) and ids and isinstance(ids[0], dict) else {}
    return validate(raw, TrialRecord, f" ({first['id']})" if first.get("id") else "")


def to_institution(raw: RawRecord) -> Institution:
    """Validate a raw institution line; the error names the line, the id and the fields."""
    inst_id = (raw.payload or {}).get("id")
    return validate(raw, Institution, f" ({inst_id})" if inst_id else "")
