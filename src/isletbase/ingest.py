"""The ingest pipeline: validate → classify → merge → upsert with history; rejects → quarantine.

Every source ends here. Trials are written a batch per transaction, so a bad record or a
killed process never leaves half a trial behind, and a record that fails validation is kept in
the quarantine table with the reason while the rest of the batch loads. Re-running a load with
the same input reports everything unchanged and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib.abc import Traversable
from pathlib import Path
from typing import NamedTuple, TypeVar

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from isletbase import taxonomy
from isletbase.dedup import CandidatePool, Match, pool_group
from isletbase.errors import InputError
from isletbase.model import (
    Institution,
    KeptRecord,
    SourceRef,
    TrialRecord,
    check_short_texts,
)
from isletbase.sources import RawRecord, visible
from isletbase.sources import curated as bundled
from isletbase.sources.chictr import other_registry_ids
from isletbase.store.db import (
    CONTROL_CHARACTERS,
    SURROGATES,
    Database,
    bound_value,
    insert_tuples,
    json_text,
)
from isletbase.store.institutions import forget_directory, institution_row, load_index
from isletbase.store.merges import kept_apart, kept_apart_keys, merge_trial
from isletbase.store.schema import (
    InstitutionAliasRow,
    InstitutionRow,
    MatchCandidateRow,
    QuarantineRow,
    RawRecordRow,
    RegistryIdRow,
    TrialRow,
    TrialVersionRow,
    utcnow,
)
from isletbase.store.trial_reads import ids_by_registry
from isletbase.store.trials import (
    DOCUMENT_VERSION,
    Outcome,
    PackedTrial,
    TrialShaper,
    TrialWriter,
    institution_words,
    pack,
    payload_hash,
)
from isletbase.taxonomy import Derived

Progress = Callable[[int], None]


@dataclass
class Report:
    """What a load did; printed by the CLI and returned by the API."""

    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    quarantined: int = 0
    review: int = 0
    institutions: int = 0
    errors: list[str] = field(default_factory=list)
    #: what a curator should see that is no error: a registry's link to a trial the curator
    #: kept apart, not followed
    notes: list[str] = field(default_factory=list)
    #: pages an earlier, interrupted run of the same search stored, which this one resumed after
    #: (their records are not counted here)
    resumed_after: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def __add__(self, other: Report) -> Report:
        """Two loads' reports as one (``ingest chictr`` of a folder of pages and exports)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return Report(**{key: value + theirs[key] for key, value in mine.items()})


def quarantine(db: Database, raw: RawRecord, reason: str) -> None:
    """Keep a rejected record with the reason, in its own transaction."""
    with db.session() as session:
        session.add(quarantine_row(raw, reason))


def quarantine_row(raw: RawRecord, reason: str) -> QuarantineRow:
    """A rejected record's row: its text as it came, the reason, and where it was read from
    (``harvest._raw_again`` gives it back, so a record that loads on retry keeps its page and
    retrieval date)."""
    return QuarantineRow(
        source=raw.source,
        record_ref=raw.ref,
        payload=_payload_text(raw),
        reason=reason,
        url=raw.url,
        extra=json.dumps(raw.extra, ensure_ascii=False) if raw.extra else None,
    )


def merge_records(records: Sequence[TrialRecord]) -> TrialRecord:
    """Combine records of one trial: the first record's values win, later ones fill gaps, but
    for where the trial stands (``_CURRENT``: its status and last update), which the record
    its registry updated last gives.

    Registry ids, list fields (texts differing only in case counted once, in the first
    record's spelling) and sources are united in order, and each later record's page is kept
    as a source, so a merged trial keeps every id and where each came from.
    """
    first = records[0]
    data = first.model_dump()
    for other in records[1:]:
        extra = other.model_dump()
        for key, value in extra.items():
            if key in ("registry_ids", "sources", "sites"):
                continue
            if isinstance(value, list):  # one entry a text, whatever its case: registries
                # write one intervention "BIOLOGICAL: …" (CT.gov) and "Biological: …" (ICTRP)
                united: dict[object, object] = {}
                for item in [*data[key], *value]:
                    united.setdefault(item.casefold() if isinstance(item, str) else item, item)
                data[key] = list(united.values())
            elif key == "curated":
                data[key] = {k: data[key].get(k) or v for k, v in value.items()}
            elif data.get(key) is None:
                data[key] = value
        seen = {r["id"] for r in data["registry_ids"]}
        data["registry_ids"] += [r for r in extra["registry_ids"] if r["id"] not in seen]
        if not data["sites"]:
            data["sites"] = extra["sites"]
        data["sources"] += [
            SourceRef(url=other.source_url, fields=["record"]).model_dump(),
            *extra["sources"],
        ]
    # a registry's newer word on where the trial stands: a ChiCTR record updated in 2025
    # ("Recruiting") merged under a ClinicalTrials.gov one of 2019 ("Unknown") showed Unknown,
    # moved the last update back six years and flagged a status jump no registry made. Only
    # registries' own records compete, with a status and a date, both taken from the one that
    # wins: a mirror's date is when it copied the record (ICTRP's "last refreshed", days after
    # the registry's update), and a first record without a date is not known to be older (a
    # curator's "Unknown status" read from a mirror stays over an old export's "Recruiting")
    dated = [r for r in records[1:] if r.status and r.last_update and not _mirrored(r)]
    latest = max(dated, key=lambda r: r.last_update or "", default=None)
    if (
        latest is not None
        and first.last_update
        and not _mirrored(first)
        and latest.last_update > first.last_update
    ):
        data.update({key: getattr(latest, key) for key in _CURRENT})
    unique_sources = {(s["url"], tuple(s["fields"])): s for s in data["sources"]}
    data["sources"] = list(unique_sources.values())
    return KeptRecord.model_validate(data)  # what was stored before the length limit too


#: Fields that say where a trial stands now: in a merged trial, those of the record its
#: registry updated last (``merge_records``), whichever source comes first.
_CURRENT = ("status", "last_update")
#: Hosts of registries' mirrors: a record read from one dates its copy, not the registry's
#: update (WHO's ICTRP search portal, the page an ICTRP record names as its source).
_MIRRORS = ("trialsearch.who.int",)


