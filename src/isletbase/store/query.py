"""A search as its caller states it: free text and facet filters, read and checked once.

``TrialQuery`` is the one search of CLI, API and web. It reads each filter in the spelling a
reader uses (a place in Chinese, a status as a registry words it) into the one the store holds,
and refuses a value that would silently match nothing. A query's text is read here into terms
(``query_terms``) and which of its words are prefixes (``_is_prefix``); ``store.matching`` turns
them into SQL.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from isletbase import cjk_words, places, taxonomy
from isletbase.errors import InputError
from isletbase.model import REGISTRIES, Region
from isletbase.store.db import printable, without_accents
from isletbase.taxonomy import CJK

Sort = Literal[
    "relevance", "start_date", "-start_date", "id", "enrollment", "-enrollment", "updated"
]

#: Each region lower-cased → as stored.
_REGION_CASE = {region.lower(): region for region in get_args(Region)} | {
    # the two regions that are ours, not a place's, as the Chinese pages name them and as a
    # reader writes them (the places book has the others: 香港, 澳门, 台湾)
    "中国大陆": "mainland China",
    "大陆": "mainland China",
    "内地": "mainland China",
    "中国境外": "foreign",
    "境外": "foreign",
    "国外": "foreign",
}
_REGISTRY_ALIASES = {
    # every registry by its name in any case, and a few by another name
    **{name.lower(): name for name in REGISTRIES},
    "ctgov": "ClinicalTrials.gov",
    "clinicaltrials": "ClinicalTrials.gov",
    "nct": "ClinicalTrials.gov",
    "euctr": "EU-CTR",
    "cde": "ChinaDrugTrials",
    "ctr": "ChinaDrugTrials",
}
#: A word as FTS5's unicode61 tokenizer sees one: a run of letters and digits.
_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]+)"|(\S+)')
MAX_QUERY = 200


def as_written(value: object) -> object:
    """Refuse a number in a URL that Python reads but no one writes: "1_0" is 10 to
    ``int()`` and pydantic (``?page=1_0`` showed page 10), " 5 " is 5."""
    if isinstance(value, str) and ("_" in value or value != value.strip()):
        raise ValueError(f"expected a number written in digits, got {value!r}")
    return value


#: A whole number or a number given in a query string, read only as written in digits.
WholeNumber = Annotated[int, BeforeValidator(as_written)]
Number = Annotated[float, BeforeValidator(as_written)]
#: A year a search is limited to: its bounds before the validator, so the OpenAPI schema says
#: them as JSON Schema does (``minimum``/``maximum``); ``WholeNumber | None`` with ``Field``'s
#: bounds wrote "ge"/"le", words no client reads.
Year = Annotated[int, Field(ge=1900, le=2100), BeforeValidator(as_written)]
MAX_PER_PAGE = 500


class TrialQuery(BaseModel):
    """A search: free text plus facet filters, a sort and a page. Shared by CLI, API and web."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(
        default=None,
        max_length=MAX_QUERY,
        description="Text in English, Chinese or pinyin. Latin-script words match whole words, "
        "the last one also as the start of a word (diabet finds diabetes); word* makes any "
        'word a prefix, "double quotes" keep a phrase; Chinese matches as a substring.',
    )
    cell_source: str | None = None
    condition: str | None = None
    phase: str | None = None
    status: str | None = None
    registry: str | None = None
    region: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    route: str | None = None
    year_from: Year | None = None
    year_to: Year | None = None
    sort: Sort = "relevance"
    page: WholeNumber = Field(default=1, ge=1, le=100_000)
    per_page: WholeNumber = Field(default=20, ge=1, le=MAX_PER_PAGE)

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, v: object) -> object:
        """Refuse control characters (see ``unprintable``)."""
        return printable(v)

    @field_validator("q")
    @classmethod
    def _folded(cls, v: str | None) -> str | None:
        """NFKC, as the stored search text is (``search_document``): a full-width "１型糖尿病"
        as a Chinese input method types it, or "PrimePro™", finds what its plain form finds; and
        without diacritics, as the stored text is ("wurzburg" finds Würzburg on both backends)."""
        return without_accents(taxonomy.normalise(v)) if v else v

    @field_validator("country", "region", "province", "city")
    @classmethod
    def _english(cls, v: str | None, info: ValidationInfo) -> str | None:
        """A place in English, given in either language (中国 → China, 日本 → Japan, 广东省 →
        Guangdong, 香港 → Hong Kong), as the facets show it; a place the book lacks is kept as
        given. A country is then matched in each of its English spellings, a province or city
        in each of its spellings (``matching._conditions``). A region is written in its stored case
        ("hong kong" → Hong Kong) or refused, naming the regions: they are a closed list,
        compared exactly (through the plain region index)."""
        if not v:
            return v
        name = places.english(info.field_name, v)
        if info.field_name != "region":
            return name
        key = taxonomy.simplified(name).lower()  # 中國大陸 too
        if key not in _REGION_CASE:  # a filter that silently found nothing
            raise ValueError(f"unknown region {v!r}; expected one of {', '.join(get_args(Region))}")
        return _REGION_CASE[key]

    @model_validator(mode="after")
    def _region_named_as_country(self) -> TrialQuery:
        """``country=Taiwan`` (or 台湾, 香港, Macau): the registries' readers store a site there
        as the country China and its region (``places.trial_country``), so the filter is that
        region of China; it found nothing."""
        named = [places.english("region", self.country)] if self.country else []
        region = places.trial_region(named)
        if region in ("Hong Kong", "Macau", "Taiwan"):
            if self.region not in (None, region):
                raise ValueError(f"country {self.country!r} is not in region {self.region!r}")
            self.country, self.region = "China", region
        return self

    @model_validator(mode="after")
    def _years_in_order(self) -> TrialQuery:
        if (
            self.year_from is not None
            and self.year_to is not None
            and self.year_from > self.year_to
        ):
            raise ValueError(f"year_from {self.year_from} is after year_to {self.year_to}")
        return self

    @field_validator("status", "phase")
    @classmethod
    def _code(cls, v: str | None, info: ValidationInfo) -> str | None:
        """The stored code of a status or phase as a registry or a person writes it:
        'recruiting', 'NOT_YET_RECRUITING', 'Unknown status', 'Phase 1/Phase 2', 'I期'
        (through the classifier's own rules). Anything else is refused, naming the codes: a
        filter that silently matched nothing looked like an answer."""
        if v is None or v == "":
            return None
        known = taxonomy.load().values(info.field_name)
        code = _phase_code(re.sub(r"[\s,\-]+", "_", v.strip()).upper())
        if code in known:
            return code
        # its label as the pages and `show` print it (早期I期, 状态未知) before the classifier's
        # rules, which read 早期I期 as phase I
        labelled = taxonomy.code_of(info.field_name, v)
        if labelled is not None:
            return labelled
        match = taxonomy.classify_field(info.field_name, {info.field_name: v})
        if match is not None and match.value:
            return match.value
        raise ValueError(f"unknown {info.field_name} {v!r}; expected one of {', '.join(known)}")

    @field_validator("cell_source", "condition", "route")
    @classmethod
    def _term(cls, v: str | None, info: ValidationInfo) -> str | None:
        """The vocabulary's code of a cell source, condition or route given as its code or its
        English or Chinese name (``taxonomy.code_of``); a condition's family (``complication``)
        as it is. Anything else is refused, naming the codes: a filter
        that silently matched nothing looked like an answer."""
        if v is None or not v.strip():
            return None
        field = info.field_name
        if field == "condition" and v.strip().lower() == "complication":
            return "complication"
        code = taxonomy.code_of(field, v)
        if code is None:
            known = ", ".join(taxonomy.load().values(field))
            raise ValueError(f"unknown {field} {v!r}; expected one of {known} (or their names)")
        return code

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        if not v:
            return None
        found = _REGISTRY_ALIASES.get(v.strip().lower())
        if found is None:
            raise ValueError(
                f"unknown registry {v!r}; expected one of {sorted(set(_REGISTRY_ALIASES.values()))}"
            )
        return found

    def filters(self) -> dict[str, str | int]:
        """The filters that are set, for display and shareable URLs."""
        skip = {"sort", "page", "per_page"}
        return {k: v for k, v in self.model_dump().items() if v not in (None, "") and k not in skip}


