"""Findings for registered trials, and offers checked against the database."""

from __future__ import annotations

from datetime import date

import pytest

from isletbase.errors import InputError
from isletbase.model import RegistryId, Trial
from isletbase.regulation.engine import check_offer, findings_for_all_trials, findings_for_trial
from isletbase.store.trial_reads import get_trial

TODAY = date(2026, 6, 1)


def _trial(**fields: object) -> Trial:
    base: dict[str, object] = {
        "registry_ids": [RegistryId(registry="ClinicalTrials.gov", id="NCT00000001")],
        "source_url": "https://clinicaltrials.gov/study/NCT00000001",
        "region": "mainland China", "country": "China", "cell_source": "UC-MSC",
    }  # fmt: skip
    base.update(fields)
    return Trial(**base)


def _ids(trial: Trial) -> set[str]:
    return {f.rule.id for f in findings_for_trial(trial, today=TODAY)}


def test_unknown_status_is_a_red_flag() -> None:
    assert "INTL-CTGOV-001" in _ids(_trial(status="Unknown status", status_code="UNKNOWN"))
    assert "INTL-CTGOV-001" not in _ids(_trial(status="Completed", status_code="COMPLETED"))


def test_recruiting_without_update_for_two_years_is_stale() -> None:
    stale = _trial(status="Recruiting", status_code="RECRUITING", last_update="2023-01-10")
    fresh = _trial(status="Recruiting", status_code="RECRUITING", last_update="2026-01-10")
    assert "INTL-CTGOV-001" in _ids(stale)
    assert "INTL-CTGOV-001" not in _ids(fresh)


def test_registration_after_start_is_flagged_at_the_shared_precision() -> None:
    assert "INTL-ISSCR-006" in _ids(_trial(start_date="2010-09", first_posted="2011-05-09"))
    assert "INTL-ISSCR-006" not in _ids(_trial(start_date="2010-09", first_posted="2010-09-30"))


def test_chinese_trials_before_and_after_the_2015_measures() -> None:
    early = _ids(_trial(start_date="2012-01"))
    late = _ids(_trial(start_date="2020-04-10"))
    assert "CN-PRE-2015" in early and "CN-SC-001N" not in early
    assert "CN-SC-001N" in late and "CN-PRE-2015" not in late
    assert "CN-PRE-2015" not in _ids(
        _trial(start_date="2012-01", region="foreign", country="Sweden")
    )


def test_ethics_mentioned_in_the_record_clears_the_ethics_note() -> None:
    assert "CN-ETH-001" in _ids(_trial())
    assert "CN-ETH-001" not in _ids(
        _trial(design="Approved by the ethics committee of the hospital")
    )


def test_a_registered_trial_that_charges_subjects_breaks_the_2015_measures() -> None:
    paying = _trial(summary="受试者自费参加，每人需承担细胞制备费用。")
    assert "CN-SC-003" in _ids(paying)
    assert "CN-SC-003" not in _ids(_trial(summary="受试者无需自费，研究费用由申办方承担。"))
    assert "CN-SC-003" not in _ids(_trial(summary="self-paid", region="Hong Kong"))
    # words both ways leave charging unknown rather than accuse
    assert "CN-SC-003" not in _ids(
        _trial(summary="研究药物由申办方提供，受试者免费参加，常规检查自费。")
    )


def test_a_trial_finding_quotes_its_registry_id_as_the_api_gave_it() -> None:
    """The evidence's English is the API's and the CLI's: "registry id: NCT…" (a change to
    "registry_id" for the web's field names reached them)."""
    paying = _trial(summary="受试者自费参加，每人需承担细胞制备费用。")
    finding = next(f for f in findings_for_trial(paying, today=TODAY) if f.rule.id == "CN-SC-003")
    quotes = [e["quote"] for e in finding.to_dict()["evidence"]]
    assert "registry id: NCT00000001" in quotes, quotes


def test_company_sponsor_that_charges_participants() -> None:
    paying = _trial(
        sponsor="Example Biotech Co., Ltd.", summary="Participants pay for the cells (self-paid)."
    )
    assert "INTL-TRIAL-COMM" in _ids(paying)
    assert "INTL-TRIAL-COMM" not in _ids(_trial(sponsor="Qingdao University", summary="self-paid"))


def test_every_loaded_trial_is_evaluated(loaded_db) -> None:
    report = findings_for_all_trials(loaded_db, today=TODAY)
    assert report.trials, "bundled trials should give findings (several have Unknown status)"
    unknown = get_trial(loaded_db, "NCT01219465")
    assert unknown is not None and unknown.status_code == "UNKNOWN"
    rows = {t.trial_id: {f.rule.id for f in t.findings} for t in report.trials}
    assert "INTL-CTGOV-001" in rows["NCT01219465"]
    serious = findings_for_all_trials(loaded_db, severity="red_flag", today=TODAY)
    assert all(f.severity != "info" for t in serious.trials for f in t.findings)
    assert sum(serious.counts.values()) == report.counts["red_flag"] + report.counts["violation"]
    # as a reader writes it: VIOLATION, Red-Flag (VIOLATION was refused)
    shouted = findings_for_all_trials(loaded_db, severity="Red-Flag", today=TODAY)
    assert shouted.counts == serious.counts
    with pytest.raises(InputError, match=r"expected one of info, red_flag, violation"):
        findings_for_all_trials(loaded_db, severity="severe", today=TODAY)


