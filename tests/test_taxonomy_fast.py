"""The one-alternation classifier agrees with the plain rule-by-rule reading of the taxonomy.

``reference_field`` below is the straightforward reading of ``data/taxonomy.yaml``: every rule
of every value in priority order, searched in every text of a tier. The fast path in
``taxonomy`` must give the same value, rule, field and matched text for bundled real records,
for the benchmark's synthetic wording and for generated text built from the rules' own words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from isletbase import taxonomy
from isletbase.model import TrialRecord

DATA = Path(__file__).resolve().parents[1] / "src" / "isletbase" / "data" / "trials"


def _reference_matches(terms, texts):
    found = []
    for term in terms:
        for rule in term.rules:
            for field, text in texts:
                m = rule.pattern.search(text)
                if m:
                    found.append(taxonomy.Match(term.value, rule.id, field, m.group(0)))
                    break
            else:
                continue
            break
    return found


def reference_field(field, fields):
    """Rule by rule, value by value, tier by tier — the classifier as the YAML describes it
    (each text first has the vocabulary's exclusions, in order, replaced by ``taxonomy.BLANK``)."""
    tax = taxonomy.load()
    terms = tax.vocabularies[field]
    exclusions = tax.exclusions.get(field, ())
    tiers = ((field,),) if field in taxonomy.CODE_FIELDS else tax.tiers[field]
    result = _reference_tiers(field, fields, terms, exclusions, tiers)
    need = tax.requires.get(field)
    if result is None or need is None or not result.value.startswith(need[0]):
        return result
    every = [v for name in {n for t in tiers for n in t} for v in _strings(fields.get(name))]
    return result if any(need[1].pattern.search(taxonomy.normalise(v)) for v in every) else None


def _strings(value):
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]


def _reference_tiers(field, fields, terms, exclusions, tiers):
    for tier in tiers:
        texts = []
        for name in tier:
            value = fields.get(name)
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, str) and v:
                    text = taxonomy.normalise(v)
                    for rule in exclusions:
                        text = rule.pattern.sub(taxonomy.BLANK, text)
                    texts.append((name, text))
        found = _reference_matches(terms, texts)
        if not found:
            continue
        values = {m.value for m in found}
        if field == "condition" and {"T1D", "T2D"} <= values and found[0].value in ("T1D", "T2D"):
            t1 = next(m for m in found if m.value == "T1D")
            t2 = next(m for m in found if m.value == "T2D")
            return taxonomy.Match(
                "diabetes", f"{t1.rule}+{t2.rule}", t1.field, f"{t1.text}; {t2.text}"
            )
        return found[0]
    return None


