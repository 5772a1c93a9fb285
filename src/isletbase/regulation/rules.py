"""The rule book: rules, parameters and phrase lists read from ``data/rules.yaml`` and validated.

Rules are data so a lawyer or curator can read and change them without touching code; loading
checks every rule (fields declared, operators known, severity and jurisdiction valid, a source
URL present) and fails with a message naming the rule and key, never silently.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isletbase.errors import InputError
from isletbase.regulation.conditions import Condition, parse_condition
from isletbase.taxonomy import simplified

Severity = Literal["violation", "red_flag", "info"]
#: Mainland China (CN); Hong Kong, Macau and Taiwan (HK, MO, TW: each its own law, not the
#: mainland's); Japan and Thailand (JP, TH); international guidance (INTL); the United States;
#: the European Union.
Jurisdiction = Literal["CN", "HK", "MO", "TW", "JP", "TH", "INTL", "US", "EU"]
AppliesTo = Literal["trial", "clinic_offer", "product"]


def _listed(values: tuple[str, ...]) -> str:
    """Values as a help text or an error names them: "a, b or c"."""
    return ", ".join(values[:-1]) + " or " + values[-1]


JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)
JURISDICTIONS_TEXT = _listed(JURISDICTIONS)  # "CN, HK, MO, TW, JP, TH, INTL, US or EU"
TARGETS: tuple[str, ...] = get_args(AppliesTo)
TARGETS_TEXT = _listed(TARGETS)  # "trial, clinic_offer or product"

#: Severity order, weakest first; ``worst`` of a result is the maximum.
SEVERITY_RANK: dict[str, int] = {"info": 0, "red_flag": 1, "violation": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http(url: str | None) -> str | None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL, got {url!r}")
    return url


class Rule(_Strict):
    """One rule: what it says (EN + ZH), what it applies to, when it fires, and its source."""

    id: str = Field(pattern=r"^[A-Z]+(-[A-Z0-9]+)+$")
    jurisdiction: Jurisdiction
    applies_to: tuple[AppliesTo, ...] = Field(min_length=1)
    severity: Severity
    statement_en: str = Field(min_length=10)
    statement_zh: str = Field(min_length=4)
    statement_zh_kind: Literal["quote", "paraphrase"]
    statement_zh_source: str | None = None
    when: Any
    source_url: str
    also_source: str | None = None
    instrument: str | None = None
    effective: str | None = None
    note: str | None = None
    verified: str | None = None

    _validate_urls = field_validator("source_url", "also_source", "statement_zh_source")(_http)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data (the condition as written in the rules file)."""
        data = self.model_dump(exclude_none=True)
        data["applies_to"] = list(self.applies_to)
        return data


class Parameter(_Strict):
    value: Any
    source_url: str
    also_source: str | None = None
    note: str | None = None


class PhraseList(_Strict):
    """Words (English, matched case-insensitively, and Chinese) that signal one claim or fact."""

    source_url: str
    also_source: str | None = None
    note: str | None = None
    en: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()

    _validate_urls = field_validator("source_url", "also_source")(_http)


class Words(_Strict):
    en: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()


class NegationSpec(_Strict):
    """How negation is read (NegEx): cues, pseudo-negations, termination words and the window
    (words or Chinese characters between a cue and the phrase it negates)."""

    source_url: str
    also_source: str | None = None
    note: str | None = None
    window_words: int = Field(ge=0)
    window_han: int = Field(ge=0)
    #: the window of a Chinese cue other than a payment cue
    window_han_short: int = Field(default=8, ge=0)
    payment_cues: Words = Words()
    cues: Words
    pseudo: Words = Words()
    terminators: Words = Words()

    _validate_urls = field_validator("source_url", "also_source")(_http)


class Vocabulary(_Strict):
    system: str | None = None
    en: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()


