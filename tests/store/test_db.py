"""The database's JSON columns (written with orjson, read back as ``json`` would have them) and
its bulk insert, which must store what SQLAlchemy's own insert stores."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.schema import DropIndex

from isletbase.model import MAX_SHORT_TEXT
from isletbase.store import db as db_module
from isletbase.store.check import check
from isletbase.store.db import (
    CACHE_KIB,
    FTS_AUTOMERGE,
    INDEX_BUILD,
    INDEX_BUILD_CACHE_KIB,
    PAGE_SIZE,
    TAGGED_COLUMNS,
    TEXT_INDEXES,
    Database,
    bulk_indexes,
    deferred_search_index,
    insert_rows,
    insert_tuples,
    json_text,
    set_automerge,
    word_tag,
)
from isletbase.store.schema import RETIRED_INDEXES, RawRecordRow, SiteRow, SourceRow, TrialRow


def test_json_text_writes_what_json_writes_for_numbers_text_and_keys():
    text = json_text({"pooled": np.float64(-0.5), "n": 3, "名称": "脐带", 7: [True, None]})
    assert text == '{"pooled":-0.5,"n":3,"名称":"脐带","7":[true,null]}'


def test_json_text_refuses_what_json_refuses():
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text({"x": object()})


def _stored(db: Database, table, order) -> list[tuple]:  # noqa: ANN001 - a mapped class
    with db.session() as session:
        rows = session.execute(select(table).order_by(order)).scalars().all()
        return [
            tuple(getattr(r, c.key) for c in table.__mapper__.column_attrs if c.key != "id")
            for r in rows
        ]


def test_insert_rows_stores_what_sqlalchemys_insert_stores(db: Database):
    """JSON (lists, dicts, text already serialised), dates and NULLs, on both backends: the
    same rows written by ``insert_rows`` and by ``insert(table)`` read back the same."""
    when = datetime(2026, 11, 25, 22, 0, 0, 123456)
    with db.engine.begin() as conn:
        conn.execute(
            insert(TrialRow.__table__),
            [
                {"display_id": f"NCT0000000{i}", "source_url": "u", "content_hash": "h"}
                for i in (1, 2)
            ],
        )
    sources = [
        {"trial_uid": uid, "url": f"https://x/{uid}", "fields": ["all", "名称"], "retrieved": r}
        for uid, r in ((1, "2026-11-25"), (2, None))
    ]
    raws = [
        {
            "source": source,
            "record_key": "NCT00000001",
            "trial_uid": 1,
            "payload": {"title_en": "Umbilical cord MSC", "sites": [{"city": "北京"}], "n": 1.5},
            "content_hash": "h",
            "url": None,
            "retrieved_at": when,
        }
        for source in ("a", "b")
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(SourceRow.__table__), sources)
        conn.execute(insert(RawRecordRow.__table__), raws[:1])
    expected = (_stored(db, SourceRow, SourceRow.id), _stored(db, RawRecordRow, RawRecordRow.id))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sources")
        conn.exec_driver_sql("DELETE FROM raw_records")
        insert_rows(conn, SourceRow.__table__, sources)
        insert_rows(conn, RawRecordRow.__table__, raws[:1])
    assert (_stored(db, SourceRow, SourceRow.id), _stored(db, RawRecordRow, RawRecordRow.id)) == (
        expected
    )
    with db.engine.begin() as conn:  # a payload already written as JSON text
        insert_rows(
            conn,
            RawRecordRow.__table__,
            [{**raws[1], "payload": json_text(raws[1]["payload"])}],
            bound={"payload"},
        )
    stored = _stored(db, RawRecordRow, RawRecordRow.id)
    assert stored[1][3] == raws[1]["payload"] and stored[1][6] == when


def test_insert_tuples_stores_rows_given_in_any_column_order(db: Database):
    """Tuples of values in the order the caller names the columns (here not the table's),
    JSON already written as text: read back as ``insert_rows`` stores the same rows."""
    with db.engine.begin() as conn:
        conn.execute(
            insert(TrialRow.__table__),
            [{"display_id": "NCT00000001", "source_url": "u", "content_hash": "h"}],
        )
    sources = [
        {"trial_uid": 1, "url": f"https://x/{i}", "fields": ["all", "名称"], "retrieved": r}
        for i, r in ((1, "2026-11-25"), (2, None))
    ]
    with db.engine.begin() as conn:
        insert_rows(conn, SourceRow.__table__, sources)
    expected = _stored(db, SourceRow, SourceRow.id)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sources")
        insert_tuples(
            conn,
            SourceRow.__table__,
            ("retrieved", "fields", "url", "trial_uid"),
            [(s["retrieved"], json_text(s["fields"]), s["url"], 1) for s in sources],
            bound={"fields"},
        )
    assert _stored(db, SourceRow, SourceRow.id) == expected
    assert expected[0] == (1, "https://x/1", ["all", "名称"], "2026-11-25")


def test_a_new_sqlite_database_gets_large_pages_and_an_older_one_keeps_its_own(tmp_path):
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as conn:  # made before: SQLite's default 4 KB pages
        conn.execute("CREATE TABLE kept (x)")
    for path, expected in ((tmp_path / "new.db", PAGE_SIZE), (older, 4096)):
        db = Database(f"sqlite:///{path}")
        db.init()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == expected
        db.dispose()


def _triggers(path) -> dict[str, str]:  # noqa: ANN001 - a path
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))


def _words_match(db: Database, word: str) -> list[int]:
    with db.engine.connect() as conn:
        return list(
            conn.exec_driver_sql(
                "SELECT rowid FROM trial_words WHERE trial_words MATCH ? ORDER BY rowid", (word,)
            ).scalars()
        )


def _trial(display_id: str, text: str, **facets: str) -> dict:
    """A trial row's values: its search text, and the tagged columns (``facets``, else null)."""
    return {
        "display_id": display_id,
        "source_url": "u",
        "content_hash": "h",
        "search_text": text,
        **dict.fromkeys(TAGGED_COLUMNS),
        **facets,
    }


def _indexed(uid: int, row: dict) -> tuple:
    """What a bulk insert hands ``deferred_search_index`` of a trial: uid, text, tagged values."""
    return (uid, row["search_text"], *(row[column] for column in TAGGED_COLUMNS))


def test_a_bulk_insert_indexes_its_trials_and_hides_no_trigger_from_other_connections(tmp_path):
    """The per-row insert triggers are dropped inside the bulk transaction only: another
    connection still sees them meanwhile, they are back (as ``init`` made them) afterwards, and
    both the batch and a later single insert are found by the word index."""
    path = tmp_path / "bulk.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    made = _triggers(path)
    assert {"trials_fts_ai", "trials_words_ai"} <= made.keys()
    seen_meanwhile = {}
    with db.session() as session:
        conn = session.connection()
        with deferred_search_index(conn) as pending:
            rows = [_trial("NCT1", "alpha"), _trial("NCT2", "beta")]
            conn.execute(insert(TrialRow.__table__), rows)
            pending += [_indexed(1, rows[0]), _indexed(2, rows[1])]
            seen_meanwhile = _triggers(path)
    assert seen_meanwhile == made and _triggers(path) == made
    with db.engine.begin() as conn:  # one row at a time: the triggers index it
        conn.execute(insert(TrialRow.__table__), [_trial("NCT3", "alpha gamma")])
    assert _words_match(db, "alpha") == [1, 3] and _words_match(db, "beta") == [2]
    db.dispose()


def test_a_bulk_insert_tags_its_trials_as_the_triggers_do(tmp_path):
    """The batch's tags are made from the values handed over, by the triggers' own SQL: each
    facet value is found, and once the update trigger has taken a row's old tags out (a
    contentless index is told what to remove), the old value is no longer found — it would
    be, had the bulk insert written other tokens than the trigger removes."""
    db = Database(f"sqlite:///{tmp_path / 'tags.db'}")
    db.init()
    facets = {
        "cell_source": "UC-MSC",
        "route": "intravenous",
        "region": "mainland China",
        "country": "China",
        "condition": "complication:diabetic-foot",
        "status_code": "RECRUITING",
        "phase_code": "PHASE1",
    }
    with db.session() as session:
        conn = session.connection()
        with deferred_search_index(conn) as pending:
            rows = [_trial("NCT1", "alpha", **facets), _trial("NCT2", "beta")]
            conn.execute(insert(TrialRow.__table__), rows)
            pending += [_indexed(1, rows[0]), _indexed(2, rows[1])]
    named = {"status_code": "status", "phase_code": "phase"}
    tags = [word_tag(named.get(column, column), value) for column, value in facets.items()]
    tags.append(word_tag("condition family", "complication"))
    for tag in tags:
        assert _words_match(db, tag) == [1], tag
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE trials SET cell_source = 'BM-MSC', condition = 'T1D' WHERE uid = 1"
        )
    assert _words_match(db, word_tag("cell_source", "UC-MSC")) == []
    assert _words_match(db, word_tag("condition family", "complication")) == []
    assert _words_match(db, word_tag("cell_source", "BM-MSC")) == [1]
    assert _words_match(db, word_tag("condition", "T1D")) == [1]
    assert _words_match(db, "alpha") == [1]
    db.dispose()


