"""Effect-size datasets: per-study effects and variances ready to pool.

A :class:`Dataset` is built either from bundled :class:`~isletbase.evidence.outcomes.Outcome`
records (:func:`from_outcomes`) or from a user's CSV/JSON file (:func:`read_input`). Effect sizes
come from statsmodels: Hedges' g via ``effectsize_smd`` and log risk/odds ratios via
``effectsize_2proportions`` (0.5 added to every cell of a study with a zero cell, as RevMan and
metafor do by default). A mean difference is the difference of arm means with variance
sd₁²/n₁ + sd₂²/n₂ (Borenstein et al. 2009, ch. 4).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from statsmodels.stats.meta_analysis import effectsize_2proportions, effectsize_smd

from isletbase.errors import InputError
from isletbase.evidence.outcomes import Outcome
from isletbase.evidence.overlaps import left_out
from isletbase.wording import Said, said, worded

MEASURES = ("MD", "SMD", "RR", "OR")
RATIO_MEASURES = ("RR", "OR")
CONTINUITY = 0.5

_ARMS = ("mean_treated", "sd_treated", "n_treated", "mean_control", "sd_control", "n_control")
_EVENTS = ("events_treated", "n_treated", "events_control", "n_control")


@dataclass(frozen=True)
class Study:
    """One study's contribution: its effect, the effect's variance and what it came from."""

    label: str
    yi: float
    vi: float
    n_treated: int | None = None
    n_control: int | None = None
    groups: Mapping[str, str] = field(default_factory=dict)
    outcome_id: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Dataset:
    """The studies of one meta-analysis, all on one measure (log scale for RR/OR)."""

    measure: str
    studies: tuple[Study, ...]
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def yi(self) -> np.ndarray:
        return np.array([s.yi for s in self.studies], dtype=float)

    @property
    def vi(self) -> np.ndarray:
        return np.array([s.vi for s in self.studies], dtype=float)

    @property
    def inputs(self) -> dict[str, int]:
        """Outcome id → version of every bundled record used (empty for a user's file)."""
        return {s.outcome_id: s.version for s in self.studies if s.outcome_id}

    def without(self, index: int) -> Dataset:
        """The same dataset with one study left out (for leave-one-out analysis)."""
        kept = self.studies[:index] + self.studies[index + 1 :]
        return Dataset(self.measure, kept, self.excluded)

    def subset(self, key: str, value: str) -> Dataset:
        """The studies whose group ``key`` (e.g. ``cell_source``) equals ``value``."""
        kept = tuple(s for s in self.studies if s.groups.get(key) == value)
        return Dataset(self.measure, kept, self.excluded)


def check_measure(measure: str) -> str:
    """The measure in upper case, or ``InputError`` naming the ones accepted."""
    upper = measure.upper()
    if upper not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}")
    return upper


def continuous_effect(
    measure: str, m1: float, sd1: float, n1: int, m2: float, sd2: float, n2: int
) -> tuple[float, float]:
    """Mean difference or Hedges' g (treated minus control) and its sampling variance.

    Each arm needs a positive SD and two or more people: an SD of 0 gives a variance of 0 (a
    study of infinite weight) or an infinite g, and one person no SD at all."""
    if min(sd1, sd2) <= 0 or min(n1, n2) < 2:
        raise InputError(
            f"SDs {sd1:g} and {sd2:g}, n {n1} and {n2}: each arm needs an SD > 0 and n >= 2"
        )
    if measure == "SMD":
        g, var = effectsize_smd(m1, sd1, n1, m2, sd2, n2)
        return float(g), float(var)
    return m1 - m2, sd1**2 / n1 + sd2**2 / n2


def binary_effect(measure: str, e1: int, n1: int, e2: int, n2: int) -> tuple[float, float]:
    """Log risk ratio or log odds ratio (treated vs control) and its variance.

    A study with a zero cell gets 0.5 added to all four cells; a study with no events, or only
    events, in both arms carries no information on a ratio and raises ``InputError``.
    """
    if (e1 == 0 and e2 == 0) or (e1 == n1 and e2 == n2):
        raise InputError("no events (or all events) in both arms: a ratio is not estimable")
    zero = 0 in (e1, n1 - e1, e2, n2 - e2)
    statistic = "risk-ratio" if measure == "RR" else "odds-ratio"
    y, v = effectsize_2proportions(
        np.array([e1]),
        np.array([n1]),
        np.array([e2]),
        np.array([n2]),
        statistic=statistic,
        zero_correction=CONTINUITY if zero else None,
    )
    return float(y[0]), float(v[0])


