"""A virtual trial's numbers: each shard's per-patient endpoints and curves, put back in
patient order, graded by the Igls criteria, tested arm against arm (``TrialResult``, the one
producer of the numbers that tables, JSON, the API, the database and plots read).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from isletbase.simulate.design import Design
from isletbase.simulate.endpoints import definitions, hba1c_from_mean_glucose
from isletbase.simulate.population import population
from isletbase.simulate.scenario import Scenario

if TYPE_CHECKING:
    from isletbase.simulate.trial import Task


@dataclass
class ShardResult:
    """Per-patient endpoints and per-day curves of one task."""

    task: Task
    endpoints: dict[str, np.ndarray]
    day: np.ndarray
    daily_glucose: np.ndarray
    daily_fraction: np.ndarray


def igls_grades(endpoints: dict[str, np.ndarray]) -> list[tuple[str, str | None]]:
    """Igls 2.0 treatment outcome and graft function per patient
    (``isletbase.evidence.igls.classify``): the outcome alone graded a rejected graft, its
    C-peptide gone, "optimal" where the virtual patient's glucose was good on insulin."""
    from isletbase.evidence.igls import IglsInput, classify

    grades = []
    for i in range(len(endpoints["hba1c_pct"])):
        result = classify(
            IglsInput(
                hba1c=float(np.clip(endpoints["hba1c_pct"][i], 2.0, 20.0)),
                severe_hypos=float(np.clip(endpoints["level2_events_per_year"][i], 0, 1000)),
                insulin_reduction=float(np.clip(endpoints["insulin_reduction_pct"][i], -1000, 100)),
                # a large graft in a small body reads past the grading's scale, where every
                # value grades alike (it failed the whole run, naming a field no one gave)
                c_peptide=float(np.clip(endpoints["c_peptide_ng_ml"][i], 0.0, 100.0)),
                c_peptide_kind="fasting",
                tir=float(endpoints["tir_pct"][i]),
                time_below_54=float(endpoints["below_54_pct"][i]),
                baseline_hba1c=float(np.clip(endpoints["baseline_hba1c_pct"][i], 2.0, 20.0)),
                baseline_severe_hypos=float(
                    np.clip(endpoints["baseline_level2_events_per_year"][i], 0, 1000)
                ),
            )
        )
        grades.append((result.treatment_outcome, result.graft_function))
    return grades


#: Fewest patients per arm for which ``TrialResult.p_value`` tests arms against each other.
MIN_PER_ARM = 2

SUMMARISED = (
    "hba1c_pct",
    "mean_glucose_mg_dl",
    "tir_pct",
    "below_54_pct",
    "above_250_pct",
    "cv_pct",
    "insulin_u_per_day",
    "insulin_reduction_pct",
    "graft_fraction",
    "c_peptide_ng_ml",
)


