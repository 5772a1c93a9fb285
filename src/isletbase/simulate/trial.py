"""Run a virtual trial: every (repeat, arm, shard) task is independent of the others.

A design's patients are split into shards for speed; each patient's random numbers come from
its own streams, ``SeedSequence(seed, spawn_key=(repeat, arm, patient))`` spawned into one
stream each for the graft draw, sensor noise, dosing and insulin sensitivity (``STREAMS``; a
new stream is added at the end, so adding it moved no other stream's seed). So no number
depends on the shard size, on
where or in which order shards run (one process here, or a Dask cluster in ``scale``), nor does
the graft draw move the sensor noise. ``TrialResult`` is the one producer of the trial's
numbers: tables, JSON, the API, the database and plots read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from isletbase.simulate.design import Design, load_design
from isletbase.simulate.devices import device_vector
from isletbase.simulate.dosing import dosing_for, hypo_treatment
from isletbase.simulate.endpoints import (
    Window,
    check_valid_range,
    hba1c_from_mean_glucose,
    run_in_days,
)
from isletbase.simulate.engine import CohortState, DayTrace, advance_day, resolve_backend
from isletbase.simulate.graft import (
    GraftCourse,
    fasting_c_peptide,
    insulin_scale,
    secreting,
    with_secretion,
)
from isletbase.simulate.params import COLUMNS, Cohort, load_cohort
from isletbase.simulate.scenario import Scenario, bundled
from isletbase.simulate.sensor import SensorNoise
from isletbase.simulate.variability import sensitivity_for


@dataclass(frozen=True)
class Task:
    """One unit of work: patients ``start:stop`` of one arm in one repeat."""

    repeat: int
    arm: int
    shard: int
    start: int
    stop: int


def tasks(design: Design) -> list[Task]:
    """All tasks of a design, in a fixed order."""
    out = []
    for repeat in range(design.repeats):
        for arm in range(len(design.arms)):
            for shard, start in enumerate(range(0, design.sample_size, design.shard_size)):
                stop = min(start + design.shard_size, design.sample_size)
                out.append(Task(repeat, arm, shard, start, stop))
    return out


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


#: Child streams of each patient's ``SeedSequence``, in spawn order.
STREAMS: tuple[str, ...] = ("graft", "noise", "dosing", "sensitivity")


def patient_streams(design: Design, task: Task) -> dict[str, list[np.random.Generator]]:
    """One generator per patient of ``task`` for each of ``STREAMS``, keyed by patient index.

    The key is (seed, repeat, arm, patient index in the arm), never the shard, so a patient's
    draws are the same whatever ``shard_size`` or the number of workers.
    """
    out: dict[str, list[np.random.Generator]] = {name: [] for name in STREAMS}
    for index in range(task.start, task.stop):
        seq = np.random.SeedSequence(design.seed, spawn_key=(task.repeat, task.arm, index))
        for name, child in zip(STREAMS, seq.spawn(len(STREAMS)), strict=True):
            out[name].append(np.random.default_rng(child))
    return out


@dataclass
class ShardResult:
    """Per-patient endpoints and per-day curves of one task."""

    task: Task
    endpoints: dict[str, np.ndarray]
    day: np.ndarray
    daily_glucose: np.ndarray
    daily_fraction: np.ndarray


def simulated_patient_days(design: Design) -> int:
    """The patient-days ``design`` simulates: each patient's run-in, every day of it, then a
    day per stride of the trial, in every arm and repeat."""
    per_patient = run_in_days() + -(-design.days // design.stride_days)
    return design.sample_size * len(design.arms) * design.repeats * per_patient


def run_task(design: Design, task: Task, backend: str = "auto") -> ShardResult:
    """Simulate one shard for the whole trial duration and summarise it (the design's scenario
    read already, ``with_scenario``, or bundled)."""
    scenario = design.runnable_scenario()
    cohort = population(design, task.repeat, task.arm).take(np.arange(task.start, task.stop))
    n = len(cohort)
    streams = patient_streams(design, task)
    spec = design.graft_spec(task.arm)
    course = GraftCourse.draw(spec, cohort, streams["graft"]) if spec else GraftCourse.absent(n)
    on_insulin = 1.0 if scenario.controller == "basal-bolus" else 0.0
    state = CohortState(cohort)  # on insulin, as before a transplant
    noise = SensorNoise(n, streams["noise"]) if scenario.noise else None
    meals = scenario.meals_per_minute()
    dosing = dosing_for(scenario, n, streams["dosing"])
    dev = device_vector(hypo_treatment(scenario))
    sensitivity = sensitivity_for(scenario, state.params, streams["sensitivity"])
    arm_name = design.arms[task.arm].name
    who = [f"patient {task.start + j}" for j in range(n)]

    def live(fraction: np.ndarray, scale: np.ndarray, label: str) -> DayTrace:
        """One simulated day of every patient with graft ``fraction`` on ``scale`` of the
        usual insulin, its glucose checked against the model's range."""
        if sensitivity:
            sensitivity.next_day()
        trace = advance_day(
            state,
            meals,
            noise.next_day() if noise else None,
            secreting(fraction),
            scale,
            backend,
            dosing.next_day() if dosing else None,
            dev,
        )
        check_valid_range(trace.bg, f"arm {arm_name!r} (repeat {task.repeat}), {label}", who)
        return trace

    # the pretransplant assessment the Igls criteria compare with: days on insulin alone,
    # each simulated (a stride's day would stand the model's first day from its resting state
    # for a week of them)
    baseline, before = Window(n), np.ones(n)
    for day in range(run_in_days()):
        trace = live(np.zeros(n), before, f"run-in day {day}")
        baseline.add_day(trace.bg, trace.cgm, trace.insulin, 1.0, before)
    window_start = max(design.days - design.endpoints.window_days, 0)
    window = Window(n)
    simulated = list(range(0, design.days, design.stride_days))
    daily_glucose = np.empty((len(simulated), n))
    daily_fraction = np.empty((len(simulated), n))
    for i, day in enumerate(simulated):
        weight = min(design.stride_days, design.days - day)
        fraction = course.fraction(day + (weight - 1) / 2)  # the mid-day it stands for
        need = insulin_scale(fraction)
        trace = live(fraction, on_insulin * need, f"day {day}")
        if day + weight > window_start:
            inside = min(weight, day + weight - window_start)
            window.add_day(trace.bg, trace.cgm, trace.insulin, inside, need)
        daily_glucose[i] = trace.bg.mean(axis=1)
        daily_fraction[i] = fraction
    out = window.summary()
    base_summary = baseline.summary()
    usual = base_summary["insulin_u_per_day"]
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = np.where(usual > 0, 100 * (1 - out["insulin_u_per_day"] / usual), 0.0)
    out["insulin_reduction_pct"] = reduction
    out["graft_fraction"] = course.fraction(design.days - 1)
    # from the mass that secretes: a graft of two pancreases secretes as one (``secreting``)
    out["c_peptide_ng_ml"] = fasting_c_peptide(secreting(out["graft_fraction"]))
    out["baseline_hba1c_pct"] = base_summary["hba1c_pct"]
    out["baseline_level2_events_per_year"] = base_summary["level2_events_per_year"]
    return ShardResult(task, out, np.asarray(simulated), daily_glucose, daily_fraction)


