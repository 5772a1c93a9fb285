"""Place names in English and Chinese (``isletbase.places``), from the bundled place book."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from isletbase import places


def test_a_province_is_found_by_any_of_its_spellings() -> None:
    for spelled in ("Guangdong", "guangdong", "广东", "广东省", "廣東省", "ＧＵＡＮＧＤＯＮＧ"):
        place = places.find("province", spelled)
        assert place is not None and place.en == "Guangdong", spelled
    assert set(places.spellings("province", "广东")) == {"广东", "Guangdong", "广东省"}
    # an autonomous region's full name is the sources', not 广西省
    assert places.spellings("province", "Guangxi") == ("Guangxi", "广西", "广西壮族自治区")


def test_seats_and_municipalities_are_cities_too() -> None:
    assert places.spellings("city", "广州") == ("广州", "Guangzhou", "广州市")
    assert places.english("city", "北京市") == "Beijing"
    assert places.find("province", "上海市").en == "Shanghai"
    assert places.find("city", "上海").en == "Shanghai"


def test_a_country_or_region_is_named_as_stored_and_an_unknown_place_as_given() -> None:
    assert places.english("country", "中国") == "China"
    assert places.english("country", "中华人民共和国") == "China"
    assert places.english("region", "澳門") == "Macau"  # traditional characters too
    assert places.english("region", "香港") == "Hong Kong"
    assert places.english("country", "Atlantis") == "Atlantis"
    assert places.spellings("city", "Springfield") == ("Springfield",)  # none gave its characters


def test_a_city_that_is_no_seat_is_found_in_either_language() -> None:
    """city=青岛 found nothing where city=Qingdao found two trials: only the provinces' seats
    were in the book."""
    assert places.spellings("city", "青岛") == ("青岛", "Qingdao", "青岛市")
    assert places.english("city", "臺北市") == places.english("city", "台北") == "Taipei"


def test_every_place_names_its_sources_and_each_source_is_a_page() -> None:
    book = yaml.safe_load(
        resources.files("isletbase.data").joinpath("places.yaml").read_text("utf-8")
    )
    pages = book["sources"]
    assert all(url.startswith(("http://", "https://")) for url in pages.values())
    entries = [*book["countries"], *book["regions"], *book["provinces"], *book["cities"]]
    assert len(book["provinces"]) == 31  # 22 provinces, 5 autonomous regions, 4 municipalities
    for entry in entries:
        assert entry["source"] and set(entry["source"]) <= set(pages), entry["en"]
        assert entry["zh"] and not entry["zh"].isascii(), entry["en"]


def test_a_country_is_named_as_the_registry_writes_it_from_any_spelling() -> None:
    assert places.english("country", "日本") == "Japan"
    assert places.english("country", "韓國") == "Korea, Republic of"  # traditional characters
    assert places.english("country", "south korea") == "Korea, Republic of"
    assert places.english("country", "阿联酋") == "United Arab Emirates"  # the short form too
    assert set(places.spellings("country", "Turkey")) == {"Turkey", "土耳其", "Türkiye"}
    assert places.find("country", "Czech Republic").en == "Czechia"


def test_a_region_of_china_written_as_a_site_s_country_is_that_region() -> None:
    """A ChiCTR or ICTRP site in 香港 or 中国台湾 made its trial "foreign"."""
    written_as = (("香港", "Hong Kong"), ("中国香港", "Hong Kong"), ("台湾", "Taiwan"),
                  ("中國台灣", "Taiwan"), ("澳门", "Macau"))  # fmt: skip
    for written, region in written_as:
        country = places.country_english(written)
        assert (places.trial_country([country]), places.trial_region([country])) == (
            "China",
            region,
        )
    assert places.country_english("日本") == "Japan"
    assert places.country_english("中国") == "China"


@pytest.mark.parametrize(
    ("countries", "region"),
    [
        # NCT07062965's sites: the US, Australia, eleven on the mainland, Israel, Korea, two in
        # Taiwan, Türkiye — it was filed under Taiwan, out of a mainland filter
        (["United States", "Australia", *["China"] * 11, "Israel", "Taiwan", "Taiwan"],
         "mainland China"),
        (["United States", "Hong Kong", "Taiwan"], "Hong Kong"),
        (["Taiwan", "China"], "mainland China"),
        (["Japan"], "foreign"),
    ],
)  # fmt: skip
def test_a_trial_with_a_site_on_the_mainland_is_a_mainland_trial(
    countries: list[str], region: str
) -> None:
    assert places.trial_region(countries) == region


def test_taipei_is_written_in_simplified_characters_on_a_chinese_page() -> None:
    assert places.chinese("city", "Taipei") == "台北"
    assert places.english("city", "臺北") == "Taipei"


@pytest.mark.parametrize(
    ("given", "country", "region"),
    [("CN", "China", None), ("KR", "Korea, Republic of", None), ("USA", "United States", None),
     ("People's Republic of China", "China", None), ("TW", "China", "Taiwan")],
)  # fmt: skip
def test_a_country_filter_takes_its_iso_code_or_name(given, country, region) -> None:
    """`--country CN` or `KR` found no trial (kept as given, matching no site)."""
    from isletbase.store.query import TrialQuery

    query = TrialQuery(country=given)
    assert (query.country, query.region) == (country, region)


def test_a_site_in_china_is_named_in_both_languages_for_its_search_text() -> None:
    assert places.site_names("Beijing", "Beijing", "China") == ("Beijing", "北京", "北京市")
    assert places.site_names("北京", None, "中国") == ("Beijing", "北京", "北京市")
    assert places.site_names("武汉", "湖北", None) == (
        "Wuhan",
        "武汉",
        "武汉市",
        "Hubei",
        "湖北",
        "湖北省",
    )
    # Taipei is in the book without a province: one given that the book lacks does not hide it
    assert "台北" in places.site_names("Taipei", "Taipei City", "Taiwan")


def test_a_site_outside_china_or_in_another_city_of_that_name_has_no_names_added() -> None:
    assert places.site_names("Boston", "Massachusetts", "United States") == ()
    assert places.site_names("Shanghai", None, "United States") == ()  # a country is checked
    assert places.site_names("Dalian", "Texas", None) == ()  # Dalian is Liaoning's
    # the book's Suzhou (苏州) is Jiangsu's; Anhui's Suzhou is 宿州: only the province is named
    assert places.site_names("Suzhou", "Anhui", "China") == ("Anhui", "安徽", "安徽省")
    assert "苏州" in places.site_names("Suzhou", "Jiangsu", "China")
    assert places.site_names(None, None, None) == ()


def test_every_country_of_the_bundled_trials_has_a_chinese_name():
    """Jordan and Antigua and Barbuda stood in English among the Chinese page's facets."""
    countries = set()
    for file in resources.files("isletbase.data").joinpath("trials").iterdir():
        if file.name.endswith(".jsonl"):
            for line in file.read_text("utf-8").splitlines():
                record = json.loads(line)
                countries |= {s["country"] for s in record["sites"] if s["country"]}
                countries |= {record["country"]} if record["country"] else set()
    assert countries
    named = {c for c in countries if places.chinese("country", c) or places.find("region", c)}
    assert countries == named, sorted(countries - named)