class Label(_Strict):
    """A name for readers, in English and Chinese."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class FieldSpec(_Strict):
    type: Literal["str", "bool", "int", "number", "date", "list"]
    #: what a finding's evidence calls the fact on a page
    label: Label
    about: str


class RuleBook(BaseModel):
    """Everything in a rules file, with each rule's condition parsed once."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    version: int
    parameters: dict[str, Parameter]
    fields: dict[str, FieldSpec]
    phrases: dict[str, PhraseList]
    conditions: dict[str, Vocabulary]
    places: dict[str, Vocabulary]
    cell_sources: dict[str, Vocabulary]
    countries: dict[str, Vocabulary] = Field(default_factory=dict)
    negation: NegationSpec | None = None
    rules: list[Rule]
    parsed: dict[str, Condition] = Field(default_factory=dict, exclude=True)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise InputError(f"no rule with id {rule_id!r}")

    def for_target(self, target: AppliesTo) -> list[Rule]:
        return [r for r in self.rules if target in r.applies_to]

    def select(
        self,
        jurisdiction: str | None = None,
        applies_to: str | None = None,
        names: tuple[str, str] = ("jurisdiction", "applies_to"),
    ) -> list[Rule]:
        """Rules of one jurisdiction and/or target; raises :class:`InputError` on unknown ones,
        naming the parameter as ``names`` say the caller's user wrote it (an API's query
        parameter, a command's option)."""
        try:
            code = self.jurisdiction_code(jurisdiction) if jurisdiction else None
        except InputError as exc:
            raise InputError(f"{names[0]}: {exc}") from None
        if applies_to and applies_to not in TARGETS:
            raise InputError(f"{names[1]}: expected {TARGETS_TEXT}, got {applies_to!r}")
        return [
            r
            for r in self.rules
            if (not code or r.jurisdiction == code)
            and (not applies_to or applies_to in r.applies_to)
        ]

    def jurisdiction_code(self, value: str) -> str:
        """The jurisdiction ``value`` names: its code in any case ("cn"), or a country's or
        region's name in English or Chinese ("China", "中国", "香港", "臺灣"), as a reader
        would write it; ``InputError`` naming the codes otherwise."""
        code = value.strip().upper()
        if code not in JURISDICTIONS:
            code = self.country_code(value) or _NAMED.get(simplified(value).strip().casefold(), "")
        if code and code not in JURISDICTIONS:  # a country the book knows, without rules
            raise InputError(f"no rules for {value!r} ({code}); rules are for {JURISDICTIONS_TEXT}")
        if code not in JURISDICTIONS:
            raise InputError(f"expected {JURISDICTIONS_TEXT} (or a country's name), got {value!r}")
        return code

    def param(self, name: str) -> Any:
        return self.parameters[name].value

    def country_name(self, code: str, lang: str = "en") -> str:
        """A country's name as a reader of ``lang`` reads it ("CN" → China / 中国); the code
        itself where the rule book does not know it."""
        names = self.countries.get(code)
        if names is None:
            return code
        return names.zh[0] if lang == "zh" and names.zh else names.en[0].title()

    def country_code(self, value: str) -> str | None:
        """The code of a country given as a code or name ("CN", "China", "中国", "PRC"), or
        ``None`` when the rule book does not know it."""
        key = " ".join(simplified(value).split()).casefold()
        for code, names in self.countries.items():
            if key == code.casefold() or key in {n.casefold() for n in (*names.en, *names.zh)}:
                return code
        return None


#: The jurisdictions that are no country, by the names the site gives them.
_NAMED = {"international": "INTL", "国际": "INTL", "european union": "EU", "欧盟": "EU"}


def parse_rulebook(data: Any, where: str) -> RuleBook:
    """Validate rules-file data; raises :class:`InputError` naming the rule and what is wrong."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping at the top level")
    for i, raw in enumerate(data.get("rules") or []):
        if isinstance(raw, dict) and "when" not in raw:
            raise InputError(f"{where}: rule {raw.get('id', f'#{i + 1}')} has no 'when' condition")
    try:
        book = RuleBook(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        rules = data.get("rules") or []
        if err["loc"][:1] == ("rules",) and len(err["loc"]) > 1 and isinstance(err["loc"][1], int):
            rule_id = (rules[err["loc"][1]] or {}).get("id", loc)
            loc = f"rule {rule_id}: " + ".".join(str(p) for p in err["loc"][2:])
        raise InputError(f"{where}: {loc}: {err['msg']}") from None
    declared = {name: spec.type for name, spec in book.fields.items()}
    seen: set[str] = set()
    for rule in book.rules:
        if rule.id in seen:
            raise InputError(f"{where}: rule id {rule.id} appears twice")
        seen.add(rule.id)
        if rule.statement_zh_kind == "quote" and not rule.statement_zh_source:
            raise InputError(
                f"{where}: rule {rule.id}: a quoted statement_zh needs statement_zh_source"
            )
        book.parsed[rule.id] = parse_condition(rule.when, declared, f"{where}: rule {rule.id}")
    return book


def load_rulebook(path: str | Path | None = None) -> RuleBook:
    """Read and validate a rules file (default: the bundled ``data/rules.yaml``)."""
    if path is None:
        return _bundled()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read rules file {path}: {exc.strerror}") from None
    return _parse_text(text, str(path))


def _parse_text(text: str, where: str) -> RuleBook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_rulebook(data, where)


@lru_cache(maxsize=1)
def _bundled() -> RuleBook:
    text = resources.files("isletbase").joinpath("data", "rules.yaml").read_text(encoding="utf-8")
    return _parse_text(text, "data/rules.yaml")
