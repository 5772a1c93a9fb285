"""The pages in-process on both backends: numbers come from the store, searches are the API's,
language follows the switch, and registry text is escaped."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from isletbase.app import create
from isletbase.store.institutions import directory
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials
from isletbase.store.stats import counts
from isletbase.store.trial_reads import get_trial
from isletbase.store.trials import DERIVED_COLUMNS, LIST_FIELDS, SCALAR_FIELDS
from isletbase.web.charts import year_chart
from isletbase.web.i18n import LANGUAGES, strings
from isletbase.web.pages import PAGE_FACETS, SORTS
from isletbase.web.render import code_spans


@pytest.fixture
def client(loaded_db) -> TestClient:
    return TestClient(create(loaded_db))


def test_home_shows_the_stores_headline_numbers(client, loaded_db):
    html = client.get("/").text
    numbers = counts(loaded_db)
    for key in ("trials", "recruiting", "cell_sources", "provinces"):
        assert f"<strong>{numbers[key]}</strong>" in html
    assert f"{numbers['recruiting_stale']} of them not updated for over two years" in html
    listing = client.get("/trials", params={"status": "recruiting", "per_page": 100}).text
    assert listing.count('class="tag stale"') == numbers["recruiting_stale"]
    assert "<svg" in html and "<rect" in html
    # the China tile counts Hong Kong, Macau and Taiwan too, and says so, as the census does
    china = f"<strong>{numbers['china_trials']}</strong> in China, Hong Kong, Macau or Taiwan"
    assert china in html
    listed = client.get("/api/trials", params={"country": "China", "per_page": 1}).json()
    assert listed["total"] == numbers["china_trials"]


def test_search_page_lists_what_the_api_lists(client):
    params = {"q": "脐带", "condition": "T1D"}
    api = client.get("/api/trials", params=params).json()
    html = client.get("/trials", params=params).text
    assert api["total"] > 0
    assert f'data-testid="total">{api["total"]} trials' in html
    for trial in api["trials"]:
        assert f'href="/trials/{trial["id"]}"' in html


def test_facet_counts_match_filtered_totals(client):
    html = client.get("/trials", params={"q": "umbilical"}).text
    facets = re.findall(
        r'href="/trials\?([^"]+)" data-facet="cell_source">[^<]*<span class="count">(\d+)', html
    )
    assert facets
    for query, count in facets[:3]:
        total = client.get("/api/trials?" + query.replace("&amp;", "&")).json()["total"]
        assert total == int(count)


def test_facets_counted_over_a_sample_say_so_in_both_languages(client, monkeypatch):
    from isletbase.store import facets

    assert 'data-testid="facets-sampled"' not in client.get("/trials?q=umbilical").text
    monkeypatch.setattr(facets, "FACET_SAMPLE", 3)
    html = client.get("/trials?q=umbilical&page=1").text  # another URL than the cached one
    assert 'data-testid="facets-sampled"' in html
    assert "newest 10,000" not in html and "newest 3 matching" in html
    assert "最新的 3 项" in client.get("/trials?q=umbilical&lang=zh").text


def test_trial_page_links_every_field_to_a_source(client):
    html = client.get("/trials/NCT01219465").text
    assert 'data-testid="record-source"' in html
    rows = re.findall(r'<tr>\s*<th scope="row">.*?</tr>', html, re.S)
    assert len(rows) >= 8
    assert all('class="source"' in row and 'href="http' in row for row in rows)
    assert "Change history" in html


def test_a_trial_whose_id_holds_slashes_opens_from_every_link_to_it(slashed_db):
    client = TestClient(create(slashed_db))
    listing = client.get("/trials", params={"q": "umbilical"}).text
    link = re.search(r'<h3><a href="(/trials/[^"]+)"', listing).group(1)
    assert f'href="{link}"' in client.get("/").text
    for url in (link, "/trials/CTRI%2F2020%2F01%2F022781", "/trials/ctri/2020/01/022781"):
        page = client.get(url)
        assert page.status_code == 200 and "CTRI/2020/01/022781</p>" in page.text, url


@pytest.mark.parametrize(
    "extra",
    [{"utm_source": "x"}, {"year_from": ""}, {"lang": "zh"}, {"page": "2", "per_page": "5"}],
)
def test_export_and_filter_links_carry_the_search_not_the_url_as_typed(client, extra):
    page = client.get("/trials", params={"q": "cord", "sort": "id", **extra}).text
    links = [
        unescape(href)
        for href in re.findall(r'<a href="(/(?:api/export/\w+|trials)\?[^"]*)"', page)
    ]
    exports = [link for link in links if link.startswith("/api/export/")]
    assert len(exports) == 3 and all("q=cord" in link and "sort=id" in link for link in exports)
    for link in links:
        assert not {"utm_source", "year_from", "lang"} & set(parse_qs(urlsplit(link).query))
        if link.startswith("/api/export/"):  # an export holds every match, not a page
            assert not {"page", "per_page"} & set(parse_qs(urlsplit(link).query))
    for link in exports:
        assert client.get(link).status_code == 200, link


def test_unknown_trial_is_a_404_page(client):
    r = client.get("/trials/NCT00000000")
    assert r.status_code == 404 and "NCT00000000" in r.text and "<h1>" in r.text


def test_bad_search_parameter_is_a_400_page_naming_it(client):
    r = client.get("/trials", params={"page": "zero"})
    assert r.status_code == 400 and "page" in r.text


def test_language_switch_sets_a_cookie_and_translates(client):
    r = client.get("/trials", params={"lang": "zh"})
    assert r.cookies.get("lang") == "zh"
    assert '<html lang="zh-Hans">' in r.text and "临床试验" in r.text
    again = client.get("/trials")
    assert '<html lang="zh-Hans">' in again.text
    back = client.get("/trials", params={"lang": "en"})
    assert '<html lang="en">' in back.text


def test_chinese_page_shows_chinese_vocabulary_labels(client):
    html = client.get("/trials", params={"cell_source": "UC-MSC", "lang": "zh"}).text
    assert "脐带间充质干细胞" in html


def test_an_institution_search_with_a_control_character_is_a_400_page(client):
    r = client.get("/institutions", params={"q": "\x00"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "control characters" in r.text


def test_a_refused_value_is_shown_with_its_control_characters_escaped(client):
    """The page echoed the NUL (or an ESC) itself into the HTML it sent back."""
    r = client.get("/trials", params={"q": "a\x00b\x1b[31m"})
    assert r.status_code == 400 and "\x00" not in r.text and "\x1b" not in r.text
    assert "a\\x00b\\x1b[31m" in r.text


def test_institution_page_lists_its_linked_trials(client):
    api = client.get("/api/institutions/fuzhou-general-hospital").json()
    html = client.get("/institutions/fuzhou-general-hospital").text
    listed = re.findall(r'<li class="trial">\s*<h3><a href="/trials/([^"]+)"', html)
    assert listed and listed == [t["id"] for t in api["trials"]]
    for trial_id in listed:
        trial = client.get(f"/api/trials/{trial_id}").json()
        linked = {loc["institutionId"] for loc in trial["locations"]}
        assert "fuzhou-general-hospital" in linked or "Fuzhou" in (
            trial["leadSponsor"]["name"] or ""
        )


def test_every_interface_string_exists_in_both_languages():
    table = strings()
    assert set(table[LANGUAGES[0]]) == set(table[LANGUAGES[1]])
    assert all(table["zh"][k].strip() for k in table["zh"])


def test_every_field_a_trial_s_history_can_name_has_a_label_in_both_languages():
    """A trial's history on the page named a changed field by its label, but status_code,
    phase_code, sponsor_zh, a merge and a split by their column's name, in English, on a
    Chinese page too."""
    fields = [*SCALAR_FIELDS, *DERIVED_COLUMNS, *LIST_FIELDS, "registry_ids", "sites", "sources"]
    for lang in LANGUAGES:
        table = strings()[lang]
        assert [f for f in [*fields, "merged", "split"] if f not in table] == [], lang


def test_year_chart_bars_add_up_to_the_counts():
    rows = [
        {"year": 2010, "cell_source": "UC-MSC", "trials": 3},
        {"year": 2010, "cell_source": "BM-MSC", "trials": 1},
        {"year": 2012, "cell_source": "UC-MSC", "trials": 2},
        {"year": None, "cell_source": "UC-MSC", "trials": 9},
    ]
    chart = year_chart(rows, max_series=1)
    assert chart.years == [2010, 2011, 2012]
    assert chart.table == {2010: {"UC-MSC": 3, "rest": 1}, 2011: {}, 2012: {"UC-MSC": 2}}
    assert sum(s.count for s in chart.segments) == 6
    tallest = [s for s in chart.segments if s.series == "UC-MSC" and s.count == 3][0]
    short = [s for s in chart.segments if s.series == "UC-MSC" and s.count == 2][0]
    assert tallest.height == pytest.approx(1.5 * short.height, rel=1e-2)


def test_the_chart_s_rest_is_not_the_vocabulary_s_other_stem_cells(client):
    """The folded series and the trials without a cell source were labelled "other stem cells"
    (其他干细胞), the vocabulary's ``other``: 19 trials where 6 are."""
    rows = [
        {"year": 2010, "cell_source": "other", "trials": 2},
        {"year": 2010, "cell_source": None, "trials": 5},
        {"year": 2010, "cell_source": "UC-MSC", "trials": 1},
    ]
    chart = year_chart(rows, max_series=2)
    assert chart.table == {2010: {"other": 2, "rest": 5, "UC-MSC": 1}}
    for lang, rest in (
        ("en", "other cell sources or none classified"),
        ("zh", "其他细胞来源或未分类"),
    ):
        page = client.get("/", params={"lang": lang}).text
        assert f"</svg>{rest}</li>" in page
        assert f"<title>{rest}: " in page and "<title>rest: " not in page