def from_outcomes(outcomes: Iterable[Outcome], measure: str) -> Dataset:
    """The poolable comparisons among ``outcomes`` on ``measure``, and why others were left out.

    Only controlled studies count. Continuous measures need both arms' mean, SD and n, or (for
    MD only) a reported between-group contrast with its SE; ratios need events and n in both arms.
    A report that may count the same patients as another poolable one (``overlaps``) is left
    out, so none counts twice.
    """
    measure = check_measure(measure)
    effects: list[tuple[Outcome, tuple[float, float] | str]] = [
        (item, _effect_or_reason(item, measure)) for item in outcomes
    ]
    effects = _one_timepoint_a_study(_one_unit(effects) if measure == "MD" else effects)
    twice = left_out({item.study for item, found in effects if not isinstance(found, str)})
    studies: list[Study] = []
    excluded: list[tuple[str, str]] = []
    for item, found in effects:
        if isinstance(found, str) or item.study in twice:
            excluded.append((item.id, found if isinstance(found, str) else twice[item.study].said))
            continue
        yi, vi = found
        studies.append(
            Study(
                label=_label(item),
                yi=yi,
                vi=vi,
                n_treated=int(item.value("n_treated") or 0) or None,
                n_control=int(item.value("n_control") or 0) or None,
                groups={"cell_source": item.cell_source, "condition": item.condition},
                outcome_id=item.id,
                version=item.version,
            )
        )
    return Dataset(measure, tuple(studies), tuple(excluded))


Found = list[tuple[Outcome, "tuple[float, float] | str"]]


def _one_unit(effects: Found) -> Found:
    """A mean difference is in its outcome's unit: records in another unit than most of the
    poolable ones (HbA1c in mmol/mol among % points) are left out, saying so."""
    stated = Counter(_unit(item) for item, found in effects if not isinstance(found, str))
    stated.pop("", None)  # a record that names no unit has no vote
    if not stated:
        return effects
    kept = stated.most_common(1)[0][0]
    return [
        (item, said("other_unit", unit=item.unit, kept=kept) if _unit(item) else said("no_unit"))
        if not isinstance(found, str) and _unit(item) != kept
        else (item, found)
        for item, found in effects
    ]  # fmt: skip


def _unit(item: Outcome) -> str:
    """The record's unit, without what its brackets say of the value ("% (adjusted LS-mean
    difference from placebo)" is in %)."""
    return " ".join((item.unit or "").split(" (")[0].split()).casefold()


def _one_timepoint_a_study(effects: Found) -> Found:
    """One report a study in a pool, its latest timepoint: two timepoints of one trial are the
    same patients, counted twice."""
    latest: dict[str, Outcome] = {}
    for item, found in effects:
        if isinstance(found, str):
            continue
        held = latest.get(item.study)
        if held is None or (item.timepoint_months or 0) > (held.timepoint_months or 0):
            latest[item.study] = item
    return [
        (item, _pooled_at(latest[item.study]))
        if not isinstance(found, str) and latest[item.study] is not item
        else (item, found)
        for item, found in effects
    ]


def _effect_or_reason(item: Outcome, measure: str) -> tuple[float, float] | str:
    """The record's effect and variance on ``measure``, or why it cannot enter a pool."""
    reason = _unpoolable(item)
    if reason is not None:
        return reason
    try:
        return _effect(item, measure)
    except _Missing as exc:
        return exc.said
    except InputError as exc:
        return str(exc)


class _Missing(Exception):
    """A record lacks a number the measure needs (a reason to leave it out, not an error)."""

    def __init__(self, said: Said) -> None:
        super().__init__(said)
        self.said = said


#: Designs without a control arm, and the words for leaving them out.
_UNCONTROLLED = {"single-arm": "no_control_single_arm", "case report": "no_control_case_report"}


def _unpoolable(item: Outcome) -> str | None:
    if item.design in _UNCONTROLLED:
        return said(_UNCONTROLLED[item.design])
    if item.baseline_only:
        return said("baseline_only")
    return None


def _pooled_at(item: Outcome) -> Said:
    """Why an earlier timepoint of ``item``'s study is left out."""
    if item.timepoint_months is None:
        return said("one_timepoint_end", study=item.study)
    return said("one_timepoint", study=item.study, months=f"{item.timepoint_months:g}")


def _label(item: Outcome) -> Said:
    """A pooled study named with its timepoint, in both languages (a Chinese forest plot's
    rows read "Zang 2022（11 个月）")."""
    if item.timepoint_months is None:
        return said("study_at_end", study=item.study)
    return said("study_at", study=item.study, months=f"{item.timepoint_months:g}")


