"""The bundled rule book and the condition language: sourced rules, no code in conditions."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from isletbase.errors import InputError
from isletbase.regulation.conditions import parse_condition
from isletbase.regulation.rules import load_rulebook, parse_rulebook
from isletbase.regulation.timeline import load_timeline, parse_timeline
from isletbase.taxonomy import CJK

FIELDS = {"country": "str", "charges_patient": "bool", "claims": "list", "price_amount": "number"}


def test_bundled_rules_are_many_sourced_and_bilingual() -> None:
    book = load_rulebook()
    assert len(book.rules) >= 25
    jurisdictions = Counter(r.jurisdiction for r in book.rules)
    assert jurisdictions["CN"] >= 15 and jurisdictions["INTL"] >= 8
    for rule in book.rules:
        assert rule.source_url.startswith("http")
        assert rule.statement_zh and rule.statement_en
        assert rule.statement_zh_kind in {"quote", "paraphrase"}
        if rule.statement_zh_kind == "quote":
            assert rule.statement_zh_source
        assert rule.verified, rule.id
    targets = {t for r in book.rules for t in r.applies_to}
    assert targets == {"trial", "clinic_offer", "product"}
    assert {r.severity for r in book.rules} == {"violation", "red_flag", "info"}


def test_required_topics_are_covered() -> None:
    ids = {r.id for r in load_rulebook().rules}
    for required in (
        "CN-SC-001",
        "CN-SC-003",
        "CN-SC-004",
        "CN-DRUG-001",
        "CN-ETH-001",
        "INTL-CL-001",
        "INTL-CL-002",
        "INTL-CL-007",
        "INTL-ISSCR-003",
        "INTL-ISSCR-005",
    ):
        assert required in ids


def test_every_phrase_list_carries_its_source() -> None:
    book = load_rulebook()
    for name, phrases in book.phrases.items():
        assert phrases.source_url.startswith("http"), name
        assert phrases.en or phrases.zh, name


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "nope", "eq": 1}, "unknown field 'nope'"),
        ({"field": "country", "exec": "__import__('os')"}, "exactly one operator"),
        ({"field": "country", "eq": "CN", "ne": "US"}, "exactly one operator"),
        ({"all": []}, "non-empty list"),
        ({"field": "claims", "contains_any": "cure"}, "takes a list"),
        ("country == 'CN'", "non-empty mapping"),
    ],
)
def test_bad_conditions_are_refused_by_name(condition: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_condition(condition, FIELDS, "rule X")


def test_missing_values_match_only_the_explicit_tests() -> None:
    eq = parse_condition({"field": "charges_patient", "eq": True}, FIELDS, "r")
    ne = parse_condition({"field": "country", "ne": "CN"}, FIELDS, "r")
    not_true = parse_condition({"field": "charges_patient", "not_true": True}, FIELDS, "r")
    null = parse_condition({"field": "country", "is_null": True}, FIELDS, "r")
    gte = parse_condition({"field": "price_amount", "gte": 100}, FIELDS, "r")
    assert eq.evaluate({}) == (False, ())
    assert ne.evaluate({}) == (False, ())
    assert not_true.evaluate({}) == (True, ("charges_patient",))
    assert not_true.evaluate({"charges_patient": False})[0] is True
    assert not_true.evaluate({"charges_patient": True})[0] is False
    assert null.evaluate({"country": "CN"})[0] is False
    assert gte.evaluate({"price_amount": "1000"})[0] is False  # no string/number comparison
    assert gte.evaluate({"price_amount": 150.0})[0] is True


def test_evaluation_reports_the_fields_that_made_it_hold() -> None:
    cond = parse_condition(
        {"all": [{"field": "country", "eq": "CN"},
                 {"any": [{"field": "charges_patient", "eq": True},
                          {"field": "claims", "contains_any": ["cure"]}]}]},
        FIELDS, "r",
    )  # fmt: skip
    held, fields = cond.evaluate({"country": "CN", "claims": ["cure"], "charges_patient": False})
    assert held and fields == ("country", "claims")
    assert cond.evaluate({"country": "US", "claims": ["cure"]})[0] is False


def _minimal(rule_overrides: dict) -> dict:
    rule = {
        "id": "CN-X-001", "jurisdiction": "CN", "applies_to": ["trial"], "severity": "info",
        "statement_en": "A statement long enough.", "statement_zh": "中文陈述",
        "statement_zh_kind": "paraphrase", "when": {"field": "country", "eq": "CN"},
        "source_url": "https://example.org/rule",
    }  # fmt: skip
    rule.update(rule_overrides)
    empty: dict = {"parameters": {}, "phrases": {}, "conditions": {}, "places": {}}
    fields = {"country": {"type": "str", "label": {"en": "where", "zh": "所在地"}, "about": "x"}}
    return {"version": 1, **empty, "cell_sources": {}, "fields": fields, "rules": [rule]}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"severity": "fatal"}, "rule CN-X-001: severity"),
        ({"source_url": "ftp://x"}, "rule CN-X-001: source_url"),
        ({"statement_zh_kind": "quote"}, "needs statement_zh_source"),
        ({"when": {"field": "price", "eq": 1}}, "rule CN-X-001: unknown field 'price'"),
    ],
)
def test_a_broken_rules_file_names_the_rule_and_key(override: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_rulebook(_minimal(override), "rules.yaml")


def test_a_rule_without_a_condition_is_refused(tmp_path) -> None:
    data = _minimal({})
    del data["rules"][0]["when"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="CN-X-001 has no 'when'"):
        load_rulebook(path)


def test_timeline_is_ordered_and_sourced() -> None:
    events = load_timeline().events
    assert len(events) >= 15
    assert [e.date for e in events] == sorted(e.date for e in events)
    assert any(e.date == "2015-07-20" for e in events)
    assert all(e.source_url.startswith("http") for e in events)
    # every event reads in both languages: a Chinese rendering of each summary
    assert all(e.summary_zh and CJK.search(e.summary_zh) for e in events)


def test_a_bad_timeline_date_is_refused() -> None:
    bad = (
        "events:\n  - {date: '2015-13', title_en: abc, title_zh: 中文,"
        " summary: long enough text, source_url: 'https://x.org'}\n"
    )
    with pytest.raises(InputError, match="events.0.date"):
        parse_timeline(bad, "timeline.yaml")


def test_a_rule_that_dates_itself_is_not_applied_before_that_date() -> None:
    """`check --date 2020-01-01` fired rules whose own statements cite the NHC's 2025-12-05
    warning or the 2015 Measures, because their in-force date was left out."""
    from datetime import date

    from isletbase.regulation.engine import check_offer

    cites = {  # rule: the date its statement cites (the NHC's warning, the 2015 Measures)
        "CN-NHC-003": "2025-12-05", "CN-NHC-004": "2025-12-05",
        "CN-SC-002": "2015-07-20", "CN-SC-003": "2015-07-20", "CN-SC-004": "2015-07-20",
    }  # fmt: skip
    rules = {rule.id: rule for rule in load_rulebook().rules}
    assert {r: rules[r].effective for r in cites} == cites
    offer = {"text": "干细胞治疗糖尿病，包治百病，一针见效。", "country": "CN"}
    fired = {
        when.year: {f.rule.id for f in check_offer(offer, today=when).findings}
        for when in (date(2020, 1, 1), date(2026, 1, 1))
    }
    assert "CN-NHC-003" in fired[2026] and "CN-NHC-003" not in fired[2020]


def test_no_two_rules_say_the_same_in_either_language() -> None:
    """CN-SC-001 and -002, CN-SC-003 and -004 carried one quote in Chinese: a Chinese reader
    could not tell what each found, which only their English said."""
    rules = load_rulebook().rules
    for language in ("statement_en", "statement_zh"):
        said = Counter(getattr(rule, language) for rule in rules)
        assert [text for text, n in said.items() if n > 1] == [], language