def test_a_failed_bulk_insert_leaves_neither_trials_nor_a_missing_trigger(tmp_path):
    path = tmp_path / "failed.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    made = _triggers(path)
    with pytest.raises(RuntimeError), db.session() as session:
        conn = session.connection()
        with deferred_search_index(conn) as pending:
            conn.execute(insert(TrialRow.__table__), [_trial("NCT1", "alpha")])
            pending.append((1, _trial("NCT1", "alpha")))
            raise RuntimeError("killed")
    assert _triggers(path) == made
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM trials").scalar() == 0
    assert _words_match(db, "alpha") == []
    db.dispose()


def test_init_replaces_an_older_versions_held_triggers(tmp_path):
    """Older versions held the triggers with a ``trial_fts_hold`` table their WHEN clause read:
    ``init`` drops it and writes today's triggers."""
    path = tmp_path / "older.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    made = _triggers(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE trial_fts_hold (held INTEGER)")
        conn.execute("DROP TRIGGER trials_words_ai")
        conn.execute(
            "CREATE TRIGGER trials_words_ai AFTER INSERT ON trials "
            "WHEN NOT EXISTS (SELECT 1 FROM trial_fts_hold) BEGIN SELECT 1; END"
        )
    db.init()
    assert _triggers(path) == made
    with sqlite3.connect(path) as conn:
        assert not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'trial_fts_hold'"
        ).fetchall()
    db.dispose()