def test_every_text_key_a_template_uses_exists():
    """Literal ``t('key')`` calls and the keys built from sorts, facets and severities."""
    templates = Path(__file__).resolve().parents[2] / "src" / "isletbase" / "web" / "templates"
    used = set()
    for path in templates.glob("*.html"):
        used |= set(re.findall(r"""\bt\('([\w-]+)'\s*[,)]""", path.read_text("utf-8")))
    used |= {f"sort_{s}" for s in SORTS} | {f"facet_{f}" for f in PAGE_FACETS}
    used |= {f"severity_{s}" for s in ("violation", "red_flag", "info")}
    used |= {f"worst_{w}" for w in ("none", "red_flag", "violation")}
    missing = sorted(used - set(strings()["en"]))
    assert len(used) > 50 and missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_search_that_finds_nothing_offers_its_words_as_prefixes(client, lang):
    """Only the last word is a prefix by itself, so a word cut short earlier finds nothing;
    the page then offers the starred search, with what it finds."""
    params = {"q": "umbilic cord", "condition": "T1D"}
    assert client.get("/api/trials", params=params).json()["total"] == 0
    offered = client.get("/api/trials", params={**params, "q": "umbilic* cord"}).json()["total"]
    assert offered > 0
    html = client.get("/trials", params={**params, "lang": lang}).text
    found = re.search(r'data-testid="suggestion">([^<]*)<a href="([^"]+)">([^<]*)</a>', html)
    assert found and found[3] == "umbilic* cord"
    assert str(offered) in found[1]
    assert "q=umbilic%2A+cord" in found[2] and "condition=T1D" in found[2]
    page = client.get("/trials", params={**params, "q": "umbilical cord", "lang": lang}).text
    assert 'data-testid="suggestion"' not in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_search_with_a_place_no_trial_names_so_links_the_stored_spelling(client, lang):
    html = client.get("/trials", params={"country": "Korea", "q": "stem", "lang": lang}).text
    found = re.findall(r'data-testid="place-suggestion">[^<]*<a href="([^"]+)">([^<]*)</a>', html)
    # the stored spelling is the link's; the reader's language names it (南京, not Nanjing)
    assert [name for _, name in found] == [{"en": "Korea, Republic of", "zh": "韩国"}[lang]]
    assert "country=Korea%2C+Republic+of" in found[0][0] and "q=stem" in found[0][0]
    assert client.get(found[0][0].replace("&amp;", "&")).status_code == 200
    assert "Korea" in html and ("Did you mean" if lang == "en" else "您要找的") in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_page_past_the_last_says_so_and_the_pager_claims_no_such_page(client, lang):
    """/trials?page=99 read "第 99 页，共 6 页" above "第 6 页是这些结果的最后一页"."""
    html = client.get("/trials", params={"page": 99, "per_page": 20, "lang": lang}).text
    assert 'data-testid="past-end"' in html and 'class="pager"' not in html
    assert 'class="pager"' in client.get("/trials", params={"page": 2, "lang": lang}).text


