"""Which trials a search matches: its text and filters as SQL conditions, on either backend.

A term in Latin script (or digits) matches words: its words in sequence. The query's last such
term ends in a prefix (the word being typed) when its last word has three or more characters
(``diabet`` finds "diabetes", ``t2`` only the word "t2"), as does any term written with a
trailing ``*`` (``diabet* foot``); other words match whole words.
A term with Chinese (or other CJK) characters matches as a substring, since such text has no
spaces between words. On SQLite words are looked up in an FTS5 word index that also holds the
trial's facet values as tags, so text and facet filters meet in one index query; CJK terms of
three or more characters use the FTS5 trigram index and shorter ones a substring scan. On
PostgreSQL both kinds are patterns served by a ``pg_trgm`` index. Either way the SQL is
parameterised. Counting, ranking and paging the matches is ``store.search``'s; facet counts and
stats read the same conditions.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    column,
    func,
    or_,
    select,
    table,
    text,
)

from isletbase import cjk_words, glossary, places, taxonomy
from isletbase.errors import InputError
from isletbase.store.db import Database, word_tag
from isletbase.store.query import _WORD, TrialQuery, _is_prefix, _worded, query_terms
from isletbase.store.schema import RegistryIdRow, SiteRow, TrialRow
from isletbase.store.trial_reads import find_uid
from isletbase.taxonomy import CJK
from isletbase.wording import said

#: The SQLite FTS5 indexes (created by ``Database.init``), as lightweight tables for SELECTs.
_FTS = table("trial_fts", column("rowid"), column("rank"))
_WORDS = table("trial_words", column("rowid"), column("rank"))


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
    query without its own filter, see ``facets._without``).

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
    #: CJK terms the glossary gives English for (``glossary.english``): each term's forms,
    #: matched as a CJK term is, or its English words, matched as words (胰岛素 or "insulin");
    #: and a vocabulary's alias in Latin script, without forms (``_alias_words``: T1DM)
    either: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    index: Literal["words", "trigrams"] | None = None


#: A number's every way of writing, by any of them (``cjk_words.NUMERALS``).
_NUMERAL_FORMS = {form: forms for forms in cjk_words.NUMERALS for form in forms}


def _forms(term: str) -> tuple[str, ...]:
    """A CJK term's forms a search matches: in traditional and simplified characters
    (``taxonomy.written_forms``), each with a type's or phase's number in each way Chinese
    texts write it (``cjk_words.NUMBERED``: Ⅱ型糖尿病 finds 2型糖尿病 and 二型糖尿病, and back)."""
    out: list[str] = []
    for form in taxonomy.written_forms(term):
        folded = taxonomy.normalise(form).lower()
        found = list(cjk_words.NUMBERED.finditer(folded))
        if not found:
            out.append(form)
            continue
        # the first two numbers (a type and a phase): a query of many would be forms by the
        # thousand (3 ** n)
        spans = [(m.start(), m.end(), _NUMERAL_FORMS[m.group()]) for m in found[:2]]
        for choice in itertools.product(*(forms for _, _, forms in spans)):
            pieces, at = [], 0
            for (start, end, _), numeral in zip(spans, choice, strict=True):
                pieces += [folded[at:start], numeral]
                at = end
            out.append("".join([*pieces, folded[at:]]))
    return tuple(dict.fromkeys(out))


def _english_of(term: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A CJK term's forms and the English words a trial's text may say it in, where the term
    names a country or a region of China (美国: a trial's country is stored in English,
    ``places.country_english``, as "United States"; its other Chinese spellings count too)
    or a word of the glossary (胰岛素: "insulin"); ``None`` for any other term. A city or
    province is in both languages in the text already (``places.site_names``)."""
    place = places.find("country", term) or places.find("region", term)
    if place is not None:  # its English name as stored (not "USA", a word of its own)
        chinese = [s for s in place.spellings if not s.isascii()]
        return tuple(dict.fromkeys([*_forms(term), *chinese])), (place.en,)
    english = glossary.english(term)
    return (_forms(term), english) if english else None


@cache
def _alias_words() -> dict[str, tuple[str, ...]]:
    """A condition's or cell source's alias typed as one word (T1DM, NIDDM, AHSCT), lower
    case → the words a trial's text may say its value in: the alias itself, the value's code
    and its English label, which every trial classified so carries (``search_document``). T1DM
    found the 7 trials whose records wrote it, where T1D found 37."""
    tax = taxonomy.load()
    return {
        alias.lower(): (alias.lower(), term.value, term.label_en)
        for field in ("condition", "cell_source")
        for term in tax.vocabularies[field]
        for alias in term.aliases
        if alias.isascii() and len(_WORD.findall(alias.lower())) == 1
    }


