"""A clinic's offer as given to ``check``: its text and/or structured fields, validated.

The CLI, the API and the web form all read offers through :class:`Offer` (``parse``,
``from_json``, ``from_text``), so a bad field is refused the same way everywhere, naming the
field: a price must be a finite amount of 0 or more, a currency a code or a known alias.
Reading facts from an offer is ``regulation.extract``.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from isletbase.errors import InputError, json_kind
from isletbase.regulation.prices import currency_code, read_price_field
from isletbase.store.db import printable

#: Longest offer text read (an offer's text, not a whole website).
MAX_TEXT = 100_000
#: Longest value of a field other than ``text`` (a name, a code, a price as written), and most
#: items of a list field: each is matched against the rule book, in time with its length.
MAX_FIELD = 500
MAX_ITEMS = 100


class Offer(BaseModel):
    """A clinic's offer as given to ``check``: its text and/or structured fields.

    Structured fields win over what the text says; unknown keys are refused by name.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # kept as given (other fields are stripped): a finding's evidence quotes the text by offset
    text: Annotated[str | None, StringConstraints(strip_whitespace=False)] = Field(
        default=None, max_length=MAX_TEXT
    )
    country: str | None = Field(default=None, max_length=MAX_FIELD)
    date: str | None = Field(default=None, description="date of the offer or of the check")
    charges_patient: bool | None = None
    price: float | str | None = Field(
        default=None, description="a finite number >= 0, or a price like '¥150,000'"
    )
    currency: str | None = Field(
        default=None, max_length=MAX_FIELD, description="ISO code, or RMB, 元, US$, ..."
    )
    registered_trial_id: str | None = Field(default=None, max_length=MAX_FIELD)
    institution: str | None = Field(default=None, max_length=MAX_FIELD)
    ethics_approval: bool | None = None
    informed_consent: bool | None = None
    claims: list[Annotated[str, StringConstraints(max_length=MAX_FIELD)]] = Field(
        default_factory=list, max_length=MAX_ITEMS
    )
    conditions_treated: list[Annotated[str, StringConstraints(max_length=MAX_FIELD)]] = Field(
        default_factory=list, max_length=MAX_ITEMS
    )
    cell_source: str | None = Field(default=None, max_length=MAX_FIELD)
    cell_therapy: bool | None = None
    provider_type: str | None = Field(default=None, max_length=MAX_FIELD)
    product_approved: bool | None = None
    claims_to_be_trial: bool | None = None
    offered_as_routine_treatment: bool | None = None
    arranges_overseas_treatment: bool | None = None
    testimonial_based: bool | None = None
    is_advertisement: bool | None = None

    @field_validator("institution", "registered_trial_id", "country", "currency", "provider_type")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        """Names looked up in the database hold no control character (PostgreSQL refuses a
        NUL outright, SQLite ends the text at it)."""
        return printable(v)

    @field_validator("date")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        """The date as YYYY-MM-DD: Python reads "20250301" and "2025-W09-6" too, and a rule's
        start is compared with it as text (such a date found rules not yet in force)."""
        return None if v is None else date.fromisoformat(v).isoformat()

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ValueError(f"expected a number or a price like '¥150,000', got {v!r}")
        if isinstance(v, str) and len(v) > MAX_FIELD:
            raise ValueError(f"{len(v)} characters; a price is at most {MAX_FIELD}")
        if isinstance(v, str):
            if not v.strip():
                return None
            read = read_price_field(v)
            if read is None:
                raise ValueError(f"expected a number or a price like '¥150,000', got {v!r}")
            # a price naming its currency stays text, for its currency to be read from it
            return v.strip() if read[1] else read[0]
        try:
            number = float(v)  # an integer of 400 digits is no float: OverflowError
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"expected a finite number >= 0, got {v!r}")
        return number

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if not v:
            return None
        code = currency_code(v)
        if code is None:
            raise ValueError(
                f"expected an ISO currency code (CNY, USD, ...) or RMB, 元, US$; got {v!r}"
            )
        return code

    @classmethod
    def parse(cls, data: Any, where: str = "offer") -> Offer:
        """Validate JSON data, raising :class:`InputError` that names the bad field."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object, got {json_kind(data)}")
        try:
            return cls(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "offer"
            msg = err["msg"].removeprefix("Value error, ")
            if loc == "text" and err["type"] == "string_too_long":
                msg = (
                    f"{len(data['text'])} characters; at most {MAX_TEXT} are read"
                    " (give the offer's text only)"
                )
            raise InputError(f"{where}: field {loc!r}: {msg}") from None

    @classmethod
    def from_json(cls, raw: str, where: str = "offer") -> Offer:
        """An offer from JSON text; NaN, Infinity and numbers too large for a float are
        refused by the field they are in (JSON has no such numbers)."""

        def finite(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            for key, value in pairs:
                if isinstance(value, float) and not math.isfinite(value):
                    shown = "NaN" if math.isnan(value) else f"{value:+}".replace("inf", "Infinity")
                    raise InputError(
                        f"{where}: field {key!r}: {shown} is not a JSON number;"
                        " expected a finite number"
                    )
            return dict(pairs)

        try:
            data = json.loads(raw, object_pairs_hook=finite)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except RecursionError:  # ~1,000 nested arrays fit in 2 KB of body
            raise InputError(f"{where}: JSON nested too deeply; expected an offer object") from None
        return cls.parse(data, where)

    @classmethod
    def from_text(cls, text: str, where: str = "offer") -> Offer:
        """An offer that is only text, refused by name when it is too long."""
        return cls.parse({"text": text}, where)
