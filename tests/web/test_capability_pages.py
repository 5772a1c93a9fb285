"""Evidence, Regulation and Simulator pages show what their library modules compute."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from isletbase.api.slots import CHECK, RETRY_AFTER_S, SIMULATION
from isletbase.app import create
from isletbase.evidence.cases import load_cases
from isletbase.evidence.pools import pool_specs
from isletbase.regulation.engine import check_offer, findings_for_trial
from isletbase.regulation.timeline import load_timeline
from isletbase.store.trial_reads import get_trial
from isletbase.web.capabilities import MAX_FORM_BYTES
from isletbase.web.i18n import strings

OFFER = "本院干细胞治疗糖尿病，一个疗程收费8万元，保证根治，无需任何临床试验。"


@pytest.fixture
def client(loaded_db) -> TestClient:
    return TestClient(create(loaded_db))


def test_evidence_page_shows_each_standing_pool_estimate(client):
    html = client.get("/evidence").text
    shown = 0
    for spec in pool_specs():
        result = spec.run().to_dict()
        assert spec.title in html
        assert f"{result['measure']} {result['estimate']:.2f}</strong>" in html
        shown += 1
    assert shown >= 1 and 'src="/api/evidence/pool.svg?' in html


def test_evidence_page_gives_each_standing_pool_its_caveat_in_the_readers_language(client):
    """The HbA1c pool's significance rested on the best of Skyler 2015's three dose arms, said
    only in the outcome record's note."""
    english = unescape(client.get("/evidence").text)
    chinese = unescape(client.get("/evidence?lang=zh").text)
    for spec in pool_specs():
        assert spec.caveat in english and spec.caveat_zh in chinese
        assert spec.caveat not in chinese


def test_forest_plot_link_serves_svg(client):
    html = client.get("/evidence").text
    src = re.search(r'src="(/api/evidence/pool\.svg\?[^"]+)"', html).group(1).replace("&amp;", "&")
    r = client.get(src)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")


def test_checking_an_offer_in_the_form_matches_the_library(client, loaded_db):
    expected = check_offer(OFFER, loaded_db)
    r = client.post("/regulation", data={"text": OFFER})
    assert r.status_code == 200
    assert expected.findings, "the sample offer should fire at least one rule"
    for finding in expected.findings:
        assert f"<code>{finding.rule.id}</code>" in r.text
    assert OFFER in r.text  # the form keeps what was typed


def test_the_form_says_when_no_rule_on_cell_therapies_was_applied(client):
    assert 'data-fact="cell_therapy"' not in client.post("/regulation", data={"text": OFFER}).text
    r = client.post("/regulation", data={"text": "胰岛素泵强化治疗，根治糖尿病，疗程费2万元。"})
    result = r.text.split('id="rules-h"')[0]  # the rule book's table follows the result
    assert r.status_code == 200 and 'data-fact="cell_therapy"' in result
    assert "<code>CN-AD-001</code>" in result and "<code>CN-NHC-002</code>" not in result


def test_the_form_says_when_it_could_not_judge_the_price(client):
    unjudged = 'data-fact="price_high"'
    sterling = {"text": OFFER, "price": "50000", "currency": "GBP"}
    r = client.post("/regulation?lang=en", data=sterling)
    assert r.status_code == 200 and unjudged in r.text
    assert "no high-price mark for GBP (they do for CNY, EUR," in unescape(r.text)
    zh = client.post("/regulation?lang=zh", data=sterling)
    assert "规则未为 GBP 设定高价标准" in zh.text
    assert unjudged not in client.post("/regulation?lang=en", data={"text": OFFER}).text
    refused = client.post("/regulation?lang=en", data={"text": OFFER, "currency": "XQZ"})
    assert refused.status_code == 400 and "XQZ" in refused.text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "香港幹細胞中心：臍帶幹細胞療程，療程費用HK$180,000。",
            "<strong>Hong Kong</strong> (香港)",
        ),
        ("中国患者赴日本东京接受干细胞治疗，费用300万日元。", "<strong>Japan</strong> (日本; "),
        ("<b>臍帶幹細胞療程</b>", "no country"),
    ],
)
def test_the_form_says_whose_rules_it_applied(client, text, shown):
    result = client.post("/regulation", data={"text": text}).text.split('id="rules-h"')[0]
    line = re.search(r'<p data-fact="country">(.*?)</p>', result).group(1)
    assert shown in line
    assert "<b>" not in result  # the offer's text is escaped where it is shown


