"""Reading offers: prices, registry ids, claims in both languages, and the no-red-flag property."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isletbase.errors import InputError
from isletbase.regulation.engine import check_offer
from isletbase.regulation.extract import Extractor
from isletbase.regulation.offer import Offer
from isletbase.regulation.phrases import fold, in_traditional_script, trial_id
from isletbase.regulation.prices import find_price
from isletbase.regulation.rules import load_rulebook

BOOK = load_rulebook()
TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("疗程费用¥150,000", 150_000, "CNY"),
        ("每次15万元", 150_000, "CNY"),
        ("fee $25,000 per course", 25_000, "USD"),
        ("only US$ 9.5k", 9_500, "USD"),
        ("Cost 120,000 yuan", 120_000, "CNY"),
        ("RMB 38000 or 58000元", 58_000, "CNY"),
    ],
)
def test_prices_are_read_with_their_currency(text: str, amount: float, currency: str) -> None:
    found = find_price(text)
    assert found is not None
    assert found[0] == amount and found[1] == currency
    assert text[found[2].start : found[2].end] == found[2].quote


def test_chinese_offer_facts_point_at_their_words() -> None:
    text = "干细胞治疗糖尿病、自闭症和帕金森，根治糖尿病，无毒副作用，¥150,000，见 NCT01219465。"
    facts = Extractor(BOOK).extract(Offer(text=text), today=TODAY)
    assert facts["claims"].value == ["cure", "no_side_effects"]
    assert facts["conditions_treated"].value == ["diabetes", "autism", "parkinson"]
    assert facts["treats_many_unrelated_conditions"].value is True
    assert facts["registered_trial_id"].value == "NCT01219465"
    assert facts["country"].value == "CN"
    assert facts["price_high"].value is True
    for fact in facts.values():
        for ev in fact.evidence:
            if ev.source == "text":
                assert text[ev.start : ev.end] == ev.quote


def test_structured_fields_win_over_the_text() -> None:
    offer = Offer(text="Stem cell therapy, price $5,000.", charges_patient=False, country="US")
    facts = Extractor(BOOK).extract(offer, today=TODAY)
    assert facts["charges_patient"].value is False
    assert facts["charges_patient"].evidence[0].source == "json"
    assert facts["country"].value == "US"


def test_free_wins_over_the_word_fee() -> None:
    facts = Extractor(BOOK).extract(Offer(text="本研究不收费。"), today=TODAY)
    assert facts["charges_patient"].value is False


def test_english_words_match_whole_words_only() -> None:
    facts = Extractor(BOOK).extract(
        Offer(text="A space for secure, procured samples."), today=TODAY
    )
    assert "provider_type" not in facts and "claims" not in facts


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"charges": True}, "field 'charges'"),
        ({"price": "a lot"}, "field 'price'"),
        ({"date": "2026-13-01"}, "field 'date'"),
        ({"cell_therapy": "perhaps"}, "field 'cell_therapy'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_offer_fields_are_named(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_offer(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("东京诊所：干细胞治疗糖尿病，费用300万日元。", "干细胞"),
        ("Exosome therapy package for diabetes, $9,000.", "Exosome"),
        ("香港診所：臍帶細胞回輸療程，港幣18萬。", "細胞回輸"),
        ("Umbilical cord infusions for type 2 diabetes, $20,000.", "Umbilical cord"),  # a source
        ("免排异干细胞治疗，根治糖尿病", "干细胞"),  # a negation before it: still about cells
        ("No insulin needed after our stem cell therapy", "stem cell"),
        ("Stem\ncells cure diabetes", "Stem\ncells"),  # as pasted: a line break, a dash
        ("stem–cell infusions cure diabetes", "stem–cell"),
        ("细胞针治疗糖尿病，每针3万元", "细胞针"),
        ("SVF therapy for diabetes, Florida clinic, $15,000", "SVF"),
        ("Cellular therapy for type 1 diabetes in Tijuana", "Cellular therapy"),
        ("エクソソーム点滴で糖尿病を改善、東京クリニック", "エクソソーム"),
        ("胰岛素泵强化治疗糖尿病，疗程费2万元。", None),
        ("Our 14-day diet programme reverses diabetes. Package 120,000 baht.", None),
        ("糖尿病足骨髓炎手术治疗，根治，北京，费用5万元", None),  # 骨髓炎: no bone-marrow cells
        ("妊娠糖尿病饮食管理，保障胎儿健康", None),
        ("Insulin pump programme led by Dr Lee, MSc, Florida", None),
        ("增强免疫细胞活力的灵芝孢子粉，根治糖尿病", None),
    ],
)
def test_an_offer_text_says_whether_it_is_a_cell_therapy(text: str, quote: str | None) -> None:
    fact = Extractor(BOOK).extract(Offer(text=text), today=TODAY)["cell_therapy"]
    assert fact.value is (quote is not None)
    if quote is None:
        assert fact.evidence[0].source == "derived"
    else:
        ev = fact.evidence[0]
        assert (ev.source, text[ev.start : ev.end]) == ("text", quote)


def _rule_ids(offer: Offer | dict) -> set[str]:
    return {f.rule.id for f in check_offer(offer, today=TODAY).findings}


def test_rules_on_cell_therapies_pass_by_an_offer_of_none() -> None:
    """An advert for a device is still a medical advert (China's Advertising Law), but not a
    stem-cell treatment on sale; offers given as fields alone are taken to be cell therapies,
    unless they say otherwise, and a field wins over the text as everywhere."""
    pump = "北京某医院胰岛素泵强化治疗，根治糖尿病，疗程费2万元。"
    cells = {"CN-NHC-002", "CN-SC-008", "INTL-CL-004", "INTL-CL-005", "INTL-ISSCR-001"}
    found = _rule_ids(Offer(text=pump))
    assert "CN-AD-001" in found and not found & cells
    assert cells <= _rule_ids(Offer(text=pump, cell_therapy=True))
    fields = {"country": "CN", "charges_patient": True, "offered_as_routine_treatment": True}
    assert {"CN-NHC-002", "INTL-ISSCR-001"} <= _rule_ids(fields)
    assert not _rule_ids({**fields, "cell_therapy": False}) & cells


@pytest.mark.parametrize(
    "offer",
    [
        Offer(text="세포 치료로 당뇨병 완치, 서울 클리닉"),  # Korean beyond 줄기세포 (stem cells)
        Offer(text="Offer from our partner", country="JP", charges_patient=True),  # fields tell
    ],
)
def test_an_offer_check_cannot_read_is_not_taken_for_one_without_cells(offer: Offer) -> None:
    facts = Extractor(BOOK).extract(offer, today=TODAY)
    assert "cell_therapy" not in facts


def test_general_advertising_rules_still_read_an_offer_without_cells() -> None:
    """A beauty salon may not treat at all in China (NHC), and 包治百病 is an assertion of
    efficacy under the Advertising Law, whatever is sold."""
    salon = _rule_ids(Offer(text="美容院糖尿病调理疗程，降血糖，北京，疗程2万元"))
    assert "CN-NHC-001" in salon
    assert "CN-AD-001" in _rule_ids(Offer(text="养生馆艾灸降糖，包治百病，北京，疗程2万元"))


def test_evidence_offsets_count_from_the_text_as_given() -> None:
    text = "\n\n  干细胞根治糖尿病，北京，20万元\n"
    for finding in check_offer(Offer.from_text(text), today=TODAY).findings:
        for ev in finding.to_dict()["evidence"]:
            if ev["source"] == "text":
                assert text[ev["start"] : ev["end"]] == ev["quote"]


def test_a_negated_condition_shows_only_the_values_it_read() -> None:
    """JP-ASRM-001 leaves haematopoietic transplants out: an offer naming no cell source shows
    why it is a cell therapy, not a "cell_source: not stated" line."""
    result = check_offer(Offer(text="东京诊所：干细胞治疗糖尿病，费用300万日元。"), today=TODAY)
    finding = next(f for f in result.findings if f.rule.id == "JP-ASRM-001")
    fields = {item["field"]: item["quote"] for item in finding.to_dict()["evidence"]}
    assert fields["cell_therapy"] == "干细胞" and "cell_source" not in fields


def test_an_empty_offer_is_refused() -> None:
    with pytest.raises(InputError, match="nothing to check"):
        check_offer(Offer(text="   "))


def _all_phrases() -> list[str]:
    words = [w for p in BOOK.phrases.values() for w in (*p.en, *p.zh)]
    words += [w for v in BOOK.conditions.values() for w in (*v.en, *v.zh)]
    words += [w for v in BOOK.cell_sources.values() for w in (*v.en, *v.zh)]
    return [fold(w) for w in words]


PHRASES = _all_phrases()
SAFE_WORDS = st.sampled_from(
    "the patients doctor hospital blood glucose monitoring exercise diet morning is 2024".split()
    + ["医生", "医院", "饮食", "运动", "监测", "早上", "患者", "健康"]
)
NOISE = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lo", "Zs", "Nd")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(SAFE_WORDS | NOISE, min_size=1, max_size=30))
def test_text_without_red_flag_phrases_has_no_red_flags(words: list[str]) -> None:
    text = " ".join(words)
    folded = fold(text)
    if not text.strip() or any(p in folded for p in PHRASES) or find_price(text):
        return
    result = check_offer(text, today=TODAY)
    assert result.worst == "none", [f.rule.id for f in result.findings]
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("……干细胞治疗糖尿病，１００％安全，ＦＤＡ批准！", ["absolutely_safe", "fda_claim"]),
        ("⑩年经验™，干细胞治疗糖尿病，１００％安全。", ["absolutely_safe"]),
        ("臍帶幹細胞治療糖尿病，可根治糖尿病，擺脫胰島素！", ["cure", "insulin_free"]),
    ],
)
def test_full_width_and_traditional_text_is_folded_keeping_offsets(
    text: str, claims: list[str]
) -> None:
    facts = Extractor(BOOK).extract(Offer(text=text), today=TODAY)
    assert facts["claims"].value == claims
    for fact in facts.values():
        for ev in fact.evidence:
            if ev.source == "text":
                assert text[ev.start : ev.end] == ev.quote


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("脐带血干细胞治疗糖尿病", "cord_blood"),  # 脐带 (a cord) starts at the same place
        ("臍帶血幹細胞治療糖尿病", "cord_blood"),
        ("Umbilical cord blood stem cells for diabetes", "cord_blood"),
        ("脐带间充质干细胞治疗糖尿病", "UC-MSC"),
    ],
)
def test_of_two_cell_sources_named_at_one_place_the_longer_is_read(text: str, source: str) -> None:
    assert Extractor(BOOK).extract(Offer(text=text), today=TODAY)["cell_source"].value == source


def test_traditional_characters_name_the_cell_source() -> None:
    facts = Extractor(BOOK).extract(Offer(text="臍帶幹細胞回輸治療糖尿病"), today=TODAY)
    assert facts["cell_source"].value == "UC-MSC"
    assert facts["cell_source"].evidence[0].quote == "臍帶"


@pytest.mark.parametrize(
    ("given", "code"),
    [("China", "CN"), ("中国", "CN"), ("PRC", "CN"), ("cn", "CN"), ("Hong Kong", "HK"),
     ("香港", "HK"), ("Macao", "MO"), ("Taiwan", "TW"), ("United States", "US")],
)  # fmt: skip
def test_country_names_and_codes_are_normalised(given: str, code: str) -> None:
    offer = {"country": given, "charges_patient": True, "claims_to_be_trial": True}
    result = check_offer(offer, today=TODAY)
    assert result.facts["country"].value == code
    assert ("CN-SC-003" in {f.rule.id for f in result.findings}) == (code == "CN")


@pytest.mark.parametrize(
    ("text", "country", "evidence"),
    [
        ("香港幹細胞中心：臍帶幹細胞療程，療程費用HK$180,000", "HK", "香港"),
        ("中国香港诊所：干细胞治疗糖尿病，每针港币8万元", "HK", "中国香港"),
        ("澳門診所：幹細胞療程，澳門幣10萬", "MO", "澳門"),
        ("幹細胞療程，療程費用NT$300,000", "TW", "price in TWD: 'NT$300,000'"),
        ("幹細胞療程，每次20萬港元", "HK", "price in HKD: '20萬港元'"),
        ("干细胞治疗糖尿病，每针3万", "CN", "written in simplified Chinese"),
        ("Stem cell therapy for diabetes, RMB 150,000", "CN", "price in yuan: 'RMB 150,000'"),
        # of two places: the one named as where to go, else the one whose currency is asked
        ("中国患者赴日本东京接受干细胞治疗，费用300万日元", "JP", "日本"),
        ("中国患者在东京接受干细胞治疗，费用300万日元", "JP", "东京"),
        ("Chinese patients fly to Bangkok for stem cell therapy, 500,000 baht", "TH", "Bangkok"),
        ("北京干细胞中心，东京也有分院，每针3万元", "CN", "北京"),
        ("Our Beijing stem cell clinic sends cargo to Tokyo, $20,000", "CN", "Beijing"),  # cargo
        # stock wording that sends nobody anywhere: 达到, 不用去, no need to travel to
        ("北京干细胞医院，技术达到美国FDA标准，根治糖尿病，20万元", "CN", "北京"),
        ("北京干细胞医院，不用去日本，在家门口就能做，20万元", "CN", "北京"),
        ("北京干细胞医院，无需赴日，在家门口就能做，20万元", "CN", "北京"),
        ("Stem cell therapy at our Florida clinic, no need to travel to Mexico", "US", "Florida"),
        # a place named only as where not to go is not the offer's either (it was, as the
        # first named): 无需赴日本 left China's advertising rules unapplied
        ("无需赴日本，北京干细胞治疗糖尿病，根治糖尿病", "CN", "北京"),
        # 中国香港 is Hong Kong, even where a price in 元 points to China's currency
        ("中国香港干细胞诊所：干细胞治疗糖尿病，费用10万元", "HK", "中国香港"),
        # short names after 赴; a later mention; text before it that folding lengthens (…)
        ("内地患者赴港接受干细胞治疗，北京办事处报名，30万元", "HK", "赴港"),
        ("中国患者：日本技术领先，欢迎赴日本东京治疗，费用50万元", "JP", "日本"),
        ("中国患者…赴日本东京干细胞治疗", "JP", "日本"),
        # where patients come from is passed over; a US dollar price says nothing of the US
        ("Patients from California: stem cells at our Tijuana clinic, USD 20,000", "MX", "Tijuana"),
    ],
)
def test_an_offer_is_placed_by_the_place_it_names_its_currency_or_its_script(
    text: str, country: str, evidence: str
) -> None:
    fact = Extractor(BOOK).extract(Offer(text=text), today=TODAY)["country"]
    assert fact.value == country
    assert evidence in fact.evidence[0].quote


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "中国患者赴日本东京接受干细胞治疗，费用300万日元",
            "named as where to go: '赴' before '日本'",
        ),
        (
            "Chinese patients fly to Bangkok for stem cells, 500,000 baht",
            "'fly to' before 'Bangkok'",
        ),
        ("中国患者在东京接受干细胞治疗，费用300万日元", "price in JPY: '300万日元'"),
    ],
)
def test_an_agency_sending_chinese_patients_abroad_is_judged_where_it_sends_them(
    text: str, why: str
) -> None:
    """Agencies name China, where their patients live, before the place of treatment, whose
    law governs the treatment; the NHC's warning on arranging it abroad applies either way."""
    result = check_offer(Offer(text=text), today=TODAY)
    country = result.facts["country"]
    assert country.value in {"JP", "TH"} and why in country.evidence[1].quote
    found = {f.rule.id for f in result.findings}
    assert not found & {"CN-SC-008", "CN-NHC-002"}
    assert ("JP-ASRM-001" in found) == (country.value == "JP")


@pytest.mark.parametrize(
    "text",
    [
        "臍帶幹細胞療程，根治糖尿病，療程費用18萬。",  # traditional script, a bare 萬 amount
        "臍帶幹細胞治療糖尿病，每次10萬元。",  # 元: Taiwan and Hong Kong write it for dollars
        "Umbilical cord stem cells cure diabetes, ¥150,000.",  # ¥: yen as well as yuan
    ],
)
def test_traditional_script_or_an_ambiguous_price_places_an_offer_nowhere(text: str) -> None:
    result = check_offer(Offer(text=text), today=TODAY)
    assert "country" not in result.facts
    local = ("CN", "HK", "MO", "TW", "JP", "TH")
    assert not [f.rule.id for f in result.findings if f.rule.jurisdiction in local]
    assert result.findings  # international guidance still applies


def test_a_hong_kong_offer_meets_hong_kong_law_not_the_mainlands() -> None:
    text = "香港幹細胞中心：臍帶間充質幹細胞療程，根治糖尿病，療程費用HK$180,000。"
    found = {f.rule.id for f in check_offer(Offer(text=text), today=TODAY).findings}
    assert {"HK-UMAO-001", "HK-PPO-001"} <= found
    assert not {r for r in found if r.startswith("CN-")}
    # the same offer from the mainland meets the mainland's rules instead
    mainland = text.replace("香港", "北京").replace("HK$", "¥")
    found = {f.rule.id for f in check_offer(Offer(text=mainland), today=TODAY).findings}
    assert {"CN-AD-001", "CN-NHC-002"} <= found
    assert not {r for r in found if r.startswith("HK-")}


def test_cell_products_in_hong_kong_need_registration_only_from_august_2021() -> None:
    offer = Offer(text="香港幹細胞療程，療程費用HK$180,000。")
    before = check_offer(offer, today=date(2021, 7, 31)).findings
    after = check_offer(offer, today=date(2021, 8, 1)).findings
    assert "HK-PPO-001" not in {f.rule.id for f in before}
    assert "HK-PPO-001" in {f.rule.id for f in after}


@pytest.mark.parametrize(
    ("offer", "day", "fires"),
    [
        (Offer(text="香港幹細胞中心：臍帶幹細胞回輸療程，HK$180,000。"), date(2022, 6, 29), False),
        (Offer(text="香港幹細胞中心：臍帶幹細胞回輸療程，HK$180,000。"), date(2022, 6, 30), True),
        (Offer(text="香港：臍帶幹細胞療程，HK$180,000。", provider_type="hospital"), TODAY, False),
        (Offer(text="香港胰島素泵療程，HK$18,000。"), TODAY, False),  # no cells
    ],
)
def test_cells_given_outside_a_hospital_in_hong_kong_need_a_licensed_day_procedure_centre(
    offer: Offer, day: date, fires: bool
) -> None:
    """Cap. 633: operating a day procedure centre without a licence is an offence from
    2022-06-30; a hospital may give the cells."""
    found = {f.rule.id for f in check_offer(offer, today=day).findings}
    assert ("HK-PHFO-001" in found) == fires


@pytest.mark.parametrize(
    ("day", "regime"),
    [
        (date(2018, 9, 5), set()),
        (date(2018, 9, 6), {"TW-SMT-001"}),
        (date(2025, 12, 31), {"TW-SMT-001"}),
        (date(2026, 1, 1), {"TW-RMA-001", "TW-RMA-004"}),
    ],
)
def test_a_taiwan_offer_meets_the_cell_therapy_regime_of_its_day(day: date, regime: set) -> None:
    """Taiwan's special-techniques regulation (2018-09-06) until the Regenerative Medicine Act
    took its place on 2026-01-01; an advert's cure claims break the Medical Care Act throughout."""
    offer = Offer(text="台北幹細胞診所：臍帶幹細胞療程，根治糖尿病，療程費用NT$300,000。")
    found = {f.rule.id for f in check_offer(offer, today=day).findings}
    cell_rules = {"TW-SMT-001", "TW-RMA-001", "TW-RMA-004"}
    assert found & cell_rules == regime
    assert "TW-MCA-001" in found
    assert ("TW-RMA-003" in found) == (day >= date(2026, 1, 1))
    assert not {r for r in found if r.startswith(("CN-", "HK-"))}


@pytest.mark.parametrize("day", [date(2025, 6, 1), date(2026, 6, 1)])
def test_a_taiwan_trial_recruiting_at_the_sponsors_cost_is_not_judged_as_a_treatment_on_sale(
    day: date,
) -> None:
    text = (
        "臺北幹細胞臨床試驗招募受試者：臍帶幹細胞治療第一型糖尿病，"
        "本試驗經人體試驗委員會核准，費用由申辦方承擔。"
    )
    result = check_offer(Offer(text=text), today=day)
    assert result.facts["country"].value == "TW" and result.facts["claims_to_be_trial"].value
    assert not {f.rule.id for f in result.findings if f.rule.jurisdiction == "TW"}


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("东京再生医疗诊所：脐带干细胞治疗糖尿病临床研究，参加者需支付300万日元。", True),
        ("东京大学医院干细胞治疗糖尿病临床试验招募受试者，费用由申办方承担。", False),
    ],
)
def test_japan_asks_for_a_plan_from_a_study_that_charges_but_not_from_a_sponsors_trial(
    text: str, fires: bool
) -> None:
    """Japan's Act needs a filed plan for research too, so a study its participants pay for
    draws the rule; a trial at the sponsor's cost is not a treatment on sale."""
    result = check_offer(Offer(text=text), today=TODAY)
    assert result.facts["country"].value == "JP"
    assert ("JP-ASRM-001" in {f.rule.id for f in result.findings}) == fires


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("东京血液病医院：造血幹細胞移植治疗白血病，费用500万日元。", "HSCT"),
        ("Tokyo hospital: bone marrow transplant for leukaemia, JPY 5,000,000.", "HSCT"),
        ("东京诊所：骨髓间充质干细胞治疗糖尿病，费用300万日元。", "bone_marrow"),
    ],
)
def test_a_haematopoietic_transplant_in_japan_is_outside_its_regenerative_medicine_act(
    text: str, source: str
) -> None:
    """Japan's Act leaves haematopoietic stem-cell transplantation out; bone-marrow MSCs are in."""
    result = check_offer(Offer(text=text), today=TODAY)
    assert result.facts["cell_source"].value == source
    assert ("JP-ASRM-001" in {f.rule.id for f in result.findings}) == (source != "HSCT")