def test_a_page_that_is_not_there_is_an_html_page_saying_so(client):
    """A mistyped address on the site got the API's JSON problem document."""
    r = client.get("/trails/<b>x</b>")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "There is no page at /trails/&lt;b&gt;x&lt;/b&gt;." in r.text
    client.cookies.set("lang", "zh")
    zh = client.get("/nowhere")
    assert zh.status_code == 404 and "/nowhere 处没有页面。" in zh.text
    client.cookies.clear()
    api = client.get("/api/nowhere")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("lang", "says"), [("en", "Page {} is the last page"), ("zh", "第 {} 页是")]
)
def test_a_page_past_the_last_says_so_and_links_to_the_last(client, lang, says):
    """It said "No trial matches these filters" under a header of 118 trials."""
    total = client.get("/api/trials", params={"per_page": 20}).json()["total"]
    last = -(-total // 20)
    page = client.get("/trials", params={"page": 999, "lang": lang}).text
    assert says.format(last) in page and f'href="/trials?page={last}"' in page
    assert "No trial matches" not in page and "没有符合" not in page


def test_a_chinese_page_names_places_kinds_and_methods_in_chinese(client):
    """Province and city facets, a trial's sites, country and region, an institution's type
    and how a field was derived were shown in English or as codes on the Chinese pages."""
    trials = client.get("/trials", params={"lang": "zh"}).text
    assert 'data-facet="province">北京 ' in trials and 'data-facet="city">上海 ' in trials
    assert 'data-facet="city">Shanghai ' not in trials
    trial = client.get("/trials/NCT01219465", params={"lang": "zh"}).text
    assert "<strong>山东青岛</strong>" in trial and "中国大陆" in trial
    assert "人工审定 —" in trial and "curated —" not in trial
    assert "<dd>医院</dd>" in client.get("/institutions/pumch", params={"lang": "zh"}).text
    english = client.get("/trials/NCT01219465", params={"lang": "en"}).text
    assert "<strong>Qingdao, Shandong</strong>" in english and "curated —" in english


@pytest.mark.parametrize(
    ("method", "path", "data", "says"),
    [
        ("get", "/trials?page=0", None, "参数“page”的值无法使用（收到“0”）。应不小于 1。"),
        (
            "get",
            "/trials?per_page=abc",
            None,
            "参数“per_page”的值无法使用（收到“abc”）。应为整数。",
        ),
        ("get", "/trials?year_from=2020&year_to=2010", None, "这些搜索参数不能同时使用。"),
        ("get", "/trials?phase=bogus", None, "参数“phase”的值无法使用（收到“bogus”）。"),
        ("get", "/trials?q=a*", None, "无法按所写内容执行此搜索。"),
        ("post", "/trials", None, "此地址不接受 POST 请求。"),
        ("post", "/simulator", {"sample_size": "0"}, "样本量须为 1–50 的整数"),
        ("post", "/regulation", {"country": "XX"}, "无法核查这份宣传。"),
        ("post", "/regulation", {"text": "  "}, "请粘贴宣传原文，或至少填写一项。"),
    ],
)
def test_a_request_a_page_cannot_use_is_explained_in_the_pages_language(
    client, method, path, data, says
):
    """The status was right and the title translated, but the message was pydantic's English
    (a year range even showed a Python dict and began with an empty field name)."""
    extra = {"data": data} if method == "post" else {}
    client.cookies.set("lang", "zh")
    response = getattr(client, method)(path, **extra)
    assert response.status_code in (400, 405)
    text = unescape(re.sub(r"<[^>]+>", "", response.text))
    assert says in text
    assert "Input should be" not in text and "{'" not in text and ": Value error" not in text
    client.cookies.set("lang", "en")
    english = getattr(client, method)(path, **extra).text
    assert says not in unescape(re.sub(r"<[^>]+>", "", english))


def test_a_search_naming_an_institution_points_to_it_and_counts_read_well(client):
    """'xiehe' found 0 trials and said only that, where the CLI names the institution; a
    result of one said "1 trials"; year chips read "✕ 2010 ✕ 2012"; an empty result offered
    exports."""
    page = client.get("/trials", params={"q": "xiehe"}).text
    assert 'data-testid="institutions-named"' in page and 'href="/institutions/pumch"' in page
    common = client.get("/trials", params={"q": "医院"}).text  # names dozens: none listed
    assert 'data-testid="institutions-named"' not in common
    one = client.get("/trials", params={"q": "NCT01219465"}).text
    assert ">1 trial<" in one and "1 trials" not in one
    years = unescape(client.get("/trials", params={"year_from": 2010, "year_to": 2012}).text)
    assert "✕ from 2010" in years and "✕ until 2012" in years
    none = client.get("/trials", params={"q": "zzzqqq"}).text
    assert "data-export" not in none


def test_the_evidence_page_names_outcomes_designs_and_cells_in_the_readers_language(client):
    """Outcome records showed codes (hba1c, UC-MSC, 11.0 mo) on both languages' pages."""
    client.cookies.set("lang", "zh")
    page = unescape(re.sub(r"<[^>]+>", " ", client.get("/evidence").text))
    assert "糖化血红蛋白 · 第 11 个月" in page and "脐带间充质干细胞" in page and "随机对照" in page
    assert "11.0 mo" not in page


def test_a_stale_trials_flag_and_an_english_title_on_a_chinese_page(client, loaded_db):
    stale = next(
        t for t in search_trials(loaded_db, TrialQuery(status="recruiting", per_page=100)).items
        if t.stale and not t.title_zh
    )  # fmt: skip
    client.cookies.set("lang", "zh")
    page = client.get(f"/trials/{stale.display_id}").text
    flags = re.search(r'<ul class="flags".*?</ul>', page, re.S).group(0)
    assert "状态可能已过时：登记仍为“正在招募”" in unescape(flags) and "stale: status" not in flags
    assert '<h1 lang="en">' in page


def test_the_evidence_pools_are_titled_and_described_in_chinese_on_a_chinese_page(client):
    client.cookies.set("lang", "zh")
    page = unescape(re.sub(r"<[^>]+>", " ", client.get("/evidence").text))
    assert "糖化血红蛋白，干细胞组对比对照组，2 型糖尿病" in page
    assert "随机效应，限制性最大似然法" in page and "restricted maximum likelihood" not in page
    # an outcome's own cell sources too (AHSCT, UCB, PSC-PEC were codes)
    assert "自体造血干细胞移植" in page and "脐带血细胞" in page and "PSC-PEC" not in page
    # why a record is left out names the numbers it lacks, not the record's field names
    assert "未报告：治疗组均数、治疗组标准差" in page and "treated_mean" not in page


def test_a_classifier_rule_is_explained_in_the_pages_language(client):
    """The derivation read "phase-1-2: matched 'Phase 1/Phase 2' in phase" on Chinese pages."""
    client.cookies.set("lang", "zh")
    page = unescape(client.get("/trials/NCT01219465").text)
    assert "规则 phase-1-2：在“分期”中匹配到“Phase 1/Phase 2”" in page
    assert "matched 'Phase 1/Phase 2' in phase" not in page
    client.cookies.set("lang", "en")
    assert "matched &#39;Phase 1/Phase 2&#39; in Phase" in client.get("/trials/NCT01219465").text


def test_the_bundled_data_is_named_in_chinese_as_a_changes_source(client):
    client.cookies.set("lang", "zh")
    assert "isletbase 内置数据" in client.get("/").text
    assert "（isletbase 内置数据）" in client.get("/trials/NCT01219465").text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_record_read_from_another_page_is_not_called_the_registry_s(client, lang):
    """44 trial pages called a mirror, a news report or a paper the "registry record"."""
    said = {
        "en": ("registry record", "not the registry's own page"),
        "zh": ("注册记录", "并非注册平台原页面"),
    }
    own, copy = said[lang]
    registry = client.get("/trials/NCT01219465", params={"lang": lang}).text  # from CT.gov
    bracketed = f"（{own}）" if lang == "zh" else f" ({own})"
    assert bracketed in registry and copy not in registry
    mirrored = client.get("/trials/NCT03390231", params={"lang": lang}).text  # from crick.ai
    source = re.search(r'data-testid="record-source">([^<]*)</a> ?[(（]([^)）]*)[)）]', mirrored)
    assert "clinicaltrials.gov" not in source[1].lower() and copy in unescape(source[2])
    # the registry's own page is linked from its id all the same
    assert 'href="https://clinicaltrials.gov/study/NCT03390231"' in mirrored


def test_a_chictr_id_links_the_registry_s_search_for_it(client):
    """Only ClinicalTrials.gov ids were links: a ChiCTR id was text, though the registry finds
    the record by it."""
    page = client.get("/trials/ChiCTR2300072200").text
    assert 'href="https://www.chictr.org.cn/searchprojEN.html?regno=ChiCTR2300072200"' in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_example_the_search_box_gives_finds_trials(client, lang):
    """Its example ``xiehe`` found no trial: PUMCH runs none of the bundled ones."""
    hint = strings()[lang]["search_placeholder"]
    examples = [e.strip() for e in re.split(r"[,、]", re.sub(r"^(e\.g\.|例如：)", "", hint))]
    assert len(examples) == 3
    for example in examples:
        assert client.get("/api/trials", params={"q": example}).json()["total"] > 0, example


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_trial_page_lists_each_source_once_in_the_reader_s_language(client, lang):
    """NCT02579148's page listed its record's page three times, the last "— record" in English
    on the Chinese page, and "; Retrieved 2026-11-25" capitalised mid-sentence."""
    html = client.get("/trials/NCT02579148", params={"lang": lang}).text
    listed = re.findall(r"<li><a href=\"([^\"]+)\"", html.split('id="sources-h"')[1])
    assert len(listed) == len(set(listed)) >= 2
    assert "— record" not in html and "; Retrieved" not in html
    assert ("; retrieved 2026-11-25" if lang == "en" else "获取日期 2026-11-25") in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_trial_without_a_title_says_so_beside_its_id(client, lang):
    """ChiCTR2300072200's page had its id for a title, as if that were the title."""
    html = client.get("/trials/ChiCTR2300072200", params={"lang": lang}).text
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)[1]
    said = " (title not seen on any source)" if lang == "en" else "（来源未见题目）"  # full width
    assert title == f"ChiCTR2300072200{said}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_institution_list_names_each_by_its_names_sorted_as_read(client, lang):
    """About twenty rows showed an id (bosheng-zhuoyue) as the English name, the list ran in
    the ids' order, and a place without a city read ", Hainan"."""
    html = client.get("/institutions", params={"lang": lang}).text
    links = re.findall(r'<a href="/institutions/([^"]+)"><span lang="[^"]+">([^<]*)</span>', html)
    assert len(links) > 100
    assert not [r for r in links if r[1] == r[0]]  # no id for a name
    assert not re.search(r"<td>, ", html)
    if lang == "en":  # the Chinese order: test_the_chinese_directory_leads_with_chinese_names…
        unnamed = strings()[lang]["no_english_name"]
        shown = [name.casefold() for _, name in links if name != unnamed]
        assert shown == sorted(shown)
    page = client.get("/institutions/bosheng-zhuoyue", params={"lang": lang})
    assert page.status_code == 200 and "› bosheng-zhuoyue" not in page.text


