"""Evidence API through an HTTP client against the real app."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from isletbase.api import create_app
from isletbase.app import create
from isletbase.evidence.living import update
from isletbase.evidence.outcomes import bundled_path
from isletbase.evidence.pools import pool_outcomes
from isletbase.store.db import Database


def test_evidence_routes(db: Database) -> None:
    update(db)
    client = TestClient(create_app(db))
    assert len(client.get("/api/evidence/outcomes", params={"condition": "T1D"}).json()) > 10
    pooled = client.get(
        "/api/evidence/pool", params={"outcome": "glycaemic_response", "condition": "T2D"}
    ).json()
    assert pooled["k"] == 2 and pooled["measure"] == "RR"
    lower = {"outcome": "glycaemic_response", "condition": "T2D", "method": "dl", "measure": "rr"}
    as_cli = client.get("/api/evidence/pool", params=lower)  # the CLI takes any case: a 422
    assert as_cli.status_code == 200 and as_cli.json()["method"] == "DL"
    # Zang 2023 may count Zang 2022's patients: out, and the answer says why
    out = {e["outcome"]: e["reason"] for e in pooled["excluded"]}
    assert "same patients as Zang 2022" in out["zang-2023-glycaemic-response-11m"]
    svg = client.get("/api/evidence/pool.svg", params={"outcome": "hba1c", "condition": "T2D"})
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    pools = client.get("/api/evidence/pools").json()
    assert {p["name"] for p in pools} == {"t2d-glycaemic-response-rr", "t2d-hba1c-md"}
    assert client.get("/api/evidence/cases/vx-880-zimislecel").json()["pmid"] == "40544428"
    grade = client.get(
        "/api/evidence/igls",
        params={"hba1c": 6.8, "severe_hypos": 0, "insulin_reduction": 60, "c_peptide": 0.6},
    )
    assert grade.json()["treatment_outcome"] == "good"


def test_evidence_errors_are_problem_json(db: Database) -> None:
    client = TestClient(create_app(db))
    bad = client.get("/api/evidence/pool", params={"outcome": "insulin_independence"})
    assert bad.status_code == 400 and "cannot pool" in bad.json()["detail"]
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/evidence/cases/nope").status_code == 404
    assert client.get("/api/evidence/pool", params={"outcome": "bmi"}).status_code == 400


def test_the_svg_and_json_pools_take_the_same_parameters_and_the_svg_is_stable(db: Database):
    client = TestClient(create_app(db))
    params = {"outcome": "hba1c", "condition": "T2D", "method": "DL"}
    first = client.get("/api/evidence/pool.svg", params=params)
    second = client.get("/api/evidence/pool.svg", params=params)
    assert first.text == second.text and first.headers["etag"] == second.headers["etag"]
    assert "HbA1c · T2D" in first.text  # the title names what was pooled
    for path in ("/api/evidence/pool", "/api/evidence/pool.svg"):
        bad = client.get(path, params={**params, "method": "XX"})
        assert bad.status_code == 422 and "query.method" in bad.json()["detail"]
    spec = client.get("/api/openapi.json").json()["paths"]
    names = [
        [p["name"] for p in spec[path]["get"]["parameters"]]
        for path in ("/api/evidence/pool", "/api/evidence/pool.svg")
    ]
    assert names[0] == ["outcome", "condition", "cell_source", "measure", "method", "hk"]
    assert sorted(names[1]) == sorted([*names[0], "lang"])  # and the plot's language


def test_evidence_filters_take_names_refuse_the_unknown_and_each_once(db) -> None:
    """condition=1型糖尿病 and a cell source's Chinese name found nothing, an unknown value
    found nothing (and a pool then blamed the data), and a parameter given twice read the last."""
    client = TestClient(create_app(db))
    get = client.get
    by_code = get("/api/evidence/outcomes", params={"condition": "T1D"}).json()
    assert (
        by_code
        and get("/api/evidence/outcomes", params={"condition": "1型糖尿病"}).json() == by_code
    )
    uc = get("/api/evidence/outcomes", params={"cell_source": "UC-MSC"}).json()
    assert (
        uc
        and get("/api/evidence/outcomes", params={"cell_source": "脐带间充质干细胞"}).json() == uc
    )
    for path, outcome in (
        ("/api/evidence/outcomes", {}),
        ("/api/evidence/pool", {"outcome": "hba1c"}),
    ):
        bogus = get(path, params={**outcome, "condition": "bogus"})
        assert bogus.status_code == 400 and "unknown condition 'bogus'" in bogus.json()["detail"]
    twice = get("/api/evidence/pool?outcome=hba1c&outcome=c_peptide_auc")
    assert twice.status_code == 400 and "'outcome' is given twice" in twice.json()["detail"]


def test_the_api_and_the_evidence_page_read_the_stored_outcomes(db: Database, tmp_path) -> None:
    """Both read the bundled file alone: a record withdrawn and one corrected by
    ``evidence update`` were listed, pooled and drawn as before."""
    rows = [json.loads(line) for line in bundled_path().read_text().splitlines()]
    for row in rows:
        if row["id"] == "zang-2022-glycaemic-response-11m":
            row["events_treated"] = 8
    curated = tmp_path / "outcomes.jsonl"
    curated.write_text("\n".join(json.dumps(r) for r in rows if r["id"] != "haller-2009-hba1c-12m"))
    params = {"outcome": "glycaemic_response", "condition": "T2D"}
    before = pool_outcomes(**params).estimate  # the bundled records'
    update(db, curated, withdraw_missing=True)
    client = TestClient(create(db))
    listed = {o["id"] for o in client.get("/api/evidence/outcomes").json()}
    assert listed == {r["id"] for r in rows} - {"haller-2009-hba1c-12m"}
    stored = {p["name"]: p for p in client.get("/api/evidence/pools").json()}
    estimate = client.get("/api/evidence/pool", params=params).json()["estimate"]
    assert estimate == stored["t2d-glycaemic-response-rr"]["result"]["estimate"] != before
    page = client.get("/evidence", params={"lang": "en"}).text
    assert f"({len(listed)})</h2>" in page and f"RR {estimate:.2f}" in page


def test_a_forest_plot_is_drawn_in_the_language_asked(loaded_db):
    """The Chinese Evidence page showed plots in English ("Study", "mean difference")."""
    client = TestClient(create(loaded_db))
    params = {"outcome": "hba1c", "condition": "T2D"}
    english = client.get("/api/evidence/pool.svg", params=params).text
    chinese = client.get("/api/evidence/pool.svg", params={**params, "lang": "zh"}).text
    # matplotlib draws text as paths, each with the words it draws in a comment
    assert "<!-- Study -->" in english and "研究" not in english
    assert "<!-- 研究 -->" in chinese and "均数差" in chinese and "Study" not in chinese
    # its title names what was pooled ("hba1c · T2D" was the query's codes)
    assert "<!-- HbA1c · T2D -->" in english and "<!-- 糖化血红蛋白 · 2型糖尿病 -->" in chinese
    # a study's timepoint too ("Zang 2022 (11 mo)" on a Chinese plot)
    assert " mo) -->" in english and " mo)" not in chinese and " 个月） -->" in chinese
    assert client.get("/api/evidence/pool.svg", params={**params, "lang": "fr"}).status_code == 422
    for written in ("ZH", "zh-CN", "zh-Hans"):  # refused, where measure and method took any case
        assert (
            client.get("/api/evidence/pool.svg", params={**params, "lang": written}).text == chinese
        )
    page = client.get("/evidence", params={"lang": "zh"}).text
    assert "&amp;lang=zh" in page.split('class="forest"')[1].split(">")[0]
    assert " 个月）</td>" in page and " mo)</td>" not in page  # the pooled studies' table
    assert (
        client.get("/api/evidence/pool", params=params)
        .json()["studies"][0]["study"]
        .endswith(" mo)")
    )  # the JSON stays English


def test_standing_pools_are_listed_before_any_update_as_the_page_shows_them(db: Database) -> None:
    """The evidence page draws its pools from the outcomes; its JSON link answered [] until
    ``evidence update`` had stored them (a fresh ``db load``, as ``make run`` makes)."""
    client = TestClient(create(db))
    listed = client.get("/api/evidence/pools").json()
    assert [p["name"] for p in listed] == ["t2d-glycaemic-response-rr", "t2d-hba1c-md"]
    assert all(p["computed_at"] is None and p["error"] is None for p in listed)
    page = client.get("/evidence").text
    for p in listed:
        assert f"{p['result']['measure']} {p['result']['estimate']:.2f}</strong>" in page
    update(db)
    stored = TestClient(create(db)).get("/api/evidence/pools").json()  # a new response cache
    keys = ("k", "estimate", "ci_low", "ci_high", "p_value")
    for kept, shown in zip(stored, listed, strict=True):
        assert [kept["result"][k] for k in keys] == pytest.approx(
            [shown["result"][k] for k in keys], rel=1e-6
        )
    assert all(p["computed_at"] for p in stored)