def _bundled() -> list[TrialRecord]:
    return [
        TrialRecord.model_validate(json.loads(line))
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_fast_path_agrees_with_the_reference_on_every_bundled_record():
    records = _bundled()
    assert len(records) >= 100
    assigned = 0
    for record in records:
        fields = record.model_dump()
        fast = taxonomy.classify_fields(fields)
        for field in taxonomy.DERIVED_FIELDS:
            expected = reference_field(field, fields)
            assert taxonomy.classify_field(field, fields) == expected, (record.display_id, field)
            assert fast[field] == expected, (record.display_id, field)
            assigned += expected is not None
        by_field = {d.field: d for d in taxonomy.classify_record(record)}
        for field in ("phase", "status"):
            expected = reference_field(field, fields)
            got = by_field[taxonomy.CODE_FIELDS[field]]
            assert got.value == (expected.value if expected else None)
    # the comparison means something only if the bundled records exercise many rules
    assert assigned >= 3 * len(records)


def test_both_diabetes_types_in_different_texts_of_a_tier_agree_with_the_reference():
    fields = {"conditions": ["T2DM"], "title_en": "islets for type 1 diabetes"}
    assert taxonomy.classify_field("condition", fields) == reference_field("condition", fields)
    assert taxonomy.classify_field("condition", fields).value == "diabetes"


@pytest.mark.parametrize(
    "text",
    [
        "人脐带间充质干细胞治疗Ⅱ型糖尿病",
        "Ⅰ型和Ⅲ型糖尿病",
        "Non-insulin-dependent diabetes mellitus; in insulin-dependent diabetes",
        "Diabetes Mellitus, Type I",
        "Type1diabetes and type 2 or type 1",
        "华通氏胶间充质干细胞 VX-880 zimislecel",
        "UC-MSC versus no stem cell (standard care); placebo MSC",
        "no stem cells, then stem cells; 对照组不输注脐带间充质干细胞，无干细胞",
        "A Phase IV study, Wagner grade III-IV, 1x10^6/kg IV at weeks 0 and 4, given IV",
    ],
)
def test_fast_path_agrees_with_the_reference_on_tricky_wording(text):
    fields = {
        name: [text] if name in ("conditions", "interventions") else text
        for name in ("title_en", "title_zh", "summary", "design", "conditions", "interventions")
    }
    fast = taxonomy.classify_fields(fields)
    for field in ("cell_source", "condition", "route"):
        assert fast[field] == reference_field(field, fields), field
        assert taxonomy.classify_field(field, fields) == reference_field(field, fields), field


def _rule_words() -> list[str]:
    """Literal words and CJK runs from the rules themselves, so generated text hits rules."""
    tax = taxonomy.load()
    rules = [rule for terms in tax.vocabularies.values() for term in terms for rule in term.rules]
    rules += [rule for excluded in tax.exclusions.values() for rule in excluded]
    words: set[str] = set()
    for rule in rules:
        words.update(re.findall(r"[A-Za-z]{2,}|[\u3400-\u9fff]+|\d", rule.pattern.pattern))
    return sorted(words)


_WORDS = _rule_words()
_PIECE = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from([" ", " ", "-", "/", "'s ", ", ", "+", "Ⅰ", "Ⅱ", "Ⅲ", "IV", "期", "型"]),
    st.text(max_size=4),
)
_TEXT = st.lists(_PIECE, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "title_en": _TEXT,
            "official_title_en": _TEXT,
            "title_zh": _TEXT,
            "summary": _TEXT,
            "design": _TEXT,
            "conditions": st.lists(_TEXT, max_size=3),
            "interventions": st.lists(_TEXT, max_size=3),
            "phase": _TEXT,
            "status": _TEXT,
        }
    )
)
def test_fast_path_agrees_with_the_reference_on_generated_text(fields):
    fast = taxonomy.classify_fields(fields)
    for field in taxonomy.DERIVED_FIELDS:
        assert fast[field] == reference_field(field, fields), field


@given(st.text(max_size=300))
def test_fast_path_agrees_with_the_reference_on_arbitrary_text(text):
    fields = {"title_en": text, "summary": text, "conditions": [text], "interventions": [text]}
    for field in ("cell_source", "condition", "route"):
        assert taxonomy.classify_field(field, fields) == reference_field(field, fields)


def test_re2_sees_every_character_a_pattern_letter_matches():
    """RE2 reports a rule only if it sees the letter: each character Python's case-insensitive
    ``re`` matches with an ASCII letter or digit must match it in RE2 too once cased."""
    letters = re.compile("[a-z0-9]", re.IGNORECASE)
    options = re2.Options()
    options.case_sensitive = False
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or not letters.fullmatch(char):
            continue
        letter = next(
            c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if re.fullmatch(c, char, re.I)
        )
        assert re2.fullmatch(letter, taxonomy._ascii_cased(char), options), hex(code)


def _texts_of(record: TrialRecord) -> list[str]:
    return [
        taxonomy.normalise(v)
        for value in record.model_dump().values()
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str) and v
    ]


def _reported(scanner: taxonomy.RuleScanner, field: str, text: str) -> set[int]:
    """Indexes (within ``field``) of the rules RE2 reports as candidates in ``text``."""
    numbers = scanner.numbers(field)
    return {n - numbers.start for n in scanner.candidates(text) if n in numbers}


def test_re2_reports_every_rule_python_matches_in_the_bundled_records():
    searched = 0
    texts = [t for record in _bundled() for t in _texts_of(record)]
    scanner = taxonomy._scanner()
    assert not scanner._unread  # every bundled rule reads in RE2
    for field in taxonomy.DERIVED_FIELDS:
        rules = scanner.rules[field]
        for text in texts:
            matching = {i for i, (_, r) in enumerate(rules) if r.pattern.search(text)}
            assert matching <= _reported(scanner, field, text), (field, text)
            searched += bool(matching)
    assert searched >= 500


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_re2_reports_every_rule_python_matches_in_generated_text(text):
    scanner = taxonomy._scanner()
    for field in taxonomy.DERIVED_FIELDS:
        rules = scanner.rules[field]
        matching = {i for i, (_, r) in enumerate(rules) if r.pattern.search(text)}
        assert matching <= _reported(scanner, field, text), field