def test_a_finding_names_the_record_s_fields_in_the_reader_s_language(client):
    """Its evidence read "first_posted: 2020-09-29" and "status: Unknown status", field names
    as the code writes them, on the Chinese page too."""
    html = client.get("/trials/NCT04569409", params={"lang": "zh"}).text
    findings = html.split('class="findings"')[1]
    assert "<q>" in findings
    assert not re.search(r"<q>[a-z_]+: ", findings)
    assert strings()["zh"]["status"] + "：" in findings


def test_a_finding_names_a_region_it_read_in_the_reader_s_language(client):
    """ "地区：mainland China": the field was named in Chinese, the region it held not."""
    zh = client.get("/trials/NCT01219465", params={"lang": "zh"}).text.split('class="findings"')[1]
    assert f"<q>{strings()['zh']['region']}：{strings()['zh']['region_mainland']}</q>" in zh
    assert "mainland China" not in zh
    en = client.get("/trials/NCT01219465", params={"lang": "en"}).text.split('class="findings"')[1]
    assert "<q>Region: mainland China</q>" in en


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_trials_cell_source_is_named_with_its_code_beside_it(client, lang):
    """The Chinese page showed "细胞来源 UC-MSC" with the name under it as a tag."""
    html = client.get("/trials/NCT01413035", params={"lang": lang}).text
    row = html.split(f'<th scope="row">{"细胞来源" if lang == "zh" else "Cell source"}</th>')[1]
    cell = row.split("</td>")[0]
    name = "脐带间充质干细胞" if lang == "zh" else "umbilical-cord"
    assert name in cell.lower() and "<code>UC-MSC</code>" in cell and 'class="tag"' not in cell


