"""Published outcome numbers of stem-cell therapy for diabetes, exactly as reported, with sources.

The bundled file ``data/evidence/outcomes.jsonl`` holds one record per (study, outcome,
timepoint): arm sizes, means/SDs, changes from baseline, events and the page they were read
from. Numbers a curator had to work out (an event count back-calculated from a percentage) sit in
the record's ``derived`` list; conversions done by code (median/IQR → mean/SD) are added
by :func:`with_conversions` as further derived values naming their method. A reported value is
never overwritten: :meth:`Outcome.value` reads the reported field first and only then a derived one.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from isletbase import taxonomy
from isletbase.errors import InputError
from isletbase.sources.curated import parse_line

Condition = Literal["T1D", "T2D"]
Design = Literal["RCT", "non-randomised controlled", "single-arm", "case report"]

#: Outcome names used in the bundled data, with what each one measures.
OUTCOMES: dict[str, str] = {
    "hba1c": "glycated haemoglobin (HbA1c)",
    "insulin_independence": "patients off exogenous insulin",
    "off_glucose_lowering_agents": "patients off every glucose-lowering drug (insulin and oral)",
    "glycaemic_response": "composite glycaemic target (e.g. HbA1c <7% with insulin cut >=50%)",
    "c_peptide_auc": "stimulated C-peptide area under the curve",
    "stimulated_c_peptide": "stimulated (peak) C-peptide",
    "fasting_c_peptide": "fasting C-peptide",
    "insulin_dose": "daily insulin requirement",
    "severe_hypoglycaemia": "patients with severe hypoglycaemic events",
    "adverse_events": "adverse events",
    "clinical_remission": "clinical remission (C-peptide rise)",
    "hba1c_below_7": "patients with HbA1c <7%",
    "c_peptide_above_threshold": "patients with C-peptide above a threshold",
    "c_peptide_positive": "patients with detectable C-peptide",
}

#: Fields a curator or a conversion may derive; anything else stays as reported.
DERIVABLE = (
    "events_treated",
    "events_control",
    "n_treated",
    "n_control",
    "treated_mean",
    "treated_sd",
    "control_mean",
    "control_sd",
    "change_sd",
)

WAN_2014 = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the "
    "sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135. "
    "doi:10.1186/1471-2288-14-135 (scenario C3: median and IQR)"
)


class Derived(BaseModel):
    """A value worked out from reported numbers, with how it was worked out."""

    model_config = ConfigDict(extra="forbid")

    field: str
    value: float
    method: str

    @field_validator("field")
    @classmethod
    def _derivable(cls, v: str) -> str:
        if v not in DERIVABLE:
            raise ValueError(f"expected one of {', '.join(DERIVABLE)}, got {v!r}")
        return v


class Outcome(BaseModel):
    """One outcome of one study at one timepoint, as reported, with its source."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{2,127}$")
    version: int = Field(ge=1)
    study: str
    title: str | None = None
    journal: str | None = None
    year: int | None = Field(default=None, ge=1950, le=2100)
    pmid: str | None = Field(default=None, pattern=r"^\d{5,9}$")
    doi: str | None = None
    country: str | None = None
    design: Design
    design_detail: str | None = None
    condition: Condition
    cell_source: str
    cell_source_detail: str | None = None
    comparator: str | None = None
    n_treated: int | None = Field(default=None, ge=1)
    n_control: int | None = Field(default=None, ge=1)
    follow_up_months: float | None = Field(default=None, ge=0)
    timepoint_months: float | None = Field(default=None, ge=0)
    outcome: str
    baseline_only: bool = False
    unit: str | None = None
    treated_mean: float | None = None
    treated_sd: float | None = Field(default=None, ge=0)
    control_mean: float | None = None
    control_sd: float | None = Field(default=None, ge=0)
    baseline_mean: float | None = None
    change_mean: float | None = None
    change_sd: float | None = Field(default=None, ge=0)
    control_change_mean: float | None = None
    contrast_mean: float | None = None
    contrast_se: float | None = Field(default=None, gt=0)
    events_treated: int | None = Field(default=None, ge=0)
    events_control: int | None = Field(default=None, ge=0)
    median_treated: float | None = None
    q1_treated: float | None = None
    q3_treated: float | None = None
    #: the control arm's median and quartiles, where a trial reports both arms so: without
    #: them such a trial (Bhansali 2014b's HbA1c, no benefit) could not enter a pool
    median_control: float | None = None
    q1_control: float | None = None
    q3_control: float | None = None
    derived: list[Derived] = Field(default_factory=list)
    source_url: str = Field(min_length=8)
    note: str | None = None

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, v: str) -> str:
        if v not in OUTCOMES:
            raise ValueError(f"expected one of {', '.join(OUTCOMES)}, got {v!r}")
        return v

    @field_validator("source_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v

    def value(self, name: str) -> float | None:
        """The reported value of ``name`` or, when none was reported, the derived one."""
        reported = getattr(self, name)
        if reported is not None:
            return reported
        for item in self.derived:
            if item.field == name:
                return item.value
        return None

    @property
    def cell_sources(self) -> tuple[str, ...]:
        """The cell products of a combined source such as ``UC-MSC+BM-MNC``."""
        return tuple(self.cell_source.split("+"))

    @property
    def citation(self) -> str:
        """PMID and/or DOI, else the source page."""
        ids = [f"PMID {self.pmid}" if self.pmid else "", f"doi:{self.doi}" if self.doi else ""]
        return "; ".join(i for i in ids if i) or self.source_url


def bundled_path() -> Path:
    """Where the bundled outcomes file lives inside the installed package."""
    return Path(str(resources.files("isletbase") / "data" / "evidence" / "outcomes.jsonl"))


def parse_outcomes(lines: Iterable[str], source: str) -> list[Outcome]:
    """Validate JSONL outcome records; a bad one raises ``InputError`` naming line and field."""
    outcomes: list[Outcome] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        outcome = parse_line(line, Outcome, f"{source} line {number}")
        if outcome.id in seen:
            raise InputError(f"{source} line {number}: duplicate outcome id {outcome.id!r}")
        seen.add(outcome.id)
        outcomes.append(with_conversions(outcome))
    return outcomes


def load_outcomes(path: Path | None = None) -> list[Outcome]:
    """Every bundled (or given) outcome record, validated, with code-made conversions added."""
    path = path or bundled_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read outcomes file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_outcomes(text.splitlines(), str(path))


def select(
    outcomes: Iterable[Outcome],
    *,
    condition: str | None = None,
    cell_source: str | None = None,
    outcome: str | None = None,
) -> list[Outcome]:
    """The outcomes matching every filter given (case-insensitive; a combined cell source matches
    each of its parts, so ``UC-MSC`` also finds ``UC-MSC+BM-MNC``). A condition or a cell source
    may be given by its English or Chinese name too (1型糖尿病, 脐带间充质干细胞); one that is
    none of them is refused, naming them: it found nothing, and a pool then said it lacked
    data."""
    if outcome is not None and outcome.lower() not in OUTCOMES:
        raise InputError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
    outcomes = list(outcomes)
    if condition:
        condition = _named(condition, "condition", {o.condition for o in outcomes})
    if cell_source:
        cell_source = _named(
            cell_source, "cell_source", {c for o in outcomes for c in o.cell_sources}
        )
    chosen = []
    for item in outcomes:
        if condition and item.condition.lower() != condition.lower():
            continue
        if cell_source and cell_source.lower() not in (c.lower() for c in item.cell_sources):
            continue
        if outcome and item.outcome != outcome.lower():
            continue
        chosen.append(item)
    return chosen


def _named(given: str, field: str, recorded: set[str]) -> str:
    """The code a filter names: one the outcome records use (in any case), or the vocabulary's
    code of a name (``taxonomy.code_of``); ``InputError`` naming the codes for anything else."""
    for code in recorded:
        if code.lower() == given.strip().lower():
            return code
    code = taxonomy.code_of(field, given)
    if code is None:
        known = ", ".join(sorted(recorded | set(taxonomy.load().values(field)), key=str.lower))
        raise InputError(f"unknown {field} {given!r}; expected one of {known} (or their names)")
    # the records' own code for the vocabulary's (AHSCT for HSC/AHST): the trials' code or its
    # Chinese name found no record of it
    same = [r for r in sorted(recorded) if taxonomy.code_of(field, r) == code]
    return same[0] if same else code


def mean_sd_from_median_iqr(median: float, q1: float, q3: float, n: int) -> tuple[float, float]:
    """Mean and SD estimated from median and interquartile range (Wan et al. 2014, C3).

    The mean is (q1 + median + q3) / 3 and the SD is (q3 - q1) / (2 Φ⁻¹((0.75n - 0.125) /
    (n + 0.25))), which stays unbiased for small n where the classic IQR/1.35 does not.
    """
    if not q1 <= median <= q3:
        raise InputError(f"median {median} is not between q1 {q1} and q3 {q3}")
    # the standard library's normal quantile: scipy's, imported here, cost every command ~0.7 s
    z = NormalDist().inv_cdf((0.75 * n - 0.125) / (n + 0.25))
    return (q1 + median + q3) / 3.0, (q3 - q1) / (2.0 * z)


def with_conversions(outcome: Outcome) -> Outcome:
    """Add code-made derived values (median/IQR → mean/SD) for each arm whose mean was not
    reported but its median and quartiles were."""
    derived = list(outcome.derived)
    have = {d.field for d in derived}
    for arm in ("treated", "control"):
        quartiles = tuple(getattr(outcome, f"{k}_{arm}") for k in ("median", "q1", "q3"))
        n = getattr(outcome, f"n_{arm}")
        if getattr(outcome, f"{arm}_mean") is None and f"{arm}_mean" not in have and n:
            if None in quartiles:
                continue
            mean, sd = mean_sd_from_median_iqr(*quartiles, n)
            derived += [
                Derived(field=f"{arm}_mean", value=mean, method=WAN_2014),
                Derived(field=f"{arm}_sd", value=sd, method=WAN_2014),
            ]
    if len(derived) == len(outcome.derived):
        return outcome
    return outcome.model_copy(update={"derived": derived})
