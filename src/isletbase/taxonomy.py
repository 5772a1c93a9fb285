"""Controlled vocabularies and the transparent bilingual classifier that assigns them.

The vocabularies and the dictionary rules live in ``data/taxonomy.yaml``; this module only reads
and applies them. Every value it assigns comes with the id of the rule and the text field that
matched, so a reader can see why a trial is called "UC-MSC" and a curator can override it.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple

import opencc
import re2
import yaml

from isletbase.model import Curated, Derivation, TrialRecord

#: The fields the classifier derives, in the order they are reported.
DERIVED_FIELDS = ("cell_source", "condition", "route", "phase", "status")
#: Output field names of ``classify_record`` (phase/status are normalised codes).
CODE_FIELDS = {"phase": "phase_code", "status": "status_code"}
#: The rule a derivation names where nothing matched (its value is ``None``).
NO_RULE = "no rule matched"


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
    #: other names a reader may filter by (静脉 for intravenous), besides code and labels
    aliases: tuple[str, ...] = ()


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
    #: per vocabulary, mentions that do not count (a negated stem cell): blanked before its rules
    exclusions: Mapping[str, tuple[Rule, ...]]
    #: per vocabulary, values holding only where the record names something else too (a
    #: complication of diabetes where it names diabetes): the values' prefix and that rule
    requires: Mapping[str, tuple[str, Rule]]

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
    """NFKC-fold text so full-width letters, digits and punctuation match the rules (ASCII
    text is its own NFKC form, so it is returned as it is)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional Han characters as simplified (OpenCC's t2s): Hong Kong's, Taiwan's and
    overseas texts are often written in traditional ones (臍帶幹細胞), the bundled vocabularies,
    phrase lists and place names in simplified (脐带干细胞). ASCII text is returned as it is,
    unconverted (one C scan); any other is converted, which costs less than looking for a Han
    character first (~2 µs for a 700-character text, where ``max`` took 12 and a regex 4)."""
    return text if text.isascii() else _t2s().convert(text)


def written_forms(text: str) -> tuple[str, ...]:
    """``text`` as written and, where it holds traditional Han characters, in simplified ones
    (幹細胞 → 干细胞), for a search to match either; ASCII text is its only form."""
    return tuple(dict.fromkeys([text, simplified(text)]))


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
                aliases=tuple(item.get("aliases", ())),
            )
            for item in raw[field]
        )
    tiers = {k: tuple(tuple(t) for t in v) for k, v in raw["tiers"].items()}
    exclusions = {
        field: tuple(Rule(r["id"], re.compile(r["pattern"], re.IGNORECASE)) for r in rules)
        for field, rules in (raw.get("exclusions") or {}).items()
    }
    requires = {
        name: (need["prefix"], Rule(need["id"], re.compile(need["pattern"], re.IGNORECASE)))
        for name, need in (raw.get("requires") or {}).items()
    }
    return Taxonomy(vocabularies, tiers, exclusions, requires)


#: What an excluded mention is replaced by: no rule reads it, and it joins no words.
BLANK = "#"


def blanked(rules: Iterable[Rule], text: str) -> str:
    """``text`` with every match of the exclusion ``rules`` (in order) replaced by ``BLANK``."""
    for rule in rules:
        text = rule.pattern.sub(BLANK, text)
    return text


def _texts(fields: Mapping[str, object], name: str) -> list[tuple[str, str]]:
    """A field's non-empty texts (one, or a list's), as the rules read them (``_readable``),
    each with the field's name."""
    value = fields.get(name)
    if isinstance(value, str):
        return [(name, _readable(value))] if value else []
    if isinstance(value, list):
        return [(name, _readable(item)) for item in value if isinstance(item, str) and item]
    return []


def _readable(text: str) -> str:
    """A text as the rules read it: NFKC-folded (``normalise``), and in simplified characters
    where it holds Han ones, as the rules are written: Taiwan's and Hong Kong's 臍帶間充質幹細胞
    is 脐带间充质干细胞 (it was no cell source)."""
    return simplified(normalise(text))


#: Characters that Python's case-insensitive ``re`` matches with an ASCII letter but RE2 does
#: not (``tests/test_taxonomy_fast.py`` checks this against every code point).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
#: Characters of scripts written without spaces between words (Chinese, Japanese, Korean): a
#: search term holding one is matched as a substring, through the trigram index.
CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")
_FOLDED = re.compile("[\u0130\u0131\u017f\u212a]")