def test_the_chinese_directory_leads_with_chinese_names_in_pinyin_order(client):
    """The Chinese list was sorted and linked by English name: 贵州医科大学附属医院 was opened
    by clicking 未见英文名; places read "南京, 江苏"; a search that found none said nothing."""
    html = client.get("/institutions", params={"lang": "zh"}).text
    links = re.findall(
        r'<td><a href="/institutions/[^"]+"><span lang="([^"]+)">([^<]*)</span>', html
    )
    chinese = [name for lang, name in links if lang == "zh-Hans"]
    assert len(chinese) > 80 and "未见英文名" not in [name for _, name in links]
    assert [lang for lang, _ in links] == sorted((lang for lang, _ in links), reverse=True)
    assert (
        chinese.index("白求恩国际和平医院")
        < chinese.index("北京大学")
        < chinese.index("武汉大学人民医院")
    )
    assert "河北石家庄" in html and "石家庄, 河北" not in html
    english = client.get("/institutions", params={"lang": "en"}).text
    assert "Shijiazhuang, Hebei" in english
    empty = client.get("/institutions", params={"lang": "zh", "q": "不存在的医院"}).text
    assert "机构目录中没有符合" in empty and "<table" not in empty


def test_a_chinese_page_says_when_the_registry_gave_an_english_title_only(client):
    english_only = client.get("/trials/NCT01219465", params={"lang": "zh"}).text
    assert "注册记录仅有英文题目" in english_only
    assert "注册记录仅有英文题目" not in client.get("/trials/ChiCTR1800014418?lang=zh").text
    assert "English only" not in client.get("/trials/NCT01219465", params={"lang": "en"}).text


