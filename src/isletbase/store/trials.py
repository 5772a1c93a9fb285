"""Trials in the database: idempotent upsert with field history (``store.trial_reads`` reads
them back).

A trial is found by any of its registry ids, so a ChiCTR record and a ClinicalTrials.gov record
of the same study land on one row. Re-writing an unchanged record writes nothing; a changed
record writes one ``TrialVersion`` per changed field with the old and new value and the source.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from operator import itemgetter
from typing import Any, Literal, NamedTuple, Protocol

import orjson
from sqlalchemy import JSON, Table, select
from sqlalchemy.orm import Session, selectinload

from isletbase import places, taxonomy
from isletbase.model import Derivation, RegistryId, TrialRecord
from isletbase.store.db import (
    TAGGED_COLUMNS,
    bound_value,
    deferred_search_index,
    insert_tuples,
    json_text,
    without_accents,
)
from isletbase.store.institutions import InstitutionIndex
from isletbase.store.schema import (
    DerivationRow,
    InstitutionRow,
    RegistryIdRow,
    SiteRow,
    SourceRow,
    TrialRow,
    TrialVersionRow,
    utcnow,
)
from isletbase.taxonomy import CJK
from isletbase.wording import said

#: Scalar fields copied from a record to the row; a change to any of them is a version.
SCALAR_FIELDS = (
    "title_en",
    "official_title_en",
    "title_zh",
    "sponsor",
    "sponsor_zh",
    "summary",
    "design",
    "primary_outcome",
    "phase",
    "status",
    "enrollment",
    "enrollment_type",
    "start_date",
    "completion_date",
    "first_posted",
    "last_update",
    "country",
    "region",
    "source_url",
    "notes",
)
LIST_FIELDS = ("conditions", "interventions", "org_study_ids")
DERIVED_COLUMNS = ("cell_source", "condition", "route", "phase_code", "status_code")
#: Statuses that promise activity: no update for two years makes them stale.
ACTIVE_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")
STALE_AFTER_DAYS = 730
#: How a curator's override made in the database (``store.curation``) names its author; such
#: overrides are kept when the trial's record is ingested again.
CURATOR_PREFIX = "curated by "
#: Statuses that end or lose track of a trial: reaching one from an active status is a jump.
JUMP_STATUSES = ("UNKNOWN", "SUSPENDED", "TERMINATED", "WITHDRAWN")
#: Statuses a jump starts from: the active ones, and a trial that enrolled and goes on (one
#: terminated after enrolment is the jump a reader most wants to see; it raised none).
JUMP_FROM = (*ACTIVE_STATUSES, "ACTIVE_NOT_RECRUITING")

Outcome = Literal["new", "updated", "unchanged"]

LOAD_OPTIONS = (
    selectinload(TrialRow.registry_ids),
    selectinload(TrialRow.sites),
    selectinload(TrialRow.sources),
    selectinload(TrialRow.derivations),
)


class DerivationView(Protocol):
    """What the writer reads of a derivation: a ``Derivation`` model or a ``taxonomy.Derived``
    tuple (named apart from the latter, which it describes)."""

    @property
    def field(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def method(self) -> str: ...
    @property
    def rule(self) -> str: ...


def payload_hash(payload: dict, derivations: Sequence[DerivationView], salt: str = "") -> str:
    """A stable hash of what was received (a record dumped as JSON-ready data, ``payload``)
    and what was derived, to detect real changes.

    ``salt`` stands for the institution directory, so a changed directory relinks sites. The
    day each source was read (``sources[].retrieved``) is left out: the same record read again
    on another day is unchanged, and writes nothing.
    """
    record = {**payload, "sources": [{**s, "retrieved": None} for s in payload["sources"]]}
    document = {
        "salt": salt,
        "record": record,
        "derived": [
            {"field": d.field, "value": d.value, "method": d.method, "rule": d.rule}
            for d in derivations
        ],
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def unmatched(derivation: DerivationView) -> bool:
    """Whether a derivation says only that the classifier matched nothing: such a one is not
    stored (``trial_reads`` gives it back for each derived field without a row). Most registry
    records match no cell source, condition or route, so a bulk load wrote 5 derivation rows
    a trial where 2.7 say something (100k: 234k of 500k rows; the rows cost the writer
    ~1.8 µs each)."""
    return (
        derivation.value is None
        and derivation.method == "classifier"
        and derivation.rule == taxonomy.NO_RULE
    )


def stale_flags(status_code: str | None, last_update: str | None, today: date) -> list[str]:
    """Flags a reader should see: an 'active' status with no update for two years is stale."""
    if status_code in ACTIVE_STATUSES and last_update:
        parts = [int(p) for p in last_update.split("-")]
        seen = date(
            parts[0], parts[1] if len(parts) > 1 else 12, parts[2] if len(parts) > 2 else 28
        )
        if (today - seen).days > STALE_AFTER_DAYS:  # data/wording.yaml's stale: STALE_FLAG…
            zh = {"status": f"“{taxonomy.load().label('status', status_code, 'zh')}”"}
            return [said("stale", zh=zh, status=status_code, since=last_update)]
    return []


#: What ``search_document`` writes, by version: a stored trial's search text is written again
#: when the version changes (it is part of an ingest's content hash, ``Pipeline.salt``), so a
#: database loaded before a change finds the same as a new one once its sources load again.
#: 2: sites' places in both languages. 3: linked institutions' places in both languages, and
#: Latin words written against Chinese (``latin_in_cjk``).
DOCUMENT_VERSION = 3


def search_document(
    data: Mapping[str, Any],
    derived: Mapping[str, str | None],
    institution_words: Sequence[Sequence[str]],
) -> str:
    """The text a trial is found by, in both languages (``data``: the record's or trial's
    fields, as ``model_dump`` gives them).

    Besides the record's own text it carries the English and Chinese labels of its cell source
    and condition (so 脐带间充质干细胞 finds a trial registered only in English), every name,
    alias and pinyin form of its linked institutions (so ``xiehe`` finds PUMCH's trials), and
    the simplified form of each text written in traditional characters (so 台北荣民总医院 finds
    what 臺北榮民總醫院 names; a search in traditional characters is read in both forms), and
    its sites' cities and provinces in China and its region in both languages
    (``places.site_names``: 北京 finds a trial at a site in Beijing).
    """
    parts: list[str | None] = [r["id"] for r in data["registry_ids"]]
    parts += data["org_study_ids"]
    parts += [
        data["title_en"],
        data["official_title_en"],
        data["title_zh"],
        data["sponsor"],
        data["sponsor_zh"],
        data["country"],
        data["region"],
    ]
    parts += data["conditions"] + data["interventions"]
    for site in data["sites"]:
        parts += [site["name"], site["name_zh"], site["city"], site["province"]]
    for name in ("cell_source", "condition", "route"):
        value = derived.get(name)
        parts += [value, *_labels(name, value)]
    for words in institution_words:
        parts += words
    text = " | ".join(p for p in parts if p)
    if not text.isascii():  # most registry records are: one scan
        folded = [f for p in parts if p and (f := taxonomy.simplified(p)) != p]
        # the texts a record writes in Chinese (a title in English with an accent or a dash
        # was read too, ~5 µs a record of a bulk load; the labels' Chinese holds no such word)
        chinese = [data["title_zh"], data["sponsor_zh"], *data["conditions"]]
        chinese += [*data["interventions"], *(s["name_zh"] or s["name"] for s in data["sites"])]
        latin = latin_in_cjk(chinese)
        text = " | ".join([text, *dict.fromkeys(folded), *dict.fromkeys(latin)])
    # the book's names are simplified already: added after the folding, they cost it nothing
    named = [
        n for s in data["sites"] for n in places.site_names(s["city"], s["province"], s["country"])
    ]
    if data["region"] and (region := places.find("region", data["region"])):
        named += region.spellings
    if named:
        given = set(parts)
        text = " | ".join([text, *(n for n in dict.fromkeys(named) if n not in given)])
    return without_accents(taxonomy.normalise(text)).lower()


#: A run of Latin letters and digits (full-width ones folded first, ``latin_in_cjk``).
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+")


def _holds_cjk(part: str) -> bool:
    """Whether a text holds a CJK character; one in Latin-1 (an accent, most European text)
    holds none, which its encoding tells in ~0.5 µs where the pattern took ~1.5 (a record's
    texts average ~190 characters)."""
    try:
        part.encode("latin-1")
    except UnicodeEncodeError:
        return CJK.search(part) is not None
    return False


def latin_in_cjk(parts: Iterable[str | None]) -> list[str]:
    """Each Latin word (a product's code, an acronym) written against Chinese characters in
    ``parts`` (a record's texts), as Chinese texts write them (评价E10I治疗2型糖尿病,
    评价ＥＩ０Ａ治疗): the word index reads such a run as one word with its Chinese, so E10I found
    nothing;
    written again on its own, it is found. Two characters at least, a letter among them (the 2
    of 2型 is no word). One pass over the runs, each looked at once (a pattern that found them
    by lookarounds took 3 min for a 2,000-letter word), and only in texts holding Chinese: a
    record's other non-ASCII texts (an accent, a dash) held ~100 runs each, 96 µs a record."""
    found = []
    for part in parts:
        if not part or part.isascii() or not _holds_cjk(part):
            continue
        folded = taxonomy.normalise(part)
        found += [
            m.group()
            for m in _LATIN_RUN.finditer(folded)
            if m.end() - m.start() > 1
            and not m.group().isdigit()
            and (
                (m.start() > 0 and CJK.match(folded, m.start() - 1) is not None)
                or CJK.match(folded, m.end()) is not None
            )
        ]
    return found


@cache
def _labels(field: str, value: str | None) -> tuple[str | None, str | None]:
    """A vocabulary value's English and Chinese labels (looked up once per value)."""
    tax = taxonomy.load()
    return tax.label(field, value, "en"), tax.label(field, value, "zh")


def institution_words(session: Session) -> dict[str, list[str]]:
    """Every institution's names, place (in English and Chinese) and aliases (incl. pinyin),
    for trials' search text.

    Search matches Latin-script words by prefix, so the joined pinyin is also written from each
    syllable on (``xieheyiyuan``, ``heyiyuan`` …): ``xiehe`` finds 北京协和医院's trials."""
    rows = session.scalars(select(InstitutionRow).options(selectinload(InstitutionRow.aliases)))
    return {
        r.id: [
            w
            for w in [
                r.name_en,
                r.name_zh,
                r.city,
                r.province,
                # in both languages, as a site's are (``search_document``): 长沙 found the
                # trials of a site with no place of its own only by an institution's "Changsha"
                *places.site_names(r.city, r.province, r.country),
                *(a.alias for a in r.aliases),
                *(s for a in r.aliases if a.kind == "pinyin" for s in _syllable_suffixes(a.alias)),
            ]
            if w
        ]
        for r in rows
    }


def _syllable_suffixes(spaced: str) -> list[str]:
    """``bei jing xie he`` → ``jingxiehe``, ``xiehe`` (the whole and the last are words already)."""
    syllables = spaced.split()
    return ["".join(syllables[i:]) for i in range(1, len(syllables) - 1)]


class TrialValues(NamedTuple):
    """The column values of one trial (a dict by column) and of its child rows (tuples, their
    fields in the order ``REGISTRY_ID_FIELDS``, ``SITE_FIELDS``, ``SOURCE_FIELDS`` and
    ``DERIVATION_FIELDS`` name them, as the bulk insert writes them)."""

    trial: dict[str, object]
    registry_ids: list[tuple]
    sites: list[tuple]
    sources: list[tuple]
    derivations: list[tuple]


#: The fields of a trial's child rows, in their tables' column order (``_Layout`` checks).
REGISTRY_ID_FIELDS = ("position", "registry_name", "registry_id")
SITE_FIELDS = ("position", "name", "name_zh", "city", "province", "country", "institution_id")
SOURCE_FIELDS = ("url", "fields", "retrieved")
DERIVATION_FIELDS = ("field", "value", "method", "rule")
_SITE_INSTITUTION = SITE_FIELDS.index("institution_id")


class _Layout(NamedTuple):
    """How a table's rows are written in bulk: its mapped attributes and their columns in the
    table's order, its JSON columns and their places among them."""

    table: Table
    attributes: tuple[str, ...]
    columns: tuple[str, ...]
    serialized: frozenset[str]
    json: tuple[int, ...]

    @classmethod
    def of(cls, mapped: type, skip: tuple[str, ...], fields: tuple[str, ...] = ()) -> _Layout:
        """The layout of ``mapped``'s table but the columns ``skip``; where ``fields`` name its
        mapped attributes, they must be in the table's order (values are given in that order)."""
        attrs = [a for a in mapped.__mapper__.column_attrs if a.columns[0].name not in skip]  # type: ignore[attr-defined]
        if fields and tuple(a.key for a in attrs) != fields:
            raise TypeError(f"{mapped.__name__}: columns {[a.key for a in attrs]}, not {fields}")
        json = tuple(i for i, a in enumerate(attrs) if isinstance(a.columns[0].type, JSON))
        return cls(
            mapped.__table__,  # type: ignore[attr-defined]
            tuple(a.key for a in attrs),
            tuple(a.columns[0].name for a in attrs),
            frozenset(attrs[i].columns[0].name for i in json),
            json,
        )

    def pack(self, row: tuple) -> tuple:
        """One row's values (in column order) with its JSON columns as text."""
        if not self.json:
            return row
        listed = list(row)
        for i in self.json:
            listed[i] = json_text(listed[i])
        return tuple(listed)


#: A new trial's row as ``pack`` gives it: the insert assigns its uid, and the writer adds its
#: display id and the time of writing.
_TRIALS = _Layout.of(TrialRow, ("uid", "display_id", "updated_at"))
TRIAL_COLUMNS = _TRIALS.columns
_TRIAL_VALUES = itemgetter(*_TRIALS.attributes)
#: What the search index is written from (``deferred_search_index``), out of a packed row.
_INDEXED = itemgetter(*(TRIAL_COLUMNS.index(c) for c in ("search_text", *TAGGED_COLUMNS)))
#: The child rows, in ``PackedTrial``'s order, but their id and the trial's uid.
_CHILDREN = tuple(
    _Layout.of(mapped, ("id", "trial_uid"), fields)
    for mapped, fields in (
        (RegistryIdRow, REGISTRY_ID_FIELDS),
        (SiteRow, SITE_FIELDS),
        (SourceRow, SOURCE_FIELDS),
        (DerivationRow, DERIVATION_FIELDS),
    )
)


class PackedTrial(NamedTuple):
    """A new trial's rows as the bulk insert writes them (``TrialWriter.insert_new``): tuples
    in each table's column order, JSON as text. A worker process hands these over: tuples
    pickle and load back in about half the time of dicts, and the writer then passes them to
    SQLite as they are (converting dicts there cost it ~20 µs a trial)."""

    trial: tuple
    registry_ids: list[tuple]
    sites: list[tuple]
    sources: list[tuple]
    derivations: list[tuple]


def pack(values: TrialValues) -> PackedTrial:
    """A new trial's ``values`` as the rows ``TrialWriter.insert_new`` writes."""
    return PackedTrial(
        _TRIALS.pack(_TRIAL_VALUES(values.trial)),
        *(
            [layout.pack(row) for row in rows] if layout.json else rows
            for layout, rows in zip(_CHILDREN, values[1:], strict=True)
        ),
    )


def _as_dict(fields: tuple[str, ...], row: tuple) -> dict[str, object]:
    return dict(zip(fields, row, strict=True))


@dataclass
class TrialShaper:
    """The values stored for a record: institution links and search text, besides the
    record's own fields. It needs no database, so the ingest worker process can run it."""

    index: InstitutionIndex
    words: dict[str, list[str]]

    def match(self, name: str | None) -> str | None:
        """The institution a site or sponsor name refers to (the index remembers its answers,
        which a pipeline keeps across batches: names repeat a lot)."""
        return self.index.match(name) if name else None

    def values(
        self, data: Mapping[str, Any], derivations: Sequence[DerivationView], digest: str
    ) -> TrialValues:
        """Everything stored for a trial, derived from its record's data (the JSON form of a
        ``TrialRecord``, as stored in ``raw_records``) and its derivations."""
        derived = {d.field: d.value for d in derivations}
        trial: dict[str, object] = {f: data[f] for f in SCALAR_FIELDS}
        trial.update({f: list(data[f]) for f in LIST_FIELDS})
        trial.update({f: derived.get(f) for f in DERIVED_COLUMNS})
        start_date = data["start_date"]
        trial["start_year"] = int(start_date[:4]) if start_date else None
        trial["curated"] = {k: v for k, v in data["curated"].items() if v is not None}
        trial["content_hash"] = digest
        sites = [  # SITE_FIELDS
            (
                i,
                s["name"],
                s["name_zh"],
                s["city"],
                s["province"],
                s["country"],
                s["institution_id"] or self.match(s["name"]) or self.match(s["name_zh"]),
            )
            for i, s in enumerate(data["sites"])
        ]
        sponsor = self.match(data["sponsor"]) or self.match(data["sponsor_zh"])
        trial["sponsor_institution_id"] = sponsor
        # none of its own: staleness is read as of the day it is read (``trial_reads``), and
        # the writer adds a status jump it sees
        trial["flags"] = []
        linked = sorted(
            {s[_SITE_INSTITUTION] for s in sites if s[_SITE_INSTITUTION]}
            | ({sponsor} if sponsor else set())
        )
        trial["search_text"] = search_document(
            data, derived, [self.words.get(i, []) for i in linked]
        )
        return TrialValues(
            trial=trial,
            registry_ids=[  # REGISTRY_ID_FIELDS
                (i, r["registry"], r["id"]) for i, r in enumerate(data["registry_ids"])
            ],
            sites=sites,
            sources=[  # SOURCE_FIELDS
                (data["source_url"], ["record"], None),
                *((s["url"], list(s["fields"]), s["retrieved"]) for s in data["sources"]),
            ],
            derivations=[
                (d.field, d.value, d.method, d.rule) for d in derivations if not unmatched(d)
            ],
        )


@dataclass
class TrialWriter:
    """Writes trial records into one session, linking sites and sponsors to institutions.

    New trials can be written many at a time (``insert_new``, plain multi-row INSERTs); a trial
    that exists is updated through the ORM (``upsert``) so each changed field becomes a version.
    Both paths compute a trial's values with one ``TrialShaper``, so they store the same thing.
    """

    session: Session
    index: InstitutionIndex
    source: str
    today: date
    salt: str = ""
    shaper: TrialShaper | None = None

    def values(
        self, data: Mapping[str, Any], derivations: Sequence[DerivationView], digest: str
    ) -> TrialValues:
        """Everything stored for a trial (``TrialShaper.values``)."""
        if self.shaper is None:
            words = institution_words(self.session)
            self.shaper = TrialShaper(self.index, words)
        return self.shaper.values(data, derivations, digest)

    def find(self, ids: Sequence[RegistryId]) -> TrialRow | None:
        found = self.session.scalars(
            select(TrialRow)
            .join(RegistryIdRow)
            .where(RegistryIdRow.registry_id.in_([r.id for r in ids]))
            .options(*LOAD_OPTIONS)
        ).first()
        return found

    def insert_new(self, keys: Sequence[str], trials: Sequence[PackedTrial]) -> list[int]:
        """Insert trials known to be new (display ids ``keys``, rows ``trials``), many rows
        per statement; returns their uids in order."""
        if not keys:
            return []
        conn = self.session.connection()
        table = TrialRow.__table__
        now = utcnow()
        updated = bound_value(conn, table.c.updated_at, now)
        with deferred_search_index(conn) as pending:
            # a plain executemany (RETURNING would make SQLite insert row by row), then the
            # uids read back by the unique display id
            insert_tuples(
                conn,
                table,
                ("display_id", *TRIAL_COLUMNS, "updated_at"),
                [(key, *t.trial, updated) for key, t in zip(keys, trials, strict=True)],
                _TRIALS.serialized | {"updated_at"},
            )
            assigned = {
                display_id: uid
                for start in range(0, len(keys), 1000)
                for uid, display_id in conn.execute(
                    select(table.c.uid, table.c.display_id).where(
                        table.c.display_id.in_(keys[start : start + 1000])
                    )
                )
            }
            uids = [assigned[key] for key in keys]
            pending += [(uid, *_INDEXED(t.trial)) for uid, t in zip(uids, trials, strict=True)]
        for position, layout in enumerate(_CHILDREN, start=1):
            insert_tuples(
                conn,
                layout.table,
                ("trial_uid", *layout.columns),
                [(uid, *row) for uid, t in zip(uids, trials, strict=True) for row in t[position]],
                layout.serialized,
            )
        versions = TrialVersionRow.__table__
        created = (
            "record",
            None,
            "created",
            self.source,
            bound_value(conn, versions.c.changed_at, now),
        )
        insert_tuples(
            conn,
            versions,
            ("trial_uid", "field", "old_value", "new_value", "source", "changed_at"),
            [(uid, *created) for uid in uids],
            {"changed_at"},
        )
        return uids

    def upsert(
        self,
        record: TrialRecord,
        derivations: Sequence[Derivation],
        uid: int | None = None,
        source: str | None = None,
    ) -> tuple[Outcome, TrialRow]:
        """Insert or update one trial (trial ``uid``, else the one holding one of the record's
        registry ids); returns what happened and the row. ``source`` names where the changes
        came from where the writer's own name would not say it (a record read anew)."""
        data = record.model_dump(mode="json")
        digest = payload_hash(data, derivations, self.salt)
        row = (
            self.session.get(TrialRow, uid, options=LOAD_OPTIONS)
            if uid is not None
            else self.find(record.registry_ids)
        )
        if row is not None and row.content_hash == digest:
            return "unchanged", row
        outcome: Outcome = "updated" if row is not None else "new"
        if row is None:
            row = TrialRow(display_id=record.display_id, content_hash=digest)
            old: dict[str, object] = {}
        else:
            old = _snapshot(row)
            # named by its merged record's first id, as its page is headed: a ChiCTR trial a
            # ClinicalTrials.gov record joined was shown as NCT… and kept as ChiCTR…, so
            # `review --split` refused the id the page showed
            row.display_id = record.display_id
        was_updated = row.updated_at
        self._apply(row, data, derivations, digest)
        # a new row joins the session filled: a query of ``_apply`` (the institutions' words,
        # read once a writer) flushed it while its columns were still empty
        self.session.add(row)
        self.session.flush()
        if outcome == "new":
            self.session.add(
                TrialVersionRow(
                    trial_uid=row.uid,
                    field="record",
                    old_value=None,
                    new_value="created",
                    source=self.source,
                )
            )
        elif not self._versions(row, old, source or self.source):
            # stored anew (a source's retrieval date, a view merged over the whole page) but
            # nothing a person reads changed: no history, so the report says unchanged too,
            # and the trial is not listed among the recently updated
            outcome = "unchanged"
            row.updated_at = was_updated
        return outcome, row

    def _apply(
        self,
        row: TrialRow,
        data: Mapping[str, Any],
        derivations: Sequence[Derivation],
        digest: str,
    ) -> None:
        values = self.values(data, derivations, digest)
        # a curator's decision made in the database outlives a re-ingest of the record
        kept = [(d.field, d.value, d.rule) for d in curator_derivations(row)]
        jumps = [f for f in (row.flags or []) if f.startswith("status jump")]
        before = row.status_code
        for column, value in values.trial.items():
            setattr(row, column, value)
        row.updated_at = utcnow()
        jump = status_jump(before, row.status_code, self.today)
        row.flags = [*values.trial["flags"], *jumps, *([jump] if jump else [])]
        existing = {r.registry_id: r for r in row.registry_ids}
        keep = []
        for position, registry, registry_id in values.registry_ids:
            id_row = existing.pop(registry_id, None) or RegistryIdRow(registry_id=registry_id)
            id_row.registry_name, id_row.position = registry, position
            keep.append(id_row)
        # ids learned earlier from another registry stay: a merged trial keeps all its ids
        keep += sorted(existing.values(), key=lambda r: r.position)
        row.registry_ids = keep
        row.sites = [SiteRow(**_as_dict(SITE_FIELDS, s)) for s in values.sites]
        row.sources = [SourceRow(**_as_dict(SOURCE_FIELDS, s)) for s in values.sources]
        row.derivations = [
            DerivationRow(**_as_dict(DERIVATION_FIELDS, d)) for d in values.derivations
        ]
        for field_name, value, rule in kept:
            setattr(row, field_name, value)
            row.curated = {**(row.curated or {}), field_name: value, "note": rule}
            row.derivations = [d for d in row.derivations if d.field != field_name] + [
                DerivationRow(field=field_name, value=value, method="curated", rule=rule)
            ]

    def _versions(self, row: TrialRow, old: dict[str, object], source: str) -> int:
        """Write a version of each field that changed, from ``source``; how many. Another
        spelling of the same thing is no change (``_respelled``)."""
        new = _snapshot(row)
        changed = 0
        for field_name, before in old.items():
            after = new[field_name]
            if before != after and not _respelled(field_name, old, new):
                changed += 1
                self.session.add(
                    TrialVersionRow(
                        trial_uid=row.uid,
                        field=field_name,
                        old_value=_text(before),
                        new_value=_text(after),
                        source=source,
                    )
                )
        return changed


def curator_derivations(row: TrialRow) -> list[DerivationRow]:
    """The decisions a curator made on trial ``row`` in the database (``store.curation``),
    which outlive a re-ingest of its records and a merge into another trial."""
    return [
        d for d in row.derivations if d.method == "curated" and d.rule.startswith(CURATOR_PREFIX)
    ]


def status_jump(before: str | None, after: str | None, today: date) -> str | None:
    """A flag when a trial that promised activity drops to an ended or unknown status."""
    if before in JUMP_FROM and after in JUMP_STATUSES:
        return f"status jump: {before} → {after} (seen {today.isoformat()})"
    return None


#: Registry texts a code is read from: a new spelling of the same code is no change.
_CODED = {"phase": "phase_code", "status": "status_code"}


def _respelled(field: str, old: Mapping[str, object], new: Mapping[str, object]) -> bool:
    """Whether ``field`` changed only in how a registry spells it: a phase or status with the
    same code ("Phase 1/Phase 2" as the CSV export writes it, "PHASE1/PHASE2" as the API
    does), conditions or interventions only in case ("Biological:", "BIOLOGICAL:"). Read from
    one source and then another, a trial's history filled with such changes."""
    if field in _CODED:
        code = _CODED[field]
        return old[code] is not None and old[code] == new[code]
    if field in ("conditions", "interventions"):
        before, after = old[field], new[field]
        assert isinstance(before, list) and isinstance(after, list)
        return [v.casefold() for v in before] == [v.casefold() for v in after]
    return False


def _snapshot(row: TrialRow) -> dict[str, object]:
    snap: dict[str, object] = {f: getattr(row, f) for f in (*SCALAR_FIELDS, *DERIVED_COLUMNS)}
    for f in LIST_FIELDS:
        snap[f] = list(getattr(row, f) or [])
    snap["registry_ids"] = sorted(r.registry_id for r in row.registry_ids)
    snap["sites"] = [[s.name, s.name_zh, s.city, s.province, s.country] for s in row.sites]
    # where a trial's facts come from (a registry's record joined, one gone), not when read
    snap["sources"] = sorted({s.url for s in row.sources})
    return snap


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