def _ascii_cased(text: str) -> str:
    """``text`` for RE2: each letter ``re`` matches with an ASCII letter replaced by it."""
    return text if text.isascii() or not _FOLDED.search(text) else text.translate(_FOLD)


class RuleScanner:
    """Every vocabulary's rules in priority order, found with one pass of RE2 over a text.

    Every rule whose pattern RE2 can read joins one ``re2.Set``, which reports in a single
    linear scan which of them may match (its patterns are widened so it never misses a match of
    Python's ``re``: see ``_widened``). One set serves all the vocabularies: a title or a
    summary is read by three of them, and one scan of the union costs about what one
    vocabulary's did (a summary: 3.2 µs against 6.6 for three scans). For a field, only its
    candidates are then searched, in priority order, so the rule, field and matched text are
    exactly what ``re`` gives. A candidate whose pattern needed no widening is found by RE2
    itself in the cased text (the same match: leftmost-first, and casing keeps every character
    in its place), several times faster than ``re`` on a long text (a summary: 36 → 7 µs); a
    widened one is searched with ``re``, and so is a rule RE2 cannot read (a lookaround, say),
    on every text.

    A vocabulary's exclusions (``Taxonomy.exclusions``) join the set too, numbered after every
    rule: only a text in which one may match is blanked (``blanked``) and scanned again before
    that vocabulary's rules are searched, so the exclusions cost other texts nothing.
    """

    def __init__(
        self,
        vocabularies: Mapping[str, tuple[Term, ...]],
        exclusions: Mapping[str, tuple[Rule, ...]] | None = None,
    ) -> None:
        #: each field's (term, rule) pairs in priority order; a rule's index is its place there
        self.rules: dict[str, tuple[tuple[Term, Rule], ...]] = {
            field: tuple((term, rule) for term in terms for rule in term.rules)
            for field, terms in vocabularies.items()
        }
        # all fields' rules numbered one after the other; each field's start in that numbering
        self._start: dict[str, int] = {}
        self._patterns: list[re.Pattern[str]] = []
        for field, pairs in self.rules.items():
            self._start[field] = len(self._patterns)
            self._patterns += [rule.pattern for _, rule in pairs]
        #: field → the numbers of its exclusions (after every rule) and the exclusions
        self._excluded: dict[str, tuple[range, tuple[Rule, ...]]] = {}
        for field, rules in (exclusions or {}).items():
            if rules:
                start = len(self._patterns)
                self._excluded[field] = (range(start, start + len(rules)), tuple(rules))
                self._patterns += [rule.pattern for rule in rules]
        options = re2.Options()
        options.case_sensitive = False
        self._set = re2.Set.SearchSet(options)
        self._in_set: list[int] = []
        #: number → its pattern in RE2, for the rules RE2 reads exactly as written, and
        #: whether that holds for ASCII text only (a ``\\b`` is ASCII's in RE2, Unicode's in
        #: ``re``: in "期IV" RE2 finds the word IV, ``re`` does not)
        self._exact: dict[int, tuple[re2._Regexp, bool]] = {}
        unread: list[int] = []
        for n, pattern in enumerate(self._patterns):
            widened = _widened(pattern.pattern)
            try:
                if widened is None:
                    raise re2.error("a construct RE2 may read differently")
                self._set.Add(widened)
                self._in_set.append(n)
                if widened == pattern.pattern:
                    ascii_only = bool(_ASSERTIONS.search(widened))
                    self._exact[n] = (re2.compile(widened, options), ascii_only)
            except re2.error:
                unread.append(n)
        self._set.Compile()
        self._unread = tuple(unread)

    def candidates(self, text: str) -> tuple[int, ...]:
        """The numbers of every rule, of any field, that may match ``text``, in order."""
        hits = self._set.Match(_ascii_cased(text)) or ()
        return tuple(sorted([*(self._in_set[h] for h in hits), *self._unread]))

    def numbers(self, field: str) -> range:
        """The numbers ``candidates`` gives ``field``'s rules (in its priority order)."""
        start = self._start[field]
        return range(start, start + len(self.rules[field]))

    def first_rule(
        self, field: str, text: str, candidates: tuple[int, ...] | None = None
    ) -> tuple[int, str] | None:
        """Index (within ``field``) of its highest-priority rule matching ``text``, and the
        text it matched; ``candidates`` are what ``candidates(text)`` gave, where known."""
        if candidates is None:
            candidates = self.candidates(text)
        excluded = self._excluded.get(field)
        if excluded is not None:
            numbers, rules = excluded
            at = bisect_left(candidates, numbers.start)
            if at < len(candidates) and candidates[at] < numbers.stop:
                masked = blanked(rules, text)
                if masked != text:
                    text, candidates = masked, self.candidates(masked)
        numbers = self.numbers(field)
        start, stop = numbers.start, numbers.stop
        cased: str | None = None
        for n in candidates:
            if n < start:
                continue
            if n >= stop:
                break
            exact, ascii_only = self._exact.get(n, (None, False))
            if exact is None or (ascii_only and not text.isascii()):
                m = self._patterns[n].search(text)
                if m:
                    return n - start, m.group(0)
                continue
            if cased is None:
                cased = _ascii_cased(text)
            found = exact.search(cased)
            if found:
                return n - start, text[found.start() : found.end()]
        return None


