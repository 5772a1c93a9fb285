"""Matching registry spellings of sites and sponsors to the institution directory."""

from __future__ import annotations

from isletbase.model import Institution
from isletbase.store.institutions import InstitutionIndex, institution_row, pinyin_forms


def _index() -> InstitutionIndex:
    rows = [
        institution_row(
            Institution(
                id="plagh",
                name_en="Chinese PLA General Hospital",
                name_zh="中国人民解放军总医院",
                aliases=["301 Hospital"],
                type="hospital",
                source_url="https://example.org/a",
            )
        ),
        institution_row(
            Institution(
                id="southwest",
                name_en="Southwest Hospital",
                type="hospital",
                source_url="https://example.org/b",
            )
        ),
        institution_row(
            Institution(
                id="pku",
                name_en="Peking University",
                type="university",
                source_url="https://example.org/c",
            )
        ),
        institution_row(
            Institution(
                id="cmu",
                name_en="Capital Medical University",
                type="university",
                source_url="https://example.org/d",
            )
        ),
    ]
    return InstitutionIndex.from_rows(rows)


def test_departments_and_countries_around_a_hospital_name_are_ignored():
    index = _index()
    assert (
        index.match("Department of Endocrinology, Chinese PLA General Hospital, P.R. China")
        == "plagh"
    )
    assert index.match("中国人民解放军总医院") == "plagh"
    assert index.match("the 301 hospital") == "plagh"


def test_hospital_of_a_university_is_the_hospital():
    index = _index()
    assert index.match("Southwest Hospital of the Third Military Medical University") == "southwest"
    assert (
        index.match(
            "Endocrine Department, the south west Hospital of the Third Military Medical University"
        )
        == "southwest"
    )


def test_a_university_does_not_claim_its_hospitals():
    index = _index()
    assert index.match("Peking University People's Hospital") is None
    assert index.match("Beijing Tongren Hospital, Capital Medical University") is None
    assert index.match("Peking University") == "pku"


def test_unknown_and_empty_names_match_nothing():
    index = _index()
    assert index.match(None) is None and index.match("") is None and index.match("China") is None
    assert index.match("Yan'an Hospital of Kunming City") is None


def test_pinyin_forms_are_derived_only_for_chinese():
    assert pinyin_forms("Peking University") == []
    assert "zgrmjfjzyy" in pinyin_forms("中国人民解放军总医院")


def test_an_index_remembers_its_answers_and_forgets_them_past_its_budget(monkeypatch):
    from isletbase.store import institutions

    index = _index()
    names = [
        "Chinese PLA General Hospital, Beijing",
        "Unknown Clinic of Nowhere",
        "Ruijin Hospital",
    ]
    first = [index.match(n) for n in names]
    assert [index.match(n) for n in names] == first
    assert set(index._answers) == set(names)
    monkeypatch.setattr(institutions, "_ANSWERS_KEPT", 2)
    index.match("Huashan Hospital")
    assert len(index._answers) <= 2
    assert [index.match(n) for n in names] == first
