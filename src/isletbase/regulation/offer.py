"""Reading a clinic's offer: free text (English or Chinese) and/or structured fields → facts.

Each fact names the words it came from (a quote with its position in the text, or the JSON
field), so a finding can show a patient or journalist exactly which sentence triggered it. The
words to look for are data in ``rules.yaml`` (phrase lists, condition and cell vocabularies,
places), each list with the page that names the pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isletbase.errors import InputError
from isletbase.model import Institution
from isletbase.regulation.facts import Evidence, Fact
from isletbase.regulation.phrases import HAN, TRIAL_ID, Match, Matcher, find_price, fold
from isletbase.regulation.rules import RuleBook
from isletbase.store.institutions import InstitutionIndex


class Offer(BaseModel):
    """A clinic's offer as given to ``check``: its text and/or structured fields.

    Structured fields win over what the text says; unknown keys are refused by name.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str | None = Field(default=None, max_length=100_000)
    country: str | None = None
    date: str | None = Field(default=None, description="date of the offer or of the check")
    charges_patient: bool | None = None
    price: float | str | None = None
    currency: str | None = None
    registered_trial_id: str | None = None
    institution: str | None = None
    ethics_approval: bool | None = None
    informed_consent: bool | None = None
    claims: list[str] = Field(default_factory=list)
    conditions_treated: list[str] = Field(default_factory=list)
    cell_source: str | None = None
    provider_type: str | None = None
    product_approved: bool | None = None
    claims_to_be_trial: bool | None = None
    offered_as_routine_treatment: bool | None = None
    arranges_overseas_treatment: bool | None = None
    testimonial_based: bool | None = None
    is_advertisement: bool | None = None

    @field_validator("date")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        if v is not None:
            date.fromisoformat(v)
        return v

    @classmethod
    def parse(cls, data: Any, where: str = "offer") -> Offer:
        """Validate JSON data, raising :class:`InputError` that names the bad field."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
        try:
            return cls(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "offer"
            raise InputError(f"{where}: field {loc!r}: {err['msg']}") from None


class Extractor:
    """Turns an :class:`Offer` into facts, using one rule book's vocabularies."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self.phrases = Matcher({k: (*v.en, *v.zh) for k, v in book.phrases.items()})
        self.conditions = Matcher({k: (*v.en, *v.zh) for k, v in book.conditions.items()})
        self.cells = Matcher({k: (*v.en, *v.zh) for k, v in book.cell_sources.items()})
        self.places = Matcher({k: (*v.en, *v.zh) for k, v in book.places.items()})

    def extract(
        self, offer: Offer, institutions: Iterable[Institution] = (), today: date | None = None
    ) -> dict[str, Fact]:
        """All facts the offer states or implies, each with its evidence."""
        facts: dict[str, Fact] = {}
        text = offer.text or ""
        self._from_text(text, facts, institutions)
        self._from_fields(offer, facts, institutions)
        self._derive(facts, bool(text), today or date.today())
        return facts

    # -- text ---------------------------------------------------------------------------
    def _from_text(self, text: str, facts: dict[str, Fact], insts: Iterable[Institution]) -> None:
        if not text:
            return
        hits = {m.key: m for m in self.phrases.find(text)}

        def ev(m: Match) -> Evidence:
            return Evidence("text", m.quote, m.start, m.end)

        claims = [m for k, m in hits.items() if k in _CLAIM_CODES]
        if claims:
            facts["claims"] = Fact("claims", [m.key for m in claims], [ev(m) for m in claims])
        conds = self.conditions.find(text)
        if conds:
            facts["conditions_treated"] = Fact(
                "conditions_treated", [m.key for m in conds], [ev(m) for m in conds]
            )
        cells = self.cells.find(text)
        if cells:
            facts["cell_source"] = Fact("cell_source", cells[0].key, [ev(cells[0])])
        for key, fact_field, value in _SIGNALS:
            if key in hits:
                facts[fact_field] = Fact(fact_field, value, [ev(hits[key])])
        price = find_price(text)
        if price:
            amount, currency, m = price
            facts["price_amount"] = Fact("price_amount", amount, [ev(m)])
            facts["price_currency"] = Fact("price_currency", currency, [ev(m)])
            facts["charges_patient"] = Fact("charges_patient", True, [ev(m)])
        elif "free" in hits:
            facts["charges_patient"] = Fact("charges_patient", False, [ev(hits["free"])])
        elif "charges" in hits:
            facts["charges_patient"] = Fact("charges_patient", True, [ev(hits["charges"])])
        trial_id = TRIAL_ID.search(text)
        if trial_id:
            m = Match("trial", trial_id.start(), trial_id.end(), trial_id.group(0))
            facts["registered_trial_id"] = Fact("registered_trial_id", m.quote, [ev(m)])
        places = self.places.find(text)
        if places:
            facts["country"] = Fact("country", places[0].key, [ev(places[0])])
        elif (han := HAN.search(text)) or (price and price[1] == "CNY"):
            why = (
                f"written in Chinese: {text[:20]!r}"
                if han
                else f"price in yuan: {price[2].quote!r}"
            )  # type: ignore[index]
            facts["country"] = Fact("country", "CN", [Evidence("derived", why)])
        inst = _find_institution(text, insts)
        if inst:
            inst_obj, m = inst
            facts["institution"] = Fact("institution", inst_obj.display_name, [ev(m)])
            _institution_facts(inst_obj, facts)

    # -- structured fields --------------------------------------------------------------
    def _from_fields(
        self, offer: Offer, facts: dict[str, Fact], insts: Iterable[Institution]
    ) -> None:
        given = offer.model_dump(
            exclude_none=True,
            exclude={"text", "price", "currency", "claims", "conditions_treated", "date"},
        )
        for name, value in given.items():
            if name == "cell_source":
                facts["cell_autologous"] = Fact(
                    "cell_autologous", value.lower() == "autologous", [_json("cell_source", value)]
                )
            facts[name] = Fact(name, value, [_json(name, value)])
        if offer.institution:
            matched = _match_name(offer.institution, insts)
            if matched:
                _institution_facts(matched, facts)
        if offer.date:
            facts["as_of"] = Fact("as_of", offer.date, [_json("date", offer.date)])
        if offer.price is not None:
            parsed = find_price(str(offer.price)) if isinstance(offer.price, str) else None
            amount = parsed[0] if parsed else _number(offer.price)
            currency = (offer.currency or (parsed[1] if parsed else None) or "").upper() or None
            facts["price_amount"] = Fact("price_amount", amount, [_json("price", offer.price)])
            if currency:
                facts["price_currency"] = Fact(
                    "price_currency", currency, [_json("currency", currency)]
                )
            if offer.charges_patient is None and amount:
                facts["charges_patient"] = Fact(
                    "charges_patient", True, [_json("price", offer.price)]
                )
        for name, matcher in (("claims", self.phrases), ("conditions_treated", self.conditions)):
            items: list[str] = getattr(offer, name)
            if not items:
                continue
            codes = list(facts[name].value) if name in facts else []
            evidence = list(facts[name].evidence) if name in facts else []
            for item in items:
                found = [m.key for m in matcher.find(item)]
                if name == "claims":
                    found = [k for k in found if k in _CLAIM_CODES] or (
                        [item] if item in _CLAIM_CODES else []
                    )
                found = found or [item.strip().lower()]
                for code in found:
                    if code not in codes:
                        codes.append(code)
                evidence.append(_json(name, item))
            facts[name] = Fact(name, codes, evidence)

    # -- derived ------------------------------------------------------------------------
    def _derive(self, facts: dict[str, Fact], from_text: bool, today: date) -> None:
        if "as_of" not in facts:
            facts["as_of"] = Fact(
                "as_of", today.isoformat(), [Evidence("derived", "date of the check")]
            )
        if from_text and "is_advertisement" not in facts:
            facts["is_advertisement"] = Fact(
                "is_advertisement", True, [Evidence("derived", "offer text given to check")]
            )
        trial = facts.get("claims_to_be_trial")
        if (
            "offered_as_routine_treatment" not in facts
            and "price_amount" in facts
            and not (trial and trial.value)
        ):
            facts["offered_as_routine_treatment"] = Fact(
                "offered_as_routine_treatment", True, list(facts["price_amount"].evidence)
            )
        conds = facts.get("conditions_treated")
        if conds:
            systems = {self._system(c) for c in conds.value}
            facts["condition_systems"] = Fact("condition_systems", len(systems), conds.evidence)
            facts["treats_many_unrelated_conditions"] = Fact(
                "treats_many_unrelated_conditions",
                len(conds.value) >= 3 and len(systems) >= 2,
                conds.evidence,
            )
            diabetic = [
                e
                for v, e in zip(conds.value, conds.evidence, strict=False)
                if v in {"diabetes", "diabetic_foot"}
            ]
            facts["mentions_diabetes"] = Fact("mentions_diabetes", bool(diabetic), diabetic)
        amount, currency = facts.get("price_amount"), facts.get("price_currency")
        if amount and currency and isinstance(amount.value, int | float):
            limit = self.book.param("high_price").get(currency.value)
            if limit is not None:
                evidence = list(dict.fromkeys([*amount.evidence, *currency.evidence]))
                facts["price_high"] = Fact("price_high", amount.value >= limit, evidence)

    def _system(self, condition: str) -> str:
        vocab = self.book.conditions.get(condition)
        return vocab.system if vocab and vocab.system else condition