def test_a_trials_sources_name_what_each_gave_in_the_readers_language(client):
    """The source list read "see notes", "sponsor (Responsible Party)" and "curated.cell_source
    (…)" on the Chinese page, field names as the data write them."""
    page = unescape(client.get("/trials/NCT06196996", params={"lang": "zh"}).text)
    assert "细胞来源（EnSC-derived regenerative islets, Changzheng/CAS）；获取日期" in page
    assert "curated.cell_source" not in page
    notes = unescape(client.get("/trials/NCT01496339", params={"lang": "zh"}).text)
    assert "见备注；获取日期" in notes and "see notes" not in notes
    english = unescape(client.get("/trials/NCT01496339", params={"lang": "en"}).text)
    assert "see notes; retrieved" in english


def test_a_registrys_english_on_a_chinese_page_is_marked_english(client):
    """Only titles were marked: a screen reader read a sponsor, the phase and the conditions
    in English as Chinese."""
    page = client.get("/trials/NCT01219465", params={"lang": "zh"}).text
    assert re.search(r'<span lang="en">Phase 1/Phase 2</span>', page)
    assert '<span lang="en">' not in client.get("/trials/NCT01219465", params={"lang": "en"}).text


def test_a_place_a_registry_calls_a_country_is_named_in_chinese(client):
    """ "台北, Taiwan": a registry's country Taiwan (or Hong Kong, Macau) had no Chinese name,
    a region of ours in the place book."""
    taiwan = client.get("/trials", params={"country": "Taiwan", "lang": "zh"}).text
    trial = re.search(r'href="/trials/([^"?]+)"', taiwan.split('class="results"')[-1])[1]
    page = unescape(client.get(f"/trials/{trial}", params={"lang": "zh"}).text)
    assert "台湾" in page and ", Taiwan" not in page


