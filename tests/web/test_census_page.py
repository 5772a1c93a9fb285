"""The census page shows the PRISMA counts from the screening log and the flow diagram."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from isletbase import census
from isletbase.app import create
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials


def test_census_page_shows_the_counts_of_the_screening_log(loaded_db):
    client = TestClient(create(loaded_db))
    counts = census.prisma(census.load_screening(), census.load_protocol())
    html = client.get("/census").text
    for number in (counts.identified, counts.screened, counts.included, counts.included_china):
        assert f"<td>{number}</td>" in html
    zh = client.get("/census", params={"lang": "zh"}).text
    assert "普查" in zh


def test_census_flow_diagram_is_valid_svg_with_the_included_count(loaded_db):
    client = TestClient(create(loaded_db))
    r = client.get("/census/flow.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    ElementTree.fromstring(r.content)
    counts = census.prisma(census.load_screening())
    assert str(counts.included_china) in r.text


def test_the_census_in_chinese_draws_its_diagram_and_reasons_in_chinese(loaded_db):
    """The diagram and the exclusion reasons were English on the Chinese page."""
    client = TestClient(create(loaded_db))
    page = client.get("/census", params={"lang": "zh"}).text
    assert 'src="/census/flow.svg?lang=zh"' in page and "论文、综述、新闻或商业页面" in page
    svg = client.get("/census/flow.svg", params={"lang": "zh"}).text
    ElementTree.fromstring(svg.encode())
    assert "检出记录" in svg and "纳入" in svg and "Records identified" not in svg
    assert "Records identified" in client.get("/census/flow.svg", params={"lang": "en"}).text
    # where records were found, in words (it read "code: 15", "shared:trials.jsonl: 62")
    assert "公开代码仓库文件：15" in svg and "此前整理的记录（trials.jsonl）" in svg
    assert "code: " not in svg and "shared:" not in svg and "core: " not in svg


def test_a_search_s_china_trials_are_the_census_s_and_the_excluded_ones_loaded(loaded_db):
    """The census said 57 trials in China where a search of the database found 58, with no
    word of why: the database holds excluded records too (NCT02336646, critical limb
    ischaemia, not specific to diabetes), and the census page now says how many and why."""
    rows = census.load_screening()
    chosen = {r.id for r in rows if r.decision == "included"}
    china = {r.id for r in rows if r.decision == "included" and r.scope == "china"}
    excluded = {r.id for r in rows if r.decision == "excluded"} - chosen
    found = search_trials(loaded_db, TrialQuery(country="China", per_page=500)).items
    for trial in found:
        ids = {r.id for r in trial.registry_ids}
        assert ids & (china | excluded), trial.display_id
    loaded = [t for t in found if not {r.id for r in t.registry_ids} & china]
    assert [t.display_id for t in loaded] == ["NCT02336646"]
    counts = census.prisma(rows, census.load_protocol(), census.load_trials())
    assert counts.loaded_excluded["not-diabetes"] == 1
    html = TestClient(create(loaded_db)).get("/census").text
    note = html.split('data-testid="loaded-excluded">')[1].split("</ul>")[0]
    assert str(sum(counts.loaded_excluded.values())) in note and "not specific to diabetes" in note


def test_the_census_names_its_sources_in_the_reader_s_language(loaded_db):
    """Its steps were labelled with internal keys ("检出 — code", "— shared:trials.jsonl")."""
    client = TestClient(create(loaded_db))
    protocol = census.load_protocol()
    for lang, name in (("en", "Stored public web pages"), ("zh", "已存储的公开网页")):
        html = client.get("/census", params={"lang": lang}).text
        steps = re.findall(r"<td>[^<]* — ([^<]*)</td><td>\d+</td>", html)
        assert steps and any(name in step for step in steps)
        assert not {"code", "pages", "core.jsonl"} & set(steps)
    assert protocol.source_name("shared:trials.jsonl").endswith(" — trials.jsonl")
    assert protocol.source_name("nowhere") == "nowhere"


def test_the_census_s_yield_note_is_in_the_reader_s_language(loaded_db):
    """The note on what the search yielded was English, marked so, on the Chinese page."""
    client = TestClient(create(loaded_db))
    protocol = census.load_protocol()
    note = re.compile(r'<p[^>]*data-testid="yield-note">(.*?)</p>', re.S)
    zh = note.search(client.get("/census", params={"lang": "zh"}).text)[1]
    assert zh == protocol.yield_note_zh and "62" in zh and "ClinicalTrials.gov" in zh
    en = note.search(client.get("/census", params={"lang": "en"}).text)[1]
    assert en == protocol.yield_note and protocol.yield_note_zh not in en


def test_the_yield_note_in_chinese_gives_the_english_s_numbers():
    """A translation that dropped or changed a number would say something else."""
    protocol = census.load_protocol()
    assert protocol.yield_note and protocol.yield_note_zh
    numbers = set(re.findall(r"\d+", protocol.yield_note))  # "October 2022" is "2022 年 10 月"
    assert numbers == set(re.findall(r"\d+", protocol.yield_note_zh))
