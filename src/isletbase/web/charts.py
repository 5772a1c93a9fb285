"""Charts as plain SVG geometry, drawn server-side so they show without JavaScript.

The numbers come from ``store.stats.stats``; this module only lays them out (bar positions,
heights, colours, axis ticks) and the template ``_year_chart.html`` writes the SVG elements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
#: The series the less common cell sources and the trials with none are summed in: not the
#: vocabulary's ``other`` (other stem cells), which would have named them all that.
REST = "rest"


@dataclass(frozen=True)
class Segment:
    series: str
    count: int
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass
class YearChart:
    """A stacked bar chart of trials per start year, one colour per cell source."""

    width: int
    height: int
    years: list[int]
    series: list[tuple[str, str]]  # (name, colour) in legend order
    segments: list[Segment] = field(default_factory=list)
    ticks: list[tuple[int, float]] = field(default_factory=list)  # (value, y)
    year_labels: list[tuple[int, float]] = field(default_factory=list)  # (year, x centre)
    table: dict[int, dict[str, int]] = field(default_factory=dict)
    #: the series name of the folded cell sources and the unclassified trials (``REST``)
    rest: str = REST
    plot_top: int = 10
    plot_left: int = 36
    plot_bottom: int = 0


def year_chart(
    rows: Iterable[Mapping[str, object]],
    max_series: int = len(PALETTE) - 1,
    width: int = 720,
    height: int = 260,
) -> YearChart:
    """Lay out ``stats(db, ["year", "cell_source"])`` rows; years without a start are left out.

    The ``max_series`` commonest cell sources get their own colour; the rest, and the trials
    with no cell source, are summed as ``REST``.
    """
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        year, source, n = row.get("year"), row.get("cell_source") or REST, int(row["trials"])  # type: ignore[arg-type]
        if year is None:
            continue
        counts[int(year)][str(source)] = counts[int(year)].get(str(source), 0) + n  # type: ignore[arg-type]
        totals[str(source)] += n
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    keep = [s for s in ranked if s != REST][:max_series]
    names = keep + ([REST] if any(s not in keep for s in ranked) else [])
    colours = dict(zip(names, PALETTE, strict=False))
    chart = YearChart(width=width, height=height, years=[], series=[(n, colours[n]) for n in names])
    if not counts:
        return chart
    years = list(range(min(counts), max(counts) + 1))
    chart.years = years
    grouped: dict[int, dict[str, int]] = {}
    for year in years:
        by = {name: 0 for name in names}
        for source, n in counts.get(year, {}).items():
            by[source if source in keep else REST] += n
        grouped[year] = {k: v for k, v in by.items() if v}
    chart.table = grouped
    chart.plot_bottom = height - 24
    plot_h = chart.plot_bottom - chart.plot_top
    top = max(sum(v.values()) for v in grouped.values()) or 1
    step = max(1, -(-top // 4))
    scale_max = step * -(-top // step)
    slot = (width - chart.plot_left - 4) / len(years)
    bar_w = max(2.0, slot * 0.75)
    for value in range(0, scale_max + 1, step):
        chart.ticks.append((value, chart.plot_bottom - plot_h * value / scale_max))
    label_every = max(1, round(len(years) / 12))
    for i, year in enumerate(years):
        x = chart.plot_left + i * slot + (slot - bar_w) / 2
        if i % label_every == 0:
            chart.year_labels.append((year, x + bar_w / 2))
        base = chart.plot_bottom
        for name in names:
            n = grouped[year].get(name, 0)
            if not n:
                continue
            h = plot_h * n / scale_max
            base -= h
            chart.segments.append(
                Segment(
                    name,
                    n,
                    round(x, 1),
                    round(base, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    colours[name],
                )
            )
    return chart
