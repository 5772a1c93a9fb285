"""One decorator that gives every trial-listing command the same filter options.

``search``, ``export`` and ``stats`` accept exactly the same filters as the API, because each
gets them from here and hands the command a validated ``TrialQuery``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from isletbase.cli.common import fail
from isletbase.store.query import TrialQuery

#: Filter name → (type, help). Each becomes ``--name-with-dashes`` on every listing command.
FILTERS: dict[str, tuple[Any, str]] = {
    "condition": (str | None, "T1D, T2D, LADA, diabetes, complication or complication:NAME"),
    "cell_source": (str | None, "e.g. UC-MSC, BM-MNC, HSC/AHST, CiPSC-islet"),
    "phase": (str | None, "e.g. PHASE1, PHASE1/PHASE2, PHASE2, NA"),
    "status": (str | None, "e.g. recruiting, completed, unknown"),
    "registry": (str | None, "ctgov, chictr, ictrp, …"),
    "region": (str | None, "mainland China, Hong Kong, Macau, Taiwan, foreign"),
    "country": (
        str | None,
        "The trial's one country: China if a site is in China (Hong Kong, Macau and Taiwan "
        "too, told apart by --region), else its first site's; e.g. Japan or 日本",
    ),
    "province": (str | None, "Province or state of a site, e.g. Shanghai"),
    "city": (str | None, "City of a site, e.g. Guangzhou"),
    "route": (str | None, "intravenous, intra-arterial, intramuscular, …"),
    "year_from": (int | None, "Start year at least"),
    "year_to": (int | None, "Start year at most"),
}


def with_filters(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the filter options to ``func`` and pass it ``query: TrialQuery`` instead.

    ``func`` must take ``query`` and may take ``q`` (free text) among its own parameters.
    """
    own = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in own.parameters.values()
        if p.name != "query"
    ]
    for name, (annotation, help_text) in FILTERS.items():
        option = typer.Option(
            "--" + name.replace("_", "-"), help=help_text, rich_help_panel="Filters"
        )
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[annotation, option],
                default=None,
            )
        )

    labels = {p.name: _label(p) for p in params}

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in FILTERS}
        extra = {k: kwargs[k] for k in ("q", "sort", "page", "per_page") if k in kwargs}
        try:
            query = TrialQuery(**values, **{k: v for k, v in extra.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else None
            message = err["msg"].removeprefix("Value error, ")
            fail(f"{labels.get(field, 'query') if field else 'query'}: {message}")
        return func(query=query, **kwargs)

    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _label(param: inspect.Parameter) -> str:
    """How the command line names ``param``: its option (``--year-from``), or for a
    positional argument what it is (``search``'s text has no ``--q``)."""
    for info in getattr(param.annotation, "__metadata__", ()):
        if isinstance(info, typer.models.ArgumentInfo):
            return f"the text ({param.name})" if param.name == "q" else param.name
        if isinstance(info, typer.models.OptionInfo) and info.param_decls:
            return info.param_decls[0]
    return "--" + param.name.replace("_", "-")
