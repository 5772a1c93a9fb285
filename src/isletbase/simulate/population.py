"""A trial arm's virtual patients: drawn from the UVA/Padova cohort by the design's group
weights, their parameters spread by its variability, each given the graft's secretion terms.
Seeded by (seed, repeat, arm) alone, so every shard and every reader (the trial, the notes on
its result) draws the same patients.
"""

from __future__ import annotations

import numpy as np

from isletbase.simulate.design import Design
from isletbase.simulate.graft import with_secretion
from isletbase.simulate.params import COLUMNS, Cohort, load_cohort


def population(design: Design, repeat: int, arm: int) -> Cohort:
    """The arm's virtual patients: base patients drawn by group weight, parameters spread."""
    rng = np.random.default_rng(np.random.SeedSequence([design.seed, repeat, arm, 0xC0]))
    base = load_cohort("all")
    pools, weights = [], []
    for name, weight in design.population.groups.items():
        wanted = load_cohort(name).names
        pools.append([base.names.index(n) for n in wanted])
        weights.append(weight)
    p = np.asarray(weights, dtype=float) / sum(weights)
    group = rng.choice(len(pools), size=design.sample_size, p=p)
    index = [pools[g][rng.integers(len(pools[g]))] for g in group]
    cohort = base.take(index)
    params = cohort.params.copy()
    for name, cv in design.population.variability.items():
        if cv > 0:
            sigma = np.sqrt(np.log1p(cv**2))
            params[:, COLUMNS.index(name)] *= rng.lognormal(-0.5 * sigma**2, sigma, len(cohort))
    return with_secretion(cohort.with_params(params))
