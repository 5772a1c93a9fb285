"""The ClinicalTrials.gov v2 client against a local server replaying recorded-format pages."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from isletbase.cli import app
from isletbase.errors import InputError
from isletbase.harvest import list_quarantine, run_ctgov
from isletbase.sources.ctgov import CtgovClient, search_params, to_record
from isletbase.store.schema import QuarantineRow
from isletbase.store.trial_reads import get_trial

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "registries"
PAGE1 = (FIXTURES / "ctgov_page1.json").read_bytes()
PAGE2 = (FIXTURES / "ctgov_page2.json").read_bytes()
TOKEN = json.loads(PAGE1)["nextPageToken"]


class Registry:
    """A scripted registry: per page token, a queue of answers (status, body) served in order."""

    def __init__(self, script: dict[str | None, list[tuple[int, bytes]]]) -> None:
        self.script = script
        self.seen: list[dict[str, list[str]]] = []

    def answer(self, query: dict[str, list[str]]) -> tuple[int, bytes]:
        self.seen.append(query)
        token = query.get("pageToken", [None])[0]
        queue = self.script[token]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def registry() -> Iterator[tuple[Registry, str]]:
    state = Registry({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            status, body = state.answer(parse_qs(urlparse(self.path).query))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v2/studies"
    server.shutdown()
    server.server_close()


def _client(url: str, attempts: int = 5) -> CtgovClient:
    return CtgovClient(base_url=url, rate=0, attempts=attempts, backoff=0.001, timeout=5)


def test_client_retries_429_500_and_a_truncated_body_then_pages_to_the_end(registry) -> None:
    state, url = registry
    state.script = {
        None: [(429, b'{"message": "Too Many Requests"}'), (200, PAGE1)],
        TOKEN: [(500, b"oops"), (200, PAGE2[: len(PAGE2) // 2]), (200, PAGE2)],
    }
    client = _client(url)
    pages = list(client.pages(search_params("diabetes AND stem cell", "China", "2010-01-01")))
    assert [len(p.studies) for p in pages] == [2, 3]
    assert pages[0].total == 4 and pages[1].next_token is None
    assert client.requests == 5
    first = state.seen[0]
    assert first["query.term"] == ["diabetes AND stem cell"]
    assert first["query.locn"] == ["China"]
    assert first["filter.advanced"] == ["AREA[LastUpdatePostDate]RANGE[2010-01-01,MAX]"]
    assert first["countTotal"] == ["true"] and "pageToken" not in first
    assert state.seen[-1]["pageToken"] == [TOKEN]


def test_a_registry_that_keeps_failing_is_a_clear_error(registry) -> None:
    state, url = registry
    state.script = {None: [(503, b"down")]}
    with pytest.raises(InputError, match="did not answer after retries"):
        _client(url, attempts=3).page(search_params("x"))
    assert len(state.seen) == 3


def test_an_html_page_instead_of_json_is_named_as_one(registry) -> None:
    state, url = registry
    state.script = {None: [(200, b"<html><body>Down for maintenance</body></html>")]}
    with pytest.raises(InputError, match="answered an HTML page, not JSON.*maintenance"):
        _client(url, attempts=2).page(search_params("x"))
    assert len(state.seen) == 2


def test_a_bad_request_is_not_retried(registry) -> None:
    state, url = registry
    state.script = {None: [(400, b'{"message": "invalid query.term"}')]}
    with pytest.raises(InputError, match="400"):
        _client(url).page(search_params("x"))
    assert len(state.seen) == 1


def _stopped_after_page_one(db, state: Registry, url: str) -> InputError:  # noqa: ANN001
    """A run of the search "diabetes" that stores page 1 and stops: the registry is down for
    page 2. Returns the error it stopped with."""
    state.script = {None: [(200, PAGE1)], TOKEN: [(503, b"down")]}
    with pytest.raises(InputError) as stopped:
        run_ctgov(db, "diabetes", client=_client(url, attempts=1))
    return stopped.value


def test_ingest_ctgov_loads_pages_quarantines_the_bad_record_and_resumes(db, registry) -> None:
    state, url = registry
    # the second page never comes: the run stops after committing page 1
    stopped = str(_stopped_after_page_one(db, state, url))
    # it said only that the registry did not answer, not that page 1 was stored
    assert "stored before it: 2 new, 0 updated, 0 quarantined" in stopped
    assert "the same command again resumes" in stopped
    assert get_trial(db, "NCT01219465") is not None
    assert get_trial(db, "NCT05507697") is None
    # a rerun starts at the page after the last one stored
    state.seen.clear()
    state.script = {None: [(200, PAGE1)], TOKEN: [(200, PAGE2)]}
    report = run_ctgov(db, "diabetes", client=_client(url))
    assert state.seen[0].get("pageToken") == [TOKEN]
    assert (report.fetched, report.new, report.quarantined) == (3, 2, 1)
    assert report.resumed_after == 1  # said: its counts leave page 1 out
    assert "study #3" in report.errors[0] and "nctId" in report.errors[0]
    missing = get_trial(db, "NCT00000000")
    assert missing is not None and missing.sponsor is None and missing.sites == []
    # a finished run starts again from the first page; nothing changed, nothing is written
    again = run_ctgov(db, "diabetes", client=_client(url))
    assert (again.new, again.updated, again.unchanged, again.quarantined) == (0, 0, 4, 1)


def test_a_page_token_given_again_stops_the_run_instead_of_looping(registry) -> None:
    state, url = registry
    again = json.loads(PAGE1)
    state.script = {None: [(200, PAGE1)], TOKEN: [(200, json.dumps(again).encode())]}
    with pytest.raises(InputError, match=rf"page token '{TOKEN}' again after 2 page"):
        list(_client(url).pages(search_params("x")))
    assert len(state.seen) == 2


def test_a_resumed_run_whose_token_is_refused_says_so_and_restart_begins_afresh(
    db, registry
) -> None:
    state, url = registry
    _stopped_after_page_one(db, state, url)
    # the registry down when the run resumes: starting afresh would not help, so no hint
    with pytest.raises(InputError) as down:
        run_ctgov(db, "diabetes", client=_client(url, attempts=1))
    assert "--restart" not in str(down.value)
    state.script = {None: [(200, PAGE1)], TOKEN: [(400, b'{"error": "expired token"}')]}
    with pytest.raises(InputError, match=r"resumed .* after its 1 stored page.*--restart"):
        run_ctgov(db, "diabetes", client=_client(url))
    state.seen.clear()
    state.script = {None: [(200, PAGE1)], TOKEN: [(200, PAGE2)]}
    report = run_ctgov(db, "diabetes", client=_client(url), restart=True)
    assert "pageToken" not in state.seen[0] and len(state.seen) == 2
    assert (report.fetched, report.unchanged, report.new) == (5, 2, 2)


def test_studies_without_an_id_on_two_pages_are_two_quarantined_records(db, registry) -> None:
    state, url = registry
    one, two = json.loads(PAGE1), json.loads(PAGE2)
    for page, title in ((one, "first orphan"), (two, "second orphan")):
        orphan = copy.deepcopy(page["studies"][0])
        del orphan["protocolSection"]["identificationModule"]["nctId"]
        orphan["protocolSection"]["identificationModule"]["briefTitle"] = title
        page["studies"] = [orphan]
    two.pop("nextPageToken", None)
    state.script = {
        None: [(200, json.dumps(one).encode())],
        TOKEN: [(200, json.dumps(two).encode())],
    }
    assert run_ctgov(db, "orphans", client=_client(url)).quarantined == 2
    refs = sorted(q.ref for q in list_quarantine(db))
    assert [re.fullmatch(r"search [0-9a-f]{8} page (\d), study #1", r)[1] for r in refs] == [
        "1",
        "2",
    ]
    with db.session() as session:
        payloads = session.scalars(select(QuarantineRow.payload)).all()
    assert sorted("second" in p for p in payloads) == [False, True]


def test_ctgov_record_fields_land_in_the_trial(db, registry) -> None:
    state, url = registry
    state.script = {None: [(200, PAGE1)], TOKEN: [(200, PAGE2)]}
    run_ctgov(db, "diabetes", client=_client(url))
    trial = get_trial(db, "NCT01219465")
    assert trial.status_code == "UNKNOWN"
    assert trial.cell_source == "UC-MSC" and trial.condition == "T1D"
    assert trial.sites[0].city == "Qingdao" and trial.region == "mainland China"
    assert trial.enrollment == 50 and trial.enrollment_type == "estimated"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "   "}, "--query: empty"),
        ({"query": "x", "since": "2025-01-01],MAX] OR AREA[Phase]RANGE[x"}, "--since"),
        ({"query": "x", "since": "2025-01-01T99:99"}, "--since"),
        ({"query": "x", "since": "2025-1-1"}, "--since"),
    ],
)
def test_search_parameters_refuse_a_blank_query_and_anything_but_a_date(kwargs, message) -> None:
    """``since`` is written into the registry's own query language: nothing but a date may
    reach it; a blank query would ask for the whole registry."""
    with pytest.raises(InputError, match=re.escape(message)):
        search_params(**kwargs)
    assert search_params("x", since=" 2025-01 ")["filter.advanced"] == (
        "AREA[LastUpdatePostDate]RANGE[2025-01,MAX]"
    )


@pytest.mark.parametrize("nct", ["NCT0123", "NCT01234567' OR 1=1", "NCT01234567\x00", "NCT"])
def test_a_study_id_that_is_not_nct_and_8_digits_is_rejected(nct: str) -> None:
    study = {"protocolSection": {"identificationModule": {"nctId": nct, "briefTitle": "t"}}}
    with pytest.raises(InputError, match="expected NCT and 8 digits"):
        to_record(study)


def test_a_study_id_in_lower_case_is_the_registry_s_id() -> None:
    study = {"protocolSection": {"identificationModule": {"nctId": " nct01234567"}}}
    record = to_record(study)
    assert record.display_id == "NCT01234567"
    assert record.source_url == "https://clinicaltrials.gov/study/NCT01234567"


def test_the_cli_says_a_run_resumed_and_that_its_counts_leave_out_the_pages_before(
    db, registry
) -> None:
    state, url = registry
    _stopped_after_page_one(db, state, url)
    state.script = {None: [(200, PAGE1)], TOKEN: [(200, PAGE2)]}
    command = ["ingest", "ctgov", "--query", "diabetes", "--base-url", url, "--rate", "50"]
    done = CliRunner().invoke(app, [*command, "--db", db.url])
    said = " ".join(done.output.split())
    assert "resumed after page 1, stored by an earlier run of this search" in said
    assert "its records are not counted here" in said
