"""Search in English, Chinese and pinyin with facet filters, on both backends."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from isletbase.errors import InputError
from isletbase.store.facets import facet_counts
from isletbase.store.institutions import list_institutions, match_institution, pinyin_forms
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials
from isletbase.store.stats import counts


def _ids(db, **kw) -> set[str]:
    result = search_trials(db, TrialQuery(per_page=500, **kw))
    assert result.total == len(result.items)
    return {t.display_id for t in result.items}


def test_chinese_text_finds_the_same_umbilical_cord_trials_as_english(loaded_db):
    english = _ids(loaded_db, q="umbilical cord", cell_source="UC-MSC")
    chinese = _ids(loaded_db, q="脐带间充质干细胞")
    assert len(english) >= 10
    assert english <= chinese


def test_facet_filters_narrow_the_result(loaded_db):
    everything = _ids(loaded_db, q="umbilical cord")
    t1d = _ids(loaded_db, q="umbilical cord", condition="T1D")
    assert t1d and t1d < everything
    for trial in search_trials(
        loaded_db, TrialQuery(q="umbilical cord", condition="T1D", per_page=500)
    ).items:
        assert trial.condition == "T1D"


def test_province_and_status_filters(loaded_db):
    shanghai = search_trials(loaded_db, TrialQuery(province="shanghai", per_page=500)).items
    assert shanghai
    assert all(any((s.province or "").lower() == "shanghai" for s in t.sites) for t in shanghai)
    recruiting = search_trials(loaded_db, TrialQuery(status="recruiting", per_page=500)).items
    assert recruiting and all(t.status_code == "RECRUITING" for t in recruiting)


def test_an_institution_is_found_by_alias_chinese_name_and_pinyin(loaded_db):
    assert "xiehe" in pinyin_forms("北京协和医院")[0]
    for text in (
        "PUMCH",
        "北京协和医院",
        "Peking Union Medical College Hospital",
        "beijingxieheyiyuan",
    ):
        inst = match_institution(loaded_db, text)
        assert inst is not None and inst.id == "pumch", text


def test_paging_is_stable_and_complete(loaded_db):
    first = search_trials(loaded_db, TrialQuery(sort="id", per_page=10, page=1))
    second = search_trials(loaded_db, TrialQuery(sort="id", per_page=10, page=2))
    assert first.total == second.total >= 80
    assert not {t.display_id for t in first.items} & {t.display_id for t in second.items}
    assert [t.display_id for t in first.items] == sorted(t.display_id for t in first.items)


def test_sql_and_fts_syntax_in_queries_match_nothing_and_break_nothing(loaded_db):
    for q in ["'; DROP TABLE trials; --", '" OR 1=1 --', "NEAR(stem cell)"]:
        assert search_trials(loaded_db, TrialQuery(q=q)).total == 0
    # punctuation alone, quoted too: no word to search for, and said (a quoted " | " found
    # 111 trials on SQLite and every one on PostgreSQL, the search text's own separator)
    for q in ["%_%", "*", "。", " ， ", '" | "', '" - "', '"..."']:
        with pytest.raises(InputError, match="no word or number to search for"):
            search_trials(loaded_db, TrialQuery(q=q))
    assert counts(loaded_db)["trials"] >= 80


def test_punctuation_between_spaces_is_no_term(loaded_db):
    """'糖尿病 ， 干细胞' found 48 trials, '糖尿病，干细胞' 95: the lone '，' was a term."""
    assert _ids(loaded_db, q="糖尿病 ， 干细胞") == _ids(loaded_db, q="糖尿病 干细胞")


def test_counting_stops_at_the_limit_and_says_so(loaded_db, monkeypatch):
    import isletbase.store.search as search

    everything = search_trials(loaded_db, TrialQuery(per_page=500))
    assert everything.total_exact and everything.total >= 80
    monkeypatch.setattr(search, "COUNT_LIMIT", 10)
    capped = search_trials(loaded_db, TrialQuery(per_page=5, page=2, sort="id"))
    assert (capped.total, capped.total_exact) == (10, False)
    assert [t.display_id for t in capped.items] == sorted(t.display_id for t in everything.items)[
        5:10
    ]


def test_broad_text_is_listed_newest_first_instead_of_ranked(loaded_db, monkeypatch):
    import isletbase.store.search as search

    ranked = {
        t.display_id for t in search_trials(loaded_db, TrialQuery(q="diabetes", per_page=500)).items
    }
    monkeypatch.setattr(search, "RANK_LIMIT", 3)
    unranked = search_trials(loaded_db, TrialQuery(q="diabetes", per_page=500))
    assert {t.display_id for t in unranked.items} == ranked
    assert unranked.total == len(ranked) > 3


def test_result_pages_hold_the_same_trials_as_one_by_one_reads(loaded_db):
    from isletbase.store.trial_reads import get_trial

    page = search_trials(loaded_db, TrialQuery(sort="id", per_page=500)).items
    assert len(page) >= 80
    for trial in page:
        assert trial == get_trial(loaded_db, trial.display_id)


@pytest.mark.parametrize("text", [False, True])
def test_every_phase_filter_finds_the_trials_its_facet_counts(loaded_db, text):
    """EARLY_PHASE1 is stored as written; only a two-phase code gets a slash (PHASE1/PHASE2),
    whether the filter is a condition on trials or a tag in the word index (with a text)."""
    base = {"q": "stem"} if text else {}
    counted = dict(facet_counts(loaded_db, TrialQuery(**base), "phase"))
    assert counted.get("EARLY_PHASE1") and counted.get("PHASE1/PHASE2")
    for phase, n in counted.items():
        if phase is not None:
            assert len(_ids(loaded_db, phase=phase, **base)) == n, phase
    assert _ids(loaded_db, phase="phase1, phase2") == _ids(loaded_db, phase="PHASE1/PHASE2")


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("１型糖尿病", "1型糖尿病"), ("ｄｉａｂｅｔｅｓ", "diabetes"), ("ＵＣ－ＭＳＣ", "UC-MSC")],
)
def test_a_full_width_query_finds_what_its_plain_form_finds(loaded_db, typed, plain):
    """Chinese input methods type full-width digits and letters; the stored text is NFKC."""
    found = _ids(loaded_db, q=plain)
    assert found and _ids(loaded_db, q=typed) == found


@pytest.mark.parametrize(
    ("written", "code", "field"),
    [
        ("Phase 1/Phase 2", "PHASE1/PHASE2", "phase"),
        ("early phase 1", "EARLY_PHASE1", "phase"),
        ("Phase 2", "PHASE2", "phase"),
        ("Unknown status", "UNKNOWN", "status"),
        ("Not yet recruiting", "NOT_YET_RECRUITING", "status"),
        # the Chinese labels the pages and `show` print: 早期I期 was read as phase I
        ("早期I期", "EARLY_PHASE1", "phase"),
        ("不适用", "NA", "phase"),
        ("状态未知", "UNKNOWN", "status"),
        ("邀请入组", "ENROLLING_BY_INVITATION", "status"),
    ],
)
def test_status_and_phase_filters_take_the_registry_s_wording(loaded_db, written, code, field):
    """What `show` prints ('Phase 1/Phase 2', 'Unknown status') filters like its code."""
    assert getattr(TrialQuery(**{field: written}), field) == code
    assert _ids(loaded_db, **{field: written}) == _ids(loaded_db, **{field: code})


@pytest.mark.parametrize(
    ("named", "code", "field"),
    [
        ("脐带间充质干细胞", "UC-MSC", "cell_source"),
        ("uc-msc", "UC-MSC", "cell_source"),
        ("1型糖尿病", "T1D", "condition"),
        ("糖尿病足", "complication:diabetic-foot", "condition"),
        ("经门静脉", "intraportal", "route"),
    ],
)
def test_vocabulary_filters_take_a_code_or_its_english_or_chinese_name(
    loaded_db, named, code, field
):
    """The site shows 脐带间充质干细胞 for UC-MSC: typed as a filter, it filters like the code."""
    assert getattr(TrialQuery(**{field: named}), field) == code
    assert _ids(loaded_db, **{field: named}) == _ids(loaded_db, **{field: code})


@pytest.mark.parametrize(
    ("plain", "accented"), [("wurzburg", "würzburg"), ("sao paulo", "são paulo")]
)
def test_accents_are_folded_alike_on_both_backends(loaded_db, plain, accented):
    """SQLite's word index folds diacritics; PostgreSQL's patterns read the stored search text,
    which is stored without them, as queries are read."""
    found = _ids(loaded_db, q=plain)
    assert found and _ids(loaded_db, q=accented) == found


def test_place_filters_in_chinese_find_what_the_english_ones_find(loaded_db):
    """Sites are stored as registries wrote them (in English here); a filter in Chinese, with
    or without 省/市, in simplified or traditional characters, finds the same trials."""
    for name, english, chinese in (
        ("province", "Beijing", "北京市"),
        ("province", "Guangdong", "广东省"),
        ("province", "Fujian", "福建"),
        ("city", "Fuzhou", "福州"),
        ("city", "Guangzhou", "廣州"),
    ):
        found = _ids(loaded_db, **{name: english})
        assert found, (name, english)
        assert _ids(loaded_db, **{name: chinese}) == found, (name, chinese)
    assert _ids(loaded_db, country="中国") == _ids(loaded_db, country="China")
    for chinese, english, other in (
        ("美国", "United States", "united states"),
        ("韩国", "Korea, Republic of", "South Korea"),
        ("越南", "Vietnam", "Viet Nam"),
        ("伊朗", "Iran", "Iran, Islamic Republic of"),  # stored as the record's page wrote it
    ):
        found = _ids(loaded_db, country=english)
        assert found, english
        assert _ids(loaded_db, country=chinese) == _ids(loaded_db, country=other) == found
        # with a text too: the filter is then a tag in the word index, any spelling's
        assert _ids(loaded_db, q="diabetes", country=chinese) == _ids(
            loaded_db, q="diabetes", country=english
        )
    for unknown in ("蒙古", "한국"):  # a name the place book lacks: as given, found nowhere
        assert _ids(loaded_db, country=unknown) == set()
        assert _ids(loaded_db, q="diabetes", country=unknown) == set()
        assert _ids(loaded_db, country=unknown, status="recruiting", region="foreign") == set()
    assert TrialQuery(region="香港").region == "Hong Kong"
    # read as the facets show it, so a page marks the facet chosen
    assert (TrialQuery(province="广东省").province, TrialQuery(city="廣州").city) == (
        "Guangdong",
        "Guangzhou",
    )


def test_a_region_in_any_case_is_the_stored_one_and_another_is_refused(loaded_db):
    """Regions are a closed list compared exactly (through the plain region index): one typed
    in another case is read as stored, and finds what the stored spelling finds; one not on
    the list is refused naming those that are (it found nothing, which looked like an answer)."""
    assert TrialQuery(region="hong kong").region == "Hong Kong"
    assert TrialQuery(region="MAINLAND CHINA").region == "mainland China"
    for typed, stored in (
        ("FOREIGN", "foreign"),
        ("mainland china", "mainland China"),
        ("TAIWAN", "Taiwan"),
        ("中国大陆", "mainland China"),  # as the Chinese pages name it: it was refused
        ("中國大陸", "mainland China"),
        ("境外", "foreign"),
        ("臺灣", "Taiwan"),
    ):
        found = _ids(loaded_db, region=stored)
        assert found and _ids(loaded_db, region=typed) == found
    with pytest.raises(ValidationError, match="unknown region 'Atlantis'; expected one of"):
        TrialQuery(region="Atlantis")
    with pytest.raises(ValidationError, match="year_from 2030 is after year_to 2000"):
        TrialQuery(year_from=2030, year_to=2000)


def test_a_search_in_traditional_characters_finds_what_simplified_finds(loaded_db):
    """Mainland registries write simplified characters; a reader from Hong Kong or Taiwan
    types traditional ones (幹細胞 for 干细胞): a term of three characters or more through the
    trigram index, a shorter one as a substring, on either database."""
    for traditional, simplified in (("幹細胞", "干细胞"), ("間充質幹細胞", "间充质干细胞"),
                                    ("胰島", "胰岛")):  # fmt: skip
        found = _ids(loaded_db, q=simplified)
        assert found, simplified
        assert _ids(loaded_db, q=traditional) == found, traditional


@pytest.mark.parametrize(
    ("digit", "written"),
    [("1型糖尿病", ("Ⅰ型糖尿病", "I型糖尿病", "一型糖尿病", "Ⅰ型糖尿病")),
     ("2型糖尿病", ("Ⅱ型糖尿病", "II型糖尿病", "二型糖尿病", "ii型糖尿病")),
     ("1型", ("Ⅰ型", "一型"))],
)  # fmt: skip
def test_a_type_of_diabetes_is_found_however_its_number_is_written(loaded_db, digit, written):
    """Chinese texts write type 2 diabetes 2型, Ⅱ型, II型 or 二型糖尿病: a search written any
    of those ways found nothing where the text had another (all but the digit found 0)."""
    found = _ids(loaded_db, q=digit)
    assert found, digit
    for form in written:
        assert _ids(loaded_db, q=form) == found, form


def test_a_query_of_many_numbered_words_stays_a_handful_of_forms():
    from isletbase.store.matching import _forms

    assert len(_forms("1型" * 40)) == 9  # the first two numbers varied, not 3 ** 40


def test_a_name_written_in_traditional_characters_is_found_in_simplified_ones(loaded_db):
    """Taiwan's and Hong Kong's names are stored as written (臺北榮民總醫院); a reader on the
    mainland types them in simplified characters (台北荣民总医院), which finds them too, as a
    whole name through the trigram index or a short part of it as a substring."""
    for written, typed in (("臺北榮民總醫院", "台北荣民总医院"), ("台寶生醫", "台宝生医"),
                           ("榮民", "荣民")):  # fmt: skip
        found = _ids(loaded_db, q=written)
        assert "NCT02336646" in found, written
        assert _ids(loaded_db, q=typed) == found, typed


@pytest.mark.parametrize(
    ("typed", "spaced"),
    [("糖尿病，干细胞", "糖尿病 干细胞"), ("糖尿病、干细胞", "糖尿病 干细胞"),
     ("干细胞。", "干细胞"), ("“干细胞”", "干细胞"), ("「干细胞」", "干细胞"),
     ("（干细胞）", "干细胞"), ("干细胞*", "干细胞"), ("1型糖尿病，脐带", "1型糖尿病 脐带"),
     ("MSC糖尿病", "MSC 糖尿病"), ("糖尿病MSC", "糖尿病 MSC")],
)  # fmt: skip
def test_chinese_punctuation_and_a_latin_word_against_chinese_split_terms(loaded_db, typed, spaced):
    """Chinese is typed with its own punctuation between and around words, and without a space
    before a Latin word: each found nothing, as the characters were searched for verbatim."""
    found = _ids(loaded_db, q=spaced)
    assert found, spaced
    assert _ids(loaded_db, q=typed) == found


@pytest.mark.parametrize("country", ["Taiwan", "台湾", "臺灣"])
def test_a_region_of_china_named_as_a_country_filters_by_that_region(loaded_db, country):
    """A Taiwan site is stored as the country China in region Taiwan: country=Taiwan found
    nothing, though the trial's site is in Taipei."""
    found = _ids(loaded_db, country=country)
    assert "NCT02336646" in found
    assert found == _ids(loaded_db, region="Taiwan")