def query_terms(q: str) -> list[str]:
    """Split a query into terms; ``"double quotes"`` keep a phrase together. A term holding
    Chinese is split further (``_cjk_pieces``)."""
    terms = []
    for quoted, bare in _TERM.findall(q):
        if _WORD.search(quoted):  # quoted punctuation alone (" - ") is no term either
            terms.append(quoted.lower())
        elif _WORD.search(bare):  # punctuation alone ("，" between spaces) is no term
            terms += _cjk_pieces(bare.lower()) if CJK.search(bare) else [bare.lower()]
    return terms


#: Latin letters, or anything else a word holds (CJK characters, digits).
_SCRIPT_RUN = re.compile(r"[a-z]+|[^a-z]+")
#: The shortest Latin word written against Chinese that is a term of its own.
_LATIN_APART = 3


def _cjk_pieces(term: str) -> list[str]:
    """A term holding Chinese, as Chinese is typed: cut into its words (``_words``), without
    its punctuation (``，、。“”「」（）``, a trailing ``*``), which joins or wraps words the
    stored text holds apart ("糖尿病，干细胞" is two terms), and with a Latin word of
    ``_LATIN_APART`` letters or more written against Chinese apart ("msc糖尿病" is "msc" and
    "糖尿病"); a shorter one stays with its neighbours
    ("ii期", "1型糖尿病", "h1n1流感")."""
    pieces = []
    for run in _WORD.findall(term):
        glued = ""
        for part in _SCRIPT_RUN.findall(run):
            if part.isascii() and part.isalpha() and len(part) >= _LATIN_APART:
                pieces += [*_words(glued), part]
                glued = ""
            else:
                glued += part
        pieces += _words(glued)
    return pieces


