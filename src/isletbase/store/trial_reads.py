"""Reading trials back: one by any registry id, pages of them as models, their history.

The write side (``store.trials``) stores a trial's values and child rows; this side builds the
pydantic ``Trial`` a page, the API and the CLI show, a page at a time with as few queries as it
takes, and lists each field's recorded changes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import orjson
from sqlalchemy import (
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from isletbase import taxonomy
from isletbase.errors import NotFoundError
from isletbase.model import STALE_FLAG, Trial, canonical_id
from isletbase.store.db import Database
from isletbase.store.schema import (
    DerivationRow,
    RegistryIdRow,
    SiteRow,
    SourceRow,
    TrialRow,
    TrialVersionRow,
)
from isletbase.store.trials import DERIVED_COLUMNS, LOAD_OPTIONS, SCALAR_FIELDS, stale_flags


def to_model(row: TrialRow) -> Trial:
    """The pydantic ``Trial`` for a row (curated > derived > raw already combined in the row)."""
    return _trial(
        {name: getattr(row, name) for name in _MODEL_COLUMNS},
        [{"registry": r.registry_name, "id": r.registry_id} for r in row.registry_ids],
        [{name: getattr(s, name) for name in _SITE_FIELDS} for s in row.sites],
        [
            {"url": s.url, "fields": list(s.fields or []), "retrieved": s.retrieved}
            for s in row.sources[1:]
        ],
        [{name: getattr(d, name) for name in _DERIVATION_FIELDS} for d in row.derivations],
    )


def _trial(
    values: dict, registry_ids: list, sites: list, sources: list, derivations: list
) -> Trial:
    """A ``Trial`` from its columns and its child rows as plain dicts: validated in one call,
    nested models included, it costs a fraction of validating each nested model on its own."""
    for name in _LIST_COLUMNS:
        values[name] = list(values[name] or [])
    # staleness is a matter of today: read so, as the home page counts it (the flags stored at
    # a load grew old with it, and a reload of unchanged records kept them)
    seen = values["last_update"] or values["first_posted"]
    values["flags"] = [
        *(f for f in values["flags"] if not f.startswith(STALE_FLAG)),
        *stale_flags(values["status_code"], seen, date.today()),
    ]
    values["curated"] = values["curated"] or {}
    values["registry_ids"] = registry_ids
    values["sites"] = sites
    values["sources"] = sources
    values["derivations"] = _every_field(derivations)
    return Trial.model_validate(values)


def _every_field(derivations: list[dict]) -> list[dict]:
    """A trial's derivation rows, one for each derived field in ``DERIVED_COLUMNS`` order (a
    field without a row: the classifier matched nothing, which is not stored), then any other."""
    by_field: dict[str, list[dict]] = {}
    for derivation in derivations:
        by_field.setdefault(derivation["field"], []).append(derivation)
    out = []
    for name in DERIVED_COLUMNS:
        out += by_field.pop(name, None) or [
            {"field": name, "value": None, "method": "classifier", "rule": taxonomy.NO_RULE}
        ]
    for rest in by_field.values():
        out += rest
    return out


#: Columns a ``Trial`` is built from (``search_text`` and the hash stay in the database).
_MODEL_COLUMNS = (
    "uid",
    "org_study_ids",
    "conditions",
    "interventions",
    "curated",
    "flags",
    "updated_at",
    *SCALAR_FIELDS,
    *DERIVED_COLUMNS,
)
_LIST_COLUMNS = ("org_study_ids", "conditions", "interventions", "flags")
_SITE_FIELDS = ("name", "name_zh", "city", "province", "country", "institution_id")
_DERIVATION_FIELDS = ("field", "value", "method", "rule")

_UIDS = bindparam("uids", expanding=True)
_TABLE = TrialRow.__table__
#: The columns ``models_from_rows`` reads, in order, for a caller that selects them itself.
MODEL_COLUMNS = tuple(_TABLE.c[name] for name in _MODEL_COLUMNS)
#: The statements ``load_models`` runs, built once: building them per call cost as much as
#: running them.
_PARENTS = select(*MODEL_COLUMNS).where(_TABLE.c.uid.in_(_UIDS))
#: The kinds of a trial's child rows, as ``_CHILDREN`` tags them.
_REGISTRY_IDS, _SITES, _SOURCES, _DERIVATIONS = range(4)


def _children(kind: int, table: type, seq: object, *columns: object) -> Select:
    """One kind of child row as ``(kind, trial_uid, seq, id, c1 … c6)``, padded with NULLs."""
    padded = [*columns, *[null()] * (6 - len(columns))]
    return select(
        literal(kind, Integer).label("kind"),
        table.trial_uid.label("trial_uid"),
        seq.label("seq"),
        table.id.label("id"),
        *(c.label(f"c{n}") for n, c in enumerate(padded, 1)),
    ).where(table.trial_uid.in_(_UIDS))


#: Every child row of a page of trials, each trial's in the order it lists them, in one
#: statement (one round trip instead of four). A source's JSON ``fields`` travel as text.
_CHILDREN = union_all(
    _children(_SITES, SiteRow, SiteRow.position, *(getattr(SiteRow, n) for n in _SITE_FIELDS)),
    _children(
        _REGISTRY_IDS,
        RegistryIdRow,
        RegistryIdRow.position,
        RegistryIdRow.registry_name,
        RegistryIdRow.registry_id,
    ),
    _children(
        _SOURCES,
        SourceRow,
        SourceRow.id,
        SourceRow.url,
        cast(SourceRow.fields, Text),
        SourceRow.retrieved,
    ),
    _children(
        _DERIVATIONS,
        DerivationRow,
        DerivationRow.id,
        *(getattr(DerivationRow, n) for n in _DERIVATION_FIELDS),
    ),
).order_by(*(literal_column(name) for name in ("kind", "trial_uid", "seq", "id")))


def load_models(session: Session, uids: Sequence[int]) -> dict[int, Trial]:
    """The ``Trial`` of each uid, read with two plain queries for the whole page.

    Result pages need many trials at once; reading plain rows and building the models directly
    costs a fraction of loading ORM objects with their collections. Same models as ``to_model``.
    """
    if not uids:
        return {}
    parents = session.connection().execute(_PARENTS, {"uids": list(uids)}).all()
    return {trial.uid: trial for trial in models_from_rows(session, parents)}


def models_from_rows(session: Session, parents: Sequence[Sequence]) -> list[Trial]:
    """The ``Trial`` of each row of ``MODEL_COLUMNS``, in the rows' order, with the child rows
    of them all read in one query. Same models as ``to_model``."""
    if not parents:
        return []
    rows = session.connection().execute(_CHILDREN, {"uids": [p[0] for p in parents]}).all()
    kinds: tuple[dict[int, list], ...] = ({}, {}, {}, {})
    for kind, uid, _, _, c1, c2, c3, c4, c5, c6 in rows:
        found = kinds[kind].get(uid)
        if found is None:
            found = kinds[kind][uid] = []
        if kind == _SITES:
            found.append(dict(zip(_SITE_FIELDS, (c1, c2, c3, c4, c5, c6), strict=True)))
        elif kind == _REGISTRY_IDS:
            found.append({"registry": c1, "id": c2})
        elif kind == _SOURCES:
            # as the engine decodes a JSON column (``Database`` sets ``json_deserializer``)
            fields = [] if c2 is None else orjson.loads(c2)
            found.append({"url": c1, "fields": list(fields or []), "retrieved": c3})
        else:
            found.append({"field": c1, "value": c2, "method": c3, "rule": c4})
    registry_ids, sites, sources, derivations = kinds
    return [
        _trial(
            dict(zip(_MODEL_COLUMNS, p, strict=True)),
            registry_ids.get(p[0], []),
            sites.get(p[0], []),
            sources.get(p[0], [])[1:],
            derivations.get(p[0], []),
        )
        for p in parents
    ]


def find_row(session: Session, any_id: str) -> TrialRow | None:
    """The trial with this registry id, loaded with its child rows (spellings as ``find_uid``)."""
    uid = find_uid(session, any_id)
    if uid is None:
        return None
    return session.scalars(
        select(TrialRow).where(TrialRow.uid == uid).options(*LOAD_OPTIONS)
    ).first()


def ids_by_registry(session: Session, uid: int) -> dict[str, set[str]]:
    """Trial ``uid``'s registry ids, by registry."""
    held: dict[str, set[str]] = {}
    for registry, rid in session.execute(
        select(RegistryIdRow.registry_name, RegistryIdRow.registry_id).where(
            RegistryIdRow.trial_uid == uid
        )
    ):
        held.setdefault(registry, set()).add(rid)
    return held