def test_a_site_the_registry_named_in_english_is_named_in_chinese_from_the_directory(
    client, loaded_db
):
    """41 sites on 36 Chinese trial pages showed "Beijing Hospital — 机构" where the directory
    they link to has 北京医院; the name itself now links to the institution."""
    names = {i.id: i.name_zh for i in directory(loaded_db) if i.name_zh}
    trial = get_trial(loaded_db, "NCT06969807")
    sites = [s for s in trial.sites if s.institution_id in names and not s.name_zh]
    assert sites  # the case: a linked site the registry named in English only
    page = unescape(client.get("/trials/NCT06969807?lang=zh").text)
    for site in sites:
        link = f'<a href="/institutions/{site.institution_id}">'
        assert f"{link}{names[site.institution_id]} / {site.name}</a>" in page
    english = unescape(client.get("/trials/NCT06969807?lang=en").text)
    assert f"{sites[0].name} / {names[sites[0].institution_id]}</a>" in english


def test_a_command_in_a_page_s_words_is_shown_as_code_and_nothing_else_is_markup(client):
    """The evidence and simulator pages showed their commands in literal backticks."""
    assert code_spans("run `isletbase x` <b>&") == ("run <code>isletbase x</code> &lt;b&gt;&amp;")
    for path in ("/evidence", "/simulator", "/simulator?lang=zh"):
        html = client.get(path).text
        assert "<code>isletbase" in html and "`" not in html.split("<main", 1)[1], path


def test_a_derivation_names_its_field_for_readers_in_english_too(client):
    html = unescape(client.get("/trials/NCT04776239?lang=en").text)
    assert "in Title (English)" in html and "in title_en" not in html


def test_a_search_that_cannot_run_is_offered_again_in_a_search_box(client):
    """``/trials?q=*`` was a dead end: an error without a search box, explained in English on
    a Chinese page."""
    page = client.get("/trials", params={"q": "*<\u3000", "condition": "T1D", "page": "2"})
    assert page.status_code == 400
    assert 'name="q" type="search" value="*&lt;\u3000"' in page.text  # its spaces kept
    assert '<input type="hidden" name="condition" value="T1D">' in page.text  # filters kept
    assert 'name="page"' not in page.text
    # a search whose text was fine, refused for another parameter, is not offered its box
    assert 'id="again-q"' not in client.get("/trials", params={"year_from": "x"}).text
    client.cookies.set("lang", "zh")
    chinese = client.get("/trials", params={"q": "*"}).text
    assert "详情：搜索内容中没有可以搜索的词或数字" in chinese and "（英文）" not in chinese
    api = client.get("/api/trials", params={"q": "*"})
    assert api.json()["detail"] == "search text holds no word or number to search for"