_CLAIM_CODES = {
    "cure", "guaranteed", "no_side_effects", "permanent", "cure_all", "absolutely_safe",
    "one_shot", "efficacy_rate", "insulin_free", "nmpa_approved", "ind_claim", "fda_claim",
    "registry_as_approval", "minimally_manipulated", "lecheng",
}  # fmt: skip
#: phrase list -> (fact field, value it sets)
_SIGNALS = (
    ("testimonial", "testimonial_based", True),
    ("trial", "claims_to_be_trial", True),
    ("routine_treatment", "offered_as_routine_treatment", True),
    ("ethics", "ethics_approval", True),
    ("consent", "informed_consent", True),
    ("overseas", "arranges_overseas_treatment", True),
    ("beauty_salon", "provider_type", "beauty_salon"),
    ("autologous", "cell_autologous", True),
)


def _json(name: str, value: Any) -> Evidence:
    return Evidence("json", f"{name}: {value}")


def _number(value: float | str) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        raise InputError(
            f"offer: field 'price': expected a number or a price like '¥150,000', got {value!r}"
        ) from None


def _match_name(name: str, insts: Iterable[Institution]) -> Institution | None:
    """The directory entry a given name refers to (same folding as the store's matcher)."""
    insts = list(insts)
    found = InstitutionIndex.from_institutions(insts).match(name)
    return next((i for i in insts if i.id == found), None)