def test_offer_citing_a_trial_that_is_not_recruiting(loaded_db) -> None:
    text = (
        "Stem cell therapy for type 1 diabetes, part of registered study NCT01219465. Fee $20,000."
    )
    result = check_offer(text, loaded_db, today=TODAY)
    assert result.facts["trial_found"].value is True
    assert result.facts["trial_recruiting"].value is False
    assert "INTL-TRIAL-002" in {f.rule.id for f in result.findings}
    missing = check_offer(
        "Our registered stem cell study NCT99999999 treats diabetes.", loaded_db, today=TODAY
    )
    assert "INTL-TRIAL-001" in {f.rule.id for f in missing.findings}
    # the database holds stem-cell trials: its not holding a pump study's id says nothing
    pump = check_offer("Our insulin pump study NCT99999999 treats diabetes.", loaded_db)
    assert pump.facts["trial_found"].value is False
    assert "INTL-TRIAL-001" not in {f.rule.id for f in pump.findings}


def test_an_offer_citing_a_trial_whose_status_no_page_gave_is_not_told_it_is_closed(loaded_db):
    """ChiCTR2300072200 has no status on record: the evidence read "status: None" and a red
    flag said the cited trial was not recruiting."""
    assert get_trial(loaded_db, "ChiCTR2300072200").status is None
    text = "Stem cell islets for type 1 diabetes in our registered study ChiCTR2300072200, $20,000"
    result = check_offer(text, loaded_db, today=TODAY)
    fact = result.facts["trial_recruiting"]
    assert fact.value is None and fact.evidence[0].quote.endswith("status: not recorded")
    assert "INTL-TRIAL-002" not in {f.rule.id for f in result.findings}


def test_offer_institution_is_matched_bilingually_with_filing_status(loaded_db) -> None:
    zh = check_offer("北京协和医院干细胞临床研究招募糖尿病受试者。", loaded_db, today=TODAY)
    assert zh.facts["institution_id"].value == "pumch"
    assert zh.facts["institution_filed"].value is True
    assert "CN-SC-002" not in {f.rule.id for f in zh.findings}
    en = check_offer({"institution": "PUMCH", "claims_to_be_trial": True}, loaded_db, today=TODAY)
    assert en.facts["institution_id"].value == "pumch"


def test_a_free_ethics_approved_chinese_trial_notice_is_no_violation(loaded_db) -> None:
    text = (
        "武汉大学人民医院开展脐带间充质干细胞治疗糖尿病的临床研究（NCT04562025），项目已备案，"
        "经伦理委员会批准，受试者签署知情同意书，免费治疗。"
    )
    result = check_offer(text, loaded_db, today=TODAY)
    found = {f.rule.id for f in result.findings}
    assert result.worst == "none", found
    assert "CN-SAMR-001" not in found and "CN-SC-008" not in found
    sold = check_offer("干细胞治疗糖尿病，每次十万元。", today=TODAY)
    assert "CN-SAMR-001" in {f.rule.id for f in sold.findings}


def test_institution_names_match_as_whole_words_and_acronyms_as_written(loaded_db) -> None:
    text = (
        "Almost all volunteers in clinical trial NCT04562025 in Wuhan do well. "
        "Ethics committee approved, free of charge."
    )
    assert "institution" not in check_offer(text, loaded_db, today=TODAY).facts
    most = check_offer("Most patients improve.", loaded_db, today=TODAY)
    assert "institution" not in most.facts
    named = check_offer("PUMCH runs this stem cell study.", loaded_db, today=TODAY)
    assert named.facts["institution_id"].value == "pumch"


def test_a_regulator_an_offer_names_is_not_who_offers_it(loaded_db) -> None:
    """ "深圳某诊所 … 国家药监局批准" was checked as the NMPA's offer: its filing status, the
    NMPA's source page shown as the clinic's evidence."""
    text = "深圳某诊所：脐带干细胞回输治疗2型糖尿病，每次38000元，国家药监局批准，临床研究项目。"
    for offer in (text, {"text": text}, {"text": text, "institution": "深圳某诊所"}):
        facts = check_offer(offer, loaded_db, today=TODAY).facts
        assert "institution_id" not in facts and "institution_filed" not in facts, offer
        assert facts["claims"].value == ["nmpa_approved"]
    approved = check_offer("MOST approved this stem cell study.", loaded_db, today=TODAY)
    assert "institution_id" not in approved.facts
    # the offer names its own institution, unknown to the directory: not one its text names
    text = "北京协和医院专家会诊，脐带干细胞治疗糖尿病，每次38000元。"
    own = check_offer({"text": text, "institution": "深圳某诊所"}, loaded_db, today=TODAY).facts
    assert own["institution"].value == "深圳某诊所" and "institution_id" not in own
    assert check_offer(text, loaded_db, today=TODAY).facts["institution_id"].value == "pumch"
    # nor the country of one its text names (a Bangkok clinic was placed in Japan)
    kyoto = "Stem cell therapy for diabetes, protocol from Kyoto University Hospital, USD 25,000."
    named = {"text": kyoto, "institution": "Bangkok Stem Cell Clinic"}
    assert "country" not in check_offer(named, loaded_db, today=TODAY).facts
    pumch = check_offer({"text": kyoto, "institution": "PUMCH"}, loaded_db, today=TODAY).facts
    assert pumch["institution_id"].value == "pumch" and pumch["country"].value == "CN"


def test_a_pinyin_institution_name_is_matched(loaded_db) -> None:
    result = check_offer({"institution": "beijingxieheyiyuan"}, loaded_db, today=TODAY)
    assert result.facts["institution_id"].value == "pumch"