#: Assertions RE2 reads as ASCII's and ``re`` as Unicode's.
_ASSERTIONS = re.compile(r"\\[bBAZ]")
#: Escapes whose meaning RE2 and Python's ``re`` may differ on for non-ASCII text: assertions
#: (dropped, which only widens a pattern) and character classes (widened to any character).
_WIDEN = {"b": "", "B": "", "A": "", "Z": "", **dict.fromkeys("wWsSdD", "(?s:.)")}


def _ascii_word(pattern: str, i: int, after: bool) -> bool:
    """Whether ``pattern[i]`` is a plain ASCII letter or digit that every match holds: not
    escaped, and (when it follows a ``\\b``) not made optional by a quantifier."""
    if not (0 <= i < len(pattern) and pattern[i].isascii() and pattern[i].isalnum()):
        return False
    if after:
        return pattern[i + 1 : i + 2] not in ("?", "*", "{")
    return pattern[i - 1 : i] != "\\"


def _widened(pattern: str) -> str | None:
    """``pattern`` for RE2, matching at least wherever Python's ``re`` matches it.

    A ``\\b`` next to a literal ASCII letter or digit stays: there RE2's ASCII word boundary
    holds wherever Python's Unicode one does (so ``\\bCLI\\b`` does not flag "clinical"); other
    assertions are dropped. ``None`` where a class escape sits inside brackets (it cannot be
    widened in place); RE2 itself rejects what it cannot read (lookarounds, back-references).
    """
    out: list[str] = []
    in_class = False
    class_start = 0  # where a ']' is still a literal: first in brackets (after any '^')
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped in _WIDEN:
                if in_class:
                    return None
                kept = escaped == "b" and (
                    _ascii_word(pattern, i - 1, after=False) or _ascii_word(pattern, i + 2, True)
                )
                out.append("\\b" if kept else _WIDEN[escaped])
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            class_start = i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1
        elif char == "]" and in_class and i > class_start:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@cache
def _scanner() -> RuleScanner:
    tax = load()
    return RuleScanner(tax.vocabularies, tax.exclusions)


#: Texts up to this length have their first rules memoised (conditions and titles repeat).
_MEMO_CHARS = 200


@lru_cache(maxsize=1 << 16)
def _memo(text: str) -> list:
    """What is known of a short text: its candidates (first), then each vocabulary's first rule
    in ``RuleScanner.rules`` order, worked out when a vocabulary first asks (``_UNKNOWN``
    until then). One entry a text, whichever vocabularies read it, from one scan."""
    scanner = _scanner()
    return [scanner.candidates(text), *[_UNKNOWN] * len(scanner.rules)]


_UNKNOWN = object()


@cache
def _field_position(field: str) -> int:
    return 1 + list(_scanner().rules).index(field)


#: A record's long texts → their candidates, so the vocabularies reading one text scan it once.
Scanned = dict[str, tuple[int, ...]]


