"""Negated words are not claims: "we don't charge" is no charge, "not a cure" no cure claim."""

from __future__ import annotations

from datetime import date

import pytest

from isletbase.regulation.engine import check_offer
from isletbase.regulation.extract import Extractor
from isletbase.regulation.offer import Offer
from isletbase.regulation.rules import load_rulebook

BOOK = load_rulebook()
TODAY = date(2026, 6, 1)
CHARGING_RULES = {"CN-SC-003", "CN-SC-004", "CN-BNT-003", "CN-NHC-002", "INTL-SACHRP-001"}


def _facts(text: str):
    return Extractor(BOOK).extract(Offer(text=text), today=TODAY)


@pytest.mark.parametrize(
    "text",
    [
        "北京某医院干细胞治疗1型糖尿病临床研究，经伦理委员会批准。本研究不收取受试者费用。",
        "干细胞临床研究招募1型糖尿病受试者，经伦理委员会批准，研究相关费用由申办方承担。",
        "干细胞临床研究招募受试者，经伦理委员会批准，受试者无需支付任何费用。",
        "Clinical trial of stem cell-derived islets for type 1 diabetes in Beijing, approved by"
        " the ethics committee. There is no fee for participants.",
        "Clinical trial of stem cell-derived islets for type 1 diabetes in Beijing, approved by"
        " the ethics committee. The sponsor covers the cost of treatment and travel.",
    ],
)
def test_saying_there_is_no_charge_is_not_charging(text: str) -> None:
    result = check_offer(text, today=TODAY)
    assert result.facts["charges_patient"].value is False
    assert not CHARGING_RULES & {f.rule.id for f in result.findings}
    for ev in result.facts["charges_patient"].evidence:
        assert text[ev.start : ev.end] == ev.quote


def test_a_no_charge_quote_shows_the_negation() -> None:
    text = "本研究不收取受试者费用。"
    (ev,) = _facts(text)["charges_patient"].evidence
    assert ev.quote == "不收取受试者费用"


def test_charge_words_both_ways_leave_charging_unknown() -> None:
    facts = _facts("本研究不收取受试者费用，住宿费用自理。")
    assert "charges_patient" not in facts


def test_a_plain_charge_word_still_counts() -> None:
    assert _facts("干细胞回输，费用请来电咨询。")["charges_patient"].value is True
    assert _facts("Treatment fee payable on arrival.")["charges_patient"].value is True


@pytest.mark.parametrize(
    "text",
    [
        "本研究不能根治糖尿病。",
        "本研究不承诺治愈，也不保证疗效。",
        "干细胞治疗并非无风险。",
        "Stem cell research for type 1 diabetes in Shanghai. This is not a cure.",
        "It does not cure diabetes; ask your doctor.",
    ],
)
def test_negated_claims_are_not_claims(text: str) -> None:
    result = check_offer(text, today=TODAY)
    assert "claims" not in result.facts
    assert "CN-AD-001" not in {f.rule.id for f in result.findings}


@pytest.mark.parametrize(
    "text",
    [
        "本临床研究经伦理委员会批准，研究不收费，我们保证受试者隐私。招募1型糖尿病患者。",
        "Clinical trial in Beijing for type 1 diabetes; participants must be permanent"
        " residents. Ethics committee approved, free of charge.",
        "本研究经伦理委员会批准，受试者需接受终身随访，研究不收费。",
    ],
)
def test_privacy_guarantees_and_residency_are_not_efficacy_claims(text: str) -> None:
    result = check_offer(text, today=TODAY)
    assert "claims" not in result.facts
    assert result.worst != "violation", [f.rule.id for f in result.findings]


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("干细胞治疗糖尿病，不打针不吃药根治糖尿病！", "cure"),
        ("We cure diabetes, not just its symptoms.", "cure"),
        ("不仅能根治糖尿病，还能抗衰老。", "cure"),
        ("无痛无创，保证疗效。", "guaranteed"),
        ("No surgery needed, guaranteed results.", "guaranteed"),
        ("Don't wait: cure your diabetes today.", "cure"),
        ("自体干细胞修复胰岛，永久不反弹，零风险。", "permanent"),
    ],
)
def test_claims_next_to_pseudo_negations_still_count(text: str, claim: str) -> None:
    assert claim in _facts(text)["claims"].value


def test_negated_ethics_approval_is_not_approval() -> None:
    facts = _facts("干细胞临床研究，未经伦理委员会批准，免费治疗。")
    assert "ethics_approval" not in facts


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("上海某诊所：干细胞已帮助无数糖尿病患者治愈", "cure"),
        ("上海某诊所：不用开刀即可根治糖尿病", "cure"),
        ("上海某诊所：无需长期服药即可彻底治愈糖尿病", "cure"),
        ("上海某诊所：不到三个月即可摆脱胰岛素", "insulin_free"),
        ("上海幹細胞移植 不用開刀即可根治糖尿病", "cure"),
        ("Stem cell clinic in Tijuana. Why not cure your diabetes for good?", "cure"),
        ("Stem cell clinic in Tijuana. No longer depend on insulin - we cure diabetes.", "cure"),
        ("上海干细胞治疗糖尿病，疗效有保证", "guaranteed"),
        ("上海干细胞治疗糖尿病，一次治疗，终身免打胰岛素", "permanent"),
        ("Stem cell clinic in Tijuana: results are guaranteed.", "guaranteed"),
    ],
)
def test_a_cue_inside_an_ordinary_word_does_not_negate_the_claim_after_it(text, claim) -> None:
    """A one-character cue (不, 无, 免) governs only what follows it closely: in 无数, 不用开刀,
    不到 or 'why not' it had cancelled the advert's claims (a regression review found them)."""
    assert claim in (_facts(text)["claims"].value or [])


@pytest.mark.parametrize(
    "text",
    [
        "上海某诊所 干细胞 免费咨询治疗费用8万元",
        "上海某诊所 干细胞 无需排队 每次仅需5万元",
        "上海 免费体检 干细胞回输 8万元一个疗程",
        "Stem cell program for diabetes in Shanghai: the sponsor covers travel and you pay for"
        " the treatment.",
    ],
)
def test_a_free_item_or_another_payer_nearby_leaves_the_charge(text) -> None:
    """'Free consultation', 'no queue' or 'the sponsor covers travel' do not cancel the price
    or the charge of the treatment itself."""
    assert _facts(text)["charges_patient"].value is True
    assert CHARGING_RULES & {f.rule.id for f in check_offer(text, today=TODAY).findings}
