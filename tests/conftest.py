"""Fixtures: real databases in temporary places, on SQLite and on PostgreSQL.

Every test that takes ``db`` or ``loaded_db`` runs once per backend. PostgreSQL comes from
``$ISLETBASE_TEST_PG`` (``make test`` and CI start a server and set it); without it the
fixture starts one with ``scripts/postgres.sh``. Each PostgreSQL test gets its own schema, so
tests never see each other's rows. ``ISLETBASE_TEST_BACKENDS=sqlite`` limits a local run.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from isletbase.ingest import load_bundled
from isletbase.store.db import Database

#: Seconds ``ends`` waits: for inputs that kept a regular expression backtracking for hours.
ENDS_WITHIN_S = 120

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = [
    b.strip()
    for b in os.environ.get("ISLETBASE_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("ISLETBASE_TEST_PG")
    if not url:
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"PostgreSQL could not be started: {done.stderr.strip()[-500:]}")
        url = done.stdout.strip().splitlines()[-1]
        os.environ["ISLETBASE_TEST_PG"] = url
    return url


def _pg_schema_url(server_url: str) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options={quote(f'-csearch_path={schema},public')}", schema


def _pg_drop(server_url: str, schema: str) -> None:
    engine = create_engine(server_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on the parametrised backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server = request.getfixturevalue("pg_server_url")
    url, schema = _pg_schema_url(server)
    yield url
    _pg_drop(server, schema)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An initialised, empty database."""
    database = Database(db_url)
    database.init()
    yield database
    database.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The bundled data loaded once per backend; tests must only read it."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('loaded') / 'isletbase.db'}")
        schema = None
    else:
        server = request.getfixturevalue("pg_server_url")
        url, schema = _pg_schema_url(server)
        database = Database(url)
    report = load_bundled(database)
    assert report.quarantined == 0, report.errors
    yield database
    database.dispose()
    if schema:
        _pg_drop(request.getfixturevalue("pg_server_url"), schema)


@pytest.fixture
def ends() -> Callable[[Callable[[], object]], object]:
    """Run a call in a forked process and give its result, failing if it has not ended within
    ``ENDS_WITHIN_S``: a check that an input once read in exponential or quadratic time (for
    hours) ends at all, not a measure of speed. A process, not a thread: a regular expression
    holds the interpreter's lock while it backtracks, so a waiting thread never woke to fail.
    What the call raises is raised here."""

    def run(call: Callable[[], object]) -> object:
        context = multiprocessing.get_context("fork")
        receiving, sending = context.Pipe(duplex=False)

        def work() -> None:
            try:
                sending.send((True, call()))
            except BaseException as exc:  # raised again in the test's own process
                sending.send((False, exc))

        worker = context.Process(target=work, daemon=True)
        worker.start()
        if not receiving.poll(ENDS_WITHIN_S):
            worker.kill()
            worker.join()
            pytest.fail(f"did not end within {ENDS_WITHIN_S} s")
        ended, value = receiving.recv()
        worker.join()
        if not ended:
            raise value  # type: ignore[misc]
        return value

    return run
