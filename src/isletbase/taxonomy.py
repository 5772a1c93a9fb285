"""Controlled vocabularies and the transparent bilingual classifier that assigns them.

The vocabularies and the dictionary rules live in ``data/taxonomy.yaml``; this module only reads
and applies them. Every value it assigns comes with the id of the rule and the text field that
matched, so a reader can see why a trial is called "UC-MSC" and a curator can override it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from isletbase.model import Derivation, TrialRecord

#: The fields the classifier derives, in the order they are reported.
DERIVED_FIELDS = ("cell_source", "condition", "route", "phase", "status")
#: Output field names of ``classify_record`` (phase/status are normalised codes).
CODE_FIELDS = {"phase": "phase_code", "status": "status_code"}


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Term:
    """One value of a vocabulary with its labels and the rules that assign it."""

    value: str
    label_en: str
    label_zh: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Match:
    value: str
    rule: str
    field: str
    text: str

    def explain(self) -> str:
        return f"{self.rule}: matched {self.text!r} in {self.field}"


@dataclass(frozen=True)
class Taxonomy:
    vocabularies: Mapping[str, tuple[Term, ...]]
    tiers: Mapping[str, tuple[tuple[str, ...], ...]]

    def values(self, field: str) -> list[str]:
        return [t.value for t in self.vocabularies[field]]

    def term(self, field: str, value: str) -> Term | None:
        return next((t for t in self.vocabularies[field] if t.value == value), None)

    def label(self, field: str, value: str | None, lang: str = "en") -> str | None:
        if value is None:
            return None
        term = self.term(field, value)
        if term is None:
            return value
        return term.label_zh if lang == "zh" else term.label_en


def normalise(text: str) -> str:
    """NFKC-fold text so full-width letters, digits and punctuation match the rules."""
    return unicodedata.normalize("NFKC", text)


@cache
def load() -> Taxonomy:
    """The taxonomy bundled with the package (parsed once)."""
    raw = yaml.safe_load(
        resources.files("isletbase.data").joinpath("taxonomy.yaml").read_text("utf-8")
    )
    vocabularies: dict[str, tuple[Term, ...]] = {}
    for field in DERIVED_FIELDS:
        vocabularies[field] = tuple(
            Term(
                value=item["value"],
                label_en=item["label"]["en"],
                label_zh=item["label"]["zh"],
                rules=tuple(
                    Rule(r["id"], re.compile(r["pattern"], re.IGNORECASE)) for r in item["rules"]
                ),
            )
            for item in raw[field]
        )
    tiers = {k: tuple(tuple(t) for t in v) for k, v in raw["tiers"].items()}
    return Taxonomy(vocabularies, tiers)


def _texts(fields: Mapping[str, object], names: Iterable[str]) -> Iterable[tuple[str, str]]:
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and value:
            yield name, normalise(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str) and item:
                    yield name, normalise(item)


def _matches(terms: tuple[Term, ...], texts: list[tuple[str, str]]) -> list[Match]:
    found: list[Match] = []
    for term in terms:
        for rule in term.rules:
            for field, text in texts:
                m = rule.pattern.search(text)
                if m:
                    found.append(Match(term.value, rule.id, field, m.group(0)))
                    break
            else:
                continue
            break
    return found


def classify_field(field: str, fields: Mapping[str, object]) -> Match | None:
    """Assign one vocabulary field from text, tier by tier; ``None`` when nothing matched.

    Within the first tier that matches, the highest-priority value wins — except that a text
    naming both type 1 and type 2 diabetes is classed ``diabetes`` (several types).
    """
    tax = load()
    terms = tax.vocabularies[field]
    if field in CODE_FIELDS:
        tiers: tuple[tuple[str, ...], ...] = ((field,),)
    else:
        tiers = tax.tiers[field]
    for tier in tiers:
        found = _matches(terms, list(_texts(fields, tier)))
        if not found:
            continue
        values = {m.value for m in found}
        if field == "condition" and {"T1D", "T2D"} <= values and found[0].value in ("T1D", "T2D"):
            t1 = next(m for m in found if m.value == "T1D")
            t2 = next(m for m in found if m.value == "T2D")
            return Match("diabetes", f"{t1.rule}+{t2.rule}", t1.field, f"{t1.text}; {t2.text}")
        return found[0]
    return None


def classify_fields(fields: Mapping[str, object]) -> dict[str, Match | None]:
    """Classify every derived field of a flat record (keys as in ``TrialRecord``)."""
    return {field: classify_field(field, fields) for field in DERIVED_FIELDS}


def classify_record(record: TrialRecord) -> list[Derivation]:
    """Derivations for a record: the curator's value where given, else the classifier's.

    Phase and status are normalised from the registry's wording; cell source, condition and route
    come from the text. A field nothing matched is reported with value ``None`` and the rule
    ``no rule matched`` so its absence is explained too.
    """
    fields = record.model_dump()
    curated = record.curated
    out: list[Derivation] = []
    for field in DERIVED_FIELDS:
        name = CODE_FIELDS.get(field, field)
        override = (
            getattr(curated, field, None)
            if field in ("cell_source", "condition", "route")
            else None
        )
        if override:
            note = curated.note or "no note given"
            out.append(Derivation(field=name, value=override, method="curated", rule=note))
            continue
        match = classify_field(field, fields)
        if match is None:
            out.append(
                Derivation(field=name, value=None, method="classifier", rule="no rule matched")
            )
        else:
            out.append(
                Derivation(field=name, value=match.value, method="classifier", rule=match.explain())
            )
    return out


def validate_value(field: str, value: str) -> str:
    """Check a curated value against the vocabulary; complications may be any ``complication:x``."""
    allowed = load().values(field)
    if value in allowed or (field == "condition" and value.startswith("complication:")):
        return value
    raise ValueError(f"{field} {value!r} is not in the vocabulary ({', '.join(allowed)})")
