"""The small condition language rules are written in, parsed and evaluated without ``eval``.

A condition is YAML data: ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}`` or a test on one
named field such as ``{field: country, eq: CN}``. Only whitelisted operators and declared fields
are accepted, so a rules file can never run code. Evaluation answers whether the condition holds
and which fields made it hold, so a finding can show its evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from isletbase.errors import InputError


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(value: Any, arg: Any) -> bool:
        if value is None or isinstance(value, bool) != isinstance(arg, bool):
            return False
        if isinstance(value, str) != isinstance(arg, str):
            return False
        return op(value, arg)

    return test


#: operator name -> test(value, argument); a missing value only matches is_null / not_true.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, a: v is not None and v == a,
    "ne": lambda v, a: v is not None and v != a,
    "in": lambda v, a: v is not None and v in a,
    "not_in": lambda v, a: v is not None and v not in a,
    "gte": _cmp(lambda v, a: v >= a),
    "gt": _cmp(lambda v, a: v > a),
    "lte": _cmp(lambda v, a: v <= a),
    "lt": _cmp(lambda v, a: v < a),
    "contains_any": lambda v, a: isinstance(v, list | tuple) and any(x in v for x in a),
    "is_null": lambda v, a: (v is None) == bool(a),
    "not_true": lambda v, a: (v is not True) == bool(a),
}
_LIST_ARGS = {"in", "not_in", "contains_any"}


@dataclass(frozen=True)
class Test:
    """One test on one field."""

    field: str
    op: str
    arg: Any

    def evaluate(self, facts: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
        held = OPERATORS[self.op](facts.get(self.field), self.arg)
        return held, (self.field,) if held else ()

    def fields(self) -> set[str]:
        return {self.field}

    def items(self) -> dict[str, set[Any]]:
        return {self.field: set(self.arg)} if self.op == "contains_any" else {}


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]

    def evaluate(self, facts: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
        used: list[str] = []
        for part in self.parts:
            held, fields = part.evaluate(facts)
            if not held:
                return False, ()
            used.extend(fields)
        return True, tuple(dict.fromkeys(used))

    def fields(self) -> set[str]:
        return set().union(*(p.fields() for p in self.parts))

    def items(self) -> dict[str, set[Any]]:
        """Items each list field is tested for with ``contains_any`` (for focused evidence)."""
        return _merge(p.items() for p in self.parts)


@dataclass(frozen=True)
class Any_:
    parts: tuple[Condition, ...]

    def evaluate(self, facts: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
        results = [part.evaluate(facts) for part in self.parts]
        used = [f for held, fields in results if held for f in fields]
        return any(held for held, _ in results), tuple(dict.fromkeys(used))

    def fields(self) -> set[str]:
        return set().union(*(p.fields() for p in self.parts))

    def items(self) -> dict[str, set[Any]]:
        """Items each list field is tested for with ``contains_any`` (for focused evidence)."""
        return _merge(p.items() for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Condition

    def evaluate(self, facts: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
        """Holds where the part does not; its evidence is the part's fields that have a value
        (a missing one shows nothing: "not stated" is no reason a negation holds)."""
        held, _ = self.part.evaluate(facts)
        if held:
            return False, ()
        return True, tuple(sorted(f for f in self.part.fields() if facts.get(f) is not None))

    def fields(self) -> set[str]:
        return self.part.fields()

    def items(self) -> dict[str, set[Any]]:
        return self.part.items()


Condition = Test | All | Any_ | Not


def _merge(maps: Iterable[dict[str, set[Any]]]) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for m in maps:
        for k, v in m.items():
            out.setdefault(k, set()).update(v)
    return out


def parse_condition(data: Any, declared: Mapping[str, str], where: str) -> Condition:
    """Parse YAML condition data into a tree, checking operators and fields.

    ``declared`` maps field name to type; ``where`` names the rule for error messages. Raises
    :class:`InputError` naming the rule and the offending key.
    """
    if not isinstance(data, Mapping) or not data:
        raise InputError(f"{where}: a condition must be a non-empty mapping, got {data!r}")
    if "all" in data or "any" in data:
        key = "all" if "all" in data else "any"
        parts = data[key]
        if len(data) != 1 or not isinstance(parts, list) or not parts:
            raise InputError(f"{where}: '{key}' takes a non-empty list and nothing beside it")
        parsed = tuple(parse_condition(p, declared, where) for p in parts)
        return All(parsed) if key == "all" else Any_(parsed)
    if "not" in data:
        if len(data) != 1:
            raise InputError(f"{where}: 'not' takes one condition and nothing beside it")
        return Not(parse_condition(data["not"], declared, where))
    if "field" not in data:
        raise InputError(
            f"{where}: expected 'all', 'any', 'not' or 'field' in a condition, got {sorted(data)}"
        )
    name = data["field"]
    if name not in declared:
        raise InputError(f"{where}: unknown field {name!r} (declare it under 'fields')")
    ops = [k for k in data if k != "field"]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        raise InputError(
            f"{where}: field {name!r} needs exactly one operator of {sorted(OPERATORS)}, got {ops}"
        )
    op = ops[0]
    arg = data[op]
    if op in _LIST_ARGS and not isinstance(arg, list):
        raise InputError(f"{where}: operator {op!r} on {name!r} takes a list, got {arg!r}")
    if op in {"is_null", "not_true"} and not isinstance(arg, bool):
        raise InputError(f"{where}: operator {op!r} on {name!r} takes true or false, got {arg!r}")
    return Test(name, op, tuple(arg) if isinstance(arg, list) else arg)
