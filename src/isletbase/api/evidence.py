"""Evidence routes: outcome records, pooled effects (JSON and forest-plot SVG), Igls, cases."""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from isletbase import taxonomy
from isletbase.evidence.cases import get_case, load_cases
from isletbase.evidence.forest import forest_svg
from isletbase.evidence.igls import IglsInput, classify
from isletbase.evidence.living import current_outcomes, current_pools
from isletbase.evidence.meta import PoolResult
from isletbase.evidence.outcomes import select
from isletbase.evidence.pools import pool_outcomes
from isletbase.store.query import Number
from isletbase.wording import Said, in_language, named

router = APIRouter(prefix="/api/evidence", tags=["evidence"])


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


#: A measure or method in any case, as the CLI takes them (``method=reml`` was a 422 here).
Measure = Annotated[Literal["MD", "SMD", "RR", "OR"], BeforeValidator(_upper)]
Method = Annotated[Literal["FE", "DL", "REML"], BeforeValidator(_upper)]
#: A plot's language in any case, and as a browser names it (ZH, zh-CN, zh-Hans: Chinese).
Language = Annotated[
    Literal["en", "zh"],
    BeforeValidator(lambda v: v.split("-")[0].lower() if isinstance(v, str) else v),
]


@router.get("/outcomes")
def outcomes(
    request: Request,
    condition: str | None = None,
    cell_source: str | None = None,
    outcome: str | None = None,
) -> list[dict]:
    """Published outcome records as reported, with derived values and sources: the database's
    once ``evidence update`` stored any, else the bundled ones."""
    records = current_outcomes(request.app.state.db)
    chosen = select(records, condition=condition, cell_source=cell_source, outcome=outcome)
    return [o.model_dump(mode="json") for o in chosen]


class Pooled(NamedTuple):
    """A pooled effect and the title that names what was pooled, in both languages."""

    result: PoolResult
    title: Said


def _title(outcome: str, condition: str | None, cell_source: str | None) -> Said:
    """What was pooled, named: "HbA1c · T2D", "糖化血红蛋白 · 2型糖尿病" (a Chinese plot's
    title was the query's codes, "hba1c · T2D")."""
    tax = taxonomy.load()

    def title_in(lang: str) -> str:
        parts = [named(f"outcome_{outcome}", lang, outcome)]
        for field, value in (("condition", condition), ("cell_source", cell_source)):
            if value:
                parts.append(tax.label(field, value, "zh") or value if lang == "zh" else value)
        return " · ".join(parts)

    return Said(title_in("en"), title_in("zh"))


def pooled(
    request: Request,
    outcome: str,
    condition: str | None = None,
    cell_source: str | None = None,
    measure: Measure | None = None,
    method: Method = "REML",
    hk: bool = False,
) -> Pooled:
    """The pool named by the query parameters: a dependency, so the JSON and the SVG route take
    exactly the same parameters."""
    result = pool_outcomes(
        outcome,
        condition=condition,
        cell_source=cell_source,
        measure=measure,
        method=method,
        hk=hk,
        outcomes=current_outcomes(request.app.state.db),
    )
    return Pooled(result, _title(outcome, condition, cell_source))


@router.get("/pool")
def pool(pooled: Annotated[Pooled, Depends(pooled)]) -> dict:
    """Pooled effect of the controlled comparisons for one outcome (of the records
    ``/outcomes`` lists)."""
    return pooled.result.to_dict()


@router.get("/pool.svg", response_class=Response)
def pool_svg(
    pooled: Annotated[Pooled, Depends(pooled)],
    lang: Annotated[Language, Query(description="the plot's words: en or zh")] = "en",
) -> Response:
    """The same pooled effect drawn as a forest plot (SVG), its words in ``lang``."""
    title = in_language(pooled.title, lang)
    return Response(forest_svg(pooled.result, title, lang), media_type="image/svg+xml")


@router.get("/pools")
def pools(request: Request) -> list[dict]:
    """Standing pools as last computed by ``evidence update``, with their input versions; before
    any update, as the current outcome records give them (``computed_at`` null)."""
    return current_pools(request.app.state.db)


@router.get("/igls")
def igls(
    hba1c: Annotated[Number, Query(description="HbA1c, %")],
    severe_hypos: Annotated[Number, Query(description="severe hypoglycaemic events per year")],
    insulin_reduction: Annotated[Number, Query(description="per cent fall in insulin; 100 = off")],
    c_peptide: Annotated[
        Number | None, Query(description="C-peptide, ng/mL (nmol/L × 3.02)")
    ] = None,
    c_peptide_kind: Literal["stimulated", "fasting"] = "stimulated",
    tir: Number | None = None,
    time_below_54: Number | None = None,
    other_agents: bool = False,
    baseline_hba1c: Number | None = None,
    baseline_severe_hypos: Number | None = None,
) -> dict:
    """Igls 2.0 grade of a beta-cell replacement outcome."""
    return classify(
        IglsInput(
            hba1c=hba1c,
            severe_hypos=severe_hypos,
            insulin_reduction=insulin_reduction,
            c_peptide=c_peptide,
            c_peptide_kind=c_peptide_kind,
            tir=tir,
            time_below_54=time_below_54,
            other_agents=other_agents,
            baseline_hba1c=baseline_hba1c,
            baseline_severe_hypos=baseline_severe_hypos,
        )
    ).to_dict()


@router.get("/cases")
def cases() -> list[dict]:
    """Landmark case studies with sources."""
    return [c.to_dict() for c in load_cases()]


@router.get("/cases/{name}")
def case(name: str) -> dict:
    """One landmark case (404 names the cases there are)."""
    return get_case(name).to_dict()
