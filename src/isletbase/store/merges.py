"""Folding one stored trial into another: the same study found under two rows.

It happens two ways: a curator accepts a match in ``isletbase review``, or a record names a
registry id that another trial already holds (an exact link — a ChiCTR id on a ClinicalTrials.gov
record, an ICTRP record listing both). Either way the trial that goes hands over everything
that made it, so nothing it held is lost: its stored source records, its history, and the
review questions still open about it.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from isletbase.store.schema import MatchCandidateRow, RawRecordRow, TrialRow, TrialVersionRow
from isletbase.store.trials import curator_derivations


def merge_trial(session: Session, into: int, gone: int, source: str) -> str:
    """Fold trial ``gone`` into trial ``into`` and delete it; returns gone's display id.

    Its stored records, history and review pairs move to ``into``, and a version row names the
    merge. The caller then re-merges ``into`` from its records (``ingest.refresh_trial``), which
    brings gone's registry ids, sources and values over. A pending pair of the two trials is
    moot and dropped; a pair of ``gone`` with a third trial now asks the same of ``into``; a
    pair that would repeat one ``into`` has already is dropped (its decision, if any, is in the
    history: this merge's version row, or the merge it decided).
    """
    into_row, gone_row = session.get(TrialRow, into), session.get(TrialRow, gone)
    if into_row is None or gone_row is None or into == gone:
        raise ValueError(f"cannot merge trial {gone} into trial {into}")
    session.execute(
        update(RawRecordRow).where(RawRecordRow.trial_uid == gone).values(trial_uid=into)
    )
    session.execute(
        update(TrialVersionRow).where(TrialVersionRow.trial_uid == gone).values(trial_uid=into)
    )
    touching = or_(MatchCandidateRow.trial_uid == gone, MatchCandidateRow.candidate_uid == gone)
    taken = {  # a pair asks one question whichever trial it names first
        frozenset(pair)
        for pair in session.execute(
            select(MatchCandidateRow.trial_uid, MatchCandidateRow.candidate_uid).where(
                or_(MatchCandidateRow.trial_uid == into, MatchCandidateRow.candidate_uid == into)
            )
        )
    }
    for pair in session.scalars(
        select(MatchCandidateRow).where(touching).order_by(MatchCandidateRow.id)
    ):
        moved = (
            into if pair.trial_uid == gone else pair.trial_uid,
            into if pair.candidate_uid == gone else pair.candidate_uid,
        )
        if frozenset(moved) in taken or (pair.status == "pending" and moved[0] == moved[1]):
            session.delete(pair)
            continue
        pair.trial_uid, pair.candidate_uid = moved
        taken.add(frozenset(moved))
    _keep_curation(into_row, gone_row)
    gone_id = gone_row.display_id
    session.add(
        TrialVersionRow(
            trial_uid=into,
            field="merged",
            old_value=gone_id,
            new_value=into_row.display_id,
            source=source,
        )
    )
    session.flush()
    session.delete(gone_row)
    session.flush()
    return gone_id


def _keep_curation(into: TrialRow, gone: TrialRow) -> None:
    """A curator's decision on the folded trial outlives it, as one outlives a re-ingest
    (``TrialWriter._apply`` re-applies the curated derivations a trial holds): each moves to
    the surviving trial unless that trial has its own for the field."""
    own = {d.field for d in curator_derivations(into)}
    for derivation in curator_derivations(gone):
        if derivation.field not in own:
            gone.derivations.remove(derivation)
            into.derivations.append(derivation)


def kept_apart(session: Session, uid: int) -> set[int]:
    """The trials a curator said are not trial ``uid``'s study: a match they rejected in
    ``isletbase review``, or a record they split out of it. An exact link (a registry id both
    name) does not fold such a trial back in."""
    rows = session.execute(
        select(MatchCandidateRow.trial_uid, MatchCandidateRow.candidate_uid).where(
            MatchCandidateRow.status == "rejected",
            or_(MatchCandidateRow.trial_uid == uid, MatchCandidateRow.candidate_uid == uid),
        )
    )
    return {b if a == uid else a for a, b in rows}


def kept_apart_keys(session: Session) -> frozenset[frozenset[str]]:
    """Every pair of record keys (registry ids, upper case) whose trials a curator kept apart:
    two such records read in one batch are not merged for a registry id they share."""
    pairs = session.execute(
        select(MatchCandidateRow.trial_uid, MatchCandidateRow.candidate_uid).where(
            MatchCandidateRow.status == "rejected"
        )
    ).all()
    if not pairs:
        return frozenset()
    uids = {uid for pair in pairs for uid in pair}
    keys: dict[int, set[str]] = {}
    for uid, key in session.execute(
        select(RawRecordRow.trial_uid, RawRecordRow.record_key).where(
            RawRecordRow.trial_uid.in_(uids)
        )
    ):
        keys.setdefault(uid, set()).add(key.upper())
    return frozenset(
        frozenset((a, b)) for x, y in pairs for a in keys.get(x, ()) for b in keys.get(y, ())
    )