@dataclass
class TrialResult:
    """All numbers of a trial: per-arm per-patient endpoints (each repeat), curves, power."""

    design: Design
    endpoints: dict[tuple[int, int], dict[str, np.ndarray]]
    curves: dict[int, dict[str, np.ndarray]]
    igls: dict[tuple[int, int], list[tuple[str, str | None]]] = field(default_factory=dict)

    def arm_endpoints(self, arm: int, repeat: int = 0) -> dict[str, np.ndarray]:
        return self.endpoints[(repeat, arm)]

    def primary_values(self, arm: int, repeat: int) -> np.ndarray:
        e = self.endpoints[(repeat, arm)]
        key = {
            "insulin_independence": "insulin_independent",
            "hba1c": "hba1c_pct",
            "tir": "tir_pct",
        }
        return e[key[self.design.endpoints.primary]]

    def p_value(self, arm: int, repeat: int, control: int = 0) -> float:
        """Arm vs control on the primary endpoint, two-sided: Fisher's exact test (insulin
        independence) or Welch's t-test (HbA1c, TIR).

        NaN when an arm has fewer than ``MIN_PER_ARM`` patients: one patient per arm has no
        spread to test against, and a p-value from it would only restate which number is larger.
        """
        a, b = self.primary_values(arm, repeat), self.primary_values(control, repeat)
        if min(len(a), len(b)) < MIN_PER_ARM:
            return float("nan")
        if self.design.endpoints.primary == "insulin_independence":
            table = [[a.sum(), len(a) - a.sum()], [b.sum(), len(b) - b.sum()]]
            return float(stats.fisher_exact(table).pvalue)
        if np.ptp(a) == 0 and np.ptp(b) == 0:
            return 0.0 if a[0] != b[0] else 1.0
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)

    def favours_arm(self, arm: int, repeat: int, control: int = 0) -> bool:
        """Whether ``arm`` did better than control on the primary endpoint in ``repeat``:
        more insulin independence, more time in range, or lower HbA1c."""
        a, b = self.primary_values(arm, repeat), self.primary_values(control, repeat)
        difference = float(a.mean() - b.mean())
        return difference < 0 if self.design.endpoints.primary == "hba1c" else difference > 0

    def power(self, arm: int) -> float:
        """Share of repeated trials in which ``arm`` is significantly *better* than the first arm.

        A repeat counts when the two-sided p-value (``p_value``) is below alpha and the
        difference favours ``arm`` (``favours_arm``); a significant harm is not a success.
        This is the usual power of a two-sided test at level alpha towards the hypothesised
        benefit; we keep the two-sided test, as trials report it, rather than a one-sided test
        at the same alpha, which would claim more power than such a trial has. NaN when
        ``p_value`` is (too few patients per arm).
        """
        alpha = self.design.endpoints.alpha
        hits = []
        for r in range(self.design.repeats):
            p = self.p_value(arm, r)
            if np.isnan(p):
                return float("nan")
            hits.append(p < alpha and self.favours_arm(arm, r))
        return float(np.mean(hits))

    def arm_summary(self, arm: int) -> dict:
        """Mean and SD of each endpoint over all repeats, independence rate, Igls counts."""
        values = [self.endpoints[(r, arm)] for r in range(self.design.repeats)]
        out: dict = {
            "arm": self.design.arms[arm].name,
            "n": int(sum(len(v["hba1c_pct"]) for v in values)),
        }
        for key in SUMMARISED:
            x = np.concatenate([v[key] for v in values])
            out[key] = {
                "mean": round(float(x.mean()), 3),
                "sd": round(float(x.std(ddof=1)) if len(x) > 1 else 0.0, 3),
            }
        indep = np.concatenate([v["insulin_independent"] for v in values])
        out["insulin_independent_pct"] = round(100 * float(indep.mean()), 1)
        grades = [g for r in range(self.design.repeats) for g in self.igls.get((r, arm), [])]
        outcomes = [outcome for outcome, _ in grades]
        out["igls_treatment_outcome"] = {g: outcomes.count(g) for g in sorted(set(outcomes))}
        functions = [graft or "not graded" for _, graft in grades]
        out["igls_graft_function"] = {g: functions.count(g) for g in sorted(set(functions))}
        if arm > 0:
            p = self.p_value(arm, 0)
            if np.isnan(p):
                out["test_note"] = (
                    f"no test: fewer than {MIN_PER_ARM} patients per arm (sample_size)"
                )
            else:
                out["p_value_vs_first_arm"] = float(f"{p:.3g}")  # 1e-6, not 0.0
                out["power"] = round(self.power(arm), 3)
        return out

    def notes(self) -> list[str]:
        """What a reader of the numbers should know about the design: real-life dosing with no
        insulin controller doses nothing; an arm larger than its distinct virtual patients,
        with no parameter spread, repeats them, and its p-values and power count the copies as
        independent people."""
        notes = []
        scenario = self.design.scenario
        if isinstance(scenario, Scenario) and scenario.controller == "none":
            if scenario.dosing == "real-life":
                notes.append(
                    "scenario: dosing 'real-life' has no effect with controller 'none' (no "
                    "meal boluses are given)"
                )
        notes += self._hypoglycaemic_arms()
        if any(cv > 0 for cv in self.design.population.variability.values()):
            return notes
        for arm, spec in enumerate(self.design.arms):
            distinct = len(set(population(self.design, 0, arm).names))
            if distinct < self.design.sample_size:
                notes.append(
                    f"arm {spec.name!r}: its {self.design.sample_size} patients are {distinct} "
                    "virtual patients, some drawn more than once (no population.variability): "
                    "p-values and power count the copies as independent people; give a spread "
                    "such as variability: {Vmx: 0.2}"
                )
        return notes

    def _hypoglycaemic_arms(self) -> list[str]:
        """A note for each arm where a patient's mean glucose over the window was below the
        consensus's hypoglycaemia threshold (70 mg/dL, Battelino 2019): no one lives there for
        weeks, as counter-regulation stops the fall; the model has none, so such a patient's
        HbA1c (under ~4.1 %) is the model's, not a person's."""
        low = float(definitions()["time_in_range"]["low_mg_dl"])
        notes = []
        for arm, spec in enumerate(self.design.arms):
            means = np.concatenate(
                [self.endpoints[(r, arm)]["mean_glucose_mg_dl"] for r in range(self.design.repeats)]
            )
            if (below := int((means < low).sum())) == 0:
                continue
            notes.append(
                f"arm {spec.name!r}: {below} of {len(means)} patient(s) averaged below {low:.0f} "
                f"mg/dL over the window (HbA1c under {float(hba1c_from_mean_glucose(low)):.1f}%), "
                "hypoglycaemic throughout: the model has no counter-regulation, which in people "
                "stops such a fall, so read their HbA1c as the model's, not a person's (lows "
                "can be eaten for: scenario hypo_treatment 'rule-of-15')"
            )
        return notes

    def to_dict(self) -> dict:
        return {
            "design": self.design.model_dump(mode="json"),
            "notes": self.notes(),
            "primary_endpoint": self.design.endpoints.primary,
            "arms": [self.arm_summary(a) for a in range(len(self.design.arms))],
            "curves": {
                self.design.arms[a].name: {k: np.round(v, 4).tolist() for k, v in c.items()}
                for a, c in self.curves.items()
            },
        }