def find_uid(session: Session, any_id: str) -> int | None:
    """The uid of the trial with this registry id (any registry): as given, then with the prefix
    in the registry's own case (``nct01219465`` → ``NCT01219465``, ``chictr…`` → ``ChiCTR…``)."""
    for candidate in id_spellings(any_id):
        uid = session.scalar(
            select(RegistryIdRow.trial_uid).where(RegistryIdRow.registry_id == candidate)
        )
        if uid is not None:
            return uid
    return None


def id_spellings(any_id: str) -> list[str]:
    """The spellings a registry id typed by a person may be stored in, likeliest first: as
    given, in upper case, and as its registry writes it (``chictr 2300072200`` →
    ``ChiCTR2300072200``, ``NCT 01219465`` → ``NCT01219465``)."""
    key = unicodedata.normalize("NFKC", any_id).strip()  # ＮＣＴ０１２１９４６５ too
    spellings = [key, key.upper()]
    if key.lower().startswith("chictr"):
        spellings.append("ChiCTR" + key[6:].upper())
        # as ingest reads it from a page: "ChiCTR-2300072200", "ChiCTR 2300072200"
        spellings.append(canonical_id("ChiCTR", key))
    elif key.lower().startswith("nct"):
        spellings.append("NCT" + "".join(key[3:].split()))
    return list(dict.fromkeys(spellings))