def _words(glued: str) -> list[str]:
    """A piece's words: Chinese typed without spaces cut into the words a search looks for
    (``cjk_words.words``: 干细胞治疗糖尿病 is 干细胞 and 糖尿病)."""
    if not glued:
        return []
    return cjk_words.words(glued) if CJK.search(glued) else [glued]


#: A code of several phases as ``TrialQuery`` normalises it (``PHASE1_PHASE2``, from
#: "phase1, phase2").
_PHASES = re.compile(r"PHASE\d(?:_PHASE\d)+")


def _phase_code(phase: str) -> str:
    """The stored phase code of a filter value: a code of several phases is stored with
    slashes (``PHASE1/PHASE2``, ``PHASE1/PHASE2/PHASE3``); any other code (``EARLY_PHASE1``)
    is stored as written."""
    return phase.replace("_", "/") if _PHASES.fullmatch(phase) else phase


def _worded(terms: list[str]) -> list[int]:
    """Positions of the terms matched as words (Latin script or digits, no CJK characters)."""
    return [i for i, term in enumerate(terms) if _WORD.search(term) and not CJK.search(term)]


#: The shortest word a prefix may be: a shorter one would merge the posting lists of a large
#: share of the vocabulary.
MIN_PREFIX = 3


def _is_prefix(term: str, word: str, last: bool) -> bool:
    """Whether a term's last ``word`` matches as the start of a word: when the term ends with
    ``*``, or it is the query's last Latin-script term (the word being typed) and the word has
    ``MIN_PREFIX`` letters. Other words match whole words: a prefix costs a merge of every
    posting list it starts, which for a common word ("placebo"*) is most of a search's time."""
    if term.endswith("*"):
        if len(word) < MIN_PREFIX:
            raise InputError(f"{term!r}: a prefix needs at least {MIN_PREFIX} letters before *")
        return True
    return last and len(word) >= MIN_PREFIX


def prefix_suggestion(q: str) -> str | None:
    """``q`` with each Latin-script term ending in a word of ``MIN_PREFIX`` letters or more made a
    prefix (``umbilic cord`` → ``umbilic* cord``); ``None`` where that changes nothing.

    Only the last word of a search is a prefix by itself, so a word cut short before it finds
    nothing; a page that found nothing offers this instead.
    """
    terms = query_terms(q)
    worded = _worded(terms)
    changed = False
    out = []
    for position, term in enumerate(terms):
        if position in worded:
            word = _WORD.findall(term)[-1]
            last = position == worded[-1]
            if len(word) >= MIN_PREFIX and not _is_prefix(term, word, last):
                term, changed = term + "*", True
        out.append(f'"{term}"' if " " in term else term)
    return " ".join(out) if changed else None