@pytest.mark.parametrize(
    ("text", "traditional"),
    [
        ("香港幹細胞中心：臍帶間充質幹細胞療程", True),
        ("北京干细胞中心：脐带间充质干细胞疗程", False),
        ("北京協和医院干细胞治疗糖尿病的临床研究项目", False),  # one stray traditional form
        ("根治糖尿病", False),  # the same in both scripts
        ("Stem cells", False),
    ],
)
def test_traditional_script_is_told_from_simplified(text: str, traditional: bool) -> None:
    assert in_traditional_script(text) is traditional


def test_an_unknown_country_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="field 'country': unknown country 'Chna'"):
        check_offer({"country": "Chna", "charges_patient": True})


def test_a_long_text_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="field 'text': 100001 characters"):
        check_offer("a" * 100_001)


@pytest.mark.parametrize(
    ("text", "claim"),
    [("干细胞治疗糖尿病，没有任何副作用。", "no_side_effects"),
     ("干细胞治疗糖尿病，无任何副作用。", "no_side_effects"),
     ("Stem cell therapy for diabetes without any side effects.", "no_side_effects"),
     ("Stem cell therapy for diabetes with zero side effects.", "no_side_effects"),
     ("干细胞治好糖尿病", "cure"),
     ("stem cell diabetes cure", "cure"),
     ("Our stem cell treatment: a diabetes cure.", "cure"),
     ("Stem cell therapy reverses diabetes.", "cure"),
     ("干细胞逆转糖尿病", "cure"),
     ("Stem cell therapy reverses type 1 diabetes.", "cure"),
     ("Stem cells reversed my type 2 diabetes.", "cure"),
     ("干细胞治疗可逆转2型糖尿病", "cure"),
     ("干细胞逆转Ⅰ型糖尿病", "cure"),
     ("Stem cell therapy, say goodbye to insulin forever!", "insulin_free"),
     ("干细胞治疗，告别胰岛素", "insulin_free"),
     ("干细胞治疗糖尿病，无需再打胰岛素", "insulin_free")],
)  # fmt: skip
def test_common_wordings_of_a_claim_are_read(text: str, claim: str) -> None:
    """Each was read as no claim (``stem cell diabetes cure``: "nothing found"), and
    干细胞治好糖尿病 as an offer with nothing to find; reversing diabetes was read as a claim
    of insulin freedom, and reversing a type of it ("reverses type 1 diabetes", 逆转2型糖尿病)
    as no claim at all."""
    checked = check_offer(text, today=date(2026, 6, 1))
    assert claim in checked.facts["claims"].value
    assert checked.findings  # a claim about cells for diabetes: something to say


