"""Fixed- and random-effects meta-analysis: Dataset → Estimator → :class:`PoolResult`.

τ², the pooled estimate and its standard error come from PyMARE (``WeightedLeastSquares`` with
τ² = 0 for the fixed-effect model, ``DerSimonianLaird``, ``VarianceBasedLikelihoodEstimator
(method="REML")``), with ``small_sample_correction="wald"`` for the classic z interval or
``"knapp-hartung-conservative"`` for the Hartung–Knapp–Sidik–Jonkman interval on t with k − 1
df, its scale factor floored at 1 (as metafor's ``test="adhoc"``: where the studies agree more
closely than their variances predict, the plain factor shrinks the interval towards zero width —
three identical effects gave a standard error of 0 and p = NaN). Egger's test
is a statsmodels OLS. The result object is the only producer of numbers: the CLI, JSON, API and
plots all read :meth:`PoolResult.to_dict`.

References
----------
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177–88.
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 2005;30:261–93 (REML).
Hartung J, Knapp G. A refined method for the meta-analysis of controlled clinical trials with
binary outcome. Stat Med 2001;20:3875–89.
Röver C, Knapp G, Friede T. Hartung-Knapp-Sidik-Jonkman approach and its modification for
random-effects meta-analysis with few studies. BMC Med Res Methodol 2015;15:99 (the floor at 1).
Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of random-effects meta-analysis.
J R Stat Soc A 2009;172:137–59 (prediction interval with t on k − 2 df).
Egger M, et al. Bias in meta-analysis detected by a simple, graphical test. BMJ 1997;315:629–34.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from pymare import Dataset as PymareDataset
from pymare.estimators import (
    DerSimonianLaird,
    VarianceBasedLikelihoodEstimator,
    WeightedLeastSquares,
)
from scipy import stats

from isletbase.errors import InputError
from isletbase.evidence.dataset import RATIO_MEASURES, Dataset
from isletbase.wording import worded

#: The pooling methods (data/wording.yaml names each: ``method_name``).
METHODS = ("FE", "DL", "REML")
EGGER_MIN_K = 10


def method_name(method: str, hk: bool, lang: str = "en") -> str:
    """A pooling method in words ("random effects, restricted maximum likelihood, Hartung–Knapp"),
    for the JSON's ``method_name`` and a forest plot's caption alike."""
    return worded(f"method_{method}", lang, {}) + (", Hartung–Knapp" if hk else "")


@dataclass(frozen=True)
class StudyResult:
    """One study's effect, interval and share of the pooled weight."""

    label: str
    yi: float
    se: float
    ci_low: float
    ci_high: float
    weight: float
    n_treated: int | None = None
    n_control: int | None = None


@dataclass(frozen=True)
class PoolResult:
    """A pooled estimate with its heterogeneity and per-study contributions.

    ``estimate``/``ci_*``/``pi_*`` are on the analysis scale (log for RR/OR); :meth:`to_dict`
    reports ratios on their natural scale as well.
    """

    measure: str
    method: str
    hk: bool
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    i2: float
    q: float
    q_p: float
    pi_low: float | None
    pi_high: float | None
    studies: tuple[StudyResult, ...]
    alpha: float = 0.05
    inputs: dict[str, int] = field(default_factory=dict)
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    def natural(self, value: float | None) -> float | None:
        """A value on the scale a reader expects (exp for ratios)."""
        if value is None:
            return None
        return math.exp(value) if self.ratio else value

    def to_dict(self) -> dict:
        """Everything a caller shows: the machine interface of ``evidence pool --json``."""
        out = {
            "measure": self.measure,
            "method": self.method,
            "method_name": method_name(self.method, self.hk),
            "hk": self.hk,
            "k": self.k,
            "estimate": self.natural(self.estimate),
            "ci_low": self.natural(self.ci_low),
            "ci_high": self.natural(self.ci_high),
            "se": self.se,
            "p_value": self.p_value,
            "tau2": self.tau2,
            "i2": self.i2,
            "q": self.q,
            "q_p": self.q_p,
            "pi_low": self.natural(self.pi_low),
            "pi_high": self.natural(self.pi_high),
            "alpha": self.alpha,
            "studies": [
                {
                    "study": s.label,
                    "effect": self.natural(s.yi),
                    "ci_low": self.natural(s.ci_low),
                    "ci_high": self.natural(s.ci_high),
                    "weight": s.weight,
                    "n_treated": s.n_treated,
                    "n_control": s.n_control,
                }
                for s in self.studies
            ],
            "inputs": dict(self.inputs),
            "excluded": [{"outcome": o, "reason": r} for o, r in self.excluded],
        }
        if self.ratio:
            out["log_estimate"] = self.estimate
            out["log_ci_low"] = self.ci_low
            out["log_ci_high"] = self.ci_high
        return out


