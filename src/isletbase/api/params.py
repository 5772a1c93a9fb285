"""Query parameters, one rule for every API route: a parameter a route does not take is
refused naming those it does, and one it takes once is refused when given twice (only the last
was read, so the answer looked like one to both)."""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import HTTPException, Request
from pydantic import BaseModel

from isletbase.errors import InputError


def refuse_repeated(request: Request, keys: frozenset[str]) -> None:
    """Refuse a parameter of ``keys`` given twice (``?status=recruiting&status=completed``):
    only the last was read, so the answer looked like one to both."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in keys and key in seen:
            raise InputError(f"query parameter {key!r} is given twice; give each once")
        seen.add(key)


def media_type(request: Request) -> str:
    """The request body's media type, without its parameters, in lower case ("" for none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def json_body(request: Request) -> None:
    """Refuse (415) a body that is not JSON where a route reads one as JSON: one rule for every
    such route (a form or a text sent to ``/api/simulate`` was answered 422 "body: Input should
    be a valid dictionary", where ``/api/check`` said 415 and what to send)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None or not dependant.body_params:
        return
    media = media_type(request)
    if media != "application/json" and not media.endswith("+json"):
        raise HTTPException(
            status_code=415,
            detail=f"request body: Content-Type {media or 'missing'!r}; send application/json",
        )


def known_query_parameters(request: Request) -> None:
    """Refuse a query parameter an API route does not take, naming those it does, and one it
    takes once given twice: one rule for every route (``/api/trials?bogus=1`` was refused,
    ``/api/stats?bogus=1`` ignored, and ``/api/evidence/pool?leave_one_out=true`` looked like
    an option that worked; ``/api/rules?jurisdiction=CN&jurisdiction=US`` answered for the
    last alone, as if for both)."""
    if not request.url.path.startswith("/api/"):
        return
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = _KNOWN.get(id(dependant))
    if known is None or known[0] is not dependant:  # read once a route
        names, lists = _query_names(dependant)
        known = _KNOWN[id(dependant)] = (dependant, frozenset(names), frozenset(names - lists))
    _, allowed, once = known
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise InputError(
            f"unknown query parameter(s) {', '.join(unknown)}; this route takes: {takes}"
        )
    refuse_repeated(request, once)


#: id of a route's dependant → (the dependant, the query parameters it declares, those of them
#: that take one value and so may be given only once).
_KNOWN: dict[int, tuple[Any, frozenset[str], frozenset[str]]] = {}


def _query_names(dependant: Any) -> tuple[set[str], set[str]]:
    """The query parameters a route's handler and its dependencies declare (a parameter that is
    a pydantic model, ``TrialQuery``, by its fields), and those of them that take several
    values (``by=cell_source&by=status``)."""
    names: set[str] = set()
    lists: set[str] = set()
    for param in dependant.query_params:
        kind = getattr(param, "type_", None) or getattr(param.field_info, "annotation", None)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            fields = [(f.alias or n, f.annotation) for n, f in kind.model_fields.items()]
        else:
            fields = [(param.alias, param.field_info.annotation)]
        for name, annotation in fields:
            names.add(name)
            if _takes_many(annotation):
                lists.add(name)
    for sub in dependant.dependencies:
        sub_names, sub_lists = _query_names(sub)
        names |= sub_names
        lists |= sub_lists
    return names, lists


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type holds several values: a list, set, tuple or sequence, also
    as a member of a union (``list[str] | None``)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, (list, set, frozenset, tuple, Sequence))