def test_a_rule_not_yet_in_force_on_the_day_checked_is_not_applied() -> None:
    """Checked as of 2010, an offer broke the Advertising Law of 2015 (CN-AD-001, in force
    2015-09-01) all the same."""
    offer = {"text": "干细胞治疗糖尿病，根治糖尿病，无毒副作用，费用¥150,000。"}
    now = {f.rule.id for f in check_offer(offer, today=date(2026, 6, 1)).findings}
    then = {f.rule.id for f in check_offer({**offer, "date": "2010-01-01"}).findings}
    assert "CN-AD-001" in now and "CN-AD-001" not in then
    assert then < now


#: The pattern as it was before ``trial_id`` counted digits (a run of prefixes was read again
#: from each), with the start a Chinese word may touch and the drug registry's CTR ids.
_OLD_TRIAL_ID = re.compile(
    r"(?<![A-Za-z0-9])(NCT\d{8}|CTR\d{8}(?!\d)|ChiCTR[-A-Za-z]*\d{6,})", re.IGNORECASE
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["ChiCTR", "chictr", "NCT", "CTR", "-", "TRC", " ", "1", "123456",
                                 "12345678", "x", "诊"]), max_size=10))  # fmt: skip
def test_a_registry_id_is_found_where_it_was_before(parts: list[str]) -> None:
    text = "".join(parts)
    old, new = _OLD_TRIAL_ID.search(text), trial_id(text)
    assert (old and (old.span(), old.group(0))) == (new and (new.span(), new.group(0)))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("本疗法已登记，登记号CTR20252968", "CTR20252968"),  # China's drug-trial registry
        ("注册号NCT01219465", "NCT01219465"),  # touching a Chinese word: \b saw no boundary
        ("see CTR202529681 (a longer number)", None),
    ],
)
def test_a_registry_id_after_a_chinese_word_or_of_the_drug_registry_is_read(
    text: str, named: str | None
) -> None:
    facts = Extractor(BOOK).extract(Offer(text=text), today=TODAY)
    got = facts.get("registered_trial_id")
    assert (got.value if got else None) == named