def test_text_in_the_page_s_other_language_is_marked_with_its_language(client):
    """A screen reader read Chinese names on English pages, and English ones on Chinese pages,
    in the page's language."""
    english = client.get("/institutions/pla-452-hospital?lang=en").text
    assert '<p class="alt" lang="zh-Hans">解放军第四五二医院</p>' in english
    chinese = client.get("/institutions/miami-dri?lang=zh").text
    assert '<h1 lang="en">Diabetes Research Institute' in chinese
    assert '<span lang="en">Diabetes Research Institute</span>' in chinese  # an alias
    trial = client.get("/trials/ChiCTR2300071975?lang=en").text
    assert re.search(r'<span lang="zh-Hans">[^<]*脐带', trial)
    traditional = client.get("/institutions/taipei-veterans-general-hospital?lang=en").text
    assert '<p class="alt" lang="zh-Hant">臺北榮民總醫院</p>' in traditional
    # a name in both languages is neither's
    both = client.get("/trials/NCT06196996?lang=en").text
    assert (
        '<li><a href="/institutions/' in both
        and "Shanghai Changzheng Hospital / 上海长征医院" in both
    )
    assert 'lang="zh-Hans"><a href="/institutions/' not in both


def test_china_s_drug_trial_registry_is_named_in_the_reader_s_words(client):
    """Its registry value (ChinaDrugTrials, as the API gives it) is a name of ours: a page
    names the registry as the platform calls itself in Chinese, in words in English."""
    zh = unescape(client.get("/trials/CTR20252968?lang=zh").text)
    assert "<strong>药物临床试验登记与信息公示平台</strong>" in zh
    en = unescape(client.get("/trials?registry=cde&lang=en").text)
    assert "China's drug-trial registry (CTR)" in en and ">ChinaDrugTrials<" not in en
    api = client.get("/api/trials/CTR20252968").json()
    assert api["registryIds"] == [{"registry": "ChinaDrugTrials", "id": "CTR20252968"}]


def test_a_title_shown_in_the_other_language_says_which(client):
    """A drug-registry trial titled only in Chinese stood on English pages without
    lang="zh-Hans", so a screen reader read its characters as English."""
    page = client.get("/trials/CTR20252968", params={"lang": "en"}).text
    assert re.search(r'<h1 lang="zh-Hans">', page)
    listed = client.get("/trials", params={"lang": "en", "q": "CTR20252968"}).text
    assert re.search(r'<h3 lang="zh-Hans"><a href="/trials/CTR20252968"', listed)
    english = client.get("/trials/NCT01219465", params={"lang": "en"}).text
    assert re.search(r"<h1>", english)
    # and the English page says the registry gives the title in Chinese only, as the Chinese
    # page says of a title in English only
    assert strings()["en"]["title_chinese_only"] in unescape(page)
    assert 'data-testid="chinese-only"' not in english


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_taiwan_trial_s_country_says_it_is_isletbase_s_grouping(client, lang):
    """NCT02336646's record names Taiwan as its Taipei site's country; the page showed
    "China" beside the record's source as if the record said so."""
    page = unescape(client.get("/trials/NCT02336646", params={"lang": lang}).text)
    note = re.search(r'data-testid="country-grouped">([^<]*)<', page)[1]
    assert ("Taiwan" if lang == "en" else "台湾") in note
    assert 'data-testid="country-grouped"' not in client.get("/trials/NCT01219465").text


def test_a_facet_s_counts_add_up_to_the_results_with_those_stating_none(client):
    """Status counts summed to 112 of 123 trials and phase to 113: the trials whose record
    states none were left out of the list."""
    page = unescape(client.get("/trials", params={"lang": "en"}).text)
    total = int(re.search(r'data-testid="total">\D*([\d,]+)', page)[1].replace(",", ""))
    status = page.split('id="facet-status"')[1].split("</section>")[0]
    counts = [int(n) for n in re.findall(r'<span class="count">(\d+)</span>', status)]
    assert 'data-testid="facet-none-status"' in status and sum(counts) == total


def test_a_page_names_its_own_address_and_each_language_s_absolutely(client):
    """The alternates were relative (search engines read hreflang addresses whole) and no page
    named its canonical address, so /trials/nct01219465 stood beside /trials/NCT01219465."""
    page = client.get("/trials/nct01219465", params={"lang": "zh"}).text
    links = dict(re.findall(r'<link rel="(canonical|alternate)"[^>]*href="([^"]+)"', page))
    assert links["canonical"] == "http://testserver/trials/NCT01219465?lang=zh"
    alternates = re.findall(r'hreflang="([^"]+)" href="([^"]+)"', page)
    assert dict(alternates) == {
        "en": "http://testserver/trials/NCT01219465?lang=en",
        "zh-Hans": "http://testserver/trials/NCT01219465?lang=zh",
    }
