"""The census: every registered stem-cell trial for diabetes in China, and how it was found.

Reads the versioned search protocol (``data/census/protocol.yaml``) and screening log
(``data/census/screening.jsonl``) straight from the package data — no database — and turns them
into PRISMA-style counts, a flow diagram (SVG) and a reproducible audit sample. ``PrismaCounts``
is the one producer of census numbers: the CLI table, JSON and the SVG all read it.
"""

from __future__ import annotations

import io
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from isletbase.errors import InputError

DATA = resources.files("isletbase") / "data"

#: Fields an auditor compares with the source page for each sampled trial.
AUDIT_FIELDS = (
    "registry_ids",
    "title_en",
    "sponsor",
    "sites",
    "conditions",
    "interventions",
    "phase",
    "status",
    "enrollment",
    "start_date",
    "completion_date",
    "region",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(_Strict):
    """One look-up of the search, with how many candidate records it yielded."""

    id: str
    corpus: str
    date: str
    candidates: int = Field(ge=0)
    query: str
    note: str | None = None


class Protocol(_Strict):
    """The written search protocol: sources, terms, criteria and every query run."""

    version: str
    search_date: str
    authors: list[str] = Field(default_factory=list)
    question: str
    sources: list[dict]
    registries_covered: list[str] = Field(default_factory=list)
    registries_not_reachable: str | None = None
    terms: dict[str, list[str]]
    criteria: dict
    duplicates: str | None = None
    queries: list[Query]
    yield_note: str | None = None
    yield_note_zh: str | None = None  # our translation

    def source_name(self, key: str, lang: str = "en") -> str:
        """What a screening row's source (``shared:trials.jsonl``, ``pages``) is, in words: the
        protocol's name for it (``name_zh`` in Chinese, where given), and the file after a
        colon; the key itself where the protocol names no such source."""
        source_id, _, part = key.partition(":")
        found = next((s for s in self.sources if s.get("id") == source_id), None)
        if found is None:
            return key
        name = found.get("name_zh") if lang == "zh" and found.get("name_zh") else found["name"]
        return f"{name} — {part}" if part else name

    @property
    def exclusion_codes(self) -> dict[str, str]:
        """Exclusion code → label, as written in the protocol's criteria."""
        return dict(self.criteria.get("exclude", {}))


class Candidate(_Strict):
    """One candidate record seen during the search and the screening decision on it."""

    id: str
    registry: str
    title: str | None = None
    source: str
    query: str | None = None
    url: str | None = None
    decision: Literal["included", "excluded", "duplicate"]
    exclusion: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None
    scope: Literal["china", "comparator"] | None = None
    complication: str | None = None
    in_file: Literal["core", "census", "ctgov_export"] | None = None
    screened: str
    note: str | None = None

    def problems(self) -> list[str]:
        """What is inconsistent in this row (empty when the decision is fully stated)."""
        out = []
        if self.decision == "excluded" and not self.exclusion:
            out.append("exclusion: an excluded record needs an exclusion code")
        if self.decision == "duplicate" and not self.duplicate_of:
            out.append("duplicate_of: a duplicate needs the id it duplicates")
        if self.decision == "included" and not self.scope:
            out.append("scope: an included record needs scope china or comparator")
        return out


def load_protocol(path: Path | None = None) -> Protocol:
    """Read and validate the search protocol; errors name the file and the field."""
    path = path or Path(str(DATA / "census" / "protocol.yaml"))
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Protocol.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read protocol: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{path}: field {where}: {err['msg']}") from exc


def load_screening(path: Path | None = None) -> list[Candidate]:
    """Read the screening log; a bad line raises ``InputError`` naming the line and field."""
    path = path or Path(str(DATA / "census" / "screening.jsonl"))
    rows: list[Candidate] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = Candidate.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {n}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "record"
            raise InputError(f"{path} line {n}: field {where}: {err['msg']}") from exc
        if row.problems():
            raise InputError(f"{path} line {n} ({row.id}): field {row.problems()[0]}")
        rows.append(row)
    return rows


@dataclass(frozen=True)
class PrismaCounts:
    """PRISMA-style flow of the census; the only producer of census numbers."""

    identified_by_source: dict[str, int]
    identified: int
    duplicates: int
    screened: int
    excluded: int
    excluded_by_reason: dict[str, int]
    included: int
    included_china: int
    included_comparators: int
    china_complications: int
    china_by_file: dict[str, int] = field(default_factory=dict)
    queries: int = 0
    #: excluded records that are in the bundled trials all the same, by reason: loaded for
    #: context (foreign trials, adjacent conditions), they are counted by a search of the
    #: database (``country=China``) and not here
    loaded_excluded: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def prisma(
    rows: list[Candidate], protocol: Protocol | None = None, loaded: Container[str] = ()
) -> PrismaCounts:
    """Count the flow: identified per source → duplicates removed → screened → excluded/included;
    and which excluded records are among the ids ``loaded`` in the database (``load_trials``)."""
    decisions = Counter(r.decision for r in rows)
    included = [r for r in rows if r.decision == "included"]
    china = [r for r in included if r.scope == "china"]
    chosen = {r.id for r in included}
    counts = PrismaCounts(
        identified_by_source=dict(sorted(Counter(r.source for r in rows).items())),
        identified=len(rows),
        duplicates=decisions["duplicate"],
        screened=len(rows) - decisions["duplicate"],
        excluded=decisions["excluded"],
        excluded_by_reason=dict(
            Counter(r.exclusion for r in rows if r.decision == "excluded").most_common()
        ),
        included=len(included),
        included_china=len(china),
        included_comparators=len(included) - len(china),
        china_complications=sum(1 for r in china if r.complication),
        china_by_file=dict(sorted(Counter(r.in_file or "none" for r in china).items())),
        queries=len(protocol.queries) if protocol else 0,
        loaded_excluded=dict(
            Counter(
                r.exclusion
                for r in {r.id: r for r in rows if r.decision == "excluded"}.values()
                if r.id in loaded and r.id not in chosen
            ).most_common()
        ),
    )
    return counts


#: The flow diagram's words in English; a page in another language passes its own
#: (``flow_svg``'s ``words``), with the same keys.
FLOW_WORDS = {
    "identified": "Records identified",
    "after_duplicates": "Records after duplicates removed",
    "duplicates": "Duplicates removed",
    "screened": "Records screened",
    "excluded": "Excluded",
    "included": "Included",
    "china": "China / HK / Macau / Taiwan",
    "complications": "of which diabetic complications",
    "by_file": "by file",
    "comparators": "Foreign comparators",
    "title": "isletbase census — PRISMA-style flow",
    "colon": ": ",
    "aside": " ({})",
    "list": ", ",
    # where records were found (the protocol's sources) and the data files they went to, in
    # words (the diagram read "code: 15", "core.jsonl: 2", "shared:trials.jsonl: 62")
    "source_shared": "earlier research rows",
    "source_pages": "stored public web pages",
    "source_code": "public code repositories",
    "source_core.jsonl": "foundation set",
    "source_ctgov-export": "ClinicalTrials.gov CSV export",
    "file_census": "census additions",
    "file_core": "foundation set",
    "file_ctgov_export": "ClinicalTrials.gov CSV export",
}


def flow_svg(
    counts: PrismaCounts,
    labels: dict[str, str] | None = None,
    words: dict[str, str] | None = None,
) -> str:
    """Draw the PRISMA flow diagram with matplotlib and return it as SVG text: exclusion
    reasons named by ``labels`` (code → text), the boxes' words by ``words`` (``FLOW_WORDS``'s
    keys; English where one is missing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from isletbase.fonts import plot_fonts

    labels = labels or {}
    w = {**FLOW_WORDS, **(words or {})}
    with plot_fonts():  # a Chinese page's words measured in a font that has them
        return _flow(plt, counts, labels, w)


def _flow(plt: Any, counts: PrismaCounts, labels: dict[str, str], w: dict[str, str]) -> str:
    """``flow_svg``'s drawing, with pyplot given (imported when a diagram is drawn): a main
    column (identified → after duplicates → screened → included) with the duplicates and the
    exclusions beside it, each joined by an arrow drawn between the boxes' measured edges.
    Long words wrap instead of being cut (reasons read "news or commercia: 71"), and the
    side boxes start right of the main column, so no box covers another in either language."""
    import matplotlib
    from matplotlib.transforms import Bbox

    fig, ax = plt.subplots(figsize=(9, 9))
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 12)
    c = w["colon"]
    style = {"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#333333"}

    def box(x: float, y: float, text: str, ha: str = "center") -> Any:
        return ax.text(x, y, text, ha=ha, va="center", fontsize=11, bbox=style)

    def source(key: str) -> str:  # "shared:trials.jsonl" → "earlier research rows (trials.jsonl)"
        found, _, part = key.partition(":")
        name = w.get(f"source_{found}", found)
        return name + w["aside"].format(part) if part else name

    sources = "\n".join(f"{source(k)}{c}{v}" for k, v in counts.identified_by_source.items())
    identified = box(2.6, 10.6, f"{w['identified']}{c}{counts.identified}\n{sources}")
    kept = box(2.6, 8.4, f"{w['after_duplicates']}{c}{counts.screened}")
    duplicates = box(5.6, 9.5, f"{w['duplicates']}{c}{counts.duplicates}", ha="left")
    screened = box(2.6, 7.0, f"{w['screened']}{c}{counts.screened}")
    reasons = "\n".join(
        _wrapped(labels.get(k, k), 40, f"{c}{v}") for k, v in counts.excluded_by_reason.items()
    )
    excluded = box(5.6, 5.0, f"{w['excluded']}{c}{counts.excluded}\n{reasons}", ha="left")
    files = w["list"].join(
        f"{w.get('file_' + k, k)}{c}{v}" for k, v in counts.china_by_file.items()
    )
    included = box(
        2.6,
        2.6,
        f"{w['included']}{c}{counts.included}\n{w['china']}{c}{counts.included_china}\n"
        f"  {w['complications']}{c}{counts.china_complications}\n"
        + _wrapped(f"  {w['by_file']}{c}{files}", 48)
        + f"\n{w['comparators']}{c}{counts.included_comparators}",
    )
    title = ax.set_title(w["title"], fontsize=12, pad=14)
    to_data = ax.transData.inverted()

    def edges(text: Any) -> tuple[float, float, float, float]:
        """A box's left, bottom, right and top, as last drawn."""
        (x0, y0), (x1, y1) = to_data.transform(text.get_bbox_patch().get_window_extent())
        return x0, y0, x1, y1

    fig.canvas.draw()  # the boxes measured: the side column right of the widest main box,
    # each side box level with the gap it explains, the exclusions clear of the duplicates
    right = max(edges(t)[2] for t in (identified, kept, screened, included))
    levels = {
        duplicates: (edges(identified)[1] + edges(kept)[3]) / 2,
        excluded: (edges(screened)[1] + edges(included)[3]) / 2,
    }
    for side, y in levels.items():
        side.set_position((right + 0.4, y))
    fig.canvas.draw()
    overlap = edges(excluded)[3] - (edges(duplicates)[1] - 0.2)
    if overlap > 0:
        excluded.set_y(levels[excluded] - overlap)
        fig.canvas.draw()

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={"arrowstyle": "->", "color": "#333333", "shrinkA": 0, "shrinkB": 2},
        )

    for upper, lower in ((identified, kept), (kept, screened), (screened, included)):
        arrow((2.6, edges(upper)[1]), (2.6, edges(lower)[3]))
    for side, y in levels.items():
        arrow((2.6, y), (edges(side)[0], y))
    # the picture cut to its boxes and title (the axes' empty space left a blank half page)
    fig.canvas.draw()
    texts = (identified, kept, duplicates, screened, excluded, included)
    shown = Bbox.union(
        [t.get_bbox_patch().get_window_extent() for t in texts] + [title.get_window_extent()]
    ).padded(8)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep labels as searchable text
        fig.savefig(
            buf, format="svg", bbox_inches=shown.transformed(fig.dpi_scale_trans.inverted())
        )
    plt.close(fig)
    return buf.getvalue()