def combine(design: Design, shards: Iterable[ShardResult]) -> TrialResult:
    """Put shard results back in patient order; grade Igls; average curves (repeat 0) per arm."""
    by_key: dict[tuple[int, int], list[ShardResult]] = {}
    for shard in shards:
        by_key.setdefault((shard.task.repeat, shard.task.arm), []).append(shard)
    endpoints, curves, igls = {}, {}, {}
    for key, parts in by_key.items():
        parts.sort(key=lambda s: s.task.shard)
        endpoints[key] = {
            k: np.concatenate([p.endpoints[k] for p in parts]) for k in parts[0].endpoints
        }
        # Igls grades a beta-cell replacement: an arm without a graft has none to grade (its
        # insulin-only patients were graded "optimal")
        grafted = design.arms[key[1]].graft is not None
        igls[key] = igls_grades(endpoints[key]) if grafted else []
        if key[0] == 0:
            glucose = np.concatenate([p.daily_glucose for p in parts], axis=1)
            fraction = np.concatenate([p.daily_fraction for p in parts], axis=1)
            curves[key[1]] = {
                "day": parts[0].day.astype(float),
                "mean_glucose_mg_dl": glucose.mean(axis=1),
                "hba1c_pct": hba1c_from_mean_glucose(glucose.mean(axis=1)),
                "graft_fraction_mean": fraction.mean(axis=1),
                "graft_fraction_p10": np.percentile(fraction, 10, axis=1),
                "graft_fraction_p90": np.percentile(fraction, 90, axis=1),
            }
    return TrialResult(design, endpoints, curves, igls)
