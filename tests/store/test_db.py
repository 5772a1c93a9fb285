"""The database's JSON columns (written with orjson, read back as ``json`` would have them) and
its bulk insert, which must store what SQLAlchemy's own insert stores."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import insert, select

from isletbase.store.db import PAGE_SIZE, Database, insert_rows, json_text
from isletbase.store.schema import RawRecordRow, SourceRow, TrialRow


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
            serialized={"payload"},
        )
    stored = _stored(db, RawRecordRow, RawRecordRow.id)
    assert stored[1][3] == raws[1]["payload"] and stored[1][6] == when


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
