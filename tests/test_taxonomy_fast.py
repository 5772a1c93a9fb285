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
    """Rule by rule, value by value, tier by tier — the classifier as the YAML describes it."""
    tax = taxonomy.load()
    terms = tax.vocabularies[field]
    tiers = ((field,),) if field in taxonomy.CODE_FIELDS else tax.tiers[field]
    for tier in tiers:
        texts = []
        for name in tier:
            value = fields.get(name)
            values = value if isinstance(value, list) else [value]
            texts += [(name, taxonomy.normalise(v)) for v in values if isinstance(v, str) and v]
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


def _rule_words() -> list[str]:
    """Literal words and CJK runs from the rules themselves, so generated text hits rules."""
    tax = taxonomy.load()
    words: set[str] = set()
    for terms in tax.vocabularies.values():
        for term in terms:
            for rule in term.rules:
                words.update(re.findall(r"[A-Za-z]{2,}|[\u3400-\u9fff]+|\d", rule.pattern.pattern))
    return sorted(words)


_WORDS = _rule_words()
_PIECE = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from([" ", " ", "-", "/", "'s ", ", ", "+", "Ⅱ", "期", "型"]),
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


def test_folding_keeps_every_character_a_pattern_letter_matches():
    """The substring guard is safe only if ``fold`` maps each such character to its letter."""
    letters = re.compile("[a-z0-9]", re.IGNORECASE)
    for code in range(0x110000):
        char = chr(code)
        if letters.fullmatch(char):
            folded = taxonomy.fold(char)
            assert len(folded) == 1 and folded.isascii(), hex(code)
            assert re.fullmatch(folded, char, re.IGNORECASE), hex(code)


def test_every_rule_only_matches_texts_holding_one_of_its_required_words():
    scanner_words = 0
    for field in taxonomy.DERIVED_FIELDS:
        scanner = taxonomy._scanner(field)
        for (_, rule), words in zip(scanner.rules, scanner.words, strict=True):
            assert words is None or all(words), rule.id
            scanner_words += words is not None
            for record in _bundled()[:40]:
                for text in map(str, record.model_dump().values()):
                    if words is not None and rule.pattern.search(text):
                        assert any(w in taxonomy.fold(text) for w in words), (rule.id, text)
    assert scanner_words >= 70