def _text_plan(db: Database, q: str) -> _Plan:
    terms = query_terms(q)
    if not terms:
        raise InputError(said("search_no_words"))  # said in the page's language too
    plan = _Plan()
    phrases: list[str] = []
    trigram_terms: list[str] = []
    worded = _worded(terms)
    for position, term in enumerate(terms):
        words = _WORD.findall(term)
        if words and not CJK.search(term):
            if named := _alias_words().get(term):
                plan.either.append(((), named))  # T1DM: the word, or what the labels say
                continue
            prefix = _is_prefix(term, words[-1], last=position == worded[-1])
            phrases.append(_phrase(words) + ("*" if prefix else ""))
            plan.patterns.append(_word_pattern(words, prefix))
        elif either := _english_of(term):
            plan.either.append(either)
        elif len(term) >= 3 and db.is_sqlite:
            trigram_terms.append(_any_of(_forms(term)))
        else:
            plan.substrings.append(_forms(term))
    if phrases and db.is_sqlite:
        plan.words = "search_text : (" + " AND ".join(phrases) + ")"
        plan.index = "words"
    if trigram_terms:
        plan.trigrams = " AND ".join(trigram_terms)
        plan.index = plan.index or "trigrams"
    return plan


def _phrase(words: list[str]) -> str:
    """Words in sequence, as an FTS5 phrase."""
    return '"' + " ".join(words) + '"'


def _any_of(forms: Sequence[str]) -> str:
    """A CJK term's forms as an FTS5 trigram query: any one of them, each a quoted string."""
    quoted = ['"' + form.replace('"', '""') + '"' for form in forms]
    return quoted[0] if len(quoted) == 1 else f"({' OR '.join(quoted)})"


def _word_pattern(words: list[str], prefix: bool) -> str:
    """PostgreSQL regular expression for words in sequence, as the word index matches them."""
    edge = "[^[:alnum:]]"
    return f"(^|{edge})" + f"{edge}+".join(words) + ("" if prefix else f"($|{edge})")


def _text_conditions(db: Database, plan: _Plan, joined: bool) -> list:
    """Conditions on ``trials`` for the text a search did not answer by joining an index
    (``joined``: the plan's ``index`` is joined)."""
    conds = []
    if db.is_sqlite:
        for name, match, fts in (("words", plan.words, _WORDS), ("trigrams", plan.trigrams, _FTS)):
            if match and not (joined and plan.index == name):
                conds.append(_indexed(fts, name, match))
    else:
        conds += [_folded().op("~")(pattern) for pattern in plan.patterns]
    conds += [_contains_any(forms) for forms in plan.substrings]
    conds += [_either(db, forms, english, i) for i, (forms, english) in enumerate(plan.either)]
    return conds


def _folded() -> ColumnElement:
    return func.lower(TrialRow.search_text)


def _contains_any(forms: Sequence[str]) -> ColumnElement:
    """The trial's text holds one of ``forms`` (a scan: no index)."""
    return or_(*(_folded().contains(form, autoescape=True) for form in forms))


def _indexed(fts: Table, name: str, match: str) -> ColumnElement:
    """The trial is among the rows FTS5 index ``fts`` matches to ``match`` (bound as ``name``)."""
    matched = select(fts.c.rowid).where(
        text(f"{fts.name} MATCH :{name}").bindparams(**{name: match})
    )
    return TrialRow.uid.in_(matched)


def _either(
    db: Database, forms: tuple[str, ...], english: tuple[str, ...], number: int
) -> ColumnElement:
    """A CJK term's forms or its English words (``_Plan.either``), each through its index: the
    trigram index for the forms (a scan for forms under three characters, as ``substrings``),
    the word index for the words; on PostgreSQL both as patterns. ``number`` names its bound
    parameters apart from another such term's."""
    words = [_WORD.findall(e.lower()) for e in english]
    if not db.is_sqlite:
        patterns = [_folded().op("~")(_word_pattern(w, prefix=False)) for w in words]
        return or_(*([_contains_any(forms)] if forms else []), *patterns)
    phrases = " OR ".join(_phrase(w) for w in words)
    by_words = _indexed(_WORDS, f"either_words_{number}", f"search_text : ({phrases})")
    if not forms:  # an alias in Latin script: words only
        return by_words
    if all(len(form) >= 3 for form in forms):
        by_forms = _indexed(_FTS, f"either_forms_{number}", _any_of(forms))
    else:
        by_forms = _contains_any(forms)
    return or_(by_forms, by_words)


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
        # a tag is the stored value as SQLite's ASCII-only lower() gave it: a name outside
        # ASCII in each case it may be stored in ("Ñowhere" was not found as "ñowhere" once a
        # text or a second filter made the search go through the tags)
        tags = list(dict.fromkeys(word_tag("country", f) for v in spelled for f in lowered(v)))
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
