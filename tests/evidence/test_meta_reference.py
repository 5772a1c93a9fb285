"""Pooled estimates against independent references.

1. Pinned metafor output for the BCG vaccine trials (Colditz et al. JAMA 1994;271:698-702;
   ``dat.bcg`` in metafor; events = tpos/cpos, n = tpos+tneg / cpos+cneg, file bcg.csv).
   FE and DL values: metafor's own test file
   tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r
   (https://github.com/wviechtb/metafor, checked there against Stata ``metan``), calls
   ``rma(yi, vi, data=escalc(measure="RR"|"OR", ai=tpos, bi=tneg, ci=cpos, di=cneg),
   method=...)``.
   REML values: ``metafor::rma(yi, vi, data = dat, method = "REML")`` printed in the RoBMA vignette
   https://stat.ethz.ch/CRAN/web/packages/RoBMA/vignettes/v02-bayesian-meta-analysis.html
   (tau^2 0.3132, I^2 92.22%) and estimate -0.7145, SE 0.1798 as commonly reproduced.
2. Second computations on the same inputs, written here from first principles (closed-form
   DerSimonian-Laird, REML by scipy.optimize on the restricted likelihood, Hartung-Knapp), and
   statsmodels' ``combine_effects`` (an implementation independent of PyMARE), to 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from isletbase.evidence.dataset import Dataset, Study, read_input
from isletbase.evidence.meta import egger_test, leave_one_out, pool, subgroups

BCG = Path(__file__).with_name("bcg.csv")


@pytest.fixture(scope="module")
def bcg_rr() -> Dataset:
    return read_input(BCG, "RR")


@pytest.mark.parametrize(
    ("measure", "method", "est", "lo", "hi", "tau2", "i2", "q"),
    [
        ("RR", "FE", -0.4303, -0.5097, -0.3509, 0.0, None, 152.2330),
        ("RR", "DL", -0.7141, -1.0644, -0.3638, 0.3088, 92.1173, 152.2330),
        ("OR", "FE", -0.4361, -0.5190, -0.3533, 0.0, None, 163.1649),
        ("OR", "DL", -0.7474, -1.1242, -0.3706, 0.3663, 92.6455, 163.1649),
        ("RR", "REML", -0.7145, None, None, 0.3132, 92.22, None),
    ],
)
def test_bcg_matches_metafor(measure, method, est, lo, hi, tau2, i2, q) -> None:
    result = pool(read_input(BCG, measure), method)
    assert result.estimate == pytest.approx(est, abs=6e-5)
    assert result.tau2 == pytest.approx(tau2, abs=6e-5)
    if lo is not None:
        assert result.ci_low == pytest.approx(lo, abs=6e-5)
        assert result.ci_high == pytest.approx(hi, abs=6e-5)
    if i2 is not None:  # REML's as the vignette prints it, to two decimals
        assert result.i2 == pytest.approx(i2, abs=6e-5 if method != "REML" else 6e-3)
    if q is not None:
        assert result.q == pytest.approx(q, abs=6e-5)


def test_bcg_reml_se_and_ratio_scale_match_metafor(bcg_rr: Dataset) -> None:
    result = pool(bcg_rr, "REML")
    assert result.se == pytest.approx(0.1798, abs=6e-5)
    out = result.to_dict()
    assert out["estimate"] == pytest.approx(math.exp(-0.7145), abs=1e-4)
    assert out["log_estimate"] == pytest.approx(-0.7145, abs=6e-5)
    dl = pool(bcg_rr, "DL").to_dict()  # metafor predict(res, transf=exp): 0.4896 [0.3449, 0.6950]
    assert (dl["estimate"], dl["ci_low"], dl["ci_high"]) == pytest.approx(
        (0.4896, 0.3449, 0.6950), abs=6e-5
    )


def _dl_closed_form(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    w = 1 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mu_fe) ** 2)
    tau2 = max(0.0, (q - (len(y) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    ws = 1 / (v + tau2)
    return tau2, np.sum(ws * y) / np.sum(ws), math.sqrt(1 / np.sum(ws))


def _reml_scipy(y: np.ndarray, v: np.ndarray) -> float:
    def negative_restricted_loglik(tau2: float) -> float:
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v + tau2)) + math.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    fit = optimize.minimize_scalar(
        negative_restricted_loglik,
        bounds=(0.0, 100.0 * np.var(y) + 1),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(fit.x)


def test_dl_agrees_with_closed_form_and_statsmodels(bcg_rr: Dataset) -> None:
    y, v = bcg_rr.yi, bcg_rr.vi
    tau2, mu, se = _dl_closed_form(y, v)
    result = pool(bcg_rr, "DL")
    assert (result.tau2, result.estimate, result.se) == pytest.approx((tau2, mu, se), abs=1e-6)
    sm = combine_effects(y, v, method_re="dl")
    assert result.estimate == pytest.approx(sm.mean_effect_re, abs=1e-6)
    assert result.tau2 == pytest.approx(sm.tau2, abs=1e-6)
    assert result.q == pytest.approx(sm.q, abs=1e-6)


def test_reml_agrees_with_scipy_likelihood_maximisation(bcg_rr: Dataset) -> None:
    y, v = bcg_rr.yi, bcg_rr.vi
    tau2 = _reml_scipy(y, v)
    w = 1 / (v + tau2)
    result = pool(bcg_rr, "REML")
    assert result.tau2 == pytest.approx(tau2, abs=1e-6)
    assert result.estimate == pytest.approx(np.sum(w * y) / np.sum(w), abs=1e-6)
    assert result.se == pytest.approx(math.sqrt(1 / np.sum(w)), abs=1e-6)


def _hk_se(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """DL's estimate and the Hartung–Knapp standard error, its scale factor floored at 1
    (Röver, Knapp & Friede 2015; metafor's test="adhoc")."""
    tau2, mu, _ = _dl_closed_form(y, v)
    w = 1 / (v + tau2)
    scale = max(1.0, np.sum(w * (y - mu) ** 2) / (len(y) - 1))
    return mu, math.sqrt(scale / np.sum(w))


def test_hartung_knapp_matches_its_definition(bcg_rr: Dataset) -> None:
    y, v = bcg_rr.yi, bcg_rr.vi
    mu, se_hk = _hk_se(y, v)
    crit = stats.t.isf(0.025, len(y) - 1)
    result = pool(bcg_rr, "DL", hk=True)
    assert result.se == pytest.approx(se_hk, abs=1e-6)
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (mu - crit * se_hk, mu + crit * se_hk), abs=1e-6
    )