def _mirrored(record: TrialRecord) -> bool:
    """Whether ``record`` was read from a mirror of its registry (``_MIRRORS``)."""
    return any(host in source.url for source in record.sources for host in _MIRRORS)


#: Characters no registry text needs and a terminal or a database takes for commands: C0
#: controls but tab and line breaks (NUL, which PostgreSQL refuses in text, ESC, which starts a
#: terminal's escape sequences), DEL (``CONTROL_CHARACTERS``), C1 controls, and the
#: bidirectional overrides that make text read other than it is stored.
_CONTROLS = re.compile(f"[{CONTROL_CHARACTERS}\x80-\x9f\u202a-\u202e\u2066-\u2069]")
#: A lone surrogate: what a JSON ``\ud800`` escape decodes to, which no UTF-8 text holds (a
#: record with one is refused by its model, naming the field; its quarantined text escapes it).
_SURROGATE = re.compile(f"[{SURROGATES}]")


def _has_controls(text: str) -> bool:
    """Whether a record's JSON text (as ``json_text`` writes it) holds such a character. JSON
    escapes the C0 controls (``\\u00XX``, ``\\b``, ``\\f``), so the backslashes are looked at
    one by one (few: a record's line breaks and quotes), ~0.4 µs a record where one regular
    expression over the text took ~8; the others stand as they are, so a text holding more than
    ASCII and the em dashes the mappers join fields with is searched for them."""
    i = text.find("\\")
    while i != -1:
        if text[i + 1] in "ubf":  # \\u00XX: only controls are written so; \\\\ is skipped whole
            return True
        i = text.find("\\", i + 2)
    if "\x7f" in text:
        return True
    return (
        not text.isascii()
        and not text.replace("\u2014", "").isascii()
        and (_CONTROLS.search(text) is not None)
    )


#: The controls among ``_CONTROLS`` that separate text (vertical tab, form feed, the file,
#: group, record and unit separators, next line): each stands for a blank, where taking it out
#: glued the words either side into one ("type 1\x0bdiabetes" read no diabetes type).
_SEPARATING = frozenset("\x0b\x0c\x1c\x1d\x1e\x1f\x85")


def _cleaned(match: re.Match[str]) -> str:
    return " " if match.group() in _SEPARATING else ""