def _need(item: Outcome, names: tuple[str, ...]) -> list[float]:
    values = [item.value(n) for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if v is None]
    if missing:
        named = "、".join(worded(f"number_{n}", "zh", {}) for n in missing)
        raise _Missing(said("not_reported", zh={"fields": named}, fields=", ".join(missing)))
    return values  # type: ignore[return-value]


def _effect(item: Outcome, measure: str) -> tuple[float, float]:
    if measure in RATIO_MEASURES:
        e1, n1, e2, n2 = _need(item, ("events_treated", "n_treated", "events_control", "n_control"))
        return binary_effect(measure, int(e1), int(n1), int(e2), int(n2))
    if measure == "MD" and item.contrast_mean is not None and item.contrast_se is not None:
        return item.contrast_mean, item.contrast_se**2
    m1, s1, n1, m2, s2, n2 = _need(
        item,
        ("treated_mean", "treated_sd", "n_treated", "control_mean", "control_sd", "n_control"),
    )
    return continuous_effect(measure, m1, s1, int(n1), m2, s2, int(n2))


# --- user input files -------------------------------------------------------------------------


def read_input(path: Path, measure: str) -> Dataset:
    """A dataset from a CSV or JSON file of study rows (see ``evidence pool --help``).

    Each row has ``study`` and either arm summaries (MD/SMD), 2×2 counts (RR/OR) or a
    precomputed ``yi``/``vi``. A bad row raises ``InputError`` naming the row and the field.
    """
    measure = check_measure(measure)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    rows = _json_rows(text, path) if path.suffix.lower() == ".json" else _csv_rows(text, path)
    if not rows:
        raise InputError(f"{path}: no study rows")
    studies = tuple(_row_study(row, number, measure, path) for number, row in enumerate(rows, 1))
    return Dataset(measure, studies)


def _json_rows(text: str, path: Path) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        data = data["studies"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a JSON list of study objects")
    return data


def _csv_rows(text: str, path: Path) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "study" not in reader.fieldnames:
        raise InputError(f"{path}: CSV header must include a 'study' column")
    return [{k: v for k, v in row.items() if k is not None} for row in reader]


def _row_study(row: Mapping, number: int, measure: str, path: Path) -> Study:
    where = f"{path} row {number}"
    label = str(row.get("study") or "").strip()
    if not label:
        raise InputError(f"{where}: field 'study' is missing")
    where = f"{where} ({label})"
    if _present(row, "yi") or _present(row, "vi"):
        yi = _number(row, "yi", where)
        vi = _number(row, "vi", where)
        if vi <= 0:
            raise InputError(f"{where}: field 'vi' must be > 0, got {vi:g}")
        return Study(label, yi, vi)
    if measure in RATIO_MEASURES:
        e1, n1, e2, n2 = (_number(row, name, where) for name in _EVENTS)
        for name, n, e in (("treated", n1, e1), ("control", n2, e2)):
            _check_count(where, f"n_{name}", n, minimum=1)
            _check_count(where, f"events_{name}", e, minimum=0)
            if e > n:
                raise InputError(f"{where}: field 'events_{name}' ({e:g}) exceeds n_{name} ({n:g})")
        try:
            yi, vi = binary_effect(measure, int(e1), int(n1), int(e2), int(n2))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from exc
        return Study(label, yi, vi, int(n1), int(n2))
    m1, s1, n1, m2, s2, n2 = (_number(row, name, where) for name in _ARMS)
    for name, value in (("n_treated", n1), ("n_control", n2)):
        _check_count(where, name, value, minimum=2)
    for name, value in (("sd_treated", s1), ("sd_control", s2)):
        if value <= 0:
            raise InputError(f"{where}: field {name!r} must be > 0, got {value:g}")
    yi, vi = continuous_effect(measure, m1, s1, int(n1), m2, s2, int(n2))
    return Study(label, yi, vi, int(n1), int(n2))


def _present(row: Mapping, name: str) -> bool:
    value = row.get(name)
    return value is not None and str(value).strip() != ""


def _number(row: Mapping, name: str, where: str) -> float:
    if not _present(row, name):
        raise InputError(f"{where}: field {name!r} is missing")
    if isinstance(row[name], bool):  # JSON true is no number (float(True) is 1.0)
        raise InputError(f"{where}: field {name!r} is not a number: {row[name]!r}")
    try:
        value = float(row[name])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: field {name!r} is not a number: {row[name]!r}") from exc
    if not math.isfinite(value):
        raise InputError(f"{where}: field {name!r} is not finite: {row[name]!r}")
    return value


def _check_count(where: str, name: str, value: float, minimum: int) -> None:
    if value != int(value) or value < minimum:
        raise InputError(
            f"{where}: field {name!r} must be a whole number >= {minimum}, got {value:g}"
        )
