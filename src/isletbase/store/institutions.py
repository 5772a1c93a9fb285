"""The institution directory: bilingual names, aliases, derived pinyin, and name matching.

Registries spell one hospital many ways ("Peking Union Medical College Hospital", "PUMCH",
"北京协和医院", "Xiehe"). Matching a site or sponsor to the directory by any of those spellings
is what lets a search for ``xiehe`` find that hospital's trials and lets ``check`` look up an
institution's filing status.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import re2
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from isletbase.errors import InputError
from isletbase.model import Institution
from isletbase.store.db import UNPRINTABLE, Database, unprintable, without_accents
from isletbase.store.schema import InstitutionAliasRow, InstitutionRow
from isletbase.taxonomy import simplified, written_forms

_HAN = re.compile(r"[\u3400-\u9fff]")
_NOISE = re.compile(r"[\s\.,;:()（）'’\"“”·\-–—&/]+")
_SPLIT = re.compile(r"[,，;；]")
_DEPARTMENT = re.compile(
    r"^\s*(the\s+)?((department|dept\.?|division|center|centre|institute|laboratory) of [^,]*?"
    r"(,|\s+(of|at)\s+(the\s+)?)|[a-z ]+ department,?\s+(of\s+)?(the\s+)?)",
    re.IGNORECASE,
)
_THE = re.compile(r"^the\s+")
_HOSPITAL = re.compile(r"hospital|医院|醫院", re.IGNORECASE)
_COUNTRY_KEYS = {"china", "prchina", "peoplesrepublicofchina", "中国"}
#: An alias must cover this share of a longer name to count as naming it.
_MIN_COVER = 0.6
#: Site names whose institution an index remembers (forgotten all at once past this many).
_ANSWERS_KEPT = 100_000


def name_key(text: str) -> str:
    """Fold a name for comparison: NFKC, lower case, simplified characters (北京協和醫院 is
    北京协和医院), no spaces or punctuation, no leading 'the'."""
    folded = simplified(unicodedata.normalize("NFKC", text).casefold().strip())
    folded = _THE.sub("", folded)
    return _NOISE.sub("", folded)


def pinyin_forms(name_zh: str) -> list[str]:
    """Derived romanisations of a Chinese name: joined syllables and initials.

    ``北京协和医院`` gives ``beijingxieheyiyuan`` and ``bjxhyy``, so ``xiehe`` is a substring of the
    first. Non-Chinese characters are kept as they are.
    """
    if not _HAN.search(name_zh):
        return []
    # imported here: pypinyin reads its ~400k phrases on import (~0.2 s, ~45 MB), which only
    # loading the directory needs, not the ingest worker that matches names against it
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(name_zh, errors="ignore") if s.strip()]
    initials = [
        s for s in lazy_pinyin(name_zh, style=Style.FIRST_LETTER, errors="ignore") if s.strip()
    ]
    forms = ["".join(syllables).lower(), " ".join(syllables).lower(), "".join(initials).lower()]
    return [f for f in dict.fromkeys(forms) if len(f) >= 2]


def pinyin_key(name: str) -> str:
    """A name as a Chinese directory orders it: its pinyin syllables, spaced (北京… before
    武汉…); a name without Chinese characters in lower case."""
    from pypinyin import lazy_pinyin  # see pinyin_forms

    return " ".join(lazy_pinyin(name, errors=lambda chars: chars.lower())).strip()


def institution_row(inst: Institution) -> InstitutionRow:
    """The row for an institution, with its aliases as seen plus the derived pinyin forms."""
    row = InstitutionRow(
        id=inst.id,
        name_en=inst.name_en,
        name_zh=inst.name_zh,
        type=inst.type,
        city=inst.city,
        province=inst.province,
        country=inst.country,
        filed_stem_cell_institution=inst.filed_stem_cell_institution,
        filing_source_url=inst.filing_source_url,
        source_url=inst.source_url,
        name_zh_source_url=inst.name_zh_source_url,
        notes=inst.notes,
    )
    aliases = [InstitutionAliasRow(alias=a, kind="alias") for a in dict.fromkeys(inst.aliases)]
    zh_names = [n for n in [inst.name_zh, *inst.aliases] if n and _HAN.search(n)]
    pinyin = dict.fromkeys(p for n in zh_names for p in pinyin_forms(n))
    aliases += [InstitutionAliasRow(alias=p, kind="pinyin") for p in pinyin]
    row.aliases = aliases
    names = [x for x in [inst.id, inst.name_en, inst.name_zh, *(a.alias for a in aliases)] if x]
    # a name written in traditional characters (廣州) is found by its simplified form too
    names += [folded for n in zh_names if (folded := simplified(n)) != n]
    # without diacritics, as a search's words are read ("Xiè" finds "xie", "Hôpital" "hopital")
    row.search_text = without_accents(" ".join(names)).lower()
    return row


def to_model(row: InstitutionRow) -> Institution:
    return Institution(
        id=row.id,
        name_en=row.name_en,
        name_zh=row.name_zh,
        aliases=[a.alias for a in row.aliases if a.kind == "alias"],
        type=row.type,
        city=row.city,
        province=row.province,
        country=row.country,
        filed_stem_cell_institution=row.filed_stem_cell_institution,
        filing_source_url=row.filing_source_url,
        source_url=row.source_url,
        name_zh_source_url=row.name_zh_source_url,
        notes=row.notes,
    )


@dataclass
class InstitutionIndex:
    """Every spelling of every institution, folded, for matching free-text names."""

    keys: dict[str, str] = field(default_factory=dict)
    #: answers already given: registry site names repeat across thousands of records, and a
    #: name with no exact spelling is compared with every alias
    _answers: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    #: every spelling, and one RE2 set of them (made on first use, again if ``keys`` grew)
    _spellings: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    _spelling_set: re2.Set | None = field(default=None, repr=False, compare=False)
    _spellings_of: int = field(default=-1, repr=False, compare=False)

    @classmethod
    def from_rows(cls, rows: Iterable[InstitutionRow]) -> InstitutionIndex:
        return cls.from_names(
            (
                row.id,
                [row.name_en, row.name_zh, *(a.alias for a in row.aliases if a.kind == "alias")],
            )
            for row in rows
        )

    @classmethod
    def from_institutions(cls, institutions: Iterable[Institution]) -> InstitutionIndex:
        return cls.from_names((i.id, [i.name_en, i.name_zh, *i.aliases]) for i in institutions)

    @classmethod
    def from_names(cls, named: Iterable[tuple[str, list[str | None]]]) -> InstitutionIndex:
        """An index of ``(institution id, its names)``; the first institution to claim a
        spelling keeps it."""
        index = cls()
        for inst_id, names in named:
            for name in names:
                if name:
                    key = name_key(name)
                    if len(key) >= 2:
                        index.keys.setdefault(key, inst_id)
        return index

    def match(self, text: str | None) -> str | None:
        """The institution a name refers to, or ``None`` when unsure.

        Registry site names carry departments and countries ("Department of Endocrinology,
        Chinese PLA General Hospital, P.R. China"), so each comma-separated part and the name
        without a leading department are tried too: first as exact spellings, then as a spelling
        that covers most of the name (so "Peking University" does not claim "Peking University
        People's Hospital").
        """
        if not text:
            return None
        if text not in self._answers:
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            self._answers[text] = self._match(text)
        return self._answers[text]

    def _match(self, text: str) -> str | None:
        if text.isascii() and not self._found_in(name_key(text)):
            # every spelling tried below (of a part, of a part without its department) is a
            # piece of the whole name's, so none can match: most registry names end here,
            # after one scan instead of a split, regexes and a scan per part (~15 → 3 µs).
            # Only for ASCII: NFKC and case folding of a piece of non-ASCII text need not be
            # the same piece of the whole's.
            return None
        # each spelling once: a name without commas or a department is its own only part
        parts = list(dict.fromkeys([text, *(p for p in _SPLIT.split(text) if p.strip())]))
        # blanks run together first: a run of them was tried at each of its lengths against
        # "\s+of" from each of its places (a site name of 50,000 characters: 60 s); a name's
        # key ignores blanks anyway
        parts = list(
            dict.fromkeys([*parts, *(_DEPARTMENT.sub("", " ".join(p.split())) for p in parts)])
        )
        hospital_parts = [p for p in parts if _HOSPITAL.search(p)]
        # a site that names a hospital is that hospital, not the university it belongs to
        keys = [name_key(p) for p in (hospital_parts or parts)]
        keys = [k for k in dict.fromkeys(keys) if k and k not in _COUNTRY_KEYS]
        for key in keys:
            if key in self.keys:
                return self.keys[key]
        for key in keys:
            best: tuple[int, str] | None = None
            for alias, inst_id in self._within(key):
                covers = len(alias) / len(key) >= _MIN_COVER
                # "X Hospital of Y University" names X Hospital
                hospital_of = (
                    key.startswith(alias)
                    and alias.endswith("hospital")
                    and key[len(alias) :].startswith("of")
                )
                if (covers or hospital_of) and (best is None or len(alias) > best[0]):
                    best = (len(alias), inst_id)
            if best:
                return best[1]
        return None

    def _within(self, key: str) -> list[tuple[str, str]]:
        """The spellings (of 4 characters or more) found inside ``key``, with their
        institutions, in the order of ``keys``.

        One scan of an RE2 set of every spelling, instead of a substring test per spelling:
        with the bundled directory's ~420 spellings, matching a registry's site names cost
        ~54 µs a record, most of it in that loop.
        """
        found = self._scan(key)  # first: it makes ``_spellings`` where they are new
        return [self._spellings[i] for i in found if len(self._spellings[i][0]) >= 4]

    def _found_in(self, key: str) -> bool:
        """Whether any spelling, however short, is found inside ``key``."""
        return bool(self._scan(key))

    def _scan(self, key: str) -> list[int]:
        """The positions in ``_spellings`` of the spellings found inside ``key``, in order."""
        if self._spellings_of != len(self.keys):
            self._spellings = tuple(self.keys.items())
            self._spelling_set = None
            if self._spellings:
                options = re2.Options()
                options.literal = True
                self._spelling_set = re2.Set.SearchSet(options)
                for spelling, _ in self._spellings:
                    self._spelling_set.Add(spelling)
                self._spelling_set.Compile()
            self._spellings_of = len(self.keys)
        if self._spelling_set is None:
            return []
        return sorted(self._spelling_set.Match(key) or ())


def load_index(session: Session) -> InstitutionIndex:
    rows = session.scalars(select(InstitutionRow).options(selectinload(InstitutionRow.aliases)))
    return InstitutionIndex.from_rows(rows)


#: A word of an institution search: a run of letters or digits.
_WORDS = re.compile(r"[^\W_]+")


def list_institutions(db: Database, q: str | None = None) -> list[Institution]:
    """All institutions (optionally those whose names, aliases or pinyin contain each word of
    ``q``, in any order: "shanghai ruijin" finds 上海交通大学医学院附属瑞金医院, whose names
    put the city after the hospital or run the pinyin together).

    Raises ``InputError`` for a ``q`` with a control character: SQLite's LIKE stops at a NUL,
    so a search for one would list every institution."""
    if unprintable(q):
        raise InputError(f"institution search {q!r} {UNPRINTABLE}")
    # full-width forms as typed folded (NFKC), diacritics taken off; each run of letters or
    # digits a word ("Peking Union Medical College Hospital, Beijing", "peking-union")
    words = _WORDS.findall(without_accents(unicodedata.normalize("NFKC", q or "").lower()))
    if q and q.strip() and not words:  # "%", "'--": no name holds nothing
        return []
    with db.session() as session:
        stmt = select(InstitutionRow).options(selectinload(InstitutionRow.aliases))
        for word in words:
            # 北京協和醫院 in traditional characters finds 北京协和医院
            forms = written_forms(word)
            stmt = stmt.where(
                or_(*(InstitutionRow.search_text.contains(f, autoescape=True) for f in forms))
            )
        rows = session.scalars(stmt.order_by(InstitutionRow.id)).all()
        return [to_model(r) for r in rows]


def get_institution(db: Database, inst_id: str) -> Institution | None:
    with db.session() as session:
        row = session.get(InstitutionRow, inst_id, options=[selectinload(InstitutionRow.aliases)])
        return to_model(row) if row else None


def match_institution(db: Database, text: str) -> Institution | None:
    """The directory entry a free-text name (English, Chinese, alias or pinyin) refers to."""
    with db.session() as session:
        inst_id = load_index(session).match(text)
        if inst_id is None:
            key = name_key(text)
            if len(key) >= 3:
                row = session.scalars(
                    select(InstitutionRow)
                    .join(InstitutionAliasRow)
                    .where(InstitutionAliasRow.kind == "pinyin", InstitutionAliasRow.alias == key)
                ).first()
                inst_id = row.id if row else None
        if inst_id is None:
            return None
        row = session.get(InstitutionRow, inst_id, options=[selectinload(InstitutionRow.aliases)])
        return to_model(row) if row else None


#: How long ``directory`` reuses the list it read (seconds); the directory changes only on a load.
DIRECTORY_TTL = 30.0
_directories: dict[str, tuple[float, list[Institution]]] = {}


def directory(db: Database) -> list[Institution]:
    """The whole directory, reread at most every ``DIRECTORY_TTL`` seconds per database.

    Pages that evaluate rules for one trial need every institution (to match a sponsor's name);
    reading 100+ institutions with their aliases per page view costs more than the rest of it.
    """
    now = time.monotonic()
    cached = _directories.get(db.url)
    if cached is None or now - cached[0] > DIRECTORY_TTL:
        cached = _directories[db.url] = (now, list_institutions(db))
    return cached[1]


def forget_directory(db: Database) -> None:
    """Make the next ``directory`` of ``db`` read it again (this process has just written it)."""
    _directories.pop(db.url, None)