def check_method(method: str) -> str:
    """The method in upper case, or ``InputError`` naming the ones accepted."""
    upper = method.upper()
    if upper not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return upper


#: The largest log ratio (RR, OR) a study's effect may be: e⁵⁰ is a ratio of 5 × 10²¹, which no
#: study reports; past ~709 the ratio is no float at all (an effect of 800 raised OverflowError).
MAX_LOG_RATIO = 50.0


def pool(data: Dataset, method: str = "REML", hk: bool = False, alpha: float = 0.05) -> PoolResult:
    """Pool ``data`` by ``method`` (FE, DL or REML), optionally with the Hartung–Knapp interval.

    Needs at least two studies (three for a prediction interval). ``InputError`` otherwise.
    """
    method = check_method(method)
    if data.k < 2:
        found = "no study" if data.k == 0 else f"only {data.k} study ({data.studies[0].label})"
        raise InputError(f"cannot pool: {found} with the numbers {data.measure} needs")
    y, v = data.yi, data.vi
    # PyMARE divides by Q for I²: studies that agree exactly (Q = 0) warned on stderr, though
    # I² is then 0 as it reports
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tau2, estimate, se, p_value = _estimate(y, v, method, hk)
        q, q_p, i2 = _heterogeneity(y, v)
        if method != "FE":
            i2 = _i2_of_tau2(tau2, v)
    crit = stats.t.isf(alpha / 2, data.k - 1) if hk else stats.norm.isf(alpha / 2)
    if not all(math.isfinite(x) for x in (tau2, estimate, se, q, i2)) or (
        data.measure in RATIO_MEASURES and float(np.abs(y).max()) > MAX_LOG_RATIO
    ):
        raise InputError(
            f"cannot pool: the studies' {data.measure} effects and variances give no finite "
            f"estimate (an effect or a variance out of any study's range); "
            f"effects {float(y.min()):.3g} to {float(y.max()):.3g}, "
            f"variances {float(v.min()):.3g} to {float(v.max()):.3g}"
        )
    pi_low = pi_high = None
    if method != "FE" and data.k >= 3:
        half = stats.t.isf(alpha / 2, data.k - 2) * math.sqrt(tau2 + se**2)
        pi_low, pi_high = float(estimate - half), float(estimate + half)
    weights = 1.0 / (v + tau2)
    z = stats.norm.isf(alpha / 2)
    studies = tuple(
        StudyResult(
            label=s.label,
            yi=s.yi,
            se=math.sqrt(s.vi),
            ci_low=s.yi - z * math.sqrt(s.vi),
            ci_high=s.yi + z * math.sqrt(s.vi),
            weight=float(w / weights.sum()),
            n_treated=s.n_treated,
            n_control=s.n_control,
        )
        for s, w in zip(data.studies, weights, strict=True)
    )
    return PoolResult(
        measure=data.measure,
        method=method,
        hk=hk,
        k=data.k,
        estimate=estimate,
        se=se,
        ci_low=float(estimate - crit * se),
        ci_high=float(estimate + crit * se),
        p_value=p_value,
        tau2=tau2,
        i2=i2,
        q=q,
        q_p=q_p,
        pi_low=pi_low,
        pi_high=pi_high,
        studies=studies,
        alpha=alpha,
        inputs=data.inputs,
        excluded=data.excluded,
    )


