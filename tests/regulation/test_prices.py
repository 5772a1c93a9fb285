"""Prices in any form an offer writes them, and price fields that must be real amounts."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isletbase.errors import InputError
from isletbase.regulation import prices
from isletbase.regulation.engine import check_offer
from isletbase.regulation.offer import Offer
from isletbase.regulation.prices import chinese_number, currency_code, find_price

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("脐带干细胞治疗糖尿病，每次十万元。", 100_000, "CNY"),
        ("臍帶幹細胞治療糖尿病，每次10萬元。", 100_000, "CNY"),
        ("干细胞治疗糖尿病，10万一针", 100_000, "CNY"),
        ("干细胞治疗糖尿病，十万一针", 100_000, "CNY"),
        ("干细胞治疗糖尿病，每针3.8万", 38_000, "CNY"),
        ("干细胞治疗糖尿病 费用2-5万", 50_000, "CNY"),
        ("每次１０万元", 100_000, "CNY"),
        ("疗程费用一万五千元", 15_000, "CNY"),
        ("每次20万港元", 200_000, "HKD"),
        ("港币18万元", 180_000, "HKD"),
        ("療程費用NT$300,000", 300_000, "TWD"),
        ("費用新台幣30萬元", 300_000, "TWD"),
        ("MOP 200,000", 200_000, "MOP"),
        ("澳門幣10萬", 100_000, "MOP"),
        ("赴日治疗，每次300万日元", 3_000_000, "JPY"),
        ("Diabetes stem cell package in Tijuana, US$1.2 million.", 1_200_000, "USD"),
        ("costs $1.5m per course", 1_500_000, "USD"),
        ("2 million dollars", 2_000_000, "USD"),
    ],
)
def test_chinese_numerals_wan_and_millions_are_read(
    text: str, amount: float, currency: str
) -> None:
    found = find_price(text)
    assert found is not None
    assert (found[0], found[1]) == (amount, currency)
    assert text[found[2].start : found[2].end] == found[2].quote


@pytest.mark.parametrize(
    "text", ["已治疗10万人", "三元里医院", "万能干细胞", "第十一次会议", "10万例患者数据"]
)
def test_counts_and_names_are_not_prices(text: str) -> None:
    assert find_price(text) is None


@given(st.integers(min_value=1, max_value=99_999_999))
def test_chinese_numerals_read_back_what_they_say(n: int) -> None:
    """Numbers written out by the usual rules (a 零 for each gap, 零 before a short lower
    group) read back as themselves."""
    digits = "零一二三四五六七八九"
    parts = []
    for big, size in ((10_000, "万"), (1, "")):
        group = (n // big) % 10_000
        if not group:
            continue
        text = "零" if parts and group < 1000 else ""
        for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = (group // unit) % 10
            if d:
                text += digits[d] + name
            elif text and group % unit:
                text += "" if text.endswith("零") else "零"
        parts.append(text + size)
    written = "".join(parts)
    assert chinese_number(written) == n, written


def test_currency_aliases_map_to_iso_codes() -> None:
    assert currency_code("rmb") == "CNY" and currency_code("元") == "CNY"
    assert currency_code("US$") == "USD" and currency_code("gbp") == "GBP"
    assert currency_code("bitcoin") is None


def test_three_letters_are_a_currency_only_where_iso_4217_names_one() -> None:
    # any three letters were taken as a code: a price in "XQZ" was then judged by no mark
    assert currency_code("krw") == "KRW" and currency_code(" Mxn ") == "MXN"
    assert currency_code("XQZ") is None and currency_code("abc") is None


def test_a_price_in_a_currency_without_a_mark_is_said_to_be_unjudged() -> None:
    result = check_offer({"price": 50_000, "currency": "GBP", "country": "CN"}, today=TODAY)
    judged = result.facts["price_high"]
    assert judged.value is None and result.to_dict()["facts"]["price_high"] is None
    assert "no high-price mark for GBP" in judged.evidence[-1].quote
    assert "CNY" in judged.evidence[-1].quote and "not judged" in judged.evidence[-1].quote
    assert "INTL-CL-007" not in {f.rule.id for f in result.findings}


def test_an_unknown_currency_code_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"field 'currency'.*'XQZ'"):
        Offer.parse({"price": 50_000, "currency": "XQZ"})


def test_a_currency_alias_sets_the_high_price_flag() -> None:
    result = check_offer({"price": 100_000, "currency": "rmb", "country": "CN"}, today=TODAY)
    assert result.facts["price_currency"].value == "CNY"
    assert result.facts["price_high"].value is True
    assert "INTL-CL-007" in {f.rule.id for f in result.findings}


@pytest.mark.parametrize("price", [float("nan"), float("inf"), -5, "nan", "Infinity", "-1", True])
def test_a_price_must_be_a_finite_amount(price: object) -> None:
    with pytest.raises(InputError, match="field 'price'"):
        Offer.parse({"price": price, "country": "CN"})


def test_nan_in_json_is_refused_by_field() -> None:
    with pytest.raises(InputError, match="field 'price'"):
        Offer.from_json('{"price": NaN, "country": "CN"}')
    with pytest.raises(InputError, match="field 'price'"):
        Offer.from_json('{"price": 1e999}')


def test_a_price_of_zero_is_not_a_charge() -> None:
    facts = check_offer({"price": 0, "country": "CN"}, today=TODAY).facts
    assert facts["charges_patient"].value is False
    assert check_offer("受试者0元参加本研究。", today=TODAY).facts["charges_patient"].value is False


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InputError, match="field 'currency'"):
        Offer.parse({"price": 5, "currency": "bitcoin"})


def test_every_repetition_in_the_price_patterns_is_bounded() -> None:
    """``finditer`` tries each pattern at every position: an unbounded ``\\d+`` or ``\\s*`` ran
    to the end of a long run from each of them (12 KB of digits held a server for 20 s)."""
    for pattern in prices._PATTERNS:
        assert re.search(r"(?<!\\)[*+]", pattern.pattern) is None, pattern.pattern


@pytest.mark.parametrize(
    "text",
    ["1" * 100_000, "万" * 33_000, "十" * 33_000, "1" + ",000" * 24_000, "费用" + " " * 90_000],
)
def test_a_long_run_of_digits_numerals_or_spaces_is_read_through(text: str) -> None:
    """No price in these, and they are read to the end (each took minutes before)."""
    assert prices.find_prices(text) == []
    assert "price_amount" not in check_offer(text, today=TODAY).facts


def test_an_offer_s_fields_are_bounded() -> None:
    too_long = (("price", "¥" + "1" * 600), ("institution", "x" * 600),
                ("claims", ["cure"] * 200), ("conditions_treated", ["x" * 600]))  # fmt: skip
    for field, value in too_long:
        with pytest.raises(InputError, match=f"field '{field}"):
            Offer.parse({field: value})


@pytest.mark.parametrize("text", ["万元", "数万元", "上万元", "11111111111111111元"])
def test_a_unit_without_a_number_or_an_absurd_number_is_no_price(text: str) -> None:
    """ "万元" read as a price of 0; 17 digits as their last 15."""
    assert prices.find_prices(text) == []


@pytest.mark.parametrize(
    ("offer", "currency", "high"),
    [("Stem cell therapy for diabetes in Tokyo, Japan. ¥30,000.", "JPY", False),
     ("台北診所：幹細胞治療糖尿病，費用30萬元。", "TWD", True),
     ("香港診所：幹細胞治療糖尿病，費用10萬元。", "HKD", True),
     ("Stem cell therapy in Tokyo, Japan. 人民币30,000元.", "CNY", True),
     ({"country": "JP", "price": "¥30,000", "cell_therapy": True}, "JPY", False),
     ({"country": "JP", "price": 30000, "currency": "CNY"}, "CNY", True),
     # 元 is the yuan outside Hong Kong, Macau and Taiwan: a Chinese agency's Tokyo or Bangkok
     # offer (read as yen, and as baht: the high price went unflagged)
     ("东京干细胞诊所治疗糖尿病，费用30万元", "CNY", True),
     ("东京干细胞诊所治疗糖尿病，费用30万元人民币", "CNY", True),
     ("赴泰国干细胞治疗糖尿病，费用18万元", "CNY", True),
     ("东京干细胞诊所治疗糖尿病，费用¥30万元", "CNY", True),  # 元 after ¥: yuan
     ("香港診所：幹細胞治療糖尿病，費用¥10萬。", "CNY", True)],  # ¥ in Hong Kong: no dollar
)  # fmt: skip
def test_yen_and_yuan_signs_are_the_money_of_the_place_the_offer_is_made(offer, currency, high):
    """¥30,000 in Tokyo (~US$200) was read as yuan and flagged as a high price; 元 in Taipei
    and Hong Kong likewise. The renminbi named, or a currency given in its field, stays."""
    facts = check_offer(offer, today=TODAY).facts
    assert facts["price_currency"].value == currency
    assert facts["price_high"].value is high


@pytest.mark.parametrize("price", ["¥1,50,000", "¥1e308", "¥1.5e6", "-¥5", "1_000", 10**400])
def test_a_price_field_that_is_not_one_price_is_refused_not_misread(price: object) -> None:
    """ "¥1,50,000" and "¥1e308" were read as 1 (no high price), "-¥5" as 5, "1_000" as 1000;
    an integer of 400 digits was a server error."""
    with pytest.raises(InputError, match="price"):
        Offer.parse({"text": "stem cells for diabetes", "price": price})


@pytest.mark.parametrize(
    ("price", "amount"),
    [("15万", 150_000.0), ("150,000", 150_000.0), ("十万", 100_000.0), ("15万元", 150_000.0),
     ("¥150,000 per course", 150_000.0), ("US$1.2 million", 1_200_000.0), (2500, 2500.0),
     ("¥150,000 (3 injections)", 150_000.0), ("15万元/3针", 150_000.0)],
)  # fmt: skip
def test_a_price_field_is_read_as_one_amount(price: object, amount: float) -> None:
    """ "15万" was refused where "15万元" was read; a price with a count beside it was refused
    for a while."""
    result = check_offer(Offer.parse({"text": "stem cells for diabetes", "price": price}))
    assert result.facts["price_amount"].value == amount
    if isinstance(price, str) and "万" in price:  # yuan, as the text reads a 万 amount
        assert result.facts["price_currency"].value == "CNY"


def test_a_number_in_a_longer_number_is_no_price_in_text() -> None:
    assert prices.find_price("费用¥1,50,000。") is None and prices.find_price("¥1e308") is None
    assert prices.find_price("费用¥150,000。")[0] == 150_000.0
    # a comma ending a clause is no part of the number (folding makes "，" a comma)
    assert prices.find_price("每疗程¥180000，3次一个疗程")[0] == 180_000.0
    assert prices.find_price("$15,000,2 infusions")[0] == 15_000.0


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [("Treatment price: 150 000 USD.", 150_000, "USD"), ("150 000 RMB", 150_000, "CNY"),
     ("€ 20 000", 20_000, "EUR"), ("Price: 1.500.000 EUR", 1_500_000, "EUR"),
     ("150,000 USD", 150_000, "USD"), ("Price 12.50 USD", 12.5, "USD"),
     # a number after a digit and a space, or a grouped one with three decimals, was lost or
     # read as its first digit while the rule was first written
     ("Package 2 35,000 USD", 35_000, "USD"), ("方案1 150,000元", 150_000, "CNY"),
     ("Year 2024 35000 USD", 35_000, "USD"), ("Price 2 5000 USD", 5_000, "USD"),
     ("$1,000.000", 1_000, "USD"), ("$12 345.678", 12_345.678, "USD"), ("¥ 8 000", 8_000, "CNY")],
)  # fmt: skip
def test_thousands_grouped_by_spaces_or_dots_are_read_whole(text, amount, currency):
    """ "150 000 USD" was a price of 0 USD, read from its "000", and the checker then said the
    clinic charged nothing."""
    assert prices.find_price(text)[:2] == (amount, currency)


@pytest.mark.parametrize("text", ["Price: 20.000 EUR", "€ 20.000", "5,000,000,000,000,000,000 USD"])
def test_a_number_read_only_in_part_is_no_price(text):
    """ "20.000 EUR" (thousands in Europe, a decimal point elsewhere) was read as 20 EUR, and a
    number longer than any price as 0 USD from its last groups: no reading beats a wrong one."""
    assert prices.find_price(text) is None


def test_an_offer_priced_with_spaced_thousands_is_judged_by_its_price():
    offer = "Stem cell therapy cures type 1 diabetes. Treatment price: 150 000 USD."
    facts = check_offer(offer, today=date(2026, 6, 1)).facts
    assert facts["price_amount"].value == 150_000 and facts["charges_patient"].value is True