def test_the_form_places_an_offer_where_the_reader_says(client):
    form = client.get("/regulation").text
    assert '<option value="JP">Japan (JP)</option>' in form
    text = "幹細胞療程治療糖尿病，療程費用300萬。"  # traditional script: placed nowhere
    r = client.post("/regulation", data={"text": text, "country": "JP"})
    result = r.text.split('id="rules-h"')[0]
    assert "<strong>Japan</strong>" in result and "<code>JP-ASRM-001</code>" in result
    assert '<option value="JP" selected>' in result
    assert (
        "<code>JP-ASRM-001</code>"
        not in client.post("/regulation", data={"text": text}).text.split('id="rules-h"')[0]
    )


def test_the_timeline_reads_in_the_pages_language(client):
    events = load_timeline().events
    zh = unescape(client.get("/regulation?lang=zh").text.split('id="timeline-h"')[1])
    en = unescape(client.get("/regulation?lang=en").text.split('id="timeline-h"')[1])
    for event in events:
        assert event.summary_zh in zh and event.summary not in zh
        assert event.summary in en and event.summary_zh not in en


def test_empty_offer_is_a_400_saying_why(client):
    r = client.post("/regulation", data={"text": "   "})
    assert (
        r.status_code == 400
        and "Paste the offer&#39;s text, or fill in at least one field." in r.text
    )


def test_trial_page_lists_the_trials_rule_findings(client, loaded_db):
    trial = get_trial(loaded_db, "NCT01219465")
    html = client.get("/trials/NCT01219465").text
    for finding in findings_for_trial(trial, loaded_db):
        assert f"<code>{finding.rule.id}</code>" in html


def test_simulator_page_runs_a_small_design(client):
    r = client.post("/simulator", data={"sample_size": "2", "days": "14"})
    assert r.status_code == 200
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td>', r.text)
    assert [int(n) for _, n in rows] == [2] * len(rows) and len(rows) >= 2
    assert 'src="data:image/svg+xml;base64,' in r.text


def test_simulator_page_says_how_the_example_doses_insulin_in_both_languages(client):
    page = client.get("/simulator").text
    assert "dosed as people on insulin dose them" in page
    assert "insulin sensitivity varies from day to day" in page
    client.cookies.set("lang", "zh")
    page = client.get("/simulator").text
    assert "漏打" in page and "胰岛素敏感性逐日变化" in page


@pytest.mark.parametrize(
    "form",
    [
        {"sample_size": "0", "days": "30"},
        {"sample_size": "x"},
        {"sample_size": "5", "days": "731"},
    ],
)
def test_simulator_refuses_sizes_out_of_bounds(client, form):
    r = client.post("/simulator", data=form)
    assert r.status_code == 400 and 'role="alert"' in r.text


@pytest.mark.parametrize("path", ["/regulation", "/simulator"])
@pytest.mark.parametrize(
    "body,why", [(b"text=\xff\xfe", "not UTF-8"), (b"text=" + b"x" * MAX_FORM_BYTES, "larger")]
)
def test_a_form_too_large_or_not_utf8_is_the_page_with_a_400_saying_why(client, path, body, why):
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = client.post(path, content=body, headers=form)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert why in r.text and "<form" in r.text


def test_a_page_refusing_a_method_names_those_it_allows(client):
    """A web page's 405 is a page, with the ``Allow`` header HTTP asks for (the API's had it)."""
    r = client.post("/trials")
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert r.headers["allow"] == "GET, HEAD"  # every read answers HEAD too


def test_a_search_page_with_a_parameter_given_twice_says_so(client):
    r = client.get("/trials", params=[("status", "recruiting"), ("status", "completed")])
    assert r.status_code == 400 and "is given twice" in r.text


