"""Igls 2.0 grading of β-cell replacement outcomes: optimal, good, marginal or failure.

Two grades, as the IPITA symposium proposed (Landstra et al., JCEM 2021, Table 2): the
*treatment outcome* from glycaemic control and hypoglycaemia, and the *β-cell graft function* from
C-peptide and remaining glucose-lowering therapy. Thresholds are read from
``data/evidence/igls.yaml`` (with its source); this module only compares numbers with them, so a
patient from a paper, a case study or a simulated cohort is graded the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml

from isletbase.errors import InputError

CPeptideKind = Literal["stimulated", "fasting"]


@lru_cache(maxsize=1)
def criteria() -> dict:
    """The Igls 2.0 thresholds and their source, as bundled."""
    path = resources.files("isletbase") / "data" / "evidence" / "igls.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class IglsInput:
    """One patient's (or one cohort's typical) outcome after β-cell replacement.

    ``insulin_reduction`` is the per cent fall in daily insulin from baseline (100 = off insulin);
    ``other_agents`` says whether non-insulin glucose-lowering drugs are still taken. Baseline
    values are needed only to tell *marginal* from *failure*.
    """

    hba1c: float
    severe_hypos: float
    insulin_reduction: float
    c_peptide: float | None = None
    c_peptide_kind: CPeptideKind = "stimulated"
    tir: float | None = None
    time_below_54: float | None = None
    other_agents: bool = False
    baseline_hba1c: float | None = None
    baseline_severe_hypos: float | None = None

    def __post_init__(self) -> None:
        checks = (
            ("hba1c", self.hba1c, 2.0, 20.0),
            ("severe_hypos", self.severe_hypos, 0.0, 1000.0),
            ("insulin_reduction", self.insulin_reduction, -1000.0, 100.0),
            ("c_peptide", self.c_peptide, 0.0, 100.0),
            ("tir", self.tir, 0.0, 100.0),
            ("time_below_54", self.time_below_54, 0.0, 100.0),
            ("baseline_hba1c", self.baseline_hba1c, 2.0, 20.0),
            ("baseline_severe_hypos", self.baseline_severe_hypos, 0.0, 1000.0),
        )
        for name, value, low, high in checks:
            if value is not None and not low <= value <= high:
                raise InputError(f"Igls input {name}={value:g} is outside {low:g}–{high:g}")
        if self.c_peptide_kind not in ("stimulated", "fasting"):
            raise InputError(
                f"c_peptide_kind must be stimulated or fasting, not {self.c_peptide_kind!r}"
            )


@dataclass(frozen=True)
class IglsResult:
    """Both Igls 2.0 grades with the reasons for each and the source of the thresholds."""

    treatment_outcome: str
    graft_function: str | None
    success: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        spec = criteria()
        return {
            "criteria": spec["name"],
            "treatment_outcome": self.treatment_outcome,
            "graft_function": self.graft_function,
            "treatment_success": self.success,
            "reasons": list(self.reasons),
            "source": {"url": spec["source_url"], "doi": spec["doi"], "pmid": spec["pmid"]},
        }


def classify(patient: IglsInput) -> IglsResult:
    """Grade one outcome by Igls 2.0; CGM metrics are used when given and skipped otherwise."""
    spec = criteria()
    reasons: list[str] = []
    outcome = _treatment_outcome(patient, spec["treatment_outcome"], reasons)
    graft = _capped(
        _graft_function(patient, spec["graft_function"], outcome, reasons), outcome, reasons
    )
    return IglsResult(outcome, graft, outcome in ("optimal", "good"), reasons)


#: Grades from worst to best.
_GRADES = ("failure", "marginal", "good", "optimal")


def _capped(graft: str | None, outcome: str, reasons: list[str]) -> str | None:
    """Graft function no better than the treatment outcome: Igls 2.0 grades it only once the
    glucose measures meet that grade ("categorisation of beta-cell graft function must first
    meet the treatment outcome", Table 2 footnote e). Where the outcome is "marginal or
    failure" for want of baseline values, so is a graft function that would be better."""
    if graft is None:
        return None
    unsure = outcome == "marginal or failure"
    cap = "marginal" if unsure else outcome
    if _GRADES.index(graft) < _GRADES.index(cap) or (graft == cap and not unsure):
        return graft
    reasons.append(
        f"graft function {outcome}, not {graft}: it cannot exceed the treatment outcome "
        "(Igls 2.0, Table 2 footnote e)"
    )
    return outcome


def _meets(patient: IglsInput, rule: dict) -> list[str]:
    """The ways ``patient`` misses ``rule`` (empty when it meets it)."""
    misses = []
    hba1c_ok = (
        patient.hba1c <= rule["hba1c_max"]
        if rule["hba1c_inclusive"]
        else patient.hba1c < rule["hba1c_max"]
    )
    if not hba1c_ok:
        sign = "≤" if rule["hba1c_inclusive"] else "<"
        misses.append(f"HbA1c {patient.hba1c:g}% not {sign} {rule['hba1c_max']:g}%")
    if patient.severe_hypos > rule["severe_hypos_max"]:
        misses.append(f"{patient.severe_hypos:g} severe hypoglycaemic events/yr (needs none)")
    if patient.tir is not None and patient.tir < rule["tir_min"]:
        misses.append(f"time in range {patient.tir:g}% < {rule['tir_min']:g}%")
    if patient.time_below_54 is not None:
        limit = rule["time_below_54_max"]
        inclusive = rule["time_below_54_inclusive"]
        ok = patient.time_below_54 <= limit if inclusive else patient.time_below_54 < limit
        if not ok:
            misses.append(f"time <54 mg/dL {patient.time_below_54:g}% too high")
    return misses


def _treatment_outcome(patient: IglsInput, rules: dict, reasons: list[str]) -> str:
    for grade in ("optimal", "good"):
        misses = _meets(patient, rules[grade])
        if not misses:
            reasons.append(f"treatment outcome {grade}: meets every {grade} threshold")
            return grade
        if grade == "good":
            reasons.append("not good: " + "; ".join(misses))
    if patient.baseline_hba1c is None or patient.baseline_severe_hypos is None:
        reasons.append("marginal vs failure needs baseline HbA1c and severe-hypoglycaemia rate")
        return "marginal or failure"
    improved_hypos = patient.severe_hypos < patient.baseline_severe_hypos or (
        patient.baseline_severe_hypos == 0 and patient.severe_hypos == 0
    )
    if (
        patient.hba1c <= patient.baseline_hba1c
        and improved_hypos
        and (
            patient.hba1c < patient.baseline_hba1c
            or patient.severe_hypos < patient.baseline_severe_hypos
        )
    ):
        reasons.append("marginal: better than baseline but short of good")
        return "marginal"
    reasons.append("failure: no improvement on baseline HbA1c or severe hypoglycaemia")
    return "failure"


def _graft_function(
    patient: IglsInput, rules: dict, outcome: str, reasons: list[str]
) -> str | None:
    """Graft function by Table 2: optimal off all therapy with an optimal treatment outcome,
    else by C-peptide (``_capped`` then keeps it no better than the outcome). Off all therapy
    with a lesser outcome is graded by C-peptide too: an insulin-free patient at HbA1c 6.8 %
    with a stimulated C-peptide of 0.35 ng/mL has marginal graft function, not good."""
    off_therapy = patient.insulin_reduction >= 100 and not patient.other_agents
    if off_therapy and outcome == "optimal":
        reasons.append("graft function optimal: no insulin or other glucose-lowering therapy")
        return "optimal"
    if patient.c_peptide is None:
        if outcome == "failure":  # no C-peptide could grade it above the outcome
            reasons.append(
                "graft function failure: it cannot exceed the treatment outcome"
                " (Igls 2.0, Table 2 footnote e)"
            )
            return "failure"
        reasons.append(
            "graft function not graded: C-peptide not given"
            + (
                " (off all therapy, but optimal graft function needs an optimal treatment"
                " outcome, and the grades below it are C-peptide's)"
                if off_therapy
                else ""
            )
        )
        return None
    c = patient.c_peptide
    if patient.c_peptide_kind == "stimulated":
        good, marginal = (
            c > rules["good"]["stimulated_above"],
            c >= rules["marginal"]["stimulated_at_least"],
        )
    else:
        good, marginal = (
            c >= rules["good"]["fasting_at_least"],
            c >= rules["marginal"]["fasting_at_least"],
        )
    grade = "good" if good else "marginal" if marginal else "failure"
    reasons.append(
        f"graft function {grade}: {patient.c_peptide_kind} C-peptide {c:g} {rules['unit']}"
    )
    return grade