def test_a_city_that_is_no_province_seat_is_found_by_its_chinese_name(loaded_db):
    found = _ids(loaded_db, city="Qingdao")
    assert found and _ids(loaded_db, city="青岛") == _ids(loaded_db, city="青岛市") == found


def _study(nct: str, city: str, state: str, country: str) -> dict:
    site = {"facility": "Clinic", "city": city, "state": state, "country": country}
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct, "briefTitle": f"Stem cells for diabetes {nct}"},
            "contactsLocationsModule": {"locations": [site]},
        }
    }


def test_a_place_with_a_capital_letter_outside_ascii_is_found_by_its_filter(db):
    """SQLite's lower() folds ASCII letters only: a stored "Örebro" never equalled Python's
    "örebro", and its facet's link listed 0 trials (PostgreSQL found it)."""
    from isletbase.harvest import run_records
    from isletbase.sources.ctgov import raw_to_record, study_raws

    studies = [
        _study("NCT09000051", "Örebro", "Örebro län", "Sweden"),
        _study("NCT09000052", "Évry", "Île-de-France", "France"),
        _study("NCT09000053", "Oslo", "Oslo", "Norway"),
    ]
    run_records(db, study_raws(studies, "t"), "t", raw_to_record, 10)
    for city in ("Örebro", "örebro", "ÖREBRO"):
        assert _ids(db, city=city) == {"NCT09000051"}, city
    for province in ("Île-de-France", "île-de-france", "ÎLE-DE-FRANCE"):
        assert _ids(db, province=province) == {"NCT09000052"}, province
    assert _ids(db, city="Evry") == set()  # a different spelling, not a different case