def _without_controls(value: object) -> object:
    """``value`` (a record's data) with ``_CONTROLS`` taken out of every text in it (those that
    separate words made blanks, ``_SEPARATING``): never trust text from a registry (a NUL
    stopped a PostgreSQL load; an ESC reached the terminal through ``isletbase show``)."""
    if isinstance(value, str):
        return _CONTROLS.sub(_cleaned, value).strip()  # texts are stored stripped
    if isinstance(value, list):
        return [_without_controls(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_controls(v) for k, v in value.items()}
    return value


#: Which view of its source's entry a record is, by the fields its own source gave: ``None``
#: for the whole entry, else the view's name (``chictr.language_view``: a page in one language).
Partial = Callable[[Sequence[str]], str | None]


def own_fields(record: TrialRecord | dict) -> list[str]:
    """The fields a record's own source (its first) says it gave, of a model or its data."""
    sources = record["sources"] if isinstance(record, dict) else record.sources
    if not sources:
        return []
    first = sources[0]
    return list(first["fields"] if isinstance(first, dict) else first.fields)


def by_precedence(records: list[TrialRecord], partial: Partial) -> list[TrialRecord]:
    """Views of one entry in the order they merge: the one its registry updated last first,
    the whole entry before a view of it where they tie. The order does not depend on the
    order they were read in, so reading them again, in any order, changes nothing."""
    ordered = sorted(records, key=lambda r: partial(own_fields(r)) is not None)
    return sorted(ordered, key=lambda r: r.last_update or "", reverse=True)


_T = TypeVar("_T")


def _latest_versions(
    records: list[TrialRecord], read: list[tuple[str, str]], partial: Partial | None = None
) -> list[TrialRecord]:
    """Of records of one source under one registry id (two versions of one ChiCTR page in a
    folder, say), the one its registry updated last, the later read where they tie: an older
    version is superseded, not a second source whose values fill gaps. Records of other
    sources (a curated file and a registry export of one trial) all stay, in their order, and
    so do views of it (``partial``: its Chinese page beside its bilingual and English ones),
    each the latest of its view: they fill each other's gaps. ``read`` is each record's
    (source, ref)."""
    latest = _latest_each(
        zip(records, (source for source, _ in read), strict=True),
        lambda rs: (rs[1], rs[0].display_id, partial(own_fields(rs[0])) if partial else None),
        lambda rs: rs[0].last_update or "",
    )
    return [record for record, _ in latest] if len(latest) < len(records) else records


def _latest_each(
    items: Iterable[_T], key: Callable[[_T], object], when: Callable[[_T], object]
) -> list[_T]:
    """Of the items sharing a ``key``, the latest by ``when`` (the later one where they tie),
    in the place of the first: one rule for a batch's records of one page and for the stored
    copies of one record."""
    latest: dict[object, _T] = {}
    for item in items:
        k = key(item)
        kept = latest.get(k)
        if kept is None or when(item) >= when(kept):  # type: ignore[operator]
            latest[k] = item
    return list(latest.values())


def group_by_registry_id(
    records: Sequence[TrialRecord], apart: Container[frozenset[str]] = frozenset()
) -> list[list[TrialRecord]]:
    """Cluster records that share any registry id (transitively), keeping input order; two
    whose ids a curator kept apart (``apart``: pairs of display ids, upper case) are not
    joined by an id they share."""
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, record in enumerate(records):
        for rid in record.registry_ids:
            key = rid.id.upper()
            if key in owner:
                if apart and _kept_apart(records[owner[key]], record, apart):
                    continue
                a, b = root(owner[key]), root(i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    clusters: dict[int, list[TrialRecord]] = {}
    for i, record in enumerate(records):
        clusters.setdefault(root(i), []).append(record)
    return list(clusters.values())


def _kept_apart(a: TrialRecord, b: TrialRecord, apart: Container[frozenset[str]]) -> bool:
    return frozenset((a.display_id.upper(), b.display_id.upper())) in apart


def load_institutions(db: Database, path: Traversable | Path, report: Report) -> None:
    """Upsert the institution directory; bad lines are quarantined, the rest load."""
    institutions: list[Institution] = []
    for raw in bundled.read_jsonl(path):
        report.fetched += 1
        try:
            institutions.append(bundled.to_institution(raw))
        except InputError as exc:
            report.quarantined += 1
            report.errors.append(str(exc))
            quarantine(db, raw, str(exc))
    with db.session() as session:
        for inst in institutions:
            fresh = institution_row(inst)
            row = session.get(InstitutionRow, inst.id)
            if row is None:
                session.add(fresh)
            else:
                session.execute(
                    delete(InstitutionAliasRow).where(InstitutionAliasRow.institution_id == inst.id)
                )
                for column in InstitutionRow.__table__.columns.keys():
                    setattr(row, column, getattr(fresh, column))
                row.aliases = fresh.aliases
    forget_directory(db)
    report.institutions = len(institutions)


#: The source name of the bundled files.
BUNDLED_SOURCE = "bundled data"
#: Which source's values win when one trial has records from several (first wins, later fill gaps):
#: the registries' own records first, then the curated bundled files (whose curator overrides
#: and notes fill what registries lack).
SOURCE_PRIORITY = (
    "ClinicalTrials.gov API",
    "ClinicalTrials.gov dump",
    "ChiCTR",
    "ChiCTR XML export",
    "ICTRP",
    BUNDLED_SOURCE,
)


#: Sources that give the same records (a ClinicalTrials.gov study from the API or the dump).
_SAME_RECORDS = (("ClinicalTrials.gov API", "ClinicalTrials.gov dump"),)


def _same_records(source: str) -> tuple[str, ...]:
    """``source`` and the sources that give the same records under the same refs."""
    return next((group for group in _SAME_RECORDS if source in group), (source,))


def _is_registry_id(ref: str) -> bool:
    """Whether a rejected record's ref is its registry's id (NCT01219465), not its place."""
    return [found["id"] for found in other_registry_ids(ref)] == [ref]


def _priority(source: str) -> int:
    return SOURCE_PRIORITY.index(source) if source in SOURCE_PRIORITY else len(SOURCE_PRIORITY)


def _payload_text(raw: RawRecord) -> str:
    """A rejected record's text as it came, for the quarantine, in a form every database can
    store: a lone surrogate (``_SURROGATE``) is written back as its escape, where it failed the
    write of the whole batch (a posted study holding one was answered 500)."""
    if raw.text:
        text = raw.text
    else:
        text = json.dumps(raw.payload, ensure_ascii=False) if raw.payload is not None else ""
    if _SURROGATE.search(text):
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class Head(NamedTuple):
    """What the writer reads of a record besides its payload: how it is keyed and linked."""

    display_id: str
    registry: str
    ids: tuple[str, ...]
    url: str | None


@dataclass
class Prepared:
    """One batch after the steps that need no database: map, validate, merge (``prepare``),
    then, where a process has the time, classify and hash (``classify``) and shape the stored
    values (``shape``).

    It is what a worker process hands the writer, so it crosses the process boundary as plain
    data only — heads, payloads (each record as the JSON text stored in ``raw_records``: a
    string pickles at the cost of a copy, a nested dict object by object), derivations as
    tuples, stored values — which pickles several times faster than pydantic models. What the
    worker left undone, the writer finishes (``classify``, ``TrialWriter.values``) from the
    payloads' data; only fuzzy matching needs a record model again (``record``).
    """

    fetched: int
    heads: list[Head]
    payloads: list[str]
    merged: int
    rejects: list[tuple[RawRecord, str]]
    #: (source, ref) of each record that mapped and validated: a quarantined copy is stale
    accepted: list[tuple[str, str]] = field(default_factory=list)
    #: each record's derivations and content hash, once classified (in the worker or not)
    derivations: list[list[Derived]] | None = None
    digests: list[str] | None = None
    #: each record's rows as a new trial, where a worker computed them (else the writer does)
    rows: list[PackedTrial] | None = None
    #: each payload as data, kept by the process that has it
    data: list[dict] | None = None
    #: records held back from this batch's merging (``_one_registration_each``), written after
    #: it in the same transaction, as if read in the next batch
    deferred: Prepared | None = None

    def payload(self, position: int) -> dict:
        """The record at ``position`` as JSON-ready data (as a JSON column reads it back)."""
        if self.data is None:
            self.data = [None] * len(self.payloads)  # type: ignore[list-item]
        if self.data[position] is None:
            self.data[position] = orjson.loads(self.payloads[position])
        return self.data[position]

    def record(self, position: int) -> TrialRecord:
        return TrialRecord.model_validate(self.payload(position))

    def classify(self, salt: str) -> None:
        """Classify and hash each record, unless that is done."""
        if self.derivations is not None:
            return
        self.derivations = [
            taxonomy.derive(data) for data in map(self.payload, range(len(self.payloads)))
        ]
        self.digests = [
            payload_hash(self.payload(i), d, salt) for i, d in enumerate(self.derivations)
        ]

    def shape(self, shaper: TrialShaper, salt: str) -> None:
        """Classify and hash each record (``classify``), then compute its rows as a new trial."""
        self.classify(salt)
        derivations, digests = self.derivations, self.digests
        assert derivations is not None and digests is not None
        if self.rows is None:
            self.rows = [
                pack(shaper.values(self.payload(i), derived, digest))
                for i, (derived, digest) in enumerate(zip(derivations, digests, strict=True))
            ]

    def __getstate__(self) -> dict:
        # named tuples as plain ones: pickle makes each named tuple through Python code (a
        # batch's heads and derivations cost the worker ~6 µs a record, ~2 as plain tuples)
        derivations = self.derivations and [list(map(tuple, ds)) for ds in self.derivations]
        heads = list(map(tuple, self.heads))
        rows = self.rows and list(map(tuple, self.rows))
        return {
            **self.__dict__,
            "data": None,
            "heads": heads,
            "derivations": derivations,
            "rows": rows,
        }

    def __setstate__(self, state: dict) -> None:
        state["heads"] = list(map(Head._make, state["heads"]))
        if state["derivations"] is not None:
            state["derivations"] = [list(map(Derived._make, ds)) for ds in state["derivations"]]
        if state["rows"] is not None:
            state["rows"] = list(map(PackedTrial._make, state["rows"]))
        self.__dict__.update(state)


def prepare(
    raws: Iterable[RawRecord],
    to_record: Callable[[RawRecord], TrialRecord],
    partial: Partial | None = None,
    apart: Container[frozenset[str]] = frozenset(),
) -> Prepared:
    """Map and validate a batch, merging records that share a registry id.

    Each record is mapped as soon as it is read (``raws`` may be lazy), while its parsed study
    is still in the CPU's caches, and is then dropped; a record that fails is returned among
    ``rejects`` with the reason (named by its ref). Classifying and shaping are left to
    ``Prepared.classify`` and ``Prepared.shape``, which the process that has the time calls
    (see ``ingest_worker``). A curator's override is checked here all the same, so a record
    with a value outside the vocabulary is rejected wherever it is classified.
    """
    valid: list[TrialRecord] = []
    rejects: list[tuple[RawRecord, str]] = []
    accepted: list[tuple[str, str]] = []
    fetched = 0
    for raw in raws:
        fetched += 1
        try:
            record = to_record(raw)
            check_short_texts(record)
            taxonomy.validate_curated(record.curated)
        except (InputError, ValueError) as exc:
            reason = visible(str(exc))  # quoting the record's text, which may hold controls
            rejects.append((raw, reason if raw.ref in reason else f"{raw.ref}: {reason}"))
            continue
        valid.append(record)
        accepted.append((raw.source, raw.ref))
    latest = _latest_versions(valid, accepted, partial)
    batch = _merged(latest, partial, apart)
    batch.fetched, batch.rejects, batch.accepted = fetched, rejects, accepted
    batch.merged += len(valid) - len(latest)  # an older version read beside its latest
    return batch


def _merged(
    records: list[TrialRecord], partial: Partial | None, apart: Container[frozenset[str]]
) -> Prepared:
    """``records`` merged where they share a registry id, as one batch; a second registration
    in one registry (two records of different ids naming one id of another) is held back to be
    written after the rest (``Prepared.deferred``), so it is linked, said and kept as a record
    of its own as it is when read in another batch (merged here, it vanished into the first's
    record, and no curator could split it off again)."""
    clusters = group_by_registry_id(records, apart)
    later: list[TrialRecord] = []
    if len(clusters) < len(records):
        kept, later = _one_registration_each(clusters)
        if later:
            clusters = group_by_registry_id(kept, apart)
    merged = [
        merge_records(by_precedence(c, partial) if partial else c) if len(c) > 1 else c[0]
        for c in clusters
    ]
    data = [r.model_dump(mode="json") for r in merged]
    payloads = [json_text(d) for d in data]
    for i, text in enumerate(payloads):
        if _has_controls(text):
            data[i] = _without_controls(data[i])
            payloads[i] = json_text(data[i])
    return Prepared(
        fetched=0,
        heads=[
            Head(
                r.display_id,
                r.registry_ids[0].registry,
                tuple(rid.id for rid in r.registry_ids),
                d["source_url"],  # as cleaned of control characters
            )
            for r, d in zip(merged, data, strict=True)
        ],
        payloads=payloads,
        merged=len(records) - len(later) - len(merged),
        rejects=[],
        data=data,
        deferred=_merged(later, partial, apart) if later else None,
    )


def _one_registration_each(
    clusters: list[list[TrialRecord]],
) -> tuple[list[TrialRecord], list[TrialRecord]]:
    """The records of ``clusters`` that may merge, and those to hold back: in a cluster, a
    record whose own id (its first) is of a registry an earlier record's is, but another id."""
    kept: list[TrialRecord] = []
    later: list[TrialRecord] = []
    for cluster in clusters:
        first: dict[str, str] = {}
        for record in cluster:
            own = record.registry_ids[0]
            if first.setdefault(own.registry, own.id.upper()) == own.id.upper():
                kept.append(record)
            else:
                later.append(record)
    return kept, later


#: The columns a new trial's stored record is inserted with, in the order ``Pipeline`` gives.
RAW_COLUMNS = (
    "source",
    "record_key",
    "trial_uid",
    "payload",
    "content_hash",
    "url",
    "retrieved_at",
)


class Pipeline:
    """One ingest run: validate → classify → link or match → upsert, a batch per transaction.

    Each batch commits atomically with its quarantine rows and whatever ``after`` adds (a
    paging checkpoint), so a killed process loses at most the batch in flight and never leaves
    half a trial. Each source's record is kept in ``raw_records``; a trial's stored values are
    its records merged by ``SOURCE_PRIORITY``, so re-ingesting one source never erases what
    another supplied, and an unchanged record (same content hash) is skipped without a write.
    A record that gives only part of what its source says (``partial``: a ChiCTR page in one
    language) fills the gaps of the source's stored record instead of replacing it.
    """

    def __init__(
        self,
        db: Database,
        source: str,
        to_record: Callable[[RawRecord], TrialRecord],
        progress: Progress | None = None,
        today: date | None = None,
        fuzzy: bool = True,
        partial: Partial | None = None,
    ) -> None:
        self.db, self.source, self.to_record = db, source, to_record
        self.partial = partial
        self.progress, self.today, self.fuzzy = progress, today or date.today(), fuzzy
        self.report = Report()
        with db.session() as session:
            self.index = load_index(session)
            self.shaper = TrialShaper(self.index, institution_words(session))
        # the directory relinks sites when it changes, a new search document rewrites texts
        stamp = repr((DOCUMENT_VERSION, sorted(self.index.keys.items())))
        self.salt = hashlib.sha256(stamp.encode()).hexdigest()[:16]
        self._pools: dict[str, CandidatePool] = {}
        #: registry → trials of the pools that took a record of it in this run: they hold an
        #: id of that registry now, so no other record of it may be merged into them
        self._taken: dict[str, set[int]] = {}
        with db.session() as session:
            held = session.execute(select(QuarantineRow.source, QuarantineRow.record_ref))
            self._held = {tuple(row) for row in held}
            #: records a curator split apart (``harvest.split_record``): not merged in a batch
            self.apart = kept_apart_keys(session)

    #: A run that adds or changes at least this many trials refreshes the planner's statistics.
    STATS_AFTER = 1000

    def finish(self) -> Report:
        """End the run and return its report; after a large load, refresh the database's query
        statistics (``Database.analyze``) so searches keep choosing good plans."""
        if self.report.new + self.report.updated >= self.STATS_AFTER:
            self.db.analyze()
        return self.report

    def batch(
        self,
        raws: Iterable[RawRecord],
        after: Callable[[Session], None] | None = None,
        before: Callable[[Session], None] | None = None,
    ) -> None:
        """Ingest one batch of raw records in one transaction (with ``before``/``after`` in it)."""
        self.write(prepare(raws, self.to_record, self.partial, self.apart), after, before)

    def write(
        self,
        batch: Prepared,
        after: Callable[[Session], None] | None = None,
        before: Callable[[Session], None] | None = None,
    ) -> None:
        """Write one prepared batch in one transaction (with ``before``/``after`` in it)."""
        rejects = batch.rejects
        counts = Report(
            fetched=batch.fetched, quarantined=len(rejects), errors=[r for _, r in rejects]
        )
        with self.db.session() as session:
            if before:
                before(session)
            self._release(session, batch.accepted)
            self._quarantine(session, rejects)
            writer = TrialWriter(
                session, self.index, self.source, self.today, self.salt, self.shaper
            )
            part: Prepared | None = batch
            while part is not None:
                counts.merged += part.merged
                self._write(session, writer, part, counts)
                part = part.deferred
            if after:
                after(session)
        for key in ("fetched", "new", "updated", "unchanged", "merged", "quarantined", "review"):
            setattr(self.report, key, getattr(self.report, key) + getattr(counts, key))
        self.report.errors += counts.errors
        self.report.notes += counts.notes
        if self.progress:
            self.progress(batch.fetched)

    def _release(self, session: Session, accepted: list[tuple[str, str]]) -> None:
        """Drop the quarantined copies of records that now load: a later version, or the
        same record after a fix, makes the rejected one stale (``quarantine --retry`` would
        only reject it again). A study of ClinicalTrials.gov is one record whether the API or
        the bulk download gave it: one that loads from either releases a copy from the
        other."""
        if not self._held:
            return
        for source, ref in accepted:
            for held in (s for s in _same_records(source) if (s, ref) in self._held):
                session.execute(
                    delete(QuarantineRow).where(
                        QuarantineRow.source == held, QuarantineRow.record_ref == ref
                    )
                )
                self._held.discard((held, ref))

    def _quarantine(self, session: Session, rejects: list[tuple[RawRecord, str]]) -> None:
        """Keep each rejected record with its reason, the same read again adding nothing. A
        record named by its registry id read again, changed, replaces its earlier copy, as a
        later version of a loaded record does; one named by its place (a file, a search's
        page) is kept beside it, as that place may hold another record next time."""
        if not rejects:
            return
        latest = {(raw.source, raw.ref): (raw, reason) for raw, reason in rejects}
        self._held.update(latest)
        stored: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for source, ref, reason, payload in session.execute(
            select(
                QuarantineRow.source,
                QuarantineRow.record_ref,
                QuarantineRow.reason,
                QuarantineRow.payload,
            )
            .where(QuarantineRow.source.in_({source for source, _ in latest}))
            .where(QuarantineRow.record_ref.in_([ref for _, ref in latest]))
        ):
            stored.setdefault((source, ref), []).append((reason, payload))
        for (source, ref), (raw, reason) in latest.items():
            payload = _payload_text(raw)
            if (reason, payload) in stored.get((source, ref), ()):
                continue
            if (source, ref) in stored and _is_registry_id(ref):  # an earlier version
                session.execute(
                    delete(QuarantineRow).where(
                        QuarantineRow.source == source, QuarantineRow.record_ref == ref
                    )
                )
            session.add(quarantine_row(raw, reason))

    def _pool(self, session: Session, registry: str) -> CandidatePool:
        group = pool_group(registry)
        if group not in self._pools:
            self._pools[group] = CandidatePool.load(session, group)
        return self._pools[group]

    def _pool_new(self, batch: Prepared, fresh: list[int], uids: list[int]) -> None:
        """Add the trials a batch just made to the pools of the registries they hold no id of,
        so a later batch of this run is matched against them as against those stored before
        it (an export holding one study's records from two registries, say)."""
        for position, uid in zip(fresh, uids, strict=True):
            own = pool_group(batch.heads[position].registry)
            others = [group for group in self._pools if group != own]
            if not others:  # one registry's records: never each other's duplicates
                continue
            record = batch.record(position)  # made once, whatever the number of pools
            for group in others:
                if _holds_none_of(record, group):
                    self._pools[group].add(uid, record)

    def _write(
        self, session: Session, writer: TrialWriter, batch: Prepared, counts: Report
    ) -> None:
        batch.classify(self.salt)
        heads, derivations, digests = batch.heads, batch.derivations, batch.digests
        assert derivations is not None and digests is not None
        keys = [h.display_id for h in heads]
        previous = {
            row.record_key: row
            for row in session.scalars(
                select(RawRecordRow).where(
                    RawRecordRow.source == self.source, RawRecordRow.record_key.in_(keys)
                )
            )
        }
        ids = sorted({i for h in heads for i in h.ids})
        owners = (
            {
                rid: uid
                for rid, uid in session.execute(
                    select(RegistryIdRow.registry_id, RegistryIdRow.trial_uid).where(
                        RegistryIdRow.registry_id.in_(ids)
                    )
                )
            }
            if ids
            else {}
        )
        fresh: list[int] = []
        queued: dict[int, Match] = {}
        moved: dict[int, int] = {}  # trials folded into another in this batch
        for position, (head, digest) in enumerate(zip(heads, digests, strict=True)):
            automatic: Match | None = None
            prev = previous.get(head.display_id)
            if (
                prev is not None
                and prev.trial_uid is not None
                and (
                    prev.content_hash == digest
                    or (
                        not self._views(batch.payload(position), prev.payload)
                        and _older(batch.payload(position), prev.payload)
                    )
                )
            ):
                counts.unchanged += 1
                continue
            uid = (prev.trial_uid if prev else None) or next(
                (owners[i] for i in head.ids if i in owners), None
            )
            shared = None
            # a record new to the database joining a stored trial through an id it names
            joined = uid is not None and prev is None and head.ids[0] not in owners
            if joined:
                shared = _same_registry_link(session, uid, head, owners)
            if uid is None and self.fuzzy:
                pool = self._pool(session, head.registry)
                taken = self._taken.get(pool_group(head.registry), ())
                match = pool.best(batch.record(position), taken) if pool.titles else None
                if match is not None and match.score.decision == "merge":
                    uid, automatic = match.uid, match
                    counts.merged += 1
                elif match is not None:
                    queued[len(fresh)] = match
            if uid is None:
                fresh.append(position)
                continue
            payload = batch.payload(position)
            anew = None if prev is None else _read_anew(self.source, payload, prev.payload)
            if prev is None:
                session.add(
                    RawRecordRow(
                        source=self.source,
                        record_key=head.display_id,
                        trial_uid=uid,
                        payload=payload,
                        content_hash=digest,
                        url=head.url,
                    )
                )
            else:
                before = {r["id"] for r in prev.payload.get("registry_ids", ())}
                _renew(prev, self._over(prev, batch.record(position), payload), digest, uid)
                counts.notes += _links_dropped(session, uid, head, before - set(head.ids))
            session.flush()
            outcome, absorbed, unlinked = refresh_trial(session, writer, uid, anew)
            counts.notes += unlinked
            if self.fuzzy:  # only matching reads it
                self._taken.setdefault(pool_group(head.registry), set()).add(uid)
            if automatic is not None:  # counted as merged, not as the trial's update too
                _record_merge(session, uid, head.display_id, _matched_by(automatic, self.source))
            elif shared is not None:  # a link a curator should see: merged, and said so
                _record_merge(session, uid, head.display_id, f"{self.source}: {shared}")
                counts.merged += 1
            elif joined:  # merged, as a fuzzy match is: it was counted as the trial's update
                link = next(i for i in head.ids if owners.get(i) == uid)
                _record_merge(
                    session, uid, head.display_id, f"{self.source}: exact link through {link}"
                )
                counts.merged += 1
            else:
                setattr(counts, outcome, getattr(counts, outcome) + 1)
            if absorbed:  # exact links joined trials stored apart: later records find this one
                counts.merged += len(absorbed)
                moved = {k: uid if v in absorbed else v for k, v in moved.items()}
                moved.update(dict.fromkeys(absorbed, uid))
                owners = {rid: moved.get(owner, owner) for rid, owner in owners.items()}
                self._pools.clear()
        packed = [
            batch.rows[i]
            if batch.rows is not None
            else pack(writer.values(batch.payload(i), derivations[i], digests[i]))
            for i in fresh
        ]
        uids = writer.insert_new([keys[i] for i in fresh], packed)
        counts.new += len(uids)
        conn = session.connection()
        table = RawRecordRow.__table__
        now = bound_value(conn, table.c.retrieved_at, utcnow())
        rows = []
        for i, uid in zip(fresh, uids, strict=True):
            prev = previous.get(keys[i])
            if prev is not None:  # kept from a trial since deleted: linked to the new one
                _renew(prev, batch.payload(i), digests[i], uid)
                continue
            rows.append(
                (self.source, keys[i], uid, batch.payloads[i], digests[i], heads[i].url, now)
            )
        insert_tuples(conn, table, RAW_COLUMNS, rows, {"payload", "retrieved_at"})
        for position, match in queued.items():
            self._queue(session, moved.get(match.uid, match.uid), uids[position], match, counts)
        kept = self._match_within(session, writer, batch, fresh, uids, set(queued), counts)
        self._pool_new(batch, [fresh[k] for k in kept], [uids[k] for k in kept])

    def _views(self, payload: dict, stored: dict) -> bool:
        """Whether a record read and its source's stored one are not both the whole entry
        (``partial``): then they merge (``_over``), whichever was updated last."""
        partial = self.partial
        return partial is not None and (
            partial(own_fields(payload)) is not None or partial(own_fields(stored)) is not None
        )

    def _over(self, stored: RawRecordRow, record: TrialRecord, payload: dict) -> dict:
        """What a record read again stores over its source's stored one: itself, or, where
        either is a view of the entry (``partial``), the two merged in their precedence
        (``by_precedence``) — a ChiCTR page in Chinese read after the bilingual page of the
        same day keeps the English title, status and the sites' English names, and adds what
        the bilingual page lacked. Its content hash stays the record's own, so reading it
        again changes nothing."""
        if not self._views(payload, stored.payload):
            return payload
        kept = KeptRecord.model_validate(stored.payload)
        assert self.partial is not None  # as _views says
        first, then = by_precedence([record, kept], self.partial)
        data = merge_records([first, then]).model_dump(mode="json")
        filling = then.model_dump(mode="json")["sites"]
        if len(filling) == len(data["sites"]):  # one page's sites in its two languages
            data["sites"] = [
                {k: _site_value(k, v, other.get(k)) for k, v in site.items()}
                for site, other in zip(data["sites"], filling, strict=True)
            ]
        return data

    def _match_within(
        self,
        session: Session,
        writer: TrialWriter,
        batch: Prepared,
        fresh: list[int],
        uids: list[int],
        queued: set[int],
        counts: Report,
    ) -> list[int]:
        """Score the trials a batch made against each other where they come from different
        registries (an ICTRP export lists a study's CT.gov and ChiCTR records apart), as a
        later batch would score them: a confident match is folded into the earlier trial (its
        history names the match), an uncertain one waits in ``review``. Returns the indexes
        in ``fresh`` of the trials that remain."""
        registries = {pool_group(batch.heads[i].registry) for i in fresh}
        if not self.fuzzy or len(registries) < 2:
            return list(range(len(fresh)))
        pools: dict[str, CandidatePool] = {}  # registry → this batch's trials without its ids
        kept = []
        for k, (position, uid) in enumerate(zip(fresh, uids, strict=True)):
            head, record = batch.heads[position], batch.record(position)
            group = pool_group(head.registry)
            pool = pools.get(group)
            taken = self._taken.setdefault(group, set())
            match = pool.best(record, taken) if pool is not None and k not in queued else None
            if match is not None and match.score.decision == "merge":
                merge_trial(session, match.uid, uid, _matched_by(match, self.source))
                counts.notes += refresh_trial(session, writer, match.uid).unlinked
                taken.add(match.uid)  # it holds an id of this registry now
                counts.new -= 1
                counts.merged += 1
                continue
            if match is not None:
                self._queue(session, match.uid, uid, match, counts)
            kept.append(k)
            for other in registries - {group}:
                if _holds_none_of(record, other):
                    pools.setdefault(other, CandidatePool()).add(uid, record)
        return kept

    def _queue(
        self, session: Session, trial_uid: int, candidate_uid: int, match: Match, counts: Report
    ) -> None:
        """Leave a pair a fuzzy match was unsure of to a curator (``isletbase review``)."""
        session.add(
            MatchCandidateRow(
                trial_uid=trial_uid,
                candidate_uid=candidate_uid,
                score=match.score.score,
                explanation=match.score.explanation,
                source=self.source,
            )
        )
        counts.review += 1


#: A site's place, written in English where one language view of a page gives it so: the
#: English name of a city is what the other registries write and what the place book reads.
_PLACE_FIELDS = frozenset(("city", "province", "country"))


def _site_value(field: str, value: object, other: object) -> object:
    """A site's ``field`` where a page's two language views give it: the first view's value,
    the other's where it has none — and for a place, the other's English name over the
    first's Chinese one (a newer Chinese page listed its sites as 青岛, 山东, 中国 only)."""
    if value is None:
        return other
    if (
        field in _PLACE_FIELDS
        and isinstance(value, str)
        and isinstance(other, str)
        and other.isascii()
        and not value.isascii()
    ):
        return other
    return value


def _holds_none_of(record: TrialRecord, group: str) -> bool:
    """Whether ``record`` names no id of matching group ``group`` (``pool_group``), so it may be
    that group's record's duplicate: a record holding one would be an exact link."""
    return all(pool_group(r.registry) != group for r in record.registry_ids)


def _matched_by(match: Match, source: str) -> str:
    """The history's source of an automatic merge: the run, the score and its explanation."""
    why = "; ".join(match.score.explanation)
    return f"{source}: automatic match, score {match.score.score:.1f} ({why})"


def _record_merge(session: Session, uid: int, record_id: str, why: str) -> None:
    """Keep a merge no curator made in the trial's history, as a curator's is kept: the record
    merged, the trial it went into, and why (``why``: the run and its reason), so the merge
    can be checked (and the pair taken apart by a curator) later."""
    trial = session.get(TrialRow, uid)
    session.add(
        TrialVersionRow(
            trial_uid=uid,
            field="merged",
            old_value=record_id,
            new_value=trial.display_id if trial is not None else None,
            source=why,
        )
    )


def _links_dropped(session: Session, uid: int, head: Head, dropped: set[str]) -> list[str]:
    """Notes for ids a record no longer names that are other records' own in its trial: the
    link that joined them (a ChiCTR page naming an NCT id, later corrected) has no basis now,
    and the two stay one trial until a curator splits them (the re-run said "unchanged")."""
    if not dropped:
        return []
    others = session.scalars(
        select(RawRecordRow.record_key).where(
            RawRecordRow.trial_uid == uid,
            RawRecordRow.record_key.in_(sorted(dropped)),
            RawRecordRow.record_key != head.display_id,
        )
    ).all()
    return [
        f"{head.display_id} no longer names {other}, which it was merged with: the link has no"
        " basis now (`isletbase review --split ID` takes them apart)"
        for other in sorted(set(others))
    ]


def _same_registry_link(
    session: Session, uid: int, head: Head, owners: dict[str, int]
) -> str | None:
    """Why a new record joined trial ``uid`` through another registry's id although the trial
    holds an id of the record's own registry — two ClinicalTrials.gov records naming one
    ChiCTR id are two registrations of one study, or one names a wrong id — or ``None``."""
    held = ids_by_registry(session, uid).get(head.registry)
    if not held:
        return None
    link = next(i for i in head.ids if owners.get(i) == uid)
    return (
        f"exact link through {link}, though the trial holds {', '.join(sorted(held))} of the "
        f"same registry: two registrations of one study, or a wrong secondary id (check it)"
    )


def _older(payload: dict, stored: dict) -> bool:
    """Whether a record read is an older version of the one its source stored: both say when
    the registry last updated them, and it is earlier (a dump holding a study twice, an old
    export read after a new one). It changes nothing: the newer version stays, whatever the
    order the two were read in, and reading them again writes nothing."""
    read, kept = payload.get("last_update"), stored.get("last_update")
    return bool(read and kept) and read < kept


#: The sources whose last-update date moves with every change a registry makes to a record
#: (ClinicalTrials.gov's "last update posted"), but for its status (``_read_anew``). ChiCTR's
#: pages are revised more than once a day, their time cut off here; ICTRP's date is when it
#: copied a record; the bundled files are isletbase's own, corrected by its curators.
_DATED_SOURCES = ("ClinicalTrials.gov API", "ClinicalTrials.gov dump")


def _read_anew(source: str, payload: dict, stored: dict) -> str | None:
    """Where a ClinicalTrials.gov record is read again as its registry last updated it (the
    same last-update date and status as the copy stored), what changes is isletbase's reading
    of it — a reader or classifier improved — and its versions say so instead of reading as
    the registry's change of that day; ``None`` otherwise. The status is the registry's to
    change without a new date (a stale study turned Unknown)."""
    day = payload.get("last_update")
    if (
        source not in _DATED_SOURCES
        or not day
        or day != stored.get("last_update")
        or payload.get("status") != stored.get("status")
    ):
        return None
    return f"{source} (read anew: the registry's record of {day} unchanged)"


def _renew(stored: RawRecordRow, payload: dict, digest: str, uid: int) -> None:
    """A source's stored record, read again: its new content, linked to trial ``uid``."""
    stored.payload, stored.content_hash, stored.trial_uid = payload, digest, uid
    stored.retrieved_at = utcnow()


class Refreshed(NamedTuple):
    """What ``refresh_trial`` did: the upsert's outcome, the trials folded in first, and the
    links it did not follow (ids its records name that a trial kept apart holds), said."""

    outcome: Outcome
    absorbed: list[int]
    unlinked: list[str]


def refresh_trial(
    session: Session, writer: TrialWriter, uid: int, source: str | None = None
) -> Refreshed:
    """Re-merge trial ``uid`` from all its sources' records and upsert it (with versions, from
    ``source`` where given, else the writer's).

    Another stored trial that holds one of the merged record's registry ids is the same study
    (an exact link: a record naming the other registry's id, an ICTRP record listing both), so
    it is folded into this one first (``merge_trial``) — its records then join the merge, which
    may name yet another trial's id, until none is left. Without that the upsert would try to
    give this trial an id another trial holds.
    """
    absorbed: list[int] = []
    apart = kept_apart(session, uid)
    while True:
        merged = merged_record(
            session.scalars(select(RawRecordRow).where(RawRecordRow.trial_uid == uid)).all()
        )
        holders = dict(
            session.execute(
                select(RegistryIdRow.registry_id, RegistryIdRow.trial_uid).where(
                    RegistryIdRow.registry_id.in_([r.id for r in merged.registry_ids]),
                    RegistryIdRow.trial_uid != uid,
                )
            ).all()
        )
        others = sorted(set(holders.values()) - apart)
        if not others:
            break
        for other in others:
            merge_trial(session, uid, other, writer.source)
            absorbed.append(other)
    unlinked = []
    if holders:  # ids a trial kept apart holds stay its own (a curator's split or rejection)
        merged = merged.model_copy(
            update={"registry_ids": [r for r in merged.registry_ids if r.id not in holders]}
        )
        # not silently: a registry's own link against a curator's decision is news to them
        named = dict(
            session.execute(
                select(TrialRow.uid, TrialRow.display_id).where(
                    TrialRow.uid.in_(set(holders.values()))
                )
            ).all()
        )
        unlinked = [
            f"{merged.display_id} names {rid}, of trial {named.get(other, rid)}, which a curator "
            f"kept apart from it: the link is not followed (`isletbase review` decided it)"
            for rid, other in sorted(holders.items())
        ]
    outcome, _ = writer.upsert(merged, taxonomy.classify_record(merged), uid, source)
    return Refreshed(outcome, absorbed, unlinked)


def merged_record(raws: Sequence[RawRecordRow]) -> KeptRecord:
    """Stored records of one trial merged in their sources' precedence, each record once
    (``_latest_copies``)."""
    ordered = sorted(_latest_copies(raws), key=lambda r: (_priority(r.source), r.id))
    records = [KeptRecord.model_validate(r.payload) for r in ordered]
    return merge_records(records) if len(records) > 1 else records[0]


def _latest_copies(raws: Sequence[RawRecordRow]) -> list[RawRecordRow]:
    """Of the copies of one registry record that sources giving the same records stored (a
    study from the API and from the dump), the one its registry updated last, the later stored
    where they tie. Merged in the sources' order, the API's copy won whatever its date: a
    monthly dump never refreshed a study the API had fetched once."""

    def copy_of(raw: RawRecordRow) -> object:
        group = _same_records(raw.source)  # a source of its own: each of its records kept
        return (group, raw.payload["registry_ids"][0]["id"]) if len(group) > 1 else raw.id

    return _latest_each(raws, copy_of, lambda raw: (raw.payload.get("last_update") or "", raw.id))


def batched(items: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    chunk: list[RawRecord] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ingest_trials(
    db: Database,
    raws: Iterable[RawRecord],
    to_record: Callable[[RawRecord], TrialRecord],
    source: str,
    progress: Progress | None = None,
    today: date | None = None,
    batch_size: int | None = None,
    fuzzy: bool = False,
) -> Report:
    """Validate, classify, merge and upsert trial records; the batch survives bad records.

    ``batch_size`` trials commit together (all of them when ``None``, as for the bundled files,
    whose lines for one trial may lie far apart); ``fuzzy`` turns on cross-registry matching.
    """
    pipeline = Pipeline(db, source, to_record, progress, today, fuzzy)
    for chunk in batched(raws, batch_size) if batch_size else [list(raws)]:
        pipeline.batch(chunk)
    return pipeline.finish()


def count_bundled(root: Traversable | Path | None = None) -> int:
    """How many trial lines the bundled files hold (for a progress bar's total)."""
    total = 0
    for path in bundled.trial_files(root):
        with path.open("r", encoding="utf-8") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def load_bundled(
    db: Database, root: Traversable | Path | None = None, progress: Progress | None = None
) -> Report:
    """Load the bundled institutions and trials into ``db`` (initialising it if needed)."""
    db.init()
    report = Report()
    load_institutions(db, bundled.institutions_file(root), report)
    raws = (raw for path in bundled.trial_files(root) for raw in bundled.read_jsonl(path))
    trials = ingest_trials(db, raws, bundled.to_trial, BUNDLED_SOURCE, progress)
    report.fetched += trials.fetched
    for key in ("new", "updated", "unchanged", "merged", "quarantined"):
        setattr(report, key, getattr(report, key) + getattr(trials, key))
    report.errors += trials.errors
    return report