def _automerge(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [
            conn.exec_driver_sql(f"SELECT v FROM {index}_config WHERE k = 'automerge'").scalar()
            for index in TEXT_INDEXES
        ]


def test_a_first_bulk_load_builds_the_secondary_indexes_at_its_end(db: Database):
    """Into an empty database the trials' and sites' secondary indexes are dropped for the load
    and built again after it (also after a failure); ``check`` names any a killed load left
    missing, and ``init`` builds them."""
    names = [index.name for index in bulk_indexes()]
    assert "ix_trials_start_date" in names and "ix_sites_city_lower" in names
    assert not any(index.unique for index in bulk_indexes())
    assert db.missing_indexes() == []
    with db.bulk_load() as bulk:
        assert bulk and db.missing_indexes() == names
        if db.is_sqlite:  # the text indexes' segments are merged once, at the end
            assert _automerge(db) == [0, 0]
    assert db.missing_indexes() == []
    if db.is_sqlite:  # merging as usual again
        assert _automerge(db) == [FTS_AUTOMERGE] * 2
        with db.engine.begin() as conn:  # as a load killed in its middle leaves it
            set_automerge(conn, 0)
        db.init()
        assert _automerge(db) == [FTS_AUTOMERGE] * 2
    with pytest.raises(RuntimeError), db.bulk_load():
        raise RuntimeError("a bad record file")
    assert db.missing_indexes() == []
    with db.engine.begin() as conn:  # what a load killed in its middle leaves
        for index in bulk_indexes()[:2]:
            conn.execute(DropIndex(index))
    problems = check(db).problems
    assert any(names[0] in p and "db init" in p for p in problems), problems
    db.init()
    assert db.missing_indexes() == [] and not any(
        "indexes missing" in p for p in check(db).problems
    )


def _build_settings(connection) -> tuple[int, int]:  # noqa: ANN001 - a DB-API connection
    return tuple(  # type: ignore[return-value]
        connection.execute(f"PRAGMA {name}").fetchone()[0] for name in ("cache_size", "threads")
    )


def test_a_bulk_load_builds_its_indexes_through_a_small_page_cache_and_restores_it(tmp_path):
    """Each index build scans a whole table through SQLite's page cache, faster through a
    small one, and sorts with SQLite's threads; the connection goes back to the pool with the
    usual cache and no threads."""
    db = Database(f"sqlite:///{tmp_path / 'cache.db'}")
    db.init()
    seen: list[tuple[int, int]] = []

    def at_create_index(conn, cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("CREATE INDEX"):
            seen.append(_build_settings(cursor.connection))

    event.listen(db.engine, "before_cursor_execute", at_create_index)
    with db.bulk_load() as bulk:
        assert bulk
        with db.engine.connect() as conn:
            assert _build_settings(conn.connection.dbapi_connection) == (-CACHE_KIB, 0)
    event.remove(db.engine, "before_cursor_execute", at_create_index)
    assert seen == [(-INDEX_BUILD_CACHE_KIB, INDEX_BUILD.threads)] * len(bulk_indexes())
    assert INDEX_BUILD_CACHE_KIB < CACHE_KIB
    assert INDEX_BUILD.threads == min(3, (os.cpu_count() or 1) - 1)
    with db.engine.connect() as conn:  # the pool's one connection, back to the usual settings
        assert _build_settings(conn.connection.dbapi_connection) == (-CACHE_KIB, 0)
    db.dispose()


def _segments(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [
            conn.exec_driver_sql(f"SELECT count(DISTINCT segid) FROM {index}_idx").scalar()
            for index in TEXT_INDEXES
        ]


def _journal_mode(db: Database) -> str:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA journal_mode").scalar()


def test_a_first_bulk_load_journals_with_a_rollback_journal_and_serves_from_the_log_again(
    tmp_path,
):
    """During a first load the file is out of WAL mode (each new page written once); after
    it, back in WAL mode, as a file another process opens sees."""
    path = tmp_path / "journal.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    assert _journal_mode(db) == "wal"
    with db.bulk_load():
        assert _journal_mode(db) == "truncate"
        for display_id in ("NCT00000001", "NCT00000002"):  # batches: committed with no log
            with db.engine.begin() as conn:
                conn.execute(
                    insert(TrialRow.__table__),
                    [
                        {
                            "display_id": display_id,
                            "source_url": "u",
                            "content_hash": "h",
                            "search_text": "umbilical cord | 脐带间充质干细胞",
                        }
                    ],
                )
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not WAL
            assert other.execute("SELECT count(*) FROM trials").fetchone() == (2,)
        assert _segments(db) == [2, 2]  # a segment a batch, left unmerged during the load
    assert _segments(db) == [1, 1]  # merged at its end
    assert _journal_mode(db) == "wal"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with pytest.raises(RuntimeError), db.bulk_load():  # a failed load: the log again too
        assert _journal_mode(db) == "truncate"
        raise RuntimeError("a bad record file")
    assert _journal_mode(db) == "wal"
    db.dispose()
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


KILLED_MID_BATCH = """
import os, signal, sys
from sqlalchemy import insert
from isletbase.store.db import Database
from isletbase.store.schema import TrialRow

def trials(ids):
    return [{"display_id": i, "source_url": "u", "content_hash": "h"} for i in ids]

db = Database(sys.argv[1])
with db.bulk_load():
    with db.engine.begin() as conn:
        conn.execute(insert(TrialRow.__table__), trials(["NCT00000001"]))
    with db.engine.begin() as conn:
        conn.execute(insert(TrialRow.__table__), trials(f"NCT1{i:07d}" for i in range(2000)))
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_first_load_killed_in_a_batch_leaves_a_journal_the_next_connection_rolls_back(
    tmp_path,
):
    """SIGKILL in the middle of a first load's transaction: the rollback journal it leaves is
    rolled back when the database is next opened — the committed batch is there, the killed
    one is not, and the file is in WAL mode again."""
    path = tmp_path / "killed.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    db.dispose()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_BATCH, f"sqlite:///{path}"], env=env, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    journal = path.with_name(path.name + "-journal")
    assert journal.stat().st_size > 0  # a transaction's journal, not yet rolled back
    db = Database(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        ids = conn.exec_driver_sql("SELECT display_id FROM trials").scalars().all()
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert ids == ["NCT00000001"] and _journal_mode(db) == "wal"
    assert db.missing_indexes()  # the load never reached its end; ``init`` builds them
    db.init()
    assert db.missing_indexes() == []
    db.dispose()


def test_a_bulk_load_while_another_connection_has_the_file_open_keeps_the_log(tmp_path):
    """Leaving WAL mode needs the file to itself; a reader holding it open (a server, say)
    leaves the load in WAL mode, without an error."""
    path = tmp_path / "shared.db"
    db = Database(f"sqlite:///{path}")
    db.init()
    with closing(sqlite3.connect(path)) as reader:
        assert reader.execute("SELECT count(*) FROM trials").fetchone() == (0,)
        with db.bulk_load() as bulk:
            assert bulk and _journal_mode(db) == "wal"
            with db.engine.begin() as conn:
                conn.execute(
                    insert(TrialRow.__table__),
                    [{"display_id": "NCT00000001", "source_url": "u", "content_hash": "h"}],
                )
        assert reader.execute("SELECT count(*) FROM trials").fetchone() == (1,)
    assert db.missing_indexes() == [] and _journal_mode(db) == "wal"
    db.dispose()


def test_a_bulk_load_into_a_database_holding_trials_keeps_the_indexes(db: Database, monkeypatch):
    with db.engine.begin() as conn:
        conn.execute(
            insert(TrialRow.__table__),
            [{"display_id": "NCT00000001", "source_url": "u", "content_hash": "h"}],
        )
    monkeypatch.setattr(db_module, "BULK_BELOW", 1)
    with db.bulk_load() as bulk:
        assert not bulk and db.missing_indexes() == []


def test_init_drops_the_indexes_older_versions_made_that_nothing_reads(db: Database):
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_sites_city ON sites (city)")
        conn.exec_driver_sql("CREATE INDEX ix_sites_province ON sites (province)")
    assert {"ix_sites_city", "ix_sites_province"} <= db.index_names()
    db.init()
    names = db.index_names()
    assert not names & set(RETIRED_INDEXES) and "ix_sites_city_lower" in names


def test_init_rewrites_registry_ids_stored_before_they_were_canonical(db) -> None:
    """A database made before ids were canonical may hold 'CHICTR2300071975' (as a CT.gov
    record named it): init rewrites it, with the display id and the record's key, so loading
    the same page again links to that trial instead of making a second one."""
    from isletbase.harvest import run_chictr
    from isletbase.store.schema import RegistryIdRow
    from isletbase.store.trial_reads import get_trial

    page = Path(__file__).resolve().parents[1] / "fixtures" / "registries"
    page = page / "chictr_ChiCTR2300071975.html"
    assert run_chictr(db, page).new == 1
    old, new = "CHICTR2300071975", "ChiCTR2300071975"
    with db.engine.begin() as conn:  # as an older version stored it
        for table, column in (
            (RegistryIdRow.__table__, "registry_id"),
            (TrialRow.__table__, "display_id"),
            (RawRecordRow.__table__, "record_key"),
        ):
            conn.execute(table.update().where(table.c[column] == new).values({column: old}))
    db.init()
    trial = get_trial(db, new)
    assert trial is not None and trial.display_id == new
    assert [r.id for r in trial.registry_ids] == [new]
    again = run_chictr(db, page)
    assert (again.new, again.unchanged) == (0, 1)
    with db.session() as session:
        assert session.scalars(select(RawRecordRow.record_key)).all() == [new]
        assert len(session.scalars(select(TrialRow.uid)).all()) == 1


def test_init_widens_the_place_and_phase_columns_an_older_version_made_narrow(db: Database):
    """PostgreSQL refused a phase over 64 characters (an EU trial's, from WHO ICTRP) and failed
    the batch; a database made then is widened by the next ``init`` (SQLite has no widths)."""
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE trials ALTER COLUMN phase TYPE varchar(64)")
            conn.exec_driver_sql("ALTER TABLE sites ALTER COLUMN city TYPE varchar(128)")
    db.init()
    phase, city = "P" * MAX_SHORT_TEXT, "C" * MAX_SHORT_TEXT
    with db.engine.begin() as conn:
        uid = conn.execute(
            insert(TrialRow).values(
                display_id="NCT00000001",
                phase=phase,
                source_url="https://x.org/1",
                content_hash="h",
                search_text="",
            )  # fmt: skip
        ).inserted_primary_key[0]
        conn.execute(insert(SiteRow).values(trial_uid=uid, city=city))
        stored = conn.execute(select(TrialRow.phase, SiteRow.city).join(SiteRow)).one()
    assert tuple(stored) == (phase, city)
