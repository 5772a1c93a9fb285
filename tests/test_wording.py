"""isletbase's own words (check's evidence, a pool's reasons) in English and Chinese."""

from __future__ import annotations

import re
from datetime import date

import pytest

from isletbase import wording
from isletbase.model import STALE_FLAG
from isletbase.regulation.facts import Evidence
from isletbase.store.trials import stale_flags
from isletbase.wording import Said


def test_every_wording_has_both_languages_naming_the_same_values():
    texts = wording.wordings()
    assert texts and all(set(t) == {"en", "zh"} for t in texts.values())
    for code, t in texts.items():
        assert re.search(r"[\u4e00-\u9fff]", t["zh"]), code  # a Chinese text, not a copy


def test_a_wording_naming_other_values_in_one_language_is_refused(monkeypatch, tmp_path):
    """A zh text that forgot a value would print the English's value nowhere, and one naming
    a value the English lacks would fail only when a Chinese page showed it."""
    broken = {"price_in": {"en": "price in {currency}", "zh": "价格：{quote}"}}
    monkeypatch.setattr(wording.yaml, "safe_load", lambda _: broken)
    wording.wordings.cache_clear()
    try:
        with pytest.raises(ValueError, match="'price_in' names other values"):
            wording.wordings()
    finally:
        wording.wordings.cache_clear()


def test_said_evidence_keeps_its_english_as_the_quote_and_words_it_in_chinese():
    ev = Evidence.said("derived", "own_money", zh={"country": "日本"}, country="JP", own="JPY")
    assert ev.quote == "¥ and 元 in JP are its own money, JPY"  # the API's and CLI's text
    assert ev.to_dict() == {"source": "derived", "quote": ev.quote}  # the contract's keys only
    assert type(ev.to_dict()["quote"]) is str
    assert ev.quote.in_language("en") == ev.quote
    assert ev.quote.in_language("zh") == "在日本，¥ 和 元 指当地货币 JPY"
    quoted = Evidence.said("derived", "price_in", currency="TWD", quote="NT$300,000")
    assert quoted.quote == "price in TWD: 'NT$300,000'"
    assert quoted.quote.in_language("zh") == "价格以 TWD 计：“NT$300,000”"


def test_a_quote_from_a_text_is_not_worded_again():
    ev = Evidence("text", "保证根治", 3, 7)
    assert not isinstance(ev.quote, Said) and ev.to_dict()["quote"] == "保证根治"


def test_a_stale_flag_is_marked_as_such_and_said_in_chinese_too():
    """Pages find a stale flag by its mark (``STALE_FLAG``); a finding shows it in Chinese."""
    flag = stale_flags("RECRUITING", "2019-03-01", date(2026, 1, 1))
    assert flag == ["stale: status RECRUITING but no update since 2019-03-01"]
    assert flag[0].startswith(STALE_FLAG) and "2019-03-01" in flag[0].in_language("zh")
    assert stale_flags("RECRUITING", "2025-12-01", date(2026, 1, 1)) == []


def test_a_said_text_is_its_english_and_carries_its_chinese():
    """Code that reads a pool's reason as text reads the English, as the API gives it."""
    import pickle

    from isletbase.wording import said

    reason = said("not_reported", fields="treated_sd, control_sd")
    assert reason == "not reported: treated_sd, control_sd" and isinstance(reason, str)
    assert reason.in_language("zh") == "未报告：treated_sd, control_sd"
    assert reason.in_language("en") == str(reason)
    copied = pickle.loads(pickle.dumps(reason))
    assert copied == reason and copied.in_language("zh") == reason.zh
    assert Said("only English").in_language("zh") == "only English"
