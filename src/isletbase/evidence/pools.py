"""Pooling the bundled outcomes: pick the records for a question, build the dataset, pool it.

:func:`pool_outcomes` is the one function behind ``isletbase evidence pool`` and
``/api/evidence/pool``; :func:`pool_specs` lists the standard pools (``data/evidence/pools.yaml``)
that ``evidence update`` keeps current.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from isletbase.evidence.dataset import Dataset, check_measure, from_outcomes
from isletbase.evidence.meta import PoolResult, check_method, pool
from isletbase.evidence.outcomes import Outcome, load_outcomes, select

#: Outcomes counted as events (pooled as ratios); every other outcome is continuous.
BINARY_OUTCOMES = frozenset(
    {
        "insulin_independence",
        "off_glucose_lowering_agents",
        "glycaemic_response",
        "severe_hypoglycaemia",
        "adverse_events",
        "clinical_remission",
        "hba1c_below_7",
        "c_peptide_above_threshold",
        "c_peptide_positive",
    }
)


class PoolSpec(BaseModel):
    """A named, standing question: which outcome records to pool and how."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    #: the title on a Chinese page
    title_zh: str | None = None
    outcome: str
    condition: str | None = None
    cell_source: str | None = None
    measure: str
    method: str = "REML"
    hk: bool = False
    #: what a reader must know to weigh the pooled effect (an arm chosen, how few studies), and
    #: in Chinese; its numbers are recomputed by the tests, so it stays true to the data
    caveat: str | None = None
    caveat_zh: str | None = None

    def run(self, outcomes: Sequence[Outcome] | None = None) -> PoolResult:
        """This question pooled over the bundled (or given) outcome records."""
        return pool_outcomes(
            self.outcome,
            condition=self.condition,
            cell_source=self.cell_source,
            measure=self.measure,
            method=self.method,
            hk=self.hk,
            outcomes=outcomes,
        )


@lru_cache(maxsize=1)
def pool_specs() -> tuple[PoolSpec, ...]:
    """The standard pools kept current by ``evidence update``."""
    path = resources.files("isletbase") / "data" / "evidence" / "pools.yaml"
    return tuple(PoolSpec.model_validate(p) for p in yaml.safe_load(path.read_text("utf-8")))


def default_measure(outcome: str) -> str:
    """RR for event outcomes, MD for continuous ones."""
    return "RR" if outcome in BINARY_OUTCOMES else "MD"


def outcome_dataset(
    outcome: str,
    *,
    condition: str | None = None,
    cell_source: str | None = None,
    measure: str | None = None,
    outcomes: Sequence[Outcome] | None = None,
) -> Dataset:
    """The dataset for one question over the bundled (or given) outcome records."""
    chosen = select(
        outcomes if outcomes is not None else load_outcomes(),
        condition=condition,
        cell_source=cell_source,
        outcome=outcome,
    )
    return from_outcomes(chosen, check_measure(measure or default_measure(outcome.lower())))


def pool_outcomes(
    outcome: str,
    *,
    condition: str | None = None,
    cell_source: str | None = None,
    measure: str | None = None,
    method: str = "REML",
    hk: bool = False,
    outcomes: Sequence[Outcome] | None = None,
) -> PoolResult:
    """Pool the controlled comparisons for ``outcome`` (filtered by condition and cell source).

    Records that cannot enter (single-arm, numbers not reported) are listed in the result's
    ``excluded`` with the reason, so a reader sees what the estimate leaves out.
    """
    data = outcome_dataset(
        outcome, condition=condition, cell_source=cell_source, measure=measure, outcomes=outcomes
    )
    return pool(data, check_method(method), hk)