def _wrapped(text: str, width: int, tail: str = "") -> str:
    """``text`` and ``tail`` (": 71") in lines of at most ``width`` columns (a Han character
    takes two), broken at spaces where the text has them and between characters where it has
    none (Chinese), each following line indented; the tail stays with the text's last word or
    character (the count stood on a line of its own)."""
    words = re.findall(r"\S+\s*|\s+", text) if " " in text.strip() else list(text)
    if tail and words:
        words[-1] = words[-1].rstrip() + tail
    lines: list[str] = []
    line = ""
    for word in words:
        if line.strip() and _columns(line + word.rstrip()) > width:
            lines.append(line.rstrip())
            line = "    " + word.lstrip()
        else:
            line += word
    lines.append(line.rstrip())
    return "\n".join(lines)


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class AuditItem:
    """One sampled trial: where to check it and the values to compare with the page."""

    id: str
    in_file: str | None
    source_url: str | None
    fields: dict


def load_trials(directory: Path | None = None) -> dict[str, dict]:
    """Bundled trial records keyed by every registry id they carry (first file wins)."""
    directory = Path(directory or str(DATA / "trials"))
    out: dict[str, dict] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                for rid in rec.get("registry_ids", []):
                    out.setdefault(rid["id"], rec)
    return out


def audit(
    sample: int,
    seed: int,
    rows: list[Candidate] | None = None,
    trials: dict[str, dict] | None = None,
) -> list[AuditItem]:
    """Pick ``sample`` included records reproducibly (``random.Random(seed)``) for checking.

    Records are drawn from the included rows sorted by id, so the same seed gives the same
    sample on any machine; each item carries the trial's source URL and the fields to verify.
    """
    if sample < 1:
        raise InputError(f"--sample: expected a positive number, got {sample}")
    rows = load_screening() if rows is None else rows
    trials = load_trials() if trials is None else trials
    pool = sorted({r.id: r for r in rows if r.decision == "included"}.values(), key=lambda r: r.id)
    picked = random.Random(seed).sample(pool, min(sample, len(pool)))
    items = []
    for row in picked:
        rec = trials.get(row.id)
        fields = {f: rec.get(f) for f in AUDIT_FIELDS} if rec else {"title": row.title}
        items.append(
            AuditItem(row.id, row.in_file, (rec or {}).get("source_url") or row.url, fields)
        )
    return items
