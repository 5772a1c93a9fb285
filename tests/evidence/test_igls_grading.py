"""Igls 2.0 grades at and around the published thresholds (Landstra et al. JCEM 2021, Table 2)."""

from __future__ import annotations

import pytest

from isletbase.errors import InputError
from isletbase.evidence.igls import IglsInput, classify, criteria


def grade(**kw) -> tuple[str, str | None]:
    result = classify(IglsInput(**({"severe_hypos": 0, "insulin_reduction": 100} | kw)))
    return result.treatment_outcome, result.graft_function


def test_thresholds_come_from_the_cited_table() -> None:
    spec = criteria()
    assert spec["doi"] == "10.1210/clinem/dgab386"
    assert spec["treatment_outcome"]["optimal"]["hba1c_max"] == 6.5
    assert spec["treatment_outcome"]["good"]["tir_min"] == 70


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"hba1c": 6.5}, "optimal"),  # ≤ 6.5 is optimal
        ({"hba1c": 6.6}, "good"),
        ({"hba1c": 7.0}, "marginal or failure"),  # good needs < 7.0
        ({"hba1c": 6.4, "tir": 79}, "good"),
        ({"hba1c": 6.4, "severe_hypos": 1}, "marginal or failure"),
        (
            {"hba1c": 7.5, "severe_hypos": 1, "baseline_hba1c": 8.5, "baseline_severe_hypos": 6},
            "marginal",
        ),
        (
            {"hba1c": 8.6, "severe_hypos": 6, "baseline_hba1c": 8.5, "baseline_severe_hypos": 6},
            "failure",
        ),
    ],
)
def test_treatment_outcome(kw: dict, expected: str) -> None:
    assert grade(**kw)[0] == expected


@pytest.mark.parametrize(
    ("c_peptide", "kind", "expected"),
    [
        (0.51, "stimulated", "good"),
        (0.5, "stimulated", "marginal"),
        (0.3, "stimulated", "marginal"),
        (0.29, "stimulated", "failure"),
        (0.2, "fasting", "good"),
        (0.19, "fasting", "marginal"),
        (0.09, "fasting", "failure"),
    ],
)
def test_graft_function_from_c_peptide(c_peptide: float, kind: str, expected: str) -> None:
    assert (
        grade(hba1c=6.8, insulin_reduction=60, c_peptide=c_peptide, c_peptide_kind=kind)[1]
        == expected
    )


def test_off_all_therapy_is_optimal_graft_function_whatever_the_c_peptide() -> None:
    assert grade(hba1c=6.4, c_peptide=0.1) == ("optimal", "optimal")
    assert grade(hba1c=6.4, c_peptide=0.1, other_agents=True)[1] == "failure"


def test_impossible_values_are_refused() -> None:
    with pytest.raises(InputError, match="hba1c=40"):
        IglsInput(hba1c=40, severe_hypos=0, insulin_reduction=0)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        # off insulin, but glucose control failed: the graft cannot be graded better
        (
            {"hba1c": 9.5, "severe_hypos": 4, "baseline_hba1c": 9.0, "baseline_severe_hypos": 4},
            ("failure", "failure"),
        ),
        # insulin-free at 6.8 %: not optimal, and graded below by C-peptide (none given: none)
        ({"hba1c": 6.8}, ("good", None)),
        ({"hba1c": 6.8, "c_peptide": 0.8}, ("good", "good")),
        ({"hba1c": 6.8, "c_peptide": 0.35}, ("good", "marginal")),
        ({"hba1c": 6.8, "c_peptide": 0.15, "c_peptide_kind": "fasting"}, ("good", "marginal")),
        (
            {
                "hba1c": 7.5,
                "c_peptide": 0.1,
                "baseline_hba1c": 8.5,
                "baseline_severe_hypos": 3,
            },
            ("marginal", "failure"),
        ),
        (
            {"hba1c": 6.8, "insulin_reduction": 20, "c_peptide": 0.8},
            ("good", "good"),
        ),
        (
            {"hba1c": 7.4, "insulin_reduction": 60, "c_peptide": 0.8},
            ("marginal or failure", "marginal or failure"),
        ),
        (
            {"hba1c": 7.4, "insulin_reduction": 60, "c_peptide": 0.1},
            ("marginal or failure", "failure"),
        ),
        (
            {
                "hba1c": 7.4,
                "insulin_reduction": 60,
                "c_peptide": 0.8,
                "baseline_hba1c": 8.5,
                "baseline_severe_hypos": 2,
            },
            ("marginal", "marginal"),
        ),
    ],
)
def test_graft_function_cannot_exceed_the_treatment_outcome(kw: dict, expected: tuple) -> None:
    """Landstra 2021, Table 2 footnote e: graft function must first meet the treatment
    outcome."""
    assert grade(**kw) == expected