def igls_grades(endpoints: dict[str, np.ndarray]) -> list[str]:
    """Igls 2.0 treatment outcome per patient (``isletbase.evidence.igls.classify``)."""
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
        grades.append(result.treatment_outcome)
    return grades


#: Fewest patients per arm for which ``TrialResult.p_value`` tests arms against each other.
MIN_PER_ARM = 2

SUMMARISED = (
    "hba1c_pct",
    "mean_glucose_mg_dl",
    "tir_pct",
    "below_54_pct",
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
    igls: dict[tuple[int, int], list[str]] = field(default_factory=dict)

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
        out["igls_treatment_outcome"] = {g: grades.count(g) for g in sorted(set(grades))}
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


def with_scenario(design: Design | str | Path, base: Path | None = None) -> Design:
    """``design`` (or the design file) with its scenario read in place of its name, so that
    the result and the stored run say which meals and dosing ran (a name alone did not), or
    ``InputError`` where it cannot run (``Design.runnable_scenario``)."""
    if not isinstance(design, Design):
        base = bundled(design, "designs").parent
        design = load_design(design)
    return design.model_copy(update={"scenario": design.runnable_scenario(base)})


def run_trial(
    design: Design | str | Path,
    backend: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    base: Path | None = None,
) -> TrialResult:
    """Run every task of ``design`` in this process and combine them into a ``TrialResult``.

    ``progress(done, total)`` is called after each task. Use ``scale.run_trial_dask`` to spread
    the same tasks over a Dask cluster; the result is identical.
    """
    design = with_scenario(design, base)  # refused before any work
    backend = resolve_backend(backend)
    todo = tasks(design)
    results = []
    for i, task in enumerate(todo):
        results.append(run_task(design, task, backend))
        if progress:
            progress(i + 1, len(todo))
    return combine(design, results)
