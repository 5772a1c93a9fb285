"""Plots as SVG text (matplotlib, Agg): glucose traces, graft mass over time, endpoints per arm.

Each function reads a results object (``CohortRun`` or ``TrialResult``) and draws nothing the
object did not compute, so the page, the CLI file and the API show the same numbers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from isletbase.fonts import in_plot_fonts  # noqa: E402
from isletbase.simulate.cohort import CohortRun  # noqa: E402
from isletbase.simulate.endpoints import definitions  # noqa: E402
from isletbase.simulate.results import TrialResult  # noqa: E402
from isletbase.wording import worded  # noqa: E402


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def glucose_svg(run: CohortRun, max_patients: int = 10) -> str:
    """Glucose traces (BG, and CGM when noisy) with the 70–180 mg/dL target band."""
    tir = definitions()["time_in_range"]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.axhspan(tir["low_mg_dl"], tir["high_mg_dl"], color="tab:green", alpha=0.1, lw=0)
    hours = run.time_min / 60.0
    for i, name in enumerate(run.names[:max_patients]):
        ax.plot(hours, run.bg[i], lw=1, label=name)
        if run.scenario.noise:
            ax.plot(hours, run.cgm[i], lw=0.6, ls=":", color=ax.lines[-1].get_color())
    ax.set_xlabel("hours")
    ax.set_ylabel("glucose (mg/dL)")
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    return _svg(fig)


@in_plot_fonts
def graft_mass_svg(
    result: TrialResult, lang: str = "en", names: Sequence[str] | None = None
) -> str:
    """Functional graft beta-cell mass (fraction of healthy) over time per arm: mean, 10–90 %;
    its axes in ``lang`` and its arms as ``names`` give them (a Chinese page drew English)."""
    names = names or [arm.name for arm in result.design.arms]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for arm, curve in result.curves.items():
        days = curve["day"]
        line = ax.plot(days, curve["graft_fraction_mean"], label=names[arm])
        ax.fill_between(
            days,
            curve["graft_fraction_p10"],
            curve["graft_fraction_p90"],
            color=line[0].get_color(),
            alpha=0.15,
            lw=0,
        )
    ax.set_xlabel(worded("sim_axis_day", lang, {}))
    ax.set_ylabel(worded("sim_axis_graft", lang, {}))
    ax.legend(fontsize=8)
    return _svg(fig)


def endpoint_svg(result: TrialResult, key: str = "hba1c_pct", repeat: int = 0) -> str:
    """Distribution of one per-patient endpoint in each arm (box plot with the patients)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = [arm.name for arm in result.design.arms]
    values = [result.endpoints[(repeat, a)][key] for a in range(len(names))]
    ax.boxplot(values, tick_labels=names, showfliers=False)
    rng = np.random.default_rng(0)
    for i, v in enumerate(values, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=8, alpha=0.6)
    ax.set_ylabel(key)
    ax.tick_params(axis="x", labelsize=7)
    return _svg(fig)