def _first_rule(
    scanner: RuleScanner, field: str, position: int, text: str, scanned: Scanned
) -> tuple[int, str] | None:
    """``field``'s first rule in ``text`` (``position``: the field's in a memo entry)."""
    if len(text) <= _MEMO_CHARS:
        known = _memo(text)
        found = known[position]
        if found is _UNKNOWN:
            found = known[position] = scanner.first_rule(field, text, known[0])
        return found
    return scanner.first_rule(field, text, _long_candidates(scanner, text, scanned))


def _long_candidates(scanner: RuleScanner, text: str, scanned: Scanned) -> tuple[int, ...]:
    candidates = scanned.get(text)
    if candidates is None:
        candidates = scanned[text] = scanner.candidates(text)
    return candidates


def _candidates_in(texts: Mapping[str, list[tuple[str, str]]], scanned: Scanned) -> set[int]:
    """Every rule, of any vocabulary, that may match one of a record's texts."""
    scanner = _scanner()
    found: set[int] = set()
    for pairs in texts.values():
        for _, text in pairs:
            if len(text) <= _MEMO_CHARS:
                found.update(_memo(text)[0])
            else:
                found.update(_long_candidates(scanner, text, scanned))
    return found


@cache
def _rules_of(field: str) -> frozenset[int]:
    """``RuleScanner.numbers`` of ``field``, as a set."""
    return frozenset(_scanner().numbers(field))


def _term_match(field: str, term: Term, texts: list[tuple[str, str]]) -> Match | None:
    """The first rule of ``term`` matching any text, in the first text it matches."""
    if excluded := load().exclusions.get(field):
        texts = [(name, blanked(excluded, text)) for name, text in texts]
    for rule in term.rules:
        for name, text in texts:
            m = rule.pattern.search(text)
            if m:
                return Match(term.value, rule.id, name, m.group(0))
    return None


def _tier_match(field: str, texts: list[tuple[str, str]], scanned: Scanned) -> Match | None:
    """The highest-priority value any rule assigns from ``texts`` (its first rule and text).

    A text that rule matches has it as its own first rule (nothing in it ranks higher), so the
    first text whose first rule is the best one is where the best rule first matches.
    """
    scanner, position = _scanner(), _field_position(field)
    best: tuple[int, str, str] | None = None
    for name, text in texts:
        found = _first_rule(scanner, field, position, text, scanned)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], name, found[1])
    if best is None:
        return None
    term, rule = scanner.rules[field][best[0]]
    return Match(term.value, rule.id, best[1], best[2])


def _classify(
    field: str,
    texts: Mapping[str, list[tuple[str, str]]],
    scanned: Scanned,
    found: set[int] | None = None,
) -> Match | None:
    """``field``'s value from a record's ``texts``; ``found``: ``_candidates_in`` of them,
    where known — most registry records give no vocabulary but phase, status and route a
    candidate, and then the others' tiers need not be read (derive: 44.8 → 39.8 µs), and a
    type 1 diabetes is checked for a type 2 in Python only where RE2 saw one may be named."""
    if found is not None and found.isdisjoint(_rules_of(field)):
        return None
    for tier in _tiers(field):
        tier_texts = [pair for name in tier for pair in texts.get(name, ())]
        best = _tier_match(field, tier_texts, scanned)
        if best is None:
            continue
        if best.value == "T1D" and field == "condition":
            if found is not None and found.isdisjoint(_term_rules(field, "T2D")):
                return best
            t2 = _term_match(field, _term(field, "T2D"), tier_texts)
            if t2 is not None:
                return Match(
                    "diabetes", f"{best.rule}+{t2.rule}", best.field, f"{best.text}; {t2.text}"
                )
        return best if _context_holds(field, best, texts) else None
    return None


def _context_holds(field: str, best: Match, texts: Mapping[str, list[tuple[str, str]]]) -> bool:
    """Whether ``best`` may stand: a value ``Taxonomy.requires`` conditions holds only where
    one of the texts its vocabulary reads (any tier) names what it needs."""
    need = load().requires.get(field)
    if need is None or not best.value.startswith(need[0]):
        return True
    return any(
        need[1].pattern.search(text)
        for tier in _tiers(field)
        for name in tier
        for _, text in texts.get(name, ())
    )


@cache
def _tiers(field: str) -> tuple[tuple[str, ...], ...]:
    """The groups of record fields ``field`` is read from, in order (its own, for a code)."""
    return ((field,),) if field in CODE_FIELDS else load().tiers[field]