def _estimate(y: np.ndarray, v: np.ndarray, method: str, hk: bool) -> tuple[float, ...]:
    """τ², pooled estimate, its standard error and p-value from the PyMARE estimator."""
    correction = "knapp-hartung-conservative" if hk else "wald"
    estimator = {
        "FE": lambda: WeightedLeastSquares(tau2=0.0, small_sample_correction=correction),
        "DL": lambda: DerSimonianLaird(small_sample_correction=correction),
        "REML": lambda: VarianceBasedLikelihoodEstimator(
            method="REML", small_sample_correction=correction
        ),
    }[method]()
    results = estimator.fit_dataset(PymareDataset(y=y, v=v)).summary()
    fe = results.get_fe_stats()
    tau2 = max(float(np.ravel(results.tau2)[0]), 0.0)
    return tau2, *(float(np.ravel(fe[key])[0]) for key in ("est", "se", "p"))


def _heterogeneity(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """Cochran's Q, its p-value and I² (per cent) from PyMARE's heterogeneity statistics."""
    estimator = WeightedLeastSquares(tau2=0.0, small_sample_correction="wald")
    results = estimator.fit_dataset(PymareDataset(y=y, v=v)).summary()
    het = results.get_heterogeneity_stats()
    q = float(np.ravel(het["Q"])[0])
    i2 = max(float(np.ravel(het["I^2"])[0]), 0.0)
    return q, float(np.ravel(het["p(Q)"])[0]), i2


def _i2_of_tau2(tau2: float, v: np.ndarray) -> float:
    """I² (per cent) as the share of τ² in τ² plus a typical study's variance (Higgins &
    Thompson 2002, as metafor reports it for a random-effects model): from Q it would say 69 %
    beside a REML τ² of 0. Under DerSimonian–Laird the two are the same number."""
    w = 1.0 / v
    typical = (len(v) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    return 100.0 * tau2 / (tau2 + typical) if tau2 + typical > 0 else 0.0


def leave_one_out(data: Dataset, method: str = "REML", hk: bool = False) -> list[PoolResult]:
    """The pooled result with each study left out in turn (needs three or more studies)."""
    if data.k < 3:
        raise InputError(f"leave-one-out needs at least 3 studies, have {data.k}")
    return [pool(data.without(i), method, hk) for i in range(data.k)]


def subgroups(
    data: Dataset, key: str, method: str = "REML", hk: bool = False
) -> dict[str, PoolResult | None]:
    """One pooled result per value of ``key`` (``cell_source`` or ``condition``); ``None`` where a
    subgroup has fewer than two studies."""
    values = sorted({s.groups.get(key) for s in data.studies if s.groups.get(key)})
    out: dict[str, PoolResult | None] = {}
    for value in values:
        part = data.subset(key, value)
        out[value] = pool(part, method, hk) if part.k >= 2 else None
    return out


@dataclass(frozen=True)
class EggerResult:
    """Egger's regression test for funnel-plot asymmetry."""

    intercept: float
    se: float
    p_value: float
    k: int

    def to_dict(self) -> dict:
        return {"intercept": self.intercept, "se": self.se, "p_value": self.p_value, "k": self.k}


def egger_test(data: Dataset) -> EggerResult | None:
    """Egger's test (standard normal deviate on precision, OLS); ``None`` below 10 studies, where
    the test has too little power to mean anything (Cochrane Handbook 13.3.5.4)."""
    if data.k < EGGER_MIN_K:
        return None
    se = np.sqrt(data.vi)
    fit = sm.OLS(data.yi / se, sm.add_constant(1.0 / se)).fit()
    return EggerResult(float(fit.params[0]), float(fit.bse[0]), float(fit.pvalues[0]), data.k)
