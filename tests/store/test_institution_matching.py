"""Matching registry spellings of sites and sponsors to the institution directory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isletbase.errors import InputError
from isletbase.ingest import Report, load_institutions
from isletbase.model import Institution
from isletbase.sources import curated as bundled
from isletbase.store.institutions import (
    InstitutionIndex,
    directory,
    institution_row,
    list_institutions,
    pinyin_forms,
)


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


def _bundled_index() -> InstitutionIndex:
    return InstitutionIndex.from_institutions(
        bundled.to_institution(raw) for raw in bundled.read_jsonl(bundled.institutions_file())
    )


def _within_by_loop(index: InstitutionIndex, key: str) -> list[tuple[str, str]]:
    """The spellings inside ``key`` as the plain reading says: every one, tested in turn."""
    return [(a, i) for a, i in index.keys.items() if len(a) >= 4 and a in key]


_KEY_PIECES = st.one_of(
    st.sampled_from(sorted(_bundled_index().keys)),
    st.sampled_from(["of", "hospital", "the", "第一", "医院", "xx"]),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_KEY_PIECES, max_size=5).map("".join))
def test_the_spellings_found_inside_a_name_are_those_a_substring_test_finds(key):
    index = _bundled_index()
    assert index._within(key) == _within_by_loop(index, key)


def test_every_site_name_of_the_bundled_trials_matches_as_by_the_plain_loop(monkeypatch):
    index = _bundled_index()
    names = [
        name
        for path in bundled.trial_files()
        for raw in bundled.read_jsonl(path)
        for site in (raw.payload or {}).get("sites") or []
        for name in (site.get("name"), site.get("name_zh"))
        if name
    ]
    assert len(names) > 50
    fast = [index.match(n) for n in names]
    assert any(fast)
    plain = InstitutionIndex(keys=dict(index.keys))
    monkeypatch.setattr(plain, "_within", lambda key: _within_by_loop(plain, key))
    assert [plain.match(n) for n in names] == fast


def test_spellings_added_after_a_first_match_are_looked_for_too():
    index = InstitutionIndex.from_names([("pumch", ["Peking Union Medical College Hospital"])])
    assert index.match("Endocrinology, Xiangya Hospital Changsha") is None
    index.keys["xiangyahospital"] = "xiangya"
    index._answers.clear()
    assert index.match("Endocrinology, Xiangya Hospital Changsha") == "xiangya"


def _bundled_names() -> list[str]:
    return sorted(
        {
            name
            for raw in bundled.read_jsonl(bundled.institutions_file())
            for inst in [bundled.to_institution(raw)]
            for name in [inst.name_en, inst.name_zh, *inst.aliases]
            if name
        }
    )


_NAME_PIECES = st.one_of(
    st.sampled_from(_bundled_names()),
    st.sampled_from(
        ["Department of Endocrinology, ", "The ", " of ", ", ", "; ", "Hospital", " China", "-"]
    ),
    st.text(st.characters(max_codepoint=127), max_size=6),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NAME_PIECES, min_size=1, max_size=5).map("".join))
def test_a_name_passed_over_for_holding_no_spelling_would_match_nothing(name):
    """An ASCII name none of whose spellings is in the whole name's key is passed over at once;
    the full reading (each part, each part without its department) must agree."""
    index = _bundled_index()
    full = InstitutionIndex(keys=dict(index.keys))
    full._found_in = lambda key: True  # type: ignore[method-assign]
    assert index.match(name) == full.match(name)


def test_the_shortcut_is_taken_for_ascii_names_only():
    index = InstitutionIndex.from_names(
        [("pumch", ["Peking Union Medical College Hospital", "北京协和医院"])]
    )
    asked: list[str] = []
    found_in = index._found_in
    index._found_in = lambda key: asked.append(key) or found_in(key)  # type: ignore[method-assign]
    assert index.match("Mayo Clinic, Rochester") is None
    assert index.match("Peking Union Medical College Hospital, Beijing") == "pumch"
    assert asked == ["mayoclinicrochester", "pekingunionmedicalcollegehospitalbeijing"]
    assert index.match("内分泌科，北京协和医院") == "pumch"
    assert index.match("Hôpital Édouard Herriot") is None
    assert len(asked) == 2  # not asked of names with other characters


def test_a_search_with_a_control_character_is_refused_not_a_list_of_everything(loaded_db):
    # SQLite's LIKE stops at a NUL: "%\x00%" would match every institution
    with pytest.raises(InputError, match="control characters"):
        list_institutions(loaded_db, "\x00")
    assert list_institutions(loaded_db, "xiehe")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("shanghai ruijin", "ruijin-hospital"),  # the city after the hospital in each name
        ("Ruijin  SHANGHAI", "ruijin-hospital"),
        ("上海 瑞金", "ruijin-hospital"),
        ("beijing xiehe", "pumch"),
        ("xiehe beijing", "pumch"),
    ],
)
def test_an_institution_is_found_by_each_word_of_a_search_in_any_order(
    loaded_db, q: str, expected: str
) -> None:
    assert expected in {i.id for i in list_institutions(loaded_db, q)}


def test_an_institution_is_found_in_traditional_or_simplified_characters(loaded_db) -> None:
    """北京協和醫院 finds 北京协和医院; 广州 finds a hospital whose only Chinese alias is written
    廣州 (its simplified form is stored beside it)."""
    assert "pumch" in {i.id for i in list_institutions(loaded_db, "北京協和醫院")}
    traditional = {i.id for i in list_institutions(loaded_db, "廣州")}
    assert traditional and traditional <= {i.id for i in list_institutions(loaded_db, "广州")}


def test_every_word_of_an_institution_search_must_match(loaded_db) -> None:
    assert list_institutions(loaded_db, "ruijin")
    assert not list_institutions(loaded_db, "ruijin nosuchword")


def test_the_served_directory_is_read_again_after_this_process_loads_institutions(db, tmp_path):
    """``directory`` keeps what it read for a while; a load in this process (a served admin
    reload, say) is seen at once, so a check names an institution just added."""
    lines = bundled.institutions_file().read_text("utf-8").splitlines()
    first = tmp_path / "first.jsonl"
    first.write_text(lines[0] + "\n", "utf-8")
    load_institutions(db, first, Report())
    assert len(directory(db)) == 1
    both = tmp_path / "both.jsonl"
    both.write_text("\n".join(lines[:2]) + "\n", "utf-8")
    load_institutions(db, both, Report())
    assert len(directory(db)) == 2


def test_a_name_in_traditional_characters_is_matched_as_the_simplified_one() -> None:
    """An offer's institution field (``check``) written 北京協和醫院 is PUMCH, as the same name
    inside its text was; a directory name written in traditional characters is matched in
    simplified ones too."""
    index = InstitutionIndex.from_names([("pumch", ["北京协和医院"]), ("tvgh", ["臺北榮民總醫院"])])
    assert index.match("北京協和醫院") == "pumch"
    assert index.match("台北荣民总医院") == index.match("臺北榮民總醫院") == "tvgh"


def test_an_institution_search_reads_words_without_punctuation_or_diacritics(loaded_db) -> None:
    for q in ("Peking Union Medical College Hospital, Beijing", "peking-union", "Xiè", "PUMCH."):
        assert "pumch" in {i.id for i in list_institutions(loaded_db, q)}, q


def test_an_institution_search_of_punctuation_alone_finds_none(loaded_db) -> None:
    for q in ("%", "'--", "-", "，"):
        assert list_institutions(loaded_db, q) == [], q


def test_a_site_name_with_a_long_run_of_blanks_is_matched_at_once(ends):
    """A run of blanks was tried at each of its lengths from each of its places: a site name
    of 50,000 characters took a minute, at ingest and at every findings report."""
    index = _index()
    name = "Department of " + " " * 150_000 + "Endocrinology, Chinese PLA General Hospital"
    assert ends(lambda: index.match(name)) == "plagh"
    assert index.match("Department of   Endocrinology,  Southwest   Hospital") == "southwest"
