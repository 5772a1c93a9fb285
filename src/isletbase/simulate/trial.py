"""Run a virtual trial: every (repeat, arm, shard) task is independent of the others.

A design's patients are split into shards for speed; each patient's random numbers come from
its own streams, ``SeedSequence(seed, spawn_key=(repeat, arm, patient))`` spawned into one
stream each for the graft draw, sensor noise, dosing and insulin sensitivity (``STREAMS``; a
new stream is added at the end, so adding it moved no other stream's seed). So no number
depends on the shard size, on where or in which order shards run (one process here, or a Dask
cluster in ``scale``), nor does the graft draw move the sensor noise. The shards' numbers are
put together by ``results.combine`` into a ``TrialResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isletbase.simulate.daily import DailyLife
from isletbase.simulate.design import Design, load_design
from isletbase.simulate.endpoints import Window, run_in_days
from isletbase.simulate.engine import CohortState, DayTrace, resolve_backend
from isletbase.simulate.graft import (
    GraftCourse,
    fasting_c_peptide,
    insulin_scale,
    secreting,
)
from isletbase.simulate.population import population
from isletbase.simulate.results import ShardResult, TrialResult, combine
from isletbase.simulate.scenario import bundled


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
    arm_name = design.arms[task.arm].name
    # by index in the arm and by the virtual patient drawn, so a reader can leave it out
    who = [f"patient {task.start + j} ({name})" for j, name in enumerate(cohort.names)]
    kept = tuple(streams[name] for name in ("noise", "dosing", "sensitivity"))
    life = DailyLife(scenario, state, kept, who, backend)

    def live(fraction: np.ndarray, scale: np.ndarray, label: str) -> DayTrace:
        """One simulated day of every patient with graft ``fraction`` on ``scale`` of the
        usual insulin."""
        return life.day(
            f"arm {arm_name!r} (repeat {task.repeat}), {label}", secreting(fraction), scale
        )

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