def test_an_offer_of_repeated_registry_prefixes_is_read_at_once(ends) -> None:
    """ "chictr-" repeated to the offer limit was read to its end from each "chictr": 20 s."""
    offer = Offer(text="chictr-" * 14_000 + " ChiCTR2000031234")
    facts = ends(lambda: Extractor(BOOK).extract(offer, today=TODAY))
    assert facts["registered_trial_id"].value == "ChiCTR2000031234"


def test_guidance_is_applied_from_the_day_it_was_published() -> None:
    """The ISSCR's 2021 Guidelines, which the rules quote, were applied to an offer checked as
    of 2020 (they carried no date); warning signs without one still apply on any day."""
    text = (
        "Our clinic in Bangkok offers umbilical cord stem cell therapy for type 2 diabetes, "
        "15,000 USD, proven results."
    )
    then = {f.rule.id for f in check_offer({"text": text, "date": "2020-01-01"}).findings}
    now = {f.rule.id for f in check_offer({"text": text, "date": "2026-06-01"}).findings}
    assert {"INTL-ISSCR-001", "INTL-ISSCR-003"} <= now
    assert not {r for r in then if r.startswith("INTL-ISSCR")}
    assert "INTL-CL-007" in then and "INTL-CL-007" in now


@pytest.mark.parametrize("written", ["20250301", "2025-W09-6", "2025-03-01"])
def test_an_offers_date_in_another_iso_form_finds_the_rules_of_that_day(written: str) -> None:
    """ "20250301" was kept as written and compared as text with each rule's start: an offer
    of 2025-03-01 met CN-NHC-002, in force from 2025-12-05."""
    offer = Offer.parse(
        {"text": "干细胞治疗糖尿病，每次十万元。", "country": "CN", "date": written}
    )
    assert offer.date == "2025-03-01"
    assert "CN-NHC-002" not in {f.rule.id for f in check_offer(offer).findings}


def test_a_claim_field_naming_no_claim_is_refused_by_name() -> None:
    """ "bogus" was kept as a claim no rule reads, and the check came out as if the field had
    been left out; a code or the offer's own words still count."""
    with pytest.raises(InputError, match="'claims': 'bogus' is no claim"):
        check_offer({"text": "stem cells for diabetes", "claims": ["cure", "bogus"]})
    read = check_offer({"text": "stem cells", "claims": ["cure", "guaranteed cure"]})
    assert read.facts["claims"].value == ["cure", "guaranteed"]
    coded = check_offer({"text": "stem cells", "claims": ["GUARANTEED", " No_Side_Effects "]})
    assert coded.facts["claims"].value == ["guaranteed", "no_side_effects"]  # as before