@pytest.mark.parametrize("extra", [{}, {"q": "diabetes"}, {"status": "recruiting"}])
def test_a_country_outside_the_place_book_is_found_in_any_case_on_every_path(db, extra):
    """With a text or a second filter the country went through the word index's tags, written
    from SQLite's ASCII-only lower(): "Ñowhere" was found as "ÑOWHERE" but not "ñowhere"."""
    from isletbase.harvest import run_records
    from isletbase.sources.ctgov import raw_to_record, study_raws

    study = _study("NCT09000061", "Villa", "Provincia", "Ñowhere")
    study["protocolSection"]["statusModule"] = {"overallStatus": "RECRUITING"}
    run_records(db, study_raws([study], "t"), "t", raw_to_record, 10)
    for country in ("Ñowhere", "ñowhere", "ÑOWHERE"):
        assert _ids(db, country=country, **extra) == {"NCT09000061"}, (country, extra)


def test_an_institutions_trials_are_newest_first_and_undated_last_on_both_backends(loaded_db):
    """PostgreSQL put a trial without a start date first (NULLs sort first under DESC there)."""
    from isletbase.store.links import institution_trials

    mixed = 0
    for inst in list_institutions(loaded_db):
        trials = institution_trials(loaded_db, inst.id)
        dated = [t.start_date for t in trials if t.start_date]
        assert dated == sorted(dated, reverse=True), inst.id
        assert [t.start_date for t in trials[: len(dated)]] == dated, inst.id  # undated last
        mixed += 0 < len(dated) < len(trials)
    assert mixed  # an institution with dated and undated trials both


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("route", "静脉", "intravenous"),  # the classifier's own word: it was refused
        ("route", "IV", "intravenous"),
        ("country", "USA", "United States"),  # it found nothing
        ("country", "Republic of Korea", "Korea, Republic of"),
    ],
)
def test_a_filter_takes_the_names_readers_use(loaded_db, field, typed, stored):
    found = _ids(loaded_db, **{field: stored})
    assert found and _ids(loaded_db, **{field: typed}) == found