def _find_institution(text: str, insts: Iterable[Institution]) -> tuple[Institution, Match] | None:
    """The directory institution whose longest name or alias appears in the text."""
    folded = fold(text)
    best: tuple[int, Institution, Match] | None = None
    for inst in insts:
        for name in (inst.name_en, inst.name_zh, *inst.aliases):
            if not name or len(name) < 4:
                continue
            pos = folded.find(fold(name))
            if pos >= 0 and (best is None or len(name) > best[0]):
                best = (
                    len(name),
                    inst,
                    Match("institution", pos, pos + len(name), text[pos : pos + len(name)]),
                )
    return (best[1], best[2]) if best else None


def _institution_facts(inst: Institution, facts: dict[str, Fact]) -> None:
    source = inst.filing_source_url or inst.source_url
    facts["institution_id"] = Fact(
        "institution_id", inst.id, [Evidence("database", f"directory entry {inst.id}")]
    )
    facts["institution_filed"] = Fact(
        "institution_filed",
        inst.filed_stem_cell_institution,
        [
            Evidence(
                "database",
                f"filing list: {'seen' if inst.filed_stem_cell_institution else 'not seen'}"
                f" ({source})",
            )
        ],
    )
    if inst.country and "country" not in facts:
        code = "CN" if inst.country == "China" else inst.country
        facts["country"] = Fact(
            "country", code, [Evidence("database", f"{inst.id}: {inst.country}")]
        )