def test_a_findings_evidence_is_said_in_words_not_python(client):
    """Evidence read ``claims = ['guaranteed', 'cure']``, ``product_approved = None`` and
    ``country = CN — country: CN (json)`` on a Chinese page."""
    text = "脐带间充质干细胞治疗糖尿病，一个疗程收费8万元，保证根治"
    client.cookies.set("lang", "zh")
    page = client.post("/regulation", data={"text": text, "country": "CN"}).text
    result = unescape(re.sub(r"<[^>]+>", "", page.split('id="rules-h"')[0]))
    assert "所作宣称：保证疗效、根治" in result and "声明已获监管部门批准：未注明" in result
    assert "所在地：中国 — 国家或地区：中国（所填字段）" in result and "（报价文字）" in result
    assert " (" not in result  # brackets full-width in Chinese
    for python in ("None", "True", "False", "['", " = ", "(json)", "(text)"):
        assert python not in result, python
    client.cookies.set("lang", "en")
    english = client.post("/regulation", data={"text": text, "country": "CN"}).text
    assert "a regulator&#39;s approval stated: <strong>not stated</strong>" in english


@pytest.mark.parametrize(
    "offer,english,chinese",
    [
        ({"text": "幹細胞療程，療程費用NT$300,000"}, "price in TWD", "价格以 TWD 计：“NT$300,000”"),
        ({"text": "赴日本接受干细胞治疗"}, "named as where to go", "“赴”之后的“日本”"),
        ({"text": "中国患者在东京接受干细胞治疗，费用¥300万"}, "its own money", "在日本，¥ 和 元"),
        ({"text": "胰岛素泵强化治疗，根治糖尿病"}, "written in simplified", "以简体中文书写"),
        ({"text": OFFER, "registered_trial_id": "NCT01219465"}, "lookup of", "在 isletbase 中查找"),
    ],
)
def test_the_checkers_own_evidence_is_in_the_readers_language(client, offer, english, chinese):
    """Evidence the checker words itself ("price in TWD: 'NT$300,000'", "date of the
    check") was English on the Chinese page; quotes from the offer stay as written."""
    zh = unescape(client.post("/regulation?lang=zh", data=offer).text.split('id="rules-h"')[0])
    assert chinese in zh and english not in zh and "date of the check" not in zh
    en = unescape(client.post("/regulation?lang=en", data=offer).text.split('id="rules-h"')[0])
    assert english in en and chinese not in en


def test_the_simulators_example_arms_read_as_words(client):
    """An arm's graft was printed as Python: "dose_cells: 800000000.0, regimen: hypoimmune"."""
    client.cookies.set("lang", "zh")
    page = client.get("/simulator").text
    assert "低免疫原性细胞，不用免疫抑制，0.8 × 10⁹ 个细胞" in page and "仅用胰岛素" in page
    assert "800000000" not in page and "dose_cells" not in page
    assert "低免疫原性移植物" in page and "hypoimmune graft" not in page  # the arm's name


def test_a_chinese_simulation_is_told_and_drawn_in_chinese(client):
    """The design, the arms, the table's heads and the whole plot were English on the Chinese
    page, a p-value read 1.08e-11 and power 1.0."""
    import base64

    page = client.post("/simulator?lang=zh", data={"sample_size": "2", "days": "14"}).text
    text = unescape(re.sub(r"<[^>]+>", "|", page))
    assert "干细胞来源胰岛移植" in text and "|糖化血红蛋白（%）|" in text and "|P 值|" in text
    assert "|移植物＋标准免疫抑制|" in text and "graft + standard IS" not in text
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", page)[1]).decode()
    assert "<!-- 移植后天数 -->" in svg and "<!-- 低免疫原性移植物 -->" in svg
    assert "day after transplant" not in svg
    assert not re.search(r"\d\.\d+e-\d", text)  # no p-value in scientific notation