@pytest.mark.parametrize(
    ("y", "v"),
    [([-0.5, -0.5, -0.5], [0.04, 0.09, 0.0625]), ([-0.5, -0.51, -0.49, -0.5], [0.25] * 4)],
)
def test_hartung_knapp_is_never_narrower_than_the_studies_allow(y: list, v: list) -> None:
    """Studies that agree more closely than their variances predict shrank the plain
    Hartung–Knapp interval to (nearly) nothing: SE 0 and p = NaN for identical effects."""
    pairs = enumerate(zip(y, v, strict=True))
    data = Dataset("MD", tuple(Study(f"s{i}", a, b) for i, (a, b) in pairs))
    mu, se_hk = _hk_se(data.yi, data.vi)
    result = pool(data, "DL", hk=True)
    assert result.se == pytest.approx(se_hk, abs=1e-9) and se_hk > 0.1
    assert result.se >= pool(data, "DL").se - 1e-12
    assert 0 < result.p_value < 1


def test_prediction_interval_uses_t_on_k_minus_2(bcg_rr: Dataset) -> None:
    result = pool(bcg_rr, "REML")
    half = stats.t.isf(0.025, bcg_rr.k - 2) * math.sqrt(result.tau2 + result.se**2)
    assert (result.pi_low, result.pi_high) == pytest.approx(
        (result.estimate - half, result.estimate + half), abs=1e-9
    )
    assert pool(bcg_rr, "FE").pi_low is None


def test_homogeneous_studies_give_random_equal_to_fixed() -> None:
    # identical effects: Q < k-1, so tau2 = 0 and every method returns the fixed-effect answer
    data = Dataset(
        "MD", tuple(Study(f"s{i}", -14.5, var) for i, var in enumerate((4.0, 9.0, 6.25)))
    )
    fe = pool(data, "FE")
    for method in ("DL", "REML"):
        re = pool(data, method)
        assert re.tau2 == pytest.approx(0.0, abs=1e-8)
        assert (re.estimate, re.ci_low, re.ci_high) == pytest.approx(
            (fe.estimate, fe.ci_low, fe.ci_high), abs=1e-6
        )
    assert fe.i2 == 0.0


def test_leave_one_out_equals_pooling_the_rest(bcg_rr: Dataset) -> None:
    results = leave_one_out(bcg_rr, "DL")
    assert len(results) == bcg_rr.k
    tau2, mu, _ = _dl_closed_form(np.delete(bcg_rr.yi, 7), np.delete(bcg_rr.vi, 7))
    assert results[7].estimate == pytest.approx(mu, abs=1e-6)
    assert results[7].k == bcg_rr.k - 1


def test_subgroups_pool_each_group_separately() -> None:
    studies = tuple(
        Study(f"s{i}", y, 0.1, groups={"cell_source": g})
        for i, (y, g) in enumerate([(-1.0, "A"), (-0.8, "A"), (0.2, "B"), (0.1, "B"), (0.5, "C")])
    )
    out = subgroups(Dataset("MD", studies), "cell_source", "FE")
    assert out["A"].estimate == pytest.approx(-0.9)
    assert out["B"].estimate == pytest.approx(0.15)
    assert out["C"] is None


def test_egger_matches_scipy_regression(bcg_rr: Dataset) -> None:
    se = np.sqrt(bcg_rr.vi)
    fit = stats.linregress(1 / se, bcg_rr.yi / se)
    egger = egger_test(bcg_rr)
    assert egger.intercept == pytest.approx(fit.intercept, abs=1e-9)
    assert egger.se == pytest.approx(fit.intercept_stderr, abs=1e-9)
    assert egger_test(bcg_rr.without(0).without(0).without(0).without(0)) is None


def test_a_reml_tau2_of_zero_gives_an_i2_of_zero() -> None:
    """REML gave τ² = 0 beside an I² of 32 % (I² from Q): now I² is τ²'s share of a typical
    study's variance, as metafor reports it; under DL the two definitions agree."""
    effects, variances = (-0.27, -2.15, -0.27, 1.48), (1.892, 1.352, 0.134, 1.676)
    data = Dataset(
        "MD",
        tuple(
            Study(f"s{i}", y, v) for i, (y, v) in enumerate(zip(effects, variances, strict=True))
        ),
    )
    reml, dl = pool(data, "REML"), pool(data, "DL")
    assert (reml.tau2, reml.i2) == (0.0, 0.0) and reml.q > 3
    assert dl.i2 == pytest.approx(100 * (dl.q - 3) / dl.q, abs=1e-9)