@pytest.mark.parametrize(
    ("typed", "spaced"),
    [("干细胞治疗糖尿病", "干细胞 糖尿病"), ("脐带1型糖尿病", "脐带 1型糖尿病"),
     ("脐带间充质干细胞治疗1型糖尿病", "脐带间充质干细胞 1型糖尿病"),
     ("骨髓间充质干细胞糖尿病足", "骨髓间充质干细胞 糖尿病足")],
)  # fmt: skip
def test_chinese_typed_without_spaces_finds_what_its_words_apart_find(loaded_db, typed, spaced):
    """Chinese is written without spaces: 干细胞治疗糖尿病 found 1 trial of the 108 that
    干细胞 and 糖尿病 find, 脐带1型糖尿病 none, each matched as one substring."""
    found = _ids(loaded_db, q=spaced)
    assert found, spaced
    assert _ids(loaded_db, q=typed) == found


@pytest.mark.parametrize(
    ("english", "chinese"), [("changsha", "长沙"), ("hunan", "湖南"), ("shijiazhuang", "石家庄")]
)
def test_a_place_only_a_linked_institution_names_is_found_in_either_language(
    loaded_db, english, chinese
):
    """NCT01350219's sites name no place; its institutions are in Changsha and Shijiazhuang,
    which their English names found and their Chinese ones did not."""
    found = _ids(loaded_db, q=english)
    assert "NCT01350219" in found
    assert _ids(loaded_db, q=chinese) == found


