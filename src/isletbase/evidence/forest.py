"""Forest and funnel plots (matplotlib, server-side SVG/PNG) drawn from a :class:`PoolResult`.

Plots read only the result's :meth:`~isletbase.evidence.meta.PoolResult.to_dict`, so every number
on a plot is the number in the JSON. Figures are built with the object API (no pyplot state), which
keeps rendering safe inside the web server's threads.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from isletbase.errors import InputError
from isletbase.evidence.meta import EggerResult, PoolResult, method_name
from isletbase.fonts import in_plot_fonts, plot_fonts
from isletbase.wording import in_language, worded

FORMATS = ("svg", "png")


@in_plot_fonts
def forest_figure(result: PoolResult, title: str | None = None, lang: str = "en") -> Figure:
    """A forest plot: one row per study (square sized by weight, CI whisker), the pooled diamond
    and, for random effects with three or more studies, the prediction interval as a bar; its
    words in ``lang`` (en or zh: a Chinese page drew an English plot)."""
    data = result.to_dict()

    def words(code: str, **args: str) -> str:
        return worded(code, lang, args)

    rows = data["studies"]
    k = len(rows)
    height = 1.6 + 0.38 * (k + 3)
    fig = Figure(figsize=(10, height))
    bottom, top = 1.0 / height, 0.7 / height  # inches kept for axis label/footer and title
    ax = fig.add_axes((0.33, bottom, 0.42, 1 - bottom - top))
    y_positions = np.arange(k, 0, -1) + 1.5
    weights = np.array([r["weight"] for r in rows])
    for y, row, w in zip(y_positions, rows, weights, strict=True):
        ax.plot([row["ci_low"], row["ci_high"]], [y, y], color="#333333", lw=1.2)
        ax.plot(row["effect"], y, "s", color="#1f5f99", markersize=4 + 14 * math.sqrt(w))
    diamond_y = 0.8
    est, lo, hi = data["estimate"], data["ci_low"], data["ci_high"]
    ax.add_patch(
        Polygon(
            [(lo, diamond_y), (est, diamond_y + 0.32), (hi, diamond_y), (est, diamond_y - 0.32)],
            closed=True,
            color="#b22222",
        )
    )
    if data["pi_low"] is not None:
        ax.plot([data["pi_low"], data["pi_high"]], [0.1, 0.1], color="#b22222", lw=3, alpha=0.5)
    null = 1.0 if result.ratio else 0.0
    ax.axvline(null, color="#777777", lw=0.8, ls="--")
    if result.ratio:
        ax.set_xscale("log")
    ax.set_ylim(-0.4, k + 2.3)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(_axis_label(result, lang))
    method = ("HK, " if data["hk"] else "") + data["method"]
    label_rows = [
        *(in_language(r["study"], lang) for r in rows),
        words("forest_pooled", method=method),
    ]
    text_rows = [*(_effect_text(r["effect"], r["ci_low"], r["ci_high"], r["weight"]) for r in rows)]
    text_rows.append(_effect_text(est, lo, hi, 1.0))
    ys = [*y_positions, diamond_y]
    transform = ax.get_yaxis_transform()
    ax.text(
        -0.02, k + 2.0, words("forest_study"), transform=transform, ha="right", fontweight="bold"
    )
    ax.text(1.02, k + 2.0, words("forest_effect"), transform=transform, fontweight="bold")
    for y, label, text in zip(ys, label_rows, text_rows, strict=True):
        ax.text(-0.02, y, label, transform=transform, ha="right", va="center", fontsize=9)
        ax.text(1.02, y, text, transform=transform, va="center", fontsize=9, family="monospace")
    if data["pi_low"] is not None:
        ax.text(
            -0.02,
            0.1,
            words("forest_prediction"),
            transform=transform,
            ha="right",
            va="center",
            fontsize=8,
            color="#b22222",
        )
        ax.text(
            1.02,
            0.1,
            f"[{_fmt(data['pi_low'])}, {_fmt(data['pi_high'])}]",
            transform=transform,
            va="center",
            fontsize=8,
            family="monospace",
            color="#b22222",
        )
    named = method_name(result.method, data["hk"], lang)
    fig.text(
        0.02,
        0.12 / height,
        f"{named}; k = {k}; τ² = {data['tau2']:.3g}; I² = {data['i2']:.1f}%; "
        f"Q = {data['q']:.2f} (p = {data['q_p']:.3g})",
        fontsize=8,
    )
    if title:
        fig.suptitle(title, fontsize=11, x=0.02, ha="left")
    return fig


@in_plot_fonts
def funnel_figure(result: PoolResult, egger: EggerResult | None = None) -> Figure:
    """A funnel plot (effect against standard error, pseudo 95% limits around the fixed pooled
    line) with Egger's test in the caption when there are enough studies for it."""
    se = np.array([s.se for s in result.studies])
    y = np.array([s.yi for s in result.studies])
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot(1, 1, 1)
    top = float(se.max()) * 1.1
    grid = np.linspace(0, top, 50)
    ax.plot(result.estimate - 1.96 * grid, grid, color="#777777", lw=0.8, ls="--")
    ax.plot(result.estimate + 1.96 * grid, grid, color="#777777", lw=0.8, ls="--")
    ax.axvline(result.estimate, color="#b22222", lw=1)
    ax.scatter(y, se, color="#1f5f99", zorder=3)
    ax.set_ylim(top, 0)
    ax.set_ylabel("standard error")
    ax.set_xlabel(("log " if result.ratio else "") + _axis_label(result))
    caption = (
        f"Egger's test: intercept {egger.intercept:.2f} (SE {egger.se:.2f}), "
        f"p = {egger.p_value:.3g}"
        if egger
        else f"Egger's test not run: {result.k} studies (needs ≥ 10)"
    )
    ax.set_title(caption, fontsize=9)
    fig.tight_layout()
    return fig


def render(fig: Figure, fmt: str = "svg") -> bytes:
    """The figure as SVG or PNG bytes."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown plot format {fmt!r}; expected svg or png")
    buffer = io.BytesIO()
    # the same pool gives the same bytes (no render date, fixed SVG ids), so its ETag holds
    # tick labels are made as the figure is drawn: in the plot's fonts too
    with plot_fonts(), matplotlib.rc_context({"svg.hashsalt": "isletbase"}):
        fig.savefig(
            buffer,
            format=fmt,
            dpi=120 if fmt == "png" else None,
            bbox_inches="tight",
            metadata={"Date": None} if fmt == "svg" else None,
        )
    return buffer.getvalue()


def forest_svg(result: PoolResult, title: str | None = None, lang: str = "en") -> str:
    """The forest plot as SVG text, for the web pages and ``/api/evidence/pool.svg``."""
    return render(forest_figure(result, title, lang), "svg").decode("utf-8")


def save(fig: Figure, path: Path) -> Path:
    """Write the figure to ``path``, the format taken from its suffix (.svg or .png)."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"plot file {path} must end in .svg or .png")
    try:
        path.write_bytes(render(fig, fmt))
    except OSError as exc:
        raise InputError(f"cannot write plot {path}: {exc.strerror}") from exc
    return path


def _axis_label(result: PoolResult, lang: str = "en") -> str:
    measure = worded(f"measure_{result.measure}", lang, {})
    return worded("forest_axis", lang, {"measure": measure})


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _effect_text(effect: float, low: float, high: float, weight: float) -> str:
    return f"{_fmt(effect):>6} [{_fmt(low)}, {_fmt(high)}] {100 * weight:5.1f}%"
