"""Search: full text in English, Chinese and pinyin, combined with facet filters, ranked, paged.

A term in Latin script (or digits) matches words: its words in sequence. The query's last such
term ends in a prefix (the word being typed) when its last word has three or more characters
(``diabet`` finds "diabetes", ``t2`` only the word "t2"), as does any term written with a
trailing ``*`` (``diabet* foot``); other words match whole words.
A term with Chinese (or other CJK) characters matches as a substring, since such text has no
spaces between words. On SQLite words are looked up in an FTS5 word index that also holds the
trial's facet values as tags, so text and facet filters meet in one index query; CJK terms of
three or more characters use the FTS5 trigram index and shorter ones a substring scan; results
are ranked by BM25. On PostgreSQL both kinds are patterns served by a ``pg_trgm`` index and
ranked by trigram word similarity. Either way the SQL is parameterised.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, NamedTuple, get_args

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    TextClause,
    case,
    column,
    desc,
    func,
    nulls_last,
    or_,
    select,
    table,
    text,
)

from isletbase import places, taxonomy
from isletbase.errors import InputError
from isletbase.model import Institution, Region, Trial
from isletbase.store.db import CJK, Database, printable, without_accents, word_tag
from isletbase.store.institutions import list_institutions
from isletbase.store.schema import RegistryIdRow, SiteRow, TrialRow
from isletbase.store.trial_reads import MODEL_COLUMNS, find_uid, load_models, models_from_rows
from isletbase.store.trials import STALE_AFTER_DAYS

Sort = Literal[
    "relevance", "start_date", "-start_date", "id", "enrollment", "-enrollment", "updated"
]

#: Facets a caller can filter on and count by, and the column or relation behind each.
FACETS = (
    "cell_source",
    "condition",
    "phase",
    "status",
    "registry",
    "region",
    "country",
    "province",
    "city",
    "route",
    "year",
)

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
    "ctgov": "ClinicalTrials.gov",
    "clinicaltrials.gov": "ClinicalTrials.gov",
    "clinicaltrials": "ClinicalTrials.gov",
    "nct": "ClinicalTrials.gov",
    "chictr": "ChiCTR",
    "ictrp": "ICTRP",
    "jrct": "jRCT",
    "isrctn": "ISRCTN",
    "eu-ctr": "EU-CTR",
    "euctr": "EU-CTR",
    "anzctr": "ANZCTR",
    "cris": "CRIS",
    "other": "other",
}
#: Counting stops here: an exact count of a very broad result costs a scan of every match and
#: tells a reader nothing a "10,000+" does not.
COUNT_LIMIT = 10_000
#: Relevance (BM25 / trigram similarity) is computed when at most this many trials match; a
#: broader text lists the newest-loaded matches first, since ranking every match of a common
#: term costs a scan of all of them (SQLite's BM25: ~3-5 µs a match with a few terms, so
#: 1,650 matches of "type 2 diabetes" + recruiting took 10 ms at 500,000 trials).
RANK_LIMIT = 1_000
#: The SQLite FTS5 indexes (created by ``Database.init``), as lightweight tables for SELECTs.
_FTS = table("trial_fts", column("rowid"), column("rank"))
_WORDS = table("trial_words", column("rowid"), column("rank"))
#: A word as FTS5's unicode61 tokenizer sees one: a run of letters and digits.
_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]+)"|(\S+)')
MAX_QUERY = 200
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
    year_from: int | None = Field(default=None, ge=1900, le=2100)
    year_to: int | None = Field(default=None, ge=1900, le=2100)
    sort: Sort = "relevance"
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=MAX_PER_PAGE)

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
        in each of its spellings (``_conditions``). A region is written in its stored case
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


@dataclass
class SearchResult:
    """One page of a search. ``total`` is exact up to ``COUNT_LIMIT``; past it ``total_exact``
    is false and ``total`` means "at least" (as search engines say "10,000+")."""

    total: int
    page: int
    per_page: int
    items: list[Trial] = field(default_factory=list)
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


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


def institutions_named(db: Database, q: str | None) -> list[Institution]:
    """The institutions a search's text names (its terms, quotes off; accents kept, as names
    keep them), for a reader who typed a hospital's name into a trial search: a search that
    finds few trials or none can say which institution it means."""
    named = " ".join(query_terms(q)) if q else ""
    return list_institutions(db, named) if named else []


#: Latin letters, or anything else a word holds (CJK characters, digits).
_SCRIPT_RUN = re.compile(r"[a-z]+|[^a-z]+")
#: The shortest Latin word written against Chinese that is a term of its own.
_LATIN_APART = 3


def _cjk_pieces(term: str) -> list[str]:
    """A term holding Chinese, as Chinese is typed: without its punctuation (``，、。“”「」（）``,
    a trailing ``*``), which joins or wraps words the stored text holds apart ("糖尿病，干细胞"
    is two terms), and with a Latin word of ``_LATIN_APART`` letters or more written against
    Chinese apart ("msc糖尿病" is "msc" and "糖尿病"); a shorter one stays with its neighbours
    ("ii期", "1型糖尿病", "h1n1流感")."""
    pieces = []
    for run in _WORD.findall(term):
        glued = ""
        for part in _SCRIPT_RUN.findall(run):
            if part.isascii() and part.isalpha() and len(part) >= _LATIN_APART:
                pieces += [glued, part] if glued else [part]
                glued = ""
            else:
                glued += part
        if glued:
            pieces.append(glued)
    return pieces


#: Most letters outside ASCII a place name's case forms are spelled out for (``lowered``).
_MOST_CASED = 4


def lowered(value: str) -> list[str]:
    """What ``lower()`` of a column holding ``value`` in any case may give, on either backend:
    PostgreSQL's ``lower`` folds every letter, SQLite's only ASCII ones, so a stored "Örebro"
    is "Örebro" there and was never found (by "Örebro" either). Each letter outside ASCII is
    given in both cases (up to ``_MOST_CASED`` of them; beyond, as typed and folded)."""
    folded = value.lower()
    chars = [c.lower() if c.isascii() else c for c in value]
    cased = [i for i, c in enumerate(chars) if not c.isascii() and c.lower() != c.upper()]
    forms = [folded, "".join(chars)]
    if len(cased) <= _MOST_CASED:
        for mask in range(1 << len(cased)):
            for bit, i in enumerate(cased):
                c = value[i]
                chars[i] = c.upper() if mask >> bit & 1 else c.lower()
                if len(chars[i]) != 1:  # ß's upper case is SS: as typed
                    chars[i] = c
            forms.append("".join(chars))
    return list(dict.fromkeys(forms))


def _ci_in(column, values: Sequence[str]):  # noqa: ANN001, ANN202 - SQL expression helpers
    """Case-insensitive equality to any of ``values`` (a place's spellings), served by the
    ``lower(column)`` indexes in the schema."""
    forms = list(dict.fromkeys(form for v in values for form in lowered(v)))
    return func.lower(column) == forms[0] if len(forms) == 1 else func.lower(column).in_(forms)


def _conditions(db: Database, query: TrialQuery, plan: _Plan | None = None) -> list:
    """The WHERE conditions on ``trials`` for every filter of ``query`` (a facet's counts get a
    query without its own filter, see ``_without``).

    With a ``plan`` the caller has joined an FTS5 index: the text it answers, and with the word
    index the tagged facets, are left out here.
    """
    tagged = plan is not None and plan.index == "words"
    conds: list = [] if tagged else [f.condition for f in _tagged_filters(query)]
    if query.registry:
        conds.append(
            TrialRow.uid.in_(
                select(RegistryIdRow.trial_uid).where(RegistryIdRow.registry_name == query.registry)
            )
        )
    for name in ("province", "city"):
        value = getattr(query, name)
        if value:  # in English or Chinese, as the sites' registries wrote them (``places``)
            spelled = places.spellings(name, value)
            conds.append(
                TrialRow.uid.in_(
                    select(SiteRow.trial_uid).where(_ci_in(getattr(SiteRow, name), spelled))
                )
            )
    # years as ranges of the ISO start date, so the date index serves both filter and sort
    if query.year_from is not None:
        conds.append(TrialRow.start_date >= f"{query.year_from:04d}")
    if query.year_to is not None:
        conds.append(TrialRow.start_date < f"{query.year_to + 1:04d}")
    if query.q:
        # with a plan, the caller already found the text is not one registry id
        by_id = _registry_id_condition(db, query.q) if plan is None else None
        if by_id is not None:
            conds.append(by_id)
        else:
            conds += _text_conditions(db, plan or _text_plan(db, query.q), joined=plan is not None)
    return conds


#: A two-phase code as ``TrialQuery`` normalises it (``PHASE1_PHASE2``, from "phase1, phase2").
_TWO_PHASES = re.compile(r"(PHASE\d)_(PHASE\d)")


def _phase_code(phase: str) -> str:
    """The stored phase code of a filter value: a two-phase code is stored with a slash
    (``PHASE1/PHASE2``); any other code (``EARLY_PHASE1``) is stored as written."""
    match = _TWO_PHASES.fullmatch(phase)
    return f"{match[1]}/{match[2]}" if match else phase


#: A query term shaped like a registry id: letters, then at least four digits (NCT01219465,
#: ChiCTR2000031234, ChiCTR-TRC-12002130, ISRCTN12345678).
_ID_SHAPED = re.compile(r"[a-z][a-z-]*\d{4,}[a-z0-9-]*", re.IGNORECASE)


def _registry_id_condition(db: Database, q: str):  # noqa: ANN202 - SQL expression or None
    """For a query that is one registry id held by a trial, the condition "has this id".

    Such a query means that trial; found through the unique id index it costs a lookup, where
    the text index would intersect the very common trigrams of "NCT" and digits. ``None`` when
    the query is not one known id (it is then searched as text)."""
    terms = query_terms(q)
    if len(terms) != 1 or not _ID_SHAPED.fullmatch(terms[0]):
        return None
    with db.session() as session:
        uid = find_uid(session, terms[0])
    return None if uid is None else TrialRow.uid == uid


@dataclass
class _Plan:
    """How a query's text is matched: ``words`` (Latin-script terms, as an FTS5 word query),
    ``trigrams`` (CJK terms of three or more characters, as an FTS5 trigram query),
    ``substrings`` (shorter CJK terms and terms without letters or digits, each with the
    other forms it may be matched in), ``patterns`` (the word terms as PostgreSQL regular
    expressions), and which FTS5 index, if any, a search joins (``index``)."""

    words: str | None = None
    trigrams: str | None = None
    substrings: list[tuple[str, ...]] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    index: Literal["words", "trigrams"] | None = None


def _text_plan(db: Database, q: str) -> _Plan:
    terms = query_terms(q)
    if not terms:
        raise InputError("search text holds no word or number to search for")
    plan = _Plan()
    phrases: list[str] = []
    trigram_terms: list[str] = []
    worded = _worded(terms)
    for position, term in enumerate(terms):
        words = _WORD.findall(term)
        if words and not CJK.search(term):
            prefix = _is_prefix(term, words[-1], last=position == worded[-1])
            phrases.append('"' + " ".join(words) + '"' + ("*" if prefix else ""))
            plan.patterns.append(_word_pattern(words, prefix))
        elif len(term) >= 3 and db.is_sqlite:
            forms = ['"' + form.replace('"', '""') + '"' for form in taxonomy.written_forms(term)]
            trigram_terms.append(forms[0] if len(forms) == 1 else f"({' OR '.join(forms)})")
        else:
            plan.substrings.append(taxonomy.written_forms(term))
    if phrases and db.is_sqlite:
        plan.words = "search_text : (" + " AND ".join(phrases) + ")"
        plan.index = "words"
    if trigram_terms:
        plan.trigrams = " AND ".join(trigram_terms)
        plan.index = plan.index or "trigrams"
    return plan


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


def _word_pattern(words: list[str], prefix: bool) -> str:
    """PostgreSQL regular expression for words in sequence, as the word index matches them."""
    edge = "[^[:alnum:]]"
    return f"(^|{edge})" + f"{edge}+".join(words) + ("" if prefix else f"($|{edge})")


def _text_conditions(db: Database, plan: _Plan, joined: bool) -> list:
    """Conditions on ``trials`` for the text a search did not answer by joining an index
    (``joined``: the plan's ``index`` is joined)."""
    conds = []
    folded = func.lower(TrialRow.search_text)
    if db.is_sqlite:
        for name, match, fts in (("words", plan.words, _WORDS), ("trigrams", plan.trigrams, _FTS)):
            if match and not (joined and plan.index == name):
                matched = select(fts.c.rowid).where(
                    text(f"{fts.name} MATCH :{name}").bindparams(**{name: match})
                )
                conds.append(TrialRow.uid.in_(matched))
    else:
        conds += [folded.op("~")(pattern) for pattern in plan.patterns]
    conds += [
        or_(*(folded.contains(form, autoescape=True) for form in forms))
        for forms in plan.substrings
    ]
    return conds


class _TaggedFilter(NamedTuple):
    """A filter on a facet the word index tags: as a condition on ``trials`` and as the tag
    (an FTS5 expression: one tag, or several joined by OR)."""

    condition: ColumnElement
    tag: str


def _tagged_filters(query: TrialQuery) -> list[_TaggedFilter]:
    """The filters ``query`` sets on facets the word index tags (``db.WORD_TAGS``), each value
    in the spelling stored: the vocabulary's, the phase code, or the condition family."""
    found = []
    for name in ("cell_source", "route"):
        if value := getattr(query, name):  # the vocabulary's own code (``TrialQuery._term``)
            found.append(_TaggedFilter(getattr(TrialRow, name) == value, word_tag(name, value)))
    if value := query.region:  # in its stored case (``TrialQuery._english``)
        found.append(_TaggedFilter(TrialRow.region == value, word_tag("region", value)))
    if value := query.country:
        # its English spellings ("Turkey", "Türkiye"): the registries' readers store a country
        # the place book knows in English (a ChiCTR page's 日本 as Japan), and one spelling
        # keeps a sort by enrollment in ix_trials_country_lower's order (China in three: 100x
        # slower at 500k); a name the book lacks, as given
        spelled = [v for v in places.spellings("country", value) if not CJK.search(v)] or [value]
        tags = list(dict.fromkeys(word_tag("country", v) for v in spelled))
        tag = tags[0] if len(tags) == 1 else f"({' OR '.join(tags)})"
        found.append(_TaggedFilter(_ci_in(TrialRow.country, spelled), tag))
    if query.condition and query.condition.lower() == "complication":
        family = TrialRow.condition.like("complication:%")
        found.append(_TaggedFilter(family, word_tag("condition family", "complication")))
    elif value := query.condition:
        found.append(_TaggedFilter(TrialRow.condition == value, word_tag("condition", value)))
    if query.status:
        found.append(
            _TaggedFilter(TrialRow.status_code == query.status, word_tag("status", query.status))
        )
    if query.phase:  # already the stored code (``TrialQuery._code``)
        found.append(
            _TaggedFilter(TrialRow.phase_code == query.phase, word_tag("phase", query.phase))
        )
    return found


def _tags(query: TrialQuery) -> list[str]:
    """The word index's tags for the facet filters a query sets."""
    return [f.tag for f in _tagged_filters(query)]


@dataclass
class _Matching:
    """The trials a query matches: ``conds`` on ``trials``, and on SQLite the FTS5 index
    (``fts``) and query (``match``) a search starts from."""

    conds: list
    fts: Table | None = None
    match: str | None = None
    #: a cheaper statement selecting the same uids, for counting (see ``_matching``)
    counter: Select | None = None
    #: the same uids, where reading them all costs about what counting them does
    lister: Select | None = None
    #: with facet tags in ``match``: the word query without them, and the tags
    words: str | None = None
    tags: list[str] = field(default_factory=list)

    def listing(self) -> Select | None:
        """``SELECT uid`` of the matches where reading them all (up to the count limit) costs
        little more than counting them — from the text index, or the ``lister`` given — so a
        page can be ordered among them without matching again; ``None`` otherwise."""
        if self.lister is not None:
            return self.lister
        return self.select() if self.fts is not None else None

    def select(self, joined: bool = False) -> Select:
        """``SELECT uid`` of the matches; from the index alone where nothing needs ``trials``
        (a count, or a page in index order), else with ``trials`` joined to it."""
        if self.fts is None:
            return select(TrialRow.uid).where(*self.conds)
        where = text(f"{self.fts.name} MATCH :match").bindparams(match=self.match)
        if not (joined or self.conds):
            return select(self.fts.c.rowid.label("uid")).where(where)
        return (
            select(TrialRow.uid)
            .select_from(self.fts)
            .join(TrialRow, TrialRow.uid == self.fts.c.rowid)
            .where(where, *self.conds)
        )


def _matching(db: Database, query: TrialQuery) -> _Matching:
    """Every filter of ``query``. On SQLite the text starts from an FTS5 index, so the scan
    starts from its matches and stops early under a LIMIT; with the word index the facet
    filters are tags in the same index query, and ``trials`` is joined only for the rest."""
    by_id = _registry_id_condition(db, query.q) if query.q else None
    if by_id is not None:  # one known registry id: the id index, not the text index
        unworded = query.model_copy(update={"q": None})
        return _Matching([*_conditions(db, unworded), by_id])
    plan = _text_plan(db, query.q) if query.q else None
    if plan is None and db.is_sqlite:
        tags = _tags(query)
        if len(tags) >= 2 and not _conditions(db, query, plan=_Plan(index="words")):
            # facets only, all of them tags: counted by intersecting the tags' posting lists,
            # where the trials' indexes serve one facet and read a row per trial for the next;
            # the page keeps the index order of those indexes
            match = " AND ".join(f"search_tags : {tag}" for tag in tags)
            where = text("trial_words MATCH :match").bindparams(match=match)
            counter = select(_WORDS.c.rowid).where(where)
            return _Matching(_conditions(db, query), counter=counter)
    if (
        plan is None
        and db.is_sqlite
        and query.registry
        and not query.filters().keys() - {"registry"}
    ):
        # a registry alone: its index holds every trial's uid per registry
        lister = (
            select(RegistryIdRow.trial_uid.label("uid"))
            .where(RegistryIdRow.registry_name == query.registry)
            .distinct()
        )
        return _Matching(_conditions(db, query), lister=lister)
    if plan is None or plan.index is None:
        return _Matching(_conditions(db, query))
    conds = _conditions(db, query, plan=plan)
    if plan.index == "trigrams":
        return _Matching(conds, _FTS, plan.trigrams)
    tags = _tags(query)
    match = " AND ".join([plan.words or "", *(f"search_tags : {tag}" for tag in tags)])
    return _Matching(conds, _WORDS, match, words=plan.words, tags=tags)


#: Ranking by the text alone scans every trial the text matches; it is chosen when that is
#: estimated at most this many (see ``_rank_by_text``).
TEXT_RANK_SCAN = 20_000
#: ... and when the tags' posting lists hold at least this many trials in all: shorter ones
#: cost BM25 less than the extra statement.
TAG_POSTINGS = 20_000
#: How long a count used to choose a plan is remembered (it steers the plan, not the answer).
_PLAN_COUNT_TTL = 3600.0
_plan_counts: dict[tuple[str, str], tuple[float, int]] = {}


def _plan_count(db: Database, conn: Connection, tag: str | None) -> int:
    """How many trials carry a facet tag, or (``None``) the highest trial uid — remembered for
    ``_PLAN_COUNT_TTL`` seconds."""
    key, now = (db.url, tag or ""), time.monotonic()
    cached = _plan_counts.get(key)
    if cached is None or now - cached[0] > _PLAN_COUNT_TTL:
        if tag is None:
            count = conn.scalar(select(func.max(TrialRow.uid))) or 0
        else:
            where = text("trial_words MATCH :tag").bindparams(tag=f"search_tags : {tag}")
            count = conn.scalar(select(func.count()).select_from(_WORDS).where(where)) or 0
        cached = _plan_counts[key] = (now, count)
    return cached[1]


def _rank_by_text(db: Database, conn: Connection, matching: _Matching, counted: int) -> bool:
    """Whether ``counted`` matches of a tagged text are cheaper to rank by their text alone.

    FTS5's BM25 reads the whole posting list of every phrase of a query for its weights,
    the tags' too (their weight is nil, so the scores are the same without them): ~2.5 ms for
    a tag held by a tenth of 500,000 trials. Without the tags the text's own matches are
    scanned, about ``counted`` × trials ÷ trials with the rarest tag of them.
    """
    if not matching.tags or matching.words is None:
        return False
    postings = [_plan_count(db, conn, tag) for tag in matching.tags]
    if sum(postings) < TAG_POSTINGS:
        return False
    return counted * _plan_count(db, conn, None) <= TEXT_RANK_SCAN * max(min(postings), 1)


def _ranked_by_text(matching: _Matching, found: Sequence[int]) -> Select:
    """The matches ``found`` in BM25 order, ranked by a query of their text alone."""
    # the uid list is kept from FTS5, which would run its query once per uid; an explicit
    # bm25 (not ``rank``) is computed by SQLite for the listed rows alone
    return (
        select(_WORDS.c.rowid.label("uid"))
        .where(
            text("trial_words MATCH :words").bindparams(words=matching.words),
            _among("trial_words.rowid", found, drive=False),
        )
        .order_by(text("bm25(trial_words, 1.0, 0.0)"), _WORDS.c.rowid)
    )


def _among(column: str, found: Sequence[int], drive: bool) -> TextClause:
    """``column`` is one of the uids ``found``, passed as one JSON parameter (``json_each``)
    rather than a bound parameter each. Unless ``drive``, a leading ``+`` keeps the condition
    from the planner's choice of where to start (and from a virtual table's own lookups)."""
    return text(
        f"{'' if drive else '+'}{column} IN (SELECT value FROM json_each(:found))"
    ).bindparams(found=orjson.dumps(list(found)).decode())


def _ordered(
    db: Database, matching: _Matching, query: TrialQuery, total: int, joined: bool = False
) -> Select:
    """The matches in the query's order (``joined``: with ``trials`` joined, to read its
    columns). Relevance ranks (BM25 on SQLite, trigram similarity on PostgreSQL) when at
    most ``RANK_LIMIT`` trials match; otherwise the newest-loaded matches come first."""
    sort, fts = query.sort, matching.fts
    if sort == "relevance" and query.q:
        if fts is not None:
            stmt = matching.select(joined)
            if total > RANK_LIMIT:
                return stmt.order_by(desc(fts.c.rowid))
            return stmt.order_by(fts.c.rank, fts.c.rowid)
        stmt = matching.select()
        if not db.is_sqlite and total <= RANK_LIMIT:
            score = func.word_similarity(query.q.lower(), func.lower(TrialRow.search_text))
            return stmt.order_by(desc(score), TrialRow.display_id)
        return stmt.order_by(desc(TrialRow.uid))
    return _by_column(db, matching.select(joined=True), query)


def _by_column(db: Database, stmt: Select, query: TrialQuery) -> Select:
    """``stmt`` (selecting from ``trials``) in the order of a sort on the trials' columns."""
    sort = query.sort
    if sort in ("relevance", "-start_date"):
        first = desc(TrialRow.start_date) if db.is_sqlite else nulls_last(desc(TrialRow.start_date))
        return stmt.order_by(first, desc(TrialRow.display_id))
    if sort == "start_date":
        dated = query.year_from is not None or query.year_to is not None
        # a year filter already excludes undated trials, and a plain order can use the index
        first = TrialRow.start_date if dated else nulls_last(TrialRow.start_date)
        return stmt.order_by(first, TrialRow.display_id)
    if sort == "enrollment":
        return stmt.order_by(nulls_last(TrialRow.enrollment), TrialRow.display_id)
    if sort == "-enrollment":
        first = desc(TrialRow.enrollment) if db.is_sqlite else nulls_last(desc(TrialRow.enrollment))
        return stmt.order_by(first, desc(TrialRow.display_id))
    if sort == "updated":
        return stmt.order_by(desc(TrialRow.updated_at), TrialRow.display_id)
    return stmt.order_by(TrialRow.display_id)


#: Sorts SQLite serves from an index read in order (``ix_trials_start_date``,
#: ``ix_trials_enrollment``, the unique display id), stopping at the page's last row.
_INDEXED_SORTS = {"relevance", "-start_date", "-enrollment", "id"}
#: A listed set of matches larger than this is put in a column's order by reading that
#: column's index in order and keeping the listed trials (about ``per_page`` × trials ÷ matches
#: index entries); a smaller one by reading each listed trial and sorting them.
SCAN_ABOVE = 2_000


def _listed_page(
    db: Database, conn: Connection, query: TrialQuery, found: Sequence[int], offset: int
) -> list[int]:
    """The page's uids among every match's uid (``found``), in a sort on the trials' columns."""
    scan = len(found) > SCAN_ABOVE and query.sort in _INDEXED_SORTS
    # scanning, SQLite reads the sort's index in order and keeps the listed trials; else it
    # reads each listed trial once and sorts the few
    member = _among("trials.uid", found, drive=not scan)
    stmt = _by_column(db, select(TrialRow.uid).where(member), query)
    return list(conn.scalars(stmt.limit(query.per_page).offset(offset)))


#: Trials read a page at a time by ``all_matching``.
EXPORT_PAGE = 500


def all_matching(db: Database, query: TrialQuery, limit: int | None = None) -> Iterator[Trial]:
    """Every trial matching ``query`` in its sort order (up to ``limit``), read page by page
    until a page comes back short: past ``COUNT_LIMIT`` the total is only "at least"."""
    page, seen = 1, 0
    while limit is None or seen < limit:
        result = search_trials(db, query.model_copy(update={"page": page, "per_page": EXPORT_PAGE}))
        for trial in result.items if limit is None else result.items[: limit - seen]:
            seen += 1
            yield trial
        if len(result.items) < EXPORT_PAGE:
            return
        page += 1


def search_trials(db: Database, query: TrialQuery) -> SearchResult:
    """The page of trials matching ``query`` and how many match (exact up to COUNT_LIMIT).

    The count comes first (it picks the order); a page past the last match is not read, and
    when every match fits on the first page one query reads the trials themselves in order.
    On SQLite a text search (or a registry filter) sorted on the trials' columns reads its
    matches' uids instead of counting them, and orders those: the text index is asked once;
    a ranked text search with facet tags and at most ``RANK_LIMIT`` matches may be ranked by
    its text alone (``_rank_by_text``).
    """
    matching = _matching(db, query)
    offset = (query.page - 1) * query.per_page
    items: list[Trial] = []
    with db.session() as session:
        # plain Core statements: run on the connection, past the ORM's per-statement work
        conn = session.connection()
        ranked = query.sort == "relevance" and query.q
        listed = None if ranked else matching.listing()
        by_text = None
        if listed is not None:
            found = conn.scalars(listed.limit(COUNT_LIMIT + 1)).all()
            counted = len(found)
        else:
            stmt = matching.counter if matching.counter is not None else matching.select()
            capped = stmt.limit(COUNT_LIMIT + 1).subquery()
            counted = conn.scalar(select(func.count()).select_from(capped)) or 0
        if ranked and 0 < counted <= RANK_LIMIT and _rank_by_text(db, conn, matching, counted):
            # read the few uids again (a scan of a text this rare is cheap) to rank them alone
            found = conn.scalars(matching.select()).all()
            by_text = _ranked_by_text(matching, found)
        past_end = counted == 0 or (counted <= COUNT_LIMIT and offset >= counted)
        if not past_end:
            if by_text is not None:
                page = by_text.limit(query.per_page).offset(offset)
                uids, whole = list(conn.scalars(page)), False
            elif listed is not None and counted <= COUNT_LIMIT:
                uids, whole = _listed_page(db, conn, query, found, offset), False
            else:
                uids, whole = None, counted <= query.per_page
                page = _ordered(db, matching, query, counted, joined=whole)
                page = page.limit(query.per_page).offset(offset)
            if whole:
                rows = conn.execute(page.with_only_columns(*MODEL_COLUMNS)).all()
                items = models_from_rows(session, rows)
            else:
                if uids is None:
                    uids = list(conn.scalars(page).all())
                models = load_models(session, uids)
                items = [models[u] for u in uids if u in models]
    return SearchResult(
        total=min(counted, COUNT_LIMIT),
        page=query.page,
        per_page=query.per_page,
        items=items,
        total_exact=counted <= COUNT_LIMIT,
    )


def _facet_column(name: str):  # noqa: ANN202 - (column, join) for a facet
    if name == "registry":
        return RegistryIdRow.registry_name, RegistryIdRow
    if name in ("province", "city"):
        return getattr(SiteRow, name), SiteRow
    if name == "year":
        return TrialRow.start_year, None
    if name == "phase":
        return TrialRow.phase_code, None
    if name == "status":
        return TrialRow.status_code, None
    return getattr(TrialRow, name), None


def facet_counts(
    db: Database, query: TrialQuery, name: str, limit: int | None = None
) -> list[tuple[str | int | None, int]]:
    """Counts of trials per value of one facet, under every other filter of ``query``, most
    frequent first (at most ``limit`` values).

    A trial with sites in two cities counts once for each city. With a search text, the counts
    are over at most the newest ``FACET_SAMPLE`` matching trials (see ``facet_table``).
    """
    return facet_table(db, query, {name: limit})[name]


#: With a search text, facets are counted over at most this many of the newest matching trials:
#: a common word matches a large share of a registry-sized database, and counting a facet reads
#: a row per match, so the work of a search page would grow with the database.
FACET_SAMPLE = COUNT_LIMIT


class FacetTable(dict):
    """Facet → ``[(value, count), …]``; ``sampled`` names the facets counted over the newest
    ``FACET_SAMPLE`` matches because more trials matched (the counts are then lower bounds)."""

    sampled: frozenset[str] = frozenset()
    sample: int = 0


def facet_table(db: Database, query: TrialQuery, limits: dict[str, int | None]) -> FacetTable:
    """``facet_counts`` for each facet named in ``limits`` (facet → most values, or ``None``),
    read in one transaction; facets whose own filter is not set share one set of matches."""
    for name in limits:
        if name not in FACETS:
            raise InputError(f"unknown facet {name!r}; expected one of {', '.join(FACETS)}")
    shared: tuple | None = None
    out = FacetTable()
    sampled = set()
    with db.session() as session:
        conn = session.connection()
        for name, limit in limits.items():
            if _filtered_by(query, name):
                scope = _facet_scope(db, conn, _without(query, name))
            else:
                shared = _facet_scope(db, conn, query) if shared is None else shared
                scope = shared
            conds, capped = scope
            if capped:
                sampled.add(name)
            stmt = _facet_statement(name, conds)
            placed = name in _PLACE_FACETS
            if limit is not None:  # a place's spellings merge below: read some more of them
                stmt = stmt.limit(limit * 3 if placed else limit)
            rows = [(value, count) for value, count in conn.execute(stmt).all()]
            out[name] = one_per_place(name, rows)[:limit] if placed else rows
    out.sampled, out.sample = frozenset(sampled), FACET_SAMPLE
    return out


#: Facets whose values are places, stored as each registry wrote them (上海 and Shanghai).
_PLACE_FACETS = ("country", "province", "city")


def one_per_place(kind: str, rows: list[tuple]) -> list[tuple]:
    """A place facet's counts with each place once, under its English name (a ChiCTR page's
    上海 and CT.gov's Shanghai were two entries both shown as Shanghai), most first. A trial
    that names one place in both spellings counts twice: the counts are the rows', summed."""
    merged: dict[object, int] = {}
    for value, count in rows:
        key = places.english(kind, value) if isinstance(value, str) else value
        merged[key] = merged.get(key, 0) + count
    return sorted(merged.items(), key=lambda item: (-item[1], str(item[0])))


def _without(query: TrialQuery, name: str) -> TrialQuery:
    """``query`` without its filter on facet ``name`` (a facet's counts ignore its own filter)."""
    if name == "year":
        return query.model_copy(update={"year_from": None, "year_to": None})
    return query.model_copy(update={name: None})


def _facet_scope(db: Database, conn, query: TrialQuery) -> tuple[list, bool]:  # noqa: ANN001
    """Conditions selecting the trials a facet is counted over, and whether they were capped:
    without a search text every match (the trials' indexes count them); with one, the newest
    ``FACET_SAMPLE`` matches when more match."""
    if not query.q:
        return _conditions(db, query), False
    matching = _matching(db, query)
    order = desc(matching.fts.c.rowid) if matching.fts is not None else desc(TrialRow.uid)
    newest = matching.select().order_by(order)
    probe = select(func.count()).select_from(newest.limit(FACET_SAMPLE + 1).subquery())
    capped = (conn.scalar(probe) or 0) > FACET_SAMPLE
    # the matches as the search finds them (text and tags in one index query), read once
    matches = (newest.limit(FACET_SAMPLE) if capped else matching.select()).subquery()
    return [TrialRow.uid.in_(select(matches.c.uid))], capped


def _filtered_by(query: TrialQuery, name: str) -> bool:
    """Whether ``query`` filters on facet ``name`` (so its counts must skip that filter)."""
    if name == "year":
        return query.year_from is not None or query.year_to is not None
    return bool(getattr(query, name))


def _facet_statement(name: str, conds: list) -> Select:
    column, joined = _facet_column(name)
    if joined is None:
        counted = func.count(TrialRow.uid)
        stmt = select(column, counted).where(*conds)
    else:
        # trials, not sites: a city with three sites of one trial counts one, and is ordered so
        uids = select(TrialRow.uid).where(*conds).subquery()
        counted = func.count(func.distinct(joined.trial_uid))
        stmt = select(column, counted).where(joined.trial_uid.in_(select(uids.c.uid)))
    return stmt.group_by(column).order_by(desc(counted), nulls_last(column))


def stats(db: Database, by: list[str], query: TrialQuery | None = None) -> list[dict]:
    """Trial counts grouped by one or more facets (e.g. ``cell_source`` and ``year``).

    Facets read from the same table (``province`` and ``city`` from sites) share one join of
    it, so each row counts a site's own province and city together."""
    if not by:
        raise InputError(f"stats needs a facet to count by: one of {', '.join(FACETS)}")
    for position, name in enumerate(by):
        if name not in FACETS:
            raise InputError(
                f"unknown facet {name!r} to count by; expected one of {', '.join(FACETS)}"
            )
        if name in by[:position]:
            raise InputError(f"facet {name!r} is given twice; count by each facet once")
    query = query or TrialQuery()
    conds = _conditions(db, query)
    columns = []
    stmt = select()
    joins: list[type] = []
    for name in by:
        column, joined = _facet_column(name)
        columns.append(column.label(name))
        if joined is not None and joined not in joins:
            joins.append(joined)
            # outer: a trial with no site (or no id of a registry) counts under "none"
            stmt = stmt.outerjoin_from(TrialRow, joined, joined.trial_uid == TrialRow.uid)
    stmt = (
        stmt.add_columns(*columns, func.count(func.distinct(TrialRow.uid)).label("trials"))
        .select_from(TrialRow)
        .where(*conds)
        .group_by(*columns)
        .order_by(*[nulls_last(c) for c in columns])
    )
    with db.session() as session:
        return [dict(row._mapping) for row in session.execute(stmt).all()]


def _stale_since(today: date) -> ColumnElement[bool]:
    """Whether a trial's last update (else first posting) is over ``STALE_AFTER_DAYS`` before
    ``today``, a partial date read as ``stale_flags`` reads it (2022 as 2022-12-28)."""
    seen = func.coalesce(TrialRow.last_update, TrialRow.first_posted)
    day = case(
        (func.length(seen) == 4, seen + "-12-28"),
        (func.length(seen) == 7, seen + "-28"),
        else_=seen,
    )
    return day < (today - timedelta(days=STALE_AFTER_DAYS)).isoformat()


def counts(db: Database, today: date | None = None) -> dict[str, int]:
    """Headline numbers: trials, registered as recruiting (and of those, how many are stale
    ``today``: no update for two years), China trials, cell sources, provinces."""
    today = today or date.today()
    with db.session() as session:
        total = session.scalar(select(func.count(TrialRow.uid))) or 0
        recruiting, recruiting_stale = session.execute(
            select(
                func.count(TrialRow.uid), func.count(TrialRow.uid).filter(_stale_since(today))
            ).where(TrialRow.status_code == "RECRUITING")
        ).one()
        china = (
            session.scalar(select(func.count(TrialRow.uid)).where(TrialRow.region != "foreign"))
            or 0
        )
        sources = session.scalar(select(func.count(func.distinct(TrialRow.cell_source)))) or 0
        provinces = (
            session.scalar(
                select(func.count(func.distinct(SiteRow.province))).where(
                    SiteRow.country == "China"
                )
            )
            or 0
        )
    return {
        "trials": total,
        "recruiting": recruiting,
        "recruiting_stale": recruiting_stale,
        "china_trials": china,
        "cell_sources": sources,
        "provinces": provinces,
    }