def test_a_rule_re2_cannot_read_is_still_applied_in_priority_order():
    terms = (
        taxonomy.Term("a", "A", "甲", (taxonomy.Rule("look", re.compile(r"stem(?= cell)", re.I)),)),
        taxonomy.Term("b", "B", "乙", (taxonomy.Rule("plain", re.compile(r"cell", re.I)),)),
        taxonomy.Term("c", "C", "丙", (taxonomy.Rule("class", re.compile(r"x[\s]y", re.I)),)),
    )
    scanner = taxonomy.RuleScanner({"other": terms[:1], "kind": terms})
    assert scanner._unread == (0, 1, 3)  # a lookahead (in both fields); a class escape
    assert scanner.first_rule("kind", "STEM CELL therapy") == (0, "STEM")
    assert scanner.first_rule("kind", "stem cells") == (0, "stem")
    assert scanner.first_rule("kind", "stem-cell") == (1, "cell")
    assert scanner.first_rule("other", "stem-cell") is None  # the other field's rules only
    assert scanner.first_rule("kind", "x y") == (2, "x y")
    assert scanner.first_rule("kind", "nothing here") is None


def _unreported_exclusions(scanner: taxonomy.RuleScanner, text: str) -> list[str]:
    """Exclusions Python's ``re`` finds in ``text`` that RE2 does not report as candidates."""
    candidates = set(scanner.candidates(text))
    return [
        rule.id
        for numbers, rules in scanner._excluded.values()
        for n, rule in zip(numbers, rules, strict=True)
        if rule.pattern.search(text) and n not in candidates
    ]


def test_re2_reports_every_exclusion_python_matches():
    scanner = taxonomy._scanner()
    assert scanner._excluded  # the bundled taxonomy has exclusions, and RE2 reads them all
    texts = [t for record in _bundled() for t in _texts_of(record)]
    texts += ["no stem cell (standard care)", "Placebo stem cells", "常规治疗（不输注干细胞）"]
    for text in texts:
        assert not _unreported_exclusions(scanner, taxonomy.normalise(text)), text


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_re2_reports_every_exclusion_python_matches_in_generated_text(text):
    assert not _unreported_exclusions(taxonomy._scanner(), text)


def test_an_excluded_mention_is_blanked_before_the_rules_are_searched():
    rule = taxonomy.Rule
    terms = (
        taxonomy.Term("msc", "MSC", "间充质", (rule("msc", re.compile(r"\bMSC", re.I)),)),
        taxonomy.Term("any", "any", "任何", (rule("stem", re.compile(r"stem cells?", re.I)),)),
    )
    negated = (rule("neg", re.compile(r"\bno stem cells?", re.I)),)
    scanner = taxonomy.RuleScanner({"kind": terms, "plain": terms}, {"kind": negated})
    assert scanner.first_rule("kind", "no stem cells (standard care)") is None
    assert scanner.first_rule("plain", "no stem cells") == (1, "stem cells")  # its own field only
    assert scanner.first_rule("kind", "no stem cell, then stem cells") == (1, "stem cells")
    assert scanner.first_rule("kind", "MSC versus no stem cells") == (0, "MSC")


@pytest.mark.parametrize(
    ("pattern", "widened"),
    [
        (r"\bMSCs?\b|stromal", r"\bMSCs?|stromal"),
        (r"\bCLI\b|(1|I)\b-", r"\bCLI\b|(1|I)-"),
        (r"\bs?x\\b", r"s?x\\b"),
        (r"(I|1)\s*期", "(I|1)(?s:.)*期"),
        (r"a[]b]\bc", r"a[]b]\bc"),
        (r"a[]b]\b-", "a[]b]-"),
        (r"a[^]\s]c", None),
        (r"CD34\+", r"CD34\+"),
    ],
)
def test_widened_drops_assertions_and_widens_class_escapes(pattern, widened):
    assert taxonomy._widened(pattern) == widened
