"""The foundation's JSON API over real HTTP (ASGI) on a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from isletbase.api import create_app


def client(db) -> TestClient:
    return TestClient(create_app(db))


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


def test_openapi_docs_are_served(loaded_db):
    c = client(loaded_db)
    assert c.get("/api/docs").status_code == 200
    assert "/api/trials" in c.get("/api/openapi.json").json()["paths"]


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
