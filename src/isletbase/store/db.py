"""The database: engine, sessions and schema creation for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode (a first bulk load in a rollback journal: ``LOADING``) with foreign
keys on and two FTS5 indexes for search: trigrams, so Chinese substrings match, and words (with
facet tags), so Latin-script words match by prefix without reading the long posting lists of
common trigrams; PostgreSQL uses ``pg_trgm`` for both kinds.
The caller gets one object whose ``session()`` is a transaction: it commits on success and rolls
back on any error, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TypeVar

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Table,
    and_,
    create_engine,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Compiled, Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex, DropIndex

from isletbase.errors import InputError
from isletbase.model import MAX_SHORT_TEXT, canonical_id
from isletbase.store.schema import (
    RETIRED_INDEXES,
    Base,
    RawRecordRow,
    RegistryIdRow,
    TrialRow,
    load_extensions,
)
from isletbase.taxonomy import CJK

DEFAULT_URL = "sqlite:///isletbase.db"

#: The C0 control characters but tab and line breaks, and DEL, as a regular expression's
#: character class: no stored text holds one (``ingest`` takes them out of registry text) and a
#: search refuses them (``unprintable``).
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
#: Lone surrogates, as a character class: what a JSON ``\ud800`` escape decodes to, which no
#: UTF-8 text holds (a simulation named with one ran, then failed to answer: a 500).
SURROGATES = "\ud800-\udfff"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}{SURROGATES}]")
#: Why text with a control character is refused (see ``unprintable``).
UNPRINTABLE = "must not contain control characters (such as NUL) or lone surrogates"


T = TypeVar("T")


def printable(value: T) -> T:
    """``value``, refused (``ValueError``: a model's validator names the field) where it is text
    holding a control character (``unprintable``)."""
    if unprintable(value):
        raise ValueError(UNPRINTABLE)
    return value


def unprintable(value: object) -> bool:
    """Whether ``value`` is text holding a control character or a lone surrogate, which a
    search refuses: a NUL ends a string early in SQLite (so a LIKE or MATCH sees less than was
    asked, or nothing and matches everything), PostgreSQL refuses it outright, and no stored
    text holds one."""
    return isinstance(value, str) and _CONTROL.search(value) is not None


#: Trigram index of the parts of each trial's search text that hold CJK characters; Latin-script
#: words are served by the word index below, so indexing their trigrams too would only cost
#: time at every write (about a third of the writer's work on a registry-sized load).
#: Contentless: filled and emptied through ``cjk_segments``, which every connection registers.
_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS trial_fts USING fts5("
    "search_text, content='', tokenize='trigram')"
)
#: A table older versions used to hold the per-row triggers during a bulk insert (see
#: ``deferred_search_index``); dropped where it is found.
_RETIRED_FTS_HOLD = "DROP TABLE IF EXISTS trial_fts_hold"
_FTS_DELETE = (
    "INSERT INTO trial_fts(trial_fts, rowid, search_text) "
    "VALUES ('delete', old.uid, cjk_segments(old.search_text)); "
)
_FTS_INSERT = (
    "INSERT INTO trial_fts(rowid, search_text) VALUES (new.uid, cjk_segments(new.search_text)); "
)
_SQLITE_FTS_TRIGGERS = {
    "trials_fts_ai": f"CREATE TRIGGER trials_fts_ai AFTER INSERT ON trials BEGIN {_FTS_INSERT}END",
    "trials_fts_ad": f"CREATE TRIGGER trials_fts_ad AFTER DELETE ON trials BEGIN {_FTS_DELETE}END",
    "trials_fts_au": "CREATE TRIGGER trials_fts_au AFTER UPDATE OF search_text ON trials "
    f"BEGIN {_FTS_DELETE}{_FTS_INSERT}END",
}
_FTS_FILL = (
    "INSERT INTO trial_fts(rowid, search_text) SELECT uid, cjk_segments(search_text) FROM trials"
)


#: Latin letters that may carry a diacritic (Latin-1 Supplement, Extended-A/B, Additional).
_ACCENTED = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")


def without_accents(text: str) -> str:
    """``text`` with diacritics taken off Latin letters (Würzburg → Wurzburg, São → Sao), as
    SQLite's word index (``remove_diacritics 2``) reads both stored text and queries; applied
    to the stored search text and to queries, PostgreSQL's patterns then match alike. Text
    without such letters (most, checked in one scan) is returned as it is."""
    if not _ACCENTED.search(text):
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def cjk_segments(search_text: str | None) -> str:
    """The parts (between `` | ``) of a search text that hold CJK characters. A CJK term can only
    be a substring of such a part, so the trigram index needs no more."""
    if not search_text or not CJK.search(search_text):  # most registry texts: one scan
        return ""
    # most parts of a text with CJK in it are ASCII (isascii: no regex needed)
    return " | ".join(
        part for part in search_text.split(" | ") if not part.isascii() and CJK.search(part)
    )


#: Facets tagged in the word index: each facet's tag prefix and the column (or, for the
#: ``condition family`` — ``complication`` of ``complication:diabetic-foot`` — the expression on
#: ``condition``) whose value it tags. A tag is the prefix and the hex of the ASCII-lower-cased
#: value (``st`` + hex("recruiting")): one unicode61 token that no text can spell, so a search
#: joins text and facet filters in one FTS5 query.
WORD_TAGS: dict[str, tuple[str, str]] = {
    "cell_source": ("cs", "cell_source"),
    "route": ("ro", "route"),
    "region": ("rg", "region"),
    "country": ("cn", "country"),
    "condition": ("co", "condition"),
    "status": ("st", "status_code"),
    "phase": ("ph", "phase_code"),
    "condition family": ("cf", "substr(condition, 1, instr(condition, ':') - 1)"),
}


#: The trials' columns the tags are made of (``condition`` once, though two tags read it).
TAGGED_COLUMNS = tuple(
    dict.fromkeys("condition" if "(" in expr else expr for _, expr in WORD_TAGS.values())
)


def _tags_sql(row: str | None) -> str:
    """SQL building a row's tags: ``row`` is ``new``, ``old`` or ``trials``; ``None`` reads
    each column from a numbered parameter instead, ``TAGGED_COLUMNS`` from ``?3`` on."""

    def ref(column: str) -> str:
        return f"?{TAGGED_COLUMNS.index(column) + 3}" if row is None else f"{row}.{column}"

    parts = []
    for prefix, expr in WORD_TAGS.values():
        column = expr.replace("condition", ref("condition")) if "(" in expr else ref(expr)
        parts.append(f"'{prefix}' || hex(lower({column}))")
    return " || ' ' || ".join(parts)


def word_tag(facet: str, value: str) -> str:
    """The tag ``_tags_sql`` writes for ``value`` of ``facet`` (a key of ``WORD_TAGS``;
    SQLite's ``lower`` folds ASCII only)."""
    return WORD_TAGS[facet][0] + value.encode().lower().hex()


#: Word-level index of the same text, for Latin-script terms (word-prefix match; the trigram
#: index serves Chinese substrings), with the facet tags in a column of their own. Contentless:
#: it is only ever asked for rowids and rank, and the text is already kept in ``trials``.
_SQLITE_WORDS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS trial_words USING fts5("
    "search_text, search_tags, content='', tokenize='unicode61 remove_diacritics 2')"
)
_WORDS_COLUMNS = "search_text, search_tags"
_WORDS_DELETE = (
    f"INSERT INTO trial_words(trial_words, rowid, {_WORDS_COLUMNS}) "
    f"VALUES ('delete', old.uid, old.search_text, {_tags_sql('old')}); "
)
_WORDS_INSERT = (
    f"INSERT INTO trial_words(rowid, {_WORDS_COLUMNS}) "
    f"VALUES (new.uid, new.search_text, {_tags_sql('new')}); "
)
_SQLITE_WORDS_TRIGGERS = {
    "trials_words_ai": "CREATE TRIGGER trials_words_ai AFTER INSERT ON trials "
    f"BEGIN {_WORDS_INSERT}END",
    "trials_words_ad": "CREATE TRIGGER trials_words_ad AFTER DELETE ON trials "
    f"BEGIN {_WORDS_DELETE}END",
    "trials_words_au": "CREATE TRIGGER trials_words_au AFTER UPDATE OF "
    f"search_text, {', '.join(TAGGED_COLUMNS)} ON trials BEGIN {_WORDS_DELETE}{_WORDS_INSERT}END",
}
#: Index the trials already stored (a database made before the word index).
_WORDS_FILL = (
    f"INSERT INTO trial_words(rowid, {_WORDS_COLUMNS}) "
    f"SELECT uid, search_text, {_tags_sql('trials')} FROM trials"
)
#: Index trials a bulk insert just wrote, from their values: uid, search text, then
#: ``TAGGED_COLUMNS`` — the tags made by the same SQL as the triggers'.
_WORDS_VALUES = (
    f"INSERT INTO trial_words(rowid, {_WORDS_COLUMNS}) VALUES (?1, ?2, {_tags_sql(None)})"
)
#: SQLite's FTS5 text indexes (trigram, then word), for code that checks, compacts or drops them.
TEXT_INDEXES = ("trial_fts", "trial_words")
#: FTS5's own default: merge a level's segments once this many are there.
FTS_AUTOMERGE = 4


def set_automerge(conn: Connection, value: int) -> None:
    """Set how eagerly both text indexes merge their segments as they are written (SQLite)."""
    for index in TEXT_INDEXES:
        conn.exec_driver_sql(
            f"INSERT INTO {index}({index}, rank) VALUES ('automerge', ?)", (value,)
        )


def merge_text_indexes(conn: Connection) -> None:
    """Merge each text index's segments into one (FTS5's ``optimize``; where an index is one
    segment already, it returns at once)."""
    for index in TEXT_INDEXES:
        conn.exec_driver_sql(f"INSERT INTO {index}({index}) VALUES ('optimize')")


def _automerge_of(conn: Connection) -> list[int]:
    """Each text index's automerge setting (the default where none is stored)."""
    stored = [
        conn.exec_driver_sql(f"SELECT v FROM {index}_config WHERE k = 'automerge'").scalar()
        for index in TEXT_INDEXES
    ]
    return [FTS_AUTOMERGE if value is None else value for value in stored]


#: BM25 over the text only: tags say nothing of relevance.
_WORDS_RANK = "INSERT INTO trial_words(trial_words, rank) VALUES ('rank', 'bm25(1.0, 0.0)')"
_PG_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_trials_search_trgm ON trials "
    "USING gin (lower(search_text) gin_trgm_ops)",
)


def json_text(value: object) -> str:
    """JSON columns' text: orjson writes it several times faster than ``json`` (bulk ingest
    writes a dozen JSON values per trial) and reads back the same values."""
    return orjson.dumps(value, default=_number, option=orjson.OPT_NON_STR_KEYS).decode()


def _number(value: object) -> float | int:
    """What ``json`` also writes and orjson leaves to us: subclasses of float and int (numpy's
    scalars in evidence results, say)."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def resolve_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``$ISLETBASE_DB``, else ``./isletbase.db``."""
    return url or os.environ.get("ISLETBASE_DB") or DEFAULT_URL


class Database:
    """One database, SQLite or PostgreSQL, chosen by URL."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise InputError(f"database URL {self.url!r} is not a valid URL: {exc}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InputError(
                f"database URL {self.url!r}: expected sqlite:///FILE or postgresql+psycopg://…"
            )
        self.engine: Engine = create_engine(
            self.url,
            future=True,
            # a server connection can go stale between uses, a file's cannot: pinging SQLite
            # would only add a statement to every session
            pool_pre_ping=self.dialect != "sqlite",
            json_serializer=json_text,
            json_deserializer=orjson.loads,
        )
        self._pragmas = _SqlitePragmas()
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", self._pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def init(self) -> None:
        """Create every table and the search index; safe to run again on an existing database.
        A SQLite file's folder is made here, by a command that writes, not when a database is
        only named (a mistyped ``--db`` of a reading command left folders behind)."""
        file = make_url(self.url).database if self.is_sqlite else None
        if file and file != ":memory:":
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        load_extensions()
        Base.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            _added_columns(conn)  # before the indexes, which may be on them
            # create_all skips tables that exist, and with them any index added since
            for table in Base.metadata.sorted_tables:
                for index in table.indexes:
                    conn.execute(CreateIndex(index, if_not_exists=True))
            for name in RETIRED_INDEXES:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            _canonical_registry_ids(conn)
            if not self.is_sqlite:
                _widen_columns(conn)
            if self.is_sqlite:
                _sqlite_search_indexes(conn)
                if _automerge_of(conn) != [FTS_AUTOMERGE] * len(TEXT_INDEXES):
                    set_automerge(conn, FTS_AUTOMERGE)  # what a killed bulk load left
            else:
                for statement in _PG_SEARCH:
                    conn.execute(text(statement))

    def analyze(self) -> None:
        """Refresh the query planner's statistics and compact the text indexes (after a bulk
        load).

        Without statistics SQLite assumes an equality filter keeps about ten rows, and may then
        run the text index once per row of a facet that in fact holds a tenth of the trials; with
        them it starts from the smaller side. ``analysis_limit`` samples each index, so this
        takes well under a second at 100,000 trials. A load leaves each FTS5 index in many
        segments that every query must read; merging them into one ("optimize") took 2.4 s
        after a 500k load and cut search p95 there from 29 to 19 ms (a first load, in
        ``bulk_load``, merges them at its end itself; here that costs nothing).
        """
        with self.engine.begin() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                merge_text_indexes(conn)
            conn.exec_driver_sql("ANALYZE")

    @contextmanager
    def bulk_load(self) -> Iterator[bool]:
        """Load many trials into a (nearly) empty database, the trials' and sites' secondary
        indexes built once at the end instead of entry by entry; yields whether it does so.

        Most of those indexes order their entries by something other than insertion (a date,
        a city), so a batch's inserts land on pages all over each, and every such page is
        written out again at each commit; as the tables grow, the pages no longer fit the
        cache. Measured: a 500k load 153.6 s with them, 117.6 s without plus 14.4 s to build
        them (100k: 26.7 s against 23.9 + 2.1). Below ``BULK_BELOW`` stored trials the rebuild
        costs little whatever comes; above, the indexes are kept. The text indexes do not
        merge their segments meanwhile (100k: 0.5 s less of the writer's CPU, most of it
        written pages), but into one at the end, in the load's last transaction. The load
        journals as ``LOADING`` says (and keeps the log where another connection has the
        file open). Meanwhile searches of the loading database go without those indexes. A
        killed load leaves them missing (``check`` says so), and the merging off, until the
        next ``init``: each ingest starts with one, and ``isletbase db init`` is one.
        """
        with self.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM trials").scalar() or 0
        if stored >= BULK_BELOW:
            yield False
            return
        indexes = bulk_indexes()
        with self._journaled(LOADING):
            with self.engine.begin() as conn:
                for index in indexes:
                    conn.execute(DropIndex(index, if_exists=True))
                if self.is_sqlite:  # merged once, at the end of the load
                    set_automerge(conn, 0)
            try:
                yield True
            finally:
                with self.engine.begin() as conn:
                    if self.is_sqlite:
                        set_automerge(conn, FTS_AUTOMERGE)
                        merge_text_indexes(conn)
                        _index_build_pragmas(conn, INDEX_BUILD)
                    try:
                        for index in indexes:
                            conn.execute(CreateIndex(index, if_not_exists=True))
                    finally:
                        if self.is_sqlite:
                            _index_build_pragmas(conn, NOT_BUILDING)

    @contextmanager
    def _journaled(self, journal: Journal) -> Iterator[None]:
        """SQLite connections journal as ``journal`` says inside the block, as ``SERVING``
        says after it (also after a failure); nothing on PostgreSQL."""
        if not self.is_sqlite:
            yield
            return
        self._journal_as(journal)
        try:
            yield
        finally:
            self._journal_as(SERVING)

    def _journal_as(self, journal: Journal) -> None:
        """Journal from now on as ``journal`` says: connections in the pool are closed, and new
        ones set it (the first of them changes the file's mode)."""
        self._pragmas.journal = journal
        self.engine.dispose()
        with self.engine.connect():
            pass

    def index_names(self) -> set[str]:
        """The names of the indexes the database holds (in its schema, on PostgreSQL)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:
                sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            return set(conn.exec_driver_sql(sql).scalars())

    def missing_indexes(self) -> list[str]:
        """The names of ``bulk_indexes`` the database lacks (after a killed bulk load)."""
        present = self.index_names()
        return [i.name for i in bulk_indexes() if i.name not in present]  # type: ignore[misc]

    def is_initialised(self) -> bool:
        """Whether the database holds the tables; a SQLite file that is not there is not
        created by asking (a mistyped ``--db`` left an empty file behind)."""
        file = make_url(self.url).database if self.is_sqlite else None
        if file and file != ":memory:" and not Path(file).exists():
            return False
        return inspect(self.engine).has_table("trials")

    def drop(self) -> None:
        """Drop every table (used by ``db init --force`` and tests)."""
        load_extensions()
        with self.engine.begin() as conn:
            if self.is_sqlite:
                for index in TEXT_INDEXES:
                    conn.execute(text(f"DROP TABLE IF EXISTS {index}"))
                conn.execute(text(_RETIRED_FTS_HOLD))
        Base.metadata.drop_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


#: Tables whose secondary indexes ``Database.bulk_load`` builds at the end of a first load.
BULK_TABLES = ("trials", "sites")
#: ``Database.bulk_load`` builds them at the end only while fewer trials are stored.
BULK_BELOW = 10_000


def bulk_indexes() -> list[Index]:
    """The indexes a bulk load builds at its end: every one of ``BULK_TABLES`` that enforces
    nothing (a unique one stays, as it keeps the data right)."""
    return [
        index
        for name in BULK_TABLES
        for index in sorted(Base.metadata.tables[name].indexes, key=lambda i: i.name or "")
        if not index.unique
    ]


#: Columns older versions made narrower than ``MAX_SHORT_TEXT``: PostgreSQL refused a longer
#: value (an EU trial's phase text in a WHO ICTRP export) and failed the batch.
_WIDENED = (
    ("trials", "phase"),
    ("trials", "status"),
    ("trials", "country"),
    ("sites", "city"),
    ("sites", "province"),
    ("sites", "country"),
)


def _added_columns(conn: Connection) -> None:
    """Add the nullable columns a table gained since the database was made (``create_all``
    skips a table that exists): a quarantine made before kept no page or retrieval date."""
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:
                quote = conn.dialect.identifier_preparer.quote
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"
                )


def _widen_columns(conn: Connection) -> None:
    """Widen ``_WIDENED`` where a PostgreSQL database made before holds them narrower (a
    longer ``varchar`` is a change of the catalogue only: no row is rewritten)."""
    for table, column in _WIDENED:
        width = conn.execute(
            text(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t AND column_name = :c"
            ),
            {"t": table, "c": column},
        ).scalar()
        if width is not None and width < MAX_SHORT_TEXT:
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({MAX_SHORT_TEXT})"
            )


def _canonical_registry_ids(conn: Connection) -> None:
    """Rewrite registry ids stored before ids were canonical (``model.canonical_id``: e.g. a
    ``CHICTR2300071975`` a CT.gov record named) as registries write them, with the trial's
    display id and the stored records' keys, so a new load links to them instead of making a
    second trial. One scan finds them (none, once done); an id whose canonical spelling is
    already stored is left as it is (two trials for one study: for ``review``)."""
    ids, name = RegistryIdRow.__table__.c.registry_id, RegistryIdRow.__table__.c.registry
    rest = func.substr(ids, 7)
    odd = conn.execute(
        select(ids, name).where(
            or_(
                and_(name == "ClinicalTrials.gov", ids != func.upper(ids)),
                and_(
                    name == "ChiCTR",
                    or_(func.substr(ids, 1, 6) != "ChiCTR", rest != func.upper(rest)),
                ),
                ids.contains(" "),
            )
        )
    ).all()
    for old, registry in odd:
        new = canonical_id(registry, old)
        if new == old or conn.execute(select(ids).where(ids == new)).first():
            continue
        conn.execute(update(RegistryIdRow.__table__).where(ids == old).values(registry_id=new))
        trials = TrialRow.__table__
        conn.execute(update(trials).where(trials.c.display_id == old).values(display_id=new))
        records = RawRecordRow.__table__
        taken = select(records.c.id).where(records.c.record_key == new).exists()
        conn.execute(
            update(records).where(records.c.record_key == old, ~taken).values(record_key=new)
        )


def _sqlite_search_indexes(conn: Connection) -> None:
    """Create SQLite's two text indexes and their triggers, and fill an index that is new on a
    database holding trials (made by an older version, whose trigram index covered the whole
    text through the trials table: it is replaced)."""
    existing = dict(
        conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE name IN ('trial_fts', 'trial_words')")
        ).all()
    )
    if "content='trials'" in (existing.get("trial_fts") or ""):
        for name in _SQLITE_FTS_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text("DROP TABLE trial_fts"))
        del existing["trial_fts"]
    conn.execute(text(_RETIRED_FTS_HOLD))
    for name, create, fill, triggers in (
        ("trial_fts", _SQLITE_FTS, _FTS_FILL, _SQLITE_FTS_TRIGGERS),
        ("trial_words", _SQLITE_WORDS, _WORDS_FILL, _SQLITE_WORDS_TRIGGERS),
    ):
        if name not in existing:
            conn.execute(text(create))
            if name == "trial_words":
                conn.execute(text(_WORDS_RANK))
            conn.execute(text(fill))
        for trigger, sql in triggers.items():
            _replace_trigger(conn, trigger, sql)


def _replace_trigger(conn: Connection, name: str, sql: str) -> None:
    """Create a trigger, replacing one an older version created differently."""
    current = conn.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": name},
    )
    if current != sql:
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text(sql))


#: The triggers that index a new trial row by row, which a bulk insert holds back.
_INSERT_TRIGGERS = {
    name: triggers[name]
    for triggers, name in (
        (_SQLITE_FTS_TRIGGERS, "trials_fts_ai"),
        (_SQLITE_WORDS_TRIGGERS, "trials_words_ai"),
    )
}


@contextmanager
def deferred_search_index(conn: Connection) -> Iterator[list[tuple]]:
    """Bulk-insert trials with their search index written once at the end, not row by row.

    The caller inserts trials inside the block and appends to the list it gets each new
    trial's uid, search text and ``TAGGED_COLUMNS`` values, as one tuple; on SQLite the
    list is then indexed in one statement per index, from those values (reading the wide rows
    back made the word index's statement cost 20.5 µs a trial, 16.2 this way, at 100k).
    Meanwhile the per-row insert triggers are dropped, inside the transaction, and created
    again before it ends, so no other connection ever sees the table without them.
    Their mere presence cost more than what they do: a statement that fires a trigger writes
    a statement journal, a copy of every page it changes before changing it, so that it can be
    undone alone — with the trials' indexes ~15 pages a row (75 → 27 µs a trial, measured).
    PostgreSQL's trigram index needs nothing.
    Call it inside a transaction: a failure rolls the trials and their index back together.
    """
    pending: list[tuple] = []
    if conn.dialect.name != "sqlite":
        yield pending
        return
    dbapi = conn.connection.dbapi_connection
    # DDL does not open a transaction by itself in the sqlite3 module's default mode
    if not dbapi.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN")
    for name in _INSERT_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    try:
        yield pending
    finally:
        # also after a failure, for a caller that goes on in the transaction instead of
        # rolling it back (where SQLite rolled it back itself, the triggers are back already)
        if dbapi.in_transaction:  # type: ignore[union-attr]
            for sql in _INSERT_TRIGGERS.values():
                conn.exec_driver_sql(sql)
    if pending:
        conn.exec_driver_sql(
            "INSERT INTO trial_fts (rowid, search_text) VALUES (?, ?)",
            [(row[0], cjk_segments(row[1])) for row in pending],
        )
        conn.exec_driver_sql(_WORDS_VALUES, pending)


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    bound: Collection[str] = (),
) -> None:
    """INSERT ``rows`` (column name → value, the same columns in each) with one DB-API
    ``executemany``; the columns named in ``bound`` hold values as the driver takes them
    (JSON as text ``json_text`` wrote, a date as ``bound_value`` gives it).

    The statement is SQLAlchemy's own for the dialect (quoting, PostgreSQL's casts) and each
    value goes through its column type's bind processor, as ``conn.execute(insert(table),
    rows)`` would do; but that call also builds a parameter dict per row through the compiler,
    which cost about as much as SQLite's own work on a bulk load (~70 µs a trial).
    """
    if not rows:
        return
    statement, names = _insert_statement(conn.dialect, table, tuple(rows[0]))
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    _execute_insert(conn, table, statement, names, [values(row) for row in rows], bound)


def insert_tuples(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    bound: Collection[str] = (),
) -> None:
    """``insert_rows`` of rows given as tuples of the ``columns``' values, in that order: what
    a bulk load's worker process prepares, since tuples cross to the writer at half the cost of
    dicts (pickled and read back) and need no reordering where ``columns`` follow the table's.
    """
    if not rows:
        return
    statement, names = _insert_statement(conn.dialect, table, tuple(columns))
    if names != tuple(columns):
        order = itemgetter(*(list(columns).index(name) for name in names))
        rows = [order(row) for row in rows]
    _execute_insert(conn, table, statement, names, rows, bound)


def bound_value(conn: Connection, column: Column, value: object) -> object:
    """``value`` as ``column``'s type hands it to the driver (a value many rows share, for
    the ``bound`` columns of ``insert_rows``, converted once)."""
    process = _bind_processor(column, conn.dialect)
    return value if process is None else process(value)


def _bind_processor(column: Column, dialect: Dialect) -> Callable[[object], object] | None:
    """What ``column``'s type does to a value for ``dialect``'s driver: its dialect's own
    implementation's (SQLite's ``DATETIME`` writes the text SQLAlchemy reads back, where the
    generic ``DateTime`` would hand the driver a ``datetime`` to adapt by its own rules)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=64)