@pytest.mark.parametrize(
    ("alias", "code"), [("T1DM", "T1D"), ("niddm", "T2D"), ("AHSCT", "HSC/AHST")]
)
def test_a_vocabulary_alias_finds_every_trial_classified_as_its_value(loaded_db, alias, code):
    """T1DM found the 7 trials whose records wrote it, where the 37 classified T1D say the
    same thing; an alias now finds what the value's label and code find, and its own word."""
    field = "condition" if code.startswith("T") else "cell_source"
    classified = _ids(loaded_db, **{field: code})
    found = _ids(loaded_db, q=alias)
    assert classified and classified <= found
    assert _ids(loaded_db, q=alias.lower()) == found


@pytest.mark.parametrize(
    ("chinese", "english"), [("胰岛", "islet"), ("骨髓", "bone marrow"), ("脐带", "umbilical cord")]
)
def test_a_word_of_the_field_in_chinese_finds_what_its_english_finds(loaded_db, chinese, english):
    """胰岛 found 4 trials where islet finds 10, 骨髓 15 where bone marrow finds 22: a trial
    registered in English holds the Chinese word only where a label of its spells it."""
    found = _ids(loaded_db, q=english)
    assert found and found <= _ids(loaded_db, q=chinese)


@pytest.mark.parametrize("typed", ["E10I", "e10i", "E10I*", "评价E10I"])
def test_a_latin_word_written_against_chinese_in_a_record_is_found(loaded_db, typed):
    """CTR20252968 is titled 评价E10I治疗2型糖尿病…: the word index read the whole run as one
    word, so its product's code found nothing."""
    assert "CTR20252968" in _ids(loaded_db, q=typed)


@pytest.mark.parametrize(
    ("typed", "label"),
    [("第一型糖尿病", "1型糖尿病"), ("间充质干细胞静脉注射", "间充质干细胞 静脉输注")],
)
def test_a_chinese_alias_of_a_vocabulary_value_finds_what_its_label_finds(loaded_db, typed, label):
    found = _ids(loaded_db, q=label)
    assert found and _ids(loaded_db, q=typed) == found
