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
from functools import cache, lru_cache
from importlib import resources
from re import _constants as _sre
from re import _parser

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


#: Characters that a case-insensitive pattern letter matches besides its two ASCII cases
#: (``tests/test_taxonomy_fast.py`` checks this against every code point).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """Lower-case ``text`` so an ASCII or Han word a rule matches is a substring of it."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def _foldable(word: str) -> bool:
    return all(c.isascii() or c.lower() == c == c.upper() for c in word)


def _required(items: Iterable[tuple[object, object]]) -> set[str] | None:
    """Words one of which every match of a parsed pattern contains, or ``None`` if unknown.

    Runs of literal characters, required groups and alternations (one word from each branch)
    are candidates; the candidate whose shortest word is longest wins.
    """
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, arg in [*items, (None, None)]:
        if op is _sre.LITERAL:
            run.append(chr(arg))  # type: ignore[arg-type]
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        words: set[str] | None = None
        if op is _sre.SUBPATTERN and not arg[1] and not arg[2]:  # type: ignore[index]
            words = _required(arg[3])  # type: ignore[index]
        elif op is _sre.BRANCH:
            branches = [_required(branch) for branch in arg[1]]  # type: ignore[index]
            if all(b is not None for b in branches):
                words = set().union(*branches)  # type: ignore[arg-type]
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and arg[0] >= 1:  # type: ignore[index]
            words = _required(arg[2])  # type: ignore[index]
        if words:
            candidates.append(words)
    candidates = [c for c in candidates if all(_foldable(w) for w in c)]
    if not candidates:
        return None
    return max(candidates, key=lambda c: min(map(len, c)))


class RuleScanner:
    """One vocabulary's rules in priority order, each guarded by the words it cannot miss.

    A rule's regular expression runs on a text only if the folded text contains one of the
    rule's required words (a substring test, far cheaper than a case-insensitive search), so a
    long summary costs a few dozen substring tests and the searches of rules that can match.
    """

    def __init__(self, terms: tuple[Term, ...]) -> None:
        self.rules: tuple[tuple[Term, Rule], ...] = tuple(
            (term, rule) for term in terms for rule in term.rules
        )
        self.words: tuple[tuple[str, ...] | None, ...] = tuple(
            _required_words(rule.pattern) for _, rule in self.rules
        )

    def first_rule(self, text: str, folded: str) -> int | None:
        """Index of the highest-priority rule matching ``text`` (``folded`` is its ``fold``)."""
        for i, (_, rule) in enumerate(self.rules):
            words = self.words[i]
            if words is not None and not any(map(folded.__contains__, words)):
                continue
            if rule.pattern.search(text):
                return i
        return None


def _required_words(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    words = _required(_parser.parse(pattern.pattern, pattern.flags))
    return tuple(sorted(fold(w) for w in words)) if words else None


@cache
def _scanner(field: str) -> RuleScanner:
    return RuleScanner(load().vocabularies[field])


#: Texts up to this length have their first rule memoised (conditions and titles repeat).
_MEMO_CHARS = 200


@lru_cache(maxsize=1 << 16)
def _first_rule_memo(field: str, text: str, folded: str) -> int | None:
    return _scanner(field).first_rule(text, folded)


def _first_rule(field: str, text: str, folded: str) -> int | None:
    if len(text) <= _MEMO_CHARS:
        return _first_rule_memo(field, text, folded)
    return _scanner(field).first_rule(text, folded)


def _term_match(term: Term, texts: list[tuple[str, str, str]]) -> Match | None:
    """The first rule of ``term`` matching any text, in the first text it matches."""
    for rule in term.rules:
        for name, text, _ in texts:
            m = rule.pattern.search(text)
            if m:
                return Match(term.value, rule.id, name, m.group(0))
    return None


def _tier_match(field: str, texts: list[tuple[str, str, str]]) -> Match | None:
    """The highest-priority value any rule assigns from ``texts`` (its first rule and text)."""
    found = [r for _, text, folded in texts if (r := _first_rule(field, text, folded)) is not None]
    if not found:
        return None
    term, rule = _scanner(field).rules[min(found)]
    for name, text, _ in texts:
        m = rule.pattern.search(text)
        if m:
            return Match(term.value, rule.id, name, m.group(0))
    raise AssertionError(f"rule {rule.id} matched a text of {field} but not on its own")


def _classify(field: str, texts: Mapping[str, list[tuple[str, str, str]]]) -> Match | None:
    tax = load()
    if field in CODE_FIELDS:
        tiers: tuple[tuple[str, ...], ...] = ((field,),)
    else:
        tiers = tax.tiers[field]
    for tier in tiers:
        tier_texts = [pair for name in tier for pair in texts.get(name, ())]
        best = _tier_match(field, tier_texts)
        if best is None:
            continue
        if field == "condition" and best.value == "T1D":
            t2 = _term_match(_term(field, "T2D"), tier_texts)
            if t2 is not None:
                return Match(
                    "diabetes", f"{best.rule}+{t2.rule}", best.field, f"{best.text}; {t2.text}"
                )
        return best
    return None


@cache
def _term(field: str, value: str) -> Term:
    term = load().term(field, value)
    assert term is not None, (field, value)
    return term


def _all_texts(
    fields: Mapping[str, object], names: Iterable[str]
) -> dict[str, list[tuple[str, str, str]]]:
    return {name: [(n, t, fold(t)) for n, t in _texts(fields, (name,))] for name in names}


@cache
def _text_fields() -> tuple[str, ...]:
    """Every record field some vocabulary reads, each normalised once per record."""
    tiers = load().tiers
    names = [n for field in tiers for tier in tiers[field] for n in tier]
    return tuple(dict.fromkeys([*names, *CODE_FIELDS]))


def classify_field(field: str, fields: Mapping[str, object]) -> Match | None:
    """Assign one vocabulary field from text, tier by tier; ``None`` when nothing matched.

    Within the first tier that matches, the highest-priority value wins — except that a text
    naming both type 1 and type 2 diabetes is classed ``diabetes`` (several types).
    """
    tax = load()
    names = (field,) if field in CODE_FIELDS else {n for tier in tax.tiers[field] for n in tier}
    return _classify(field, _all_texts(fields, names))


def classify_fields(fields: Mapping[str, object]) -> dict[str, Match | None]:
    """Classify every derived field of a flat record (keys as in ``TrialRecord``)."""
    texts = _all_texts(fields, _text_fields())
    return {field: _classify(field, texts) for field in DERIVED_FIELDS}


def classify_record(record: TrialRecord) -> list[Derivation]:
    """Derivations for a record: the curator's value where given, else the classifier's.

    Phase and status are normalised from the registry's wording; cell source, condition and route
    come from the text. A field nothing matched is reported with value ``None`` and the rule
    ``no rule matched`` so its absence is explained too.
    """
    names = _text_fields()
    texts = _all_texts({name: getattr(record, name) for name in names}, names)
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
        match = _classify(field, texts)
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
