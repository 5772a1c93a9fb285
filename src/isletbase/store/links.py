"""Links between the institution directory and trials: which trials a hospital runs or sponsors.

Sites and sponsors are matched to the directory at ingest (``store.trials``); this module reads
those links back so an institution's page can list its trials.
"""

from __future__ import annotations

from sqlalchemy import nulls_last, or_, select
from sqlalchemy.orm import selectinload

from isletbase.model import Trial
from isletbase.store.db import Database
from isletbase.store.schema import SiteRow, TrialRow
from isletbase.store.trial_reads import to_model


def institution_trials(db: Database, institution_id: str, limit: int = 500) -> list[Trial]:
    """Trials with a site at, or sponsored by, the institution; newest start first."""
    at_site = select(SiteRow.trial_uid).where(SiteRow.institution_id == institution_id)
    stmt = (
        select(TrialRow)
        .where(or_(TrialRow.uid.in_(at_site), TrialRow.sponsor_institution_id == institution_id))
        .order_by(nulls_last(TrialRow.start_date.desc()), TrialRow.display_id)
        .limit(limit)
        .options(
            selectinload(TrialRow.registry_ids),
            selectinload(TrialRow.sites),
            selectinload(TrialRow.sources),
            selectinload(TrialRow.derivations),
        )
    )
    with db.session() as session:
        return [to_model(r) for r in session.scalars(stmt).all()]