def get_trial(db: Database, any_id: str) -> Trial | None:
    """The trial with this registry id, or ``None``."""
    with db.session() as session:
        row = find_row(session, any_id)
        return to_model(row) if row else None


def require_trial(db: Database, any_id: str) -> Trial:
    """The trial with this registry id; ``NotFoundError`` naming the id where there is none (the
    same words from the CLI and every API route of a trial)."""
    trial = get_trial(db, any_id)
    if trial is None:
        raise NotFoundError(f"no trial with registry id {any_id!r}")
    return trial


def iter_trials(db: Database, batch: int = 500) -> Iterator[Trial]:
    """Every trial, in display-id order, read in batches so memory stays flat."""
    last = ""
    while True:
        with db.session() as session:
            rows = session.scalars(
                select(TrialRow)
                .where(TrialRow.display_id > last)
                .order_by(TrialRow.display_id)
                .limit(batch)
                .options(*LOAD_OPTIONS)
            ).all()
            models = [to_model(r) for r in rows]
        if not models:
            return
        yield from models
        last = models[-1].display_id


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None
    changed_at: str
    source: str | None


def history(db: Database, any_id: str) -> list[Change]:
    """Every recorded change of a trial's fields, oldest first."""
    with db.session() as session:
        uid = find_uid(session, any_id)
        if uid is None:
            return []
        rows = session.scalars(
            select(TrialVersionRow)
            .where(TrialVersionRow.trial_uid == uid)
            .order_by(TrialVersionRow.id)
        ).all()
        return [
            Change(
                v.field,
                v.old_value,
                v.new_value,
                v.changed_at.isoformat(timespec="seconds"),
                v.source,
            )
            for v in rows
        ]