@cache
def _term_rules(field: str, value: str) -> frozenset[int]:
    """``RuleScanner.numbers`` of the rules of ``field``'s term ``value``, as a set."""
    scanner = _scanner()
    start = scanner.numbers(field).start
    pairs = scanner.rules[field]
    return frozenset(start + i for i, (term, _) in enumerate(pairs) if term.value == value)


@cache
def _term(field: str, value: str) -> Term:
    term = load().term(field, value)
    assert term is not None, (field, value)
    return term


def _all_texts(
    fields: Mapping[str, object], names: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    return {name: _texts(fields, name) for name in names}


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
    return _classify(field, _all_texts(fields, names), {})


def classify_fields(fields: Mapping[str, object]) -> dict[str, Match | None]:
    """Classify every derived field of a flat record (keys as in ``TrialRecord``)."""
    texts = _all_texts(fields, _text_fields())
    scanned: Scanned = {}
    found = _candidates_in(texts, scanned)
    return {field: _classify(field, texts, scanned, found) for field in DERIVED_FIELDS}


def classify_record(record: TrialRecord) -> list[Derivation]:
    """Derivations for a record: the curator's value where given, else the classifier's
    (``classify_data`` of the record's data)."""
    return classify_data(record.model_dump())


#: The derived fields a curator may set (``TrialRecord.curated``), overriding the classifier.
CURATED_FIELDS = ("cell_source", "condition", "route")


def classify_data(data: Mapping[str, Any]) -> list[Derivation]:
    """Derivations for a record given as data (``TrialRecord.model_dump()``, or its JSON form
    as stored): the curator's value where given, else the classifier's (``derive``)."""
    return [Derivation(field=f, value=v, method=m, rule=r) for f, v, m, r in derive(data)]


class Derived(NamedTuple):
    """A derivation as a plain tuple: what the ingest pipeline stores and hands between its
    processes (a ``Derivation`` model costs ~1.3 µs to make, five a record)."""

    field: str
    value: str | None
    method: str
    rule: str


def derive(data: Mapping[str, Any]) -> list[Derived]:
    """``classify_data`` as plain tuples.

    Phase and status are normalised from the registry's wording; cell source, condition and route
    come from the text. A field nothing matched is reported with value ``None`` and the rule
    ``no rule matched`` so its absence is explained too. The ingest pipeline classifies the
    data it stores, so whichever process does it needs no model (rebuilding one cost ~26 µs).
    """
    texts = _all_texts(data, _text_fields())
    curated = data.get("curated") or {}
    scanned: Scanned = {}
    found = _candidates_in(texts, scanned)
    out: list[Derived] = []
    for field in DERIVED_FIELDS:
        name = CODE_FIELDS.get(field, field)
        override = curated.get(field) if field in CURATED_FIELDS else None
        if override:
            out.append(Derived(name, override, "curated", curated.get("note") or "no note given"))
            continue
        match = _classify(field, texts, scanned, found)
        if match is None:
            out.append(Derived(name, None, "classifier", NO_RULE))
        else:
            out.append(Derived(name, match.value, "classifier", match.explain()))
    return out


def validate_curated(curated: Curated) -> None:
    """Check a record's curator overrides against the vocabularies (``ValueError`` if not)."""
    for field in CURATED_FIELDS:
        if value := getattr(curated, field):
            validate_value(field, value)


def validate_value(field: str, value: str) -> str:
    """Check a curated value against the vocabulary. A complication too must be one of its
    codes: a search filters by them, so a value outside them was a trial no filter found."""
    allowed = load().values(field)
    if value in allowed:
        return value
    raise ValueError(f"{field} {value!r} is not in the vocabulary ({', '.join(allowed)})")


def code_of(field: str, text: str) -> str | None:
    """The vocabulary's code of a cell source, condition or route written as its code or its
    English or Chinese name, in any case, in simplified or traditional characters
    (脐带间充质干细胞 and 臍帶間充質幹細胞 → UC-MSC, 1型糖尿病 → T1D); ``None`` for neither."""
    book = load()
    wanted = _readable(text).strip().casefold()
    for code in book.values(field):
        term = book.term(field, code)
        names = (code, term.label_en, term.label_zh, *term.aliases) if term else (code,)
        if any(name and normalise(name).casefold() == wanted for name in names):
            return code
    return None