def test_a_simulation_that_fails_on_the_page_is_a_page_saying_why(client, monkeypatch):
    """Only an input error was caught: another of the library's errors reached the API's
    handler, and a web form was answered with a JSON problem document."""
    from isletbase.errors import NotFoundError
    from isletbase.web import capabilities

    def missing(*_: object) -> None:
        raise NotFoundError("no such virtual patient: adult#999")

    monkeypatch.setattr(capabilities, "simulate_example", missing)
    r = client.post("/simulator", data={"sample_size": "2", "days": "14"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "adult#999" in r.text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_offer_placed_nowhere_is_told_which_rules_still_applied(client, lang):
    """The page said only international guidance was applied, then listed US-FDA-003 (United
    States): an authority's word on a claim of its own approval holds wherever it is made."""
    text = "Our clinic offers stem cell therapy for type 1 diabetes. Registered with FDA."
    result = client.post(f"/regulation?lang={lang}", data={"text": text}).text
    result = unescape(result.split('id="rules-h"')[0])
    note = re.search(r'<p data-fact="country">(.*?)</p>', result, re.S).group(1)
    assert "<code>US-FDA-003</code>" in result
    assert ("registered with FDA" if lang == "en" else "FDA注册") in note
    assert "only international guidance" not in note and "仅适用国际指南" not in note


def test_every_link_of_the_evidence_page_is_an_address(client):
    html = client.get("/evidence", params={"lang": "zh"}).text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and not [h for h in hrefs if " " in h or "(secondary)" in h]
    assert "（新闻报道）" in html


def test_a_pool_names_the_records_it_leaves_out_by_study_and_outcome(client):
    """Its list of records left out gave their ids (bhansali-2017b-insulin-independence-6m)."""
    html = client.get("/evidence", params={"lang": "zh"}).text
    left_out = re.findall(r"<p>未纳入：(.*?)</p>", html, re.S)
    assert left_out and not re.search(r"\b[a-z]+-\d{4}[a-z]?-[a-z-]+\d*m?\b", " ".join(left_out))
    assert "Zang 2023 · " in left_out[0] or "Zang 2023 · " in " ".join(left_out)
    # each case's title in Chinese (our translation), its country as the reader reads it
    assert "1型糖尿病女性患者移植自体化学诱导多能干细胞来源胰岛 (2024, 中国)" in html


def test_the_case_write_ups_are_in_the_reader_s_language(client):
    """The Chinese page gave the write-ups in English, with a notice saying so."""
    zh = unescape(client.get("/evidence", params={"lang": "zh"}).text)
    en = unescape(client.get("/evidence", params={"lang": "en"}).text)
    for case in load_cases():
        assert case.what_was_done_zh in zh and case.outcome_zh in zh and case.caveats_zh[0] in zh
        assert case.what_was_done not in zh and case.what_was_done in en
        assert case.what_was_done_zh not in en
    assert strings()["zh"]["cases_english_only"] not in zh


def test_why_a_pool_leaves_a_record_out_is_in_the_reader_s_language(client):
    """ "single-arm: no control arm" and the overlaps' reasons were English on the Chinese page."""
    zh = unescape(client.get("/evidence", params={"lang": "zh"}).text)
    assert "单臂研究：无对照组" in zh and "可能与 Zang 2022" in zh
    assert "no control arm" not in zh and "may count the same patients" not in zh
    en = unescape(client.get("/evidence", params={"lang": "en"}).text)
    assert "single-arm: no control arm" in en and "单臂研究" not in en


def test_the_check_names_an_offers_country_and_a_cited_trials_status_in_chinese(client):
    """ "国家：CN" (an offer's field) and "NCT01219465 的状态：UNKNOWN" (a looked-up status) gave
    codes where the page has names."""
    offer = {"text": OFFER, "country": "CN", "registered_trial_id": "NCT01219465"}
    zh = unescape(client.post("/regulation?lang=zh", data=offer).text.split('id="rules-h"')[0])
    assert "国家或地区：中国" in zh and "国家或地区：CN" not in zh
    assert "NCT01219465 的状态：状态未知" in zh and "UNKNOWN" not in zh


def test_a_trials_findings_name_institutions_cells_and_statuses_in_chinese(client):
    """A Chinese trial page read "changzheng-hospital 未见于任何备案名单", "细胞来源：UC-MSC" and
    "状态为 RECRUITING": the directory's id and the vocabularies' codes where readers read names."""

    def findings(trial_id: str) -> str:
        page = client.get(f"/trials/{trial_id}", params={"lang": "zh"}).text
        return unescape(re.sub(r"<[^>]+>", "", page))

    changzheng = findings("NCT06196996")
    assert "海军军医大学第二附属医院未见于已公布的备案名单" in changzheng
    assert "在干细胞临床研究机构备案名单中：未见" in changzheng
    assert "changzheng-hospital" not in changzheng
    assert "细胞来源：脐带间充质干细胞（isletbase 数据库）" in findings("NCT01413035")
    stale = findings("NCT04061746")
    assert "状态为“正在招募”，但自 2022-03-31 起未再更新" in stale and "RECRUITING" not in stale
    english = unescape(client.get("/trials/NCT06196996", params={"lang": "en"}).text)
    assert "changzheng-hospital not seen on a filing list" in english  # the API's words
    assert "on a stem-cell institution filing list: <strong>not seen</strong>" in english


@pytest.mark.parametrize(
    ("path", "slot", "form", "kept", "key"),
    [("/simulator", SIMULATION, {"sample_size": "3", "days": "21"}, 'value="21"', "simulator_busy"),
     ("/regulation", CHECK, {"text": OFFER}, OFFER, "check_busy")],
)  # fmt: skip
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_form_sent_while_the_server_is_busy_keeps_what_was_typed(
    client, path, slot, form, kept, key, lang
):
    """Another run holding the server answered a bare 503 page, in English on a Chinese one,
    with the form and what was typed gone."""
    assert slot.try_take()
    try:
        r = client.post(path, params={"lang": lang}, data=form)
    finally:
        slot.give_back()
    assert r.status_code == 503 and r.headers["retry-after"] == str(RETRY_AFTER_S)
    page = unescape(r.text)
    assert strings()[lang][key] in page
    assert kept in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_simulator_says_which_endpoint_its_p_and_power_test(client, lang):
    """p = 1.000 and 0 % power stood beside HbA1c 6.72 against 6.32 with nothing saying they
    tested insulin independence, the example's primary endpoint."""
    page = unescape(
        client.post(
            "/simulator", params={"lang": lang}, data={"sample_size": "2", "days": "14"}
        ).text
    )
    text = strings()[lang]
    assert text["p_and_power_of"].format(endpoint=text["insulin_independent"]) in page


def test_a_check_with_notes_only_does_not_say_nothing_was_found(client):
    """An offer citing a trial id gets a note (INTL-TRIAL-001) and the heading said "nothing
    found" above it."""
    text = "We run a stem cell study, NCT99999999."
    page = client.post("/regulation", params={"lang": "en"}, data={"text": text}).text
    findings = page.split('id="rules-h"')[0]
    assert "<code>INTL-TRIAL-001</code>" in findings and "red_flag" not in findings
    worst = re.search(r'data-testid="worst">([^<]*)<', page)[1]
    assert unescape(worst) == strings()["en"]["worst_notes"]
    plain = client.post("/regulation", params={"lang": "en"}, data={"text": "hello"}).text
    assert re.search(r'data-testid="worst">([^<]*)<', plain)[1] == strings()["en"]["worst_none"]


@pytest.mark.parametrize(
    ("path", "form"),
    [("/regulation", {"text": OFFER}), ("/simulator", {"sample_size": "2", "days": "14"})],
)
def test_switching_language_on_a_form_s_result_sends_the_form_again(client, path, form):
    """The language link on a checked offer or a run simulation was a plain link: the other
    language's page came back empty, what was typed and its result gone."""
    page = client.post(path, params={"lang": "zh"}, data=form).text
    switch = re.search(r'<form method="post" action="([^"]+)" class="lang-form">(.*?)</form>', page)
    assert switch and unescape(switch[1]) == f"{path}?lang=en"
    resent = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', switch[2]))
    assert {k: unescape(v) for k, v in resent.items()} == form
    english = client.post(unescape(switch[1]), data=form)
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert 'class="lang-form"' not in client.get(path).text  # a page of no form's result
