"""The ``isletbase classify`` machine interface: records in, vocabulary values and reasons out.

Input lines are ClinicalTrials.gov API v2 study objects or flat objects with any of ``title``,
``title_zh``, ``conditions``, ``interventions``, ``description`` (and optionally ``id``,
``phase``, ``status``). Output objects have exactly the keys ``id``, ``cell_source``,
``condition``, ``route``, ``phase``, ``status`` and ``rule`` (the rule that decided each field).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from isletbase import taxonomy
from isletbase.errors import InputError, json_kind
from isletbase.sources import ctgov

#: The flat input's text keys and the classifier's field each fills (an error names the key
#: as the input wrote it).
_TEXT_KEYS = {
    "id": "id",
    "title": "title_en",
    "title_zh": "title_zh",
    "description": "summary",
    "phase": "phase",
    "status": "status",
}


#: Every key a flat input may have.
FLAT_KEYS = frozenset(_TEXT_KEYS) | {"conditions", "interventions"}


def flat_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The classifier's fields for either input shape; raises ``InputError`` on anything else."""
    if "protocolSection" in obj:
        return ctgov.flat_fields(obj)
    unknown = set(obj) - FLAT_KEYS
    if unknown:
        raise InputError(
            f"unknown keys {sorted(unknown)}; expected a v2 study (protocolSection) "
            f"or any of {sorted(FLAT_KEYS)}"
        )
    fields: dict[str, Any] = {}
    for key, field in _TEXT_KEYS.items():
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{key}: expected a string, got {json_kind(value)}")
        fields[field] = value
    for key in ("conditions", "interventions"):
        value = obj.get(key)
        if isinstance(value, str):
            value = [value]
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise InputError(f"{key}: expected a string or a list of strings")
        fields[key] = value or []
    return fields


def classify_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One output object for one input object."""
    fields = flat_fields(obj)
    matches = taxonomy.classify_fields(fields)
    out: dict[str, Any] = {"id": fields.get("id")}
    rules: dict[str, str | None] = {}
    for field in taxonomy.DERIVED_FIELDS:
        match = matches[field]
        out[field] = match.value if match else None
        rules[field] = match.explain() if match else None
    out["rule"] = rules
    return out


def classify_lines(lines: Iterable[str]) -> Iterator[dict[str, Any] | InputError]:
    """Classify JSON Lines; a bad line yields an ``InputError`` naming its line number, and the
    lines after it are read still (a byte that is not UTF-8, a lone surrogate or a line nested
    thousands deep ended the run with a traceback)."""
    for number, line in enumerate(lines, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark, as an editor may write
        if not line.strip():
            continue
        try:
            line.encode("utf-8")  # stdin reads a byte that is not UTF-8 as a lone surrogate
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {json_kind(obj)}")
            yield classify_object(obj)
        except json.JSONDecodeError as exc:
            yield InputError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
        except UnicodeError:
            yield InputError(
                f"line {number}: not UTF-8 text (a byte or a \\u escape that is no character)"
            )
        except RecursionError:
            yield InputError(f"line {number}: JSON nested too deeply")
        except InputError as exc:
            yield InputError(f"line {number}: {exc}")