def _insert_statement(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[Compiled, tuple[str, ...]]:
    """The dialect's INSERT of ``columns`` and the columns in its parameters' order (for
    positional parameters, SQLite's ?, the statement's; for named ones, %(name)s, as given);
    compiled once (a bulk load inserts into the same tables with the same columns each batch)."""
    # for many rows: no RETURNING of the key on PostgreSQL, which would send each row's id back
    compiled = insert(table).compile(
        dialect=dialect, column_keys=list(columns), for_executemany=True
    )
    return compiled, tuple(compiled.positiontup or ()) if compiled.positional else columns


def _execute_insert(
    conn: Connection,
    table: Table,
    compiled: Compiled,
    names: tuple[str, ...],
    params: Sequence[Sequence[object]],
    bound: Collection[str],
) -> None:
    """Run ``compiled`` for each row of ``params`` (values in ``names``' order), each value
    through its column type's bind processor unless its column is ``bound``."""
    processed = [
        (i, process)
        for i, name in enumerate(names)
        if name not in bound
        and (process := _bind_processor(table.c[name], conn.dialect)) is not None
    ]
    if processed:  # the few columns (JSON, dates) whose type converts the value
        converted = []
        for row in params:
            row = list(row)
            for i, process in processed:
                row[i] = process(row[i])
            converted.append(tuple(row))
        params = converted
    if not compiled.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(compiled.string, params)


#: SQLite's page cache for each connection, in KiB (``Database.bulk_load``'s index builds
#: use ``INDEX_BUILD_CACHE_KIB``).
CACHE_KIB = 65536
#: The page cache while a bulk load builds its indexes, in KiB. Each build scans the whole
#: table through the cache, and a small one stays in the CPU's caches where a large one is
#: cycled through cold memory: the 17 builds of a 100k load 1.76 → 1.47 s, of a 500k load
#: 10.2–10.5 → 7.4–7.6 s (a scan of 100k trials 60 → 47 ms). Sorting takes no less memory
#: than SQLite's own floor (250 pages) whatever this says.
INDEX_BUILD_CACHE_KIB = 4096


class _BuildPragmas(NamedTuple):
    """A connection's settings for building indexes (``Database.bulk_load``) and after."""

    cache_kib: int
    threads: int


#: While a bulk load builds its indexes: a small page cache (``INDEX_BUILD_CACHE_KIB``), and as
#: many sorter threads as there are CPUs besides this one, at most 3 — a large load's sort
#: spills into several runs, which the threads sort and merge on the core the ingest worker no
#: longer uses (500k trials: the 17 builds 7.4 → 6.0 s; 100k trials' keys sort in one run in
#: memory, no faster or slower). Mapping the file into memory as well (``mmap_size``) saved a
#: little more (100k: 1.40 → 1.32 s; 500k: 6.0 → 5.6 s), but the mapped pages counted as the
#: process's memory: a 500k load's peak RSS went from ~720 MB to 1.2 GB. Not done.
INDEX_BUILD = _BuildPragmas(INDEX_BUILD_CACHE_KIB, max(0, min(3, (os.cpu_count() or 1) - 1)))
#: After the builds: SQLite's default (no threads) but the cache (``CACHE_KIB``).
NOT_BUILDING = _BuildPragmas(CACHE_KIB, 0)


def _index_build_pragmas(conn: Connection, pragmas: _BuildPragmas) -> None:
    conn.exec_driver_sql(f"PRAGMA cache_size=-{pragmas.cache_kib}")
    conn.exec_driver_sql(f"PRAGMA threads={pragmas.threads}")


#: SQLite page size of a database this package creates.
PAGE_SIZE = 16384


class Journal(NamedTuple):
    """How a SQLite connection journals its transactions (``PRAGMA journal_mode`` and
    ``synchronous``)."""

    mode: str
    synchronous: str


#: Serving and small loads: a write-ahead log, so readers go on while a batch is written; a
#: commit is not synced (a power cut may undo the last ones), a checkpoint is.
SERVING = Journal("WAL", "NORMAL")
#: A first bulk load (``Database.bulk_load``): a rollback journal, which holds only the pages
#: a transaction changes that were there before it, so a load's pages — nearly all new — are
#: written once, where the log writes each twice (to the log, then to the file at its
#: checkpoints) with a checksum. Synced as SQLite syncs by default, so a killed process or a
#: power cut leaves every batch whole or absent: the journal a killed batch leaves behind is
#: rolled back by the next connection. Measured at 100k, SQLite alone: the writer's commits
#: 38 → 28 µs a trial; the whole load ~1.5 s faster in runs alternating with the log (medians
#: 23.8 against 25.6 s), and unsynced (``OFF``) no faster than this in four pairs.
LOADING = Journal("TRUNCATE", "NORMAL")


class _SqlitePragmas:
    """The engine's connect listener: what each new SQLite connection of a ``Database`` is set
    to, with the journal ``Database.bulk_load`` switches."""

    def __init__(self) -> None:
        self.journal = SERVING

    def __call__(self, dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
        dbapi_connection.create_function("cjk_segments", 1, cjk_segments, deterministic=True)
        cursor = dbapi_connection.cursor()
        # takes effect only while a new database is empty. A trial's row and its stored record
        # (~2.5 KB each) fit one to a 4 KB page, wasting 40 % of the file; 16 KB pages hold
        # six: a 20k load made a 157 MB database instead of 240 MB, 3-5 % faster
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
        try:
            cursor.execute(f"PRAGMA journal_mode={self.journal.mode}")
        except sqlite3.OperationalError:  # leaving the log while another connection has the
            pass  # file open ("database is locked" at once): it goes on with the log
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={self.journal.synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        # 64 MiB of page cache (the default is 2 MiB): bulk loads touch many index pages
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.close()
