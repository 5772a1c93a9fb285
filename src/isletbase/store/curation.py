"""Curator overrides: a person sets a derived field (cell source, condition, route) by hand.

The override is written the way the design keeps derived values: apart from the raw record, as a
``curated`` derivation that names who set it and why, and as a ``TrialVersion`` with the old and
new value, so the trial's history shows the decision. The trial's search text is rebuilt so the
new value's English and Chinese labels find it. The same decision made again (a client retrying
after a timeout) writes nothing; the same value for another reason is a new decision.
"""

from __future__ import annotations

from isletbase import taxonomy
from isletbase.errors import InputError, NotFoundError
from isletbase.model import Trial
from isletbase.store.db import Database
from isletbase.store.schema import DerivationRow, TrialVersionRow
from isletbase.store.trial_reads import find_row, to_model
from isletbase.store.trials import CURATOR_PREFIX, institution_words, search_document


def curate(db: Database, trial_id: str, field: str, value: str, curator: str, reason: str) -> Trial:
    """Set ``field`` of a trial to ``value`` on a curator's authority; returns the updated trial.

    Raises ``InputError`` for a field that cannot be curated, a value outside the vocabulary or a
    missing curator/reason, and ``NotFoundError`` for an unknown registry id.
    """
    if field not in taxonomy.CURATED_FIELDS:
        expected = ", ".join(taxonomy.CURATED_FIELDS)
        raise InputError(f"field {field!r} cannot be curated; expected one of {expected}")
    try:  # its code, given as the code or as its English or Chinese name
        value = taxonomy.validate_value(field, taxonomy.code_of(field, value) or value)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    curator, reason = curator.strip(), reason.strip()
    if not curator or not reason:
        raise InputError("a curation needs the curator's name and a reason")
    note = f"{CURATOR_PREFIX}{curator}: {reason}"
    with db.session() as session:
        row = find_row(session, trial_id)
        if row is None:
            raise NotFoundError(f"no trial with registry id {trial_id!r}")
        old = getattr(row, field)
        derivation = next((d for d in row.derivations if d.field == field), None)
        decided = derivation is not None and (derivation.method, derivation.rule) == (
            "curated",
            note,
        )
        if old == value and decided:  # the same decision again (a retry): nothing new to keep
            return to_model(row)
        setattr(row, field, value)
        row.curated = {**(row.curated or {}), field: value, "note": note}
        if derivation is None:
            row.derivations.append(
                DerivationRow(field=field, value=value, method="curated", rule=note)
            )
        else:
            derivation.value, derivation.method, derivation.rule = value, "curated", note
        linked = {s.institution_id for s in row.sites if s.institution_id}
        if row.sponsor_institution_id:
            linked.add(row.sponsor_institution_id)
        words = institution_words(session)
        derived = {d.field: d.value for d in row.derivations}
        row.search_text = search_document(
            to_model(row).model_dump(mode="json"),
            derived,
            [words.get(i, []) for i in sorted(linked)],
        )
        session.add(
            TrialVersionRow(
                trial_uid=row.uid, field=field, old_value=old, new_value=value, source=note
            )
        )
        session.flush()
        return to_model(row)
