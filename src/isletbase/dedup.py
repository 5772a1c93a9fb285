"""Cross-registry dedup: one study registered in ClinicalTrials.gov, ChiCTR and via ICTRP.

Exact links come first: a record that names another registry's id (a ChiCTR id among a
CT.gov record's secondary ids, an NCT id on a ChiCTR page, ICTRP's ``Secondary_ID`` bridge)
lands on the trial holding that id, in ``ingest``. Records with no shared id are compared
fuzzily here: normalised titles in English and Chinese (rapidfuzz), sponsor, start date and
enrollment give a score from 0 to 100 and an explanation naming each part. At or above
``AUTO_MERGE``, with sponsors that agree and no number telling the titles or sponsors apart
(type 1 or 2, phase I or II, the second or third hospital) and no diabetes type one names in its
titles or conditions that the other does not, the records merge, and the merge is
kept in the trial's history with its score and explanation; from ``REVIEW`` up they wait in
``isletbase review``; below, nothing happens — never a silent merge.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from isletbase.model import REGISTRIES, TrialRecord
from isletbase.store.schema import RegistryIdRow, TrialRow
from isletbase.taxonomy import simplified

#: Score at or above which two records of different registries are merged without asking.
AUTO_MERGE = 90.0
#: Score at or above which a pair is queued for a curator (below it, they stay apart).
REVIEW = 75.0
#: Weights of the parts of the score (renormalised over the parts both records have).
WEIGHTS = {"title": 0.6, "sponsor": 0.15, "start": 0.15, "enrollment": 0.1}
#: How many title neighbours are scored in full for each record.
NEIGHBOURS = 5

_STOP = re.compile(r"\b(a|an|the|of|in|for|with|and|to|on|study|trial|clinical)\b")
_HAN = re.compile(r"[\u3400-\u9fff]")
#: Words that tell two otherwise alike titles or sponsors apart, each as the number it names:
#: type 1 or 2 diabetes, phase I or II, the second or third affiliated hospital.
_NUMBER_WORDS = {
    "i": "1", "ii": "2", "iii": "3", "iv": "4", "first": "1", "second": "2", "third": "3",
    "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7", "eighth": "8", "ninth": "9",
    "t1d": "1", "t1dm": "1", "t2d": "2", "t2dm": "2",
}  # fmt: skip
_HAN_NUMERALS = {c: str(i) for i, c in enumerate("一二三四五六七八九", start=1)}
_NUMBER = re.compile(r"\d+|[a-z0-9]+|[一二三四五六七八九]")
#: Words every hospital's or university's name has: a sponsor is told apart by the others
#: (The First Affiliated Hospital of Zhengzhou University is not that of Sun Yat-sen University).
_INSTITUTION_WORDS = re.compile(
    r"\b(the|of|and|affiliated|hospital|hospitals|university|medical|medicine|college|school|"
    r"people s|peoples|people|general|center|centre|institute|clinical|co|ltd|inc|limited|"
    r"company|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b"
    r"|第[一二三四五六七八九十]|附属|医院|大学|医学院|医科|学院|人民|中心|有限公司|公司|研究所|研究院"
)


def normalise_title(text: str | None) -> str:
    """Fold a title for comparison: NFKC, case, punctuation and filler words removed."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if _HAN.search(folded):  # traditional characters as simplified: 臍帶幹細胞 is 脐带干细胞
        return re.sub(r"[^\u3400-\u9fff0-9a-z]+", "", simplified(folded))
    return re.sub(r"\s+", " ", _STOP.sub(" ", utils.default_process(folded))).strip()


def number_words(normalised: str) -> frozenset[str]:
    """The numbers a normalised title or name holds, as digits, each with the word it counts:
    ``type:2`` of "type 2" (2型 in Chinese: ``2型``), ``phase:1`` of "phase I", so "phase 1 …
    type 2" and "phase 2 … type 1" differ; the Second Xiangya Hospital, 第三附属医院."""
    found = set()
    han = bool(_HAN.search(normalised))
    tokens = list(_NUMBER.finditer(normalised))
    for i, m in enumerate(tokens):
        token = m.group(0)
        if token.isdigit():
            number = str(int(token))
        elif token in _NUMBER_WORDS:
            number = _NUMBER_WORDS[token]
        elif token in _HAN_NUMERALS:
            number = _HAN_NUMERALS[token]
        else:
            continue
        if han:  # the characters around it: 2型, 第3附, 1项
            found.add(
                normalised[m.start() - 1 : m.start()] + number + normalised[m.end() : m.end() + 1]
            )
        else:
            found.add(f"{tokens[i - 1].group(0) if i else ''}:{number}")
    return frozenset(found)


def _numbers_differ(a: str, b: str, either: bool = False) -> str | None:
    """Why two normalised texts name different numbers, or None: each a number the other
    lacks (a title naming "12 weeks" the other leaves out may still be the same study) or,
    with ``either`` (sponsors: the First Hospital of a university is not the university's
    People's Hospital), one side's alone."""
    x, y = number_words(a), number_words(b)
    if (x - y and y - x) or (either and x != y):
        show = lambda found: ", ".join(sorted(found)) or "none"  # noqa: E731
        return f"{show(x - y)} ≠ {show(y - x)}"
    return None


#: A diabetes type as a normalised title or condition names it, next to the disease — type 1
#: diabetes, types 1 and 2 diabetes, diabetes mellitus type II, diabetic neuropathy type 2,
#: T2DM, 1型糖尿病, Ⅱ型糖尿病 (Ⅱ folded to ii) — so that type I interferon, a type 2 reaction or
#: type 1.5 diabetes name none.
_DIABETES_TYPE = re.compile(
    r"\btypes? ?(ii|i|1|2)(?: (?:and |or )?(?:type ?)?(ii|i|1|2))? (?=diabet|dm\b)"
    r"|\bdiabet\w*(?: \w+){0,3}? type ?(ii|i|1|2)\b"
    r"|\bt([12])dm?\b"
    r"|(ii|i|1|2|一|二)型(?=糖尿病|dm)"
)
_TYPE_NUMBER = {"1": "1", "2": "2", "i": "1", "ii": "2", "一": "1", "二": "2"}


def diabetes_types(record: TrialRecord) -> frozenset[str]:
    """The diabetes types ("1", "2") a record's titles and conditions name."""
    texts = [*_titles(record), *(normalise_title(c) for c in record.conditions)]
    return frozenset(
        _TYPE_NUMBER[group]
        for text in texts
        for m in _DIABETES_TYPE.finditer(text)
        for group in m.groups()
        if group
    )


def _types_differ(a: TrialRecord, b: TrialRecord) -> str | None:
    """Why two records are of different diabetes types, or None: each names a type the other
    does not (type 1 in one's title, type 2 in the other's conditions: the titles alone may
    not say so); a record naming both, or none, does not differ."""
    x, y = diabetes_types(a), diabetes_types(b)
    if x - y and y - x:
        return f"diabetes types differ: type {', '.join(sorted(x))} ≠ type {', '.join(sorted(y))}"
    return None


def _distinctive(name: str) -> str:
    """A normalised sponsor name without the words every institution's name has."""
    return re.sub(r"\s+", " ", _INSTITUTION_WORDS.sub(" ", name)).strip()


def block_keys(title: str) -> set[str]:
    """Keys a normalised title is filed under for matching: its words' first four letters, or
    for a Chinese title its pairs of characters. Titles alike enough to score share a key, so
    a record is scored against the trials filed under its keys, not against every trial."""
    if _HAN.search(title):
        return {title[i : i + 2] for i in range(len(title) - 1)}
    return {word[:4] for word in title.split() if len(word) >= 3}


def _titles(record: TrialRecord) -> list[str]:
    return [
        t
        for t in {
            normalise_title(x) for x in (record.title_en, record.official_title_en, record.title_zh)
        }
        if t
    ]


@dataclass(frozen=True)
class MatchScore:
    """How alike two records are (0–100), each part's score, a sentence per part, and what
    tells them apart whatever the score (``conflicts``: numbers their titles or sponsors
    differ in)."""

    score: float
    parts: dict[str, float]
    explanation: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def decision(self) -> str:
        """``merge``, ``review`` or ``separate``. Only a curator merges a pair whose sponsors
        could not be compared (a title and a start month are not enough: one hospital
        registers many studies alike) or whose titles or sponsors differ in a number (type 1
        and type 2 diabetes, phase I and II, the second and third hospital of a university)."""
        if (
            self.score >= AUTO_MERGE
            and "sponsor" in self.parts
            and min(self.parts.values()) >= 50
            and not self.conflicts
        ):
            return "merge"
        if self.score >= REVIEW:
            return "review"
        return "separate"


#: The best-scoring pair of two records' texts in one script: its score, its sentence, and
#: the numbers the two texts differ in (None where they do not).
_Best = tuple[float, str, str | None]


def _best_pair(
    label: str,
    xs: list[tuple[str, str]],
    ys: list[tuple[str, str]],
    ratio: Callable[[str, str], float],
    either: bool = False,
) -> _Best | None:
    """The best ``ratio`` of a text of ``xs`` and one of ``ys`` in the same script (each a
    normalised text and the text shown in the sentence); ``either`` as ``_numbers_differ``."""
    best: _Best | None = None
    for nx, x in xs:
        for ny, y in ys:
            if bool(_HAN.search(nx)) != bool(_HAN.search(ny)):
                continue
            score = ratio(nx, ny)
            if best is None or score > best[0]:
                differ = _numbers_differ(nx, ny, either)
                best = (score, f"{label} {score:.0f}: {x!r} ~ {y!r}", differ)
    return best


def _title_ratio(ta: str, tb: str) -> float:
    return fuzz.ratio(ta, tb) if _HAN.search(ta) else fuzz.token_sort_ratio(ta, tb)


def _title_score(a: TrialRecord, b: TrialRecord) -> _Best | None:
    """The best score of two records' titles in one script (``_best_pair``)."""
    return _best_pair(
        "title", [(t, t) for t in _titles(a)], [(t, t) for t in _titles(b)], _title_ratio
    )


def _sponsor_ratio(nx: str, ny: str) -> float:
    """Two normalised sponsor names' likeness on the words that tell one institution from
    another: every word of both (a set ratio would give Peking University Shenzhen Hospital
    100 against Peking University, one name's words being the other's)."""
    dx, dy = _distinctive(nx), _distinctive(ny)
    return fuzz.token_sort_ratio(dx, dy) if dx and dy else fuzz.token_sort_ratio(nx, ny)


def _sponsors(record: TrialRecord) -> list[tuple[str, str]]:
    return [(normalise_title(s), s) for s in (record.sponsor, record.sponsor_zh) if s]


def _sponsor_score(a: TrialRecord, b: TrialRecord) -> _Best | None:
    """The best score of two records' sponsors in one script (``_best_pair``); the numbers
    they differ in count though one name alone has them."""
    return _best_pair("sponsor", _sponsors(a), _sponsors(b), _sponsor_ratio, either=True)


def _start_score(a: str, b: str) -> float:
    if a == b:
        return 100.0
    if a[:7] == b[:7]:
        return 90.0
    if a[:4] == b[:4]:
        return 60.0
    return 30.0 if abs(int(a[:4]) - int(b[:4])) == 1 else 0.0


def score_pair(a: TrialRecord, b: TrialRecord) -> MatchScore:
    """Score two records of one study in different registries; titles are required."""
    title = _title_score(a, b)
    if title is None:
        return MatchScore(0.0, {}, ["no comparable titles"])
    parts = {"title": title[0]}
    explanation = [title[1]]
    conflicts = [f"titles differ in {title[2]}"] if title[2] else []
    types = _types_differ(a, b)
    if types and not title[2]:  # the titles' numbers say it already where they differ
        conflicts.append(types)
    sponsor = _sponsor_score(a, b)
    if sponsor is not None:
        parts["sponsor"] = sponsor[0]
        explanation.append(sponsor[1])
        conflicts += [f"sponsors differ in {sponsor[2]}"] if sponsor[2] else []
    else:
        explanation.append("sponsor: not comparable (missing, or in two scripts)")
    if a.start_date and b.start_date:
        s = _start_score(a.start_date, b.start_date)
        parts["start"] = s
        explanation.append(f"start {s:.0f}: {a.start_date} ~ {b.start_date}")
    if a.enrollment is not None and b.enrollment is not None:
        big = max(a.enrollment, b.enrollment, 1)
        s = max(0.0, 100.0 - 100.0 * abs(a.enrollment - b.enrollment) / big * 2)
        parts["enrollment"] = s
        explanation.append(f"enrollment {s:.0f}: {a.enrollment} ~ {b.enrollment}")
    total = sum(WEIGHTS[k] for k in parts)
    score = sum(WEIGHTS[k] * v for k, v in parts.items()) / total
    return MatchScore(round(score, 1), parts, explanation + conflicts, conflicts)


@dataclass
class Match:
    uid: int
    score: MatchScore


#: Registries matched each against its own pool; every other registry's records share one
#: (ICTRP's many registries were one name until their ids were told apart, and a pool of each
#: read the whole trials table: 13 ICTRP trials took 183 s against a 20,000-trial database).
OWN_POOLS = ("ClinicalTrials.gov", "ChiCTR")
OTHER_REGISTRIES = "other registries"


def pool_group(registry: str) -> str:
    """The matching group of ``registry``: its own name, or ``OTHER_REGISTRIES``."""
    return registry if registry in OWN_POOLS else OTHER_REGISTRIES


def group_registries(group: str) -> tuple[str, ...]:
    """The registries of a matching group (``pool_group``)."""
    return (group,) if group in OWN_POOLS else tuple(r for r in REGISTRIES if r not in OWN_POOLS)


@dataclass
class CandidatePool:
    """Trials of other registries that a new record might duplicate, indexed by title.

    Built once per ingest run from the trials that hold no id of the incoming registry (a
    CT.gov record cannot duplicate a trial that already has an NCT id — that would be an
    exact link), so a large single-registry load compares against a small pool; within it a
    record is compared only with the titles sharing a block key (``block_keys``).
    """

    uids: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    records: dict[int, TrialRecord] = field(default_factory=dict)
    #: block key → positions in ``titles`` filed under it (see ``block_keys``)
    blocks: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, group: str) -> CandidatePool:
        """The stored trials a record of registry ``group`` (``pool_group``) may duplicate:
        those holding no id of it."""
        has_registry = exists().where(
            RegistryIdRow.trial_uid == TrialRow.uid,
            RegistryIdRow.registry_name.in_(group_registries(group)),
        )
        pool = cls()
        rows = session.execute(
            select(
                TrialRow.uid,
                TrialRow.display_id,
                TrialRow.title_en,
                TrialRow.official_title_en,
                TrialRow.title_zh,
                TrialRow.sponsor,
                TrialRow.sponsor_zh,
                TrialRow.start_date,
                TrialRow.enrollment,
                TrialRow.source_url,
            ).where(~has_registry)
        )
        for r in rows:
            pool.add(
                r.uid,
                TrialRecord.model_construct(
                    registry_ids=[],
                    title_en=r.title_en,
                    official_title_en=r.official_title_en,
                    title_zh=r.title_zh,
                    sponsor=r.sponsor,
                    sponsor_zh=r.sponsor_zh,
                    start_date=r.start_date,
                    enrollment=r.enrollment,
                    source_url=r.source_url,
                ),
            )
        return pool

    def add(self, uid: int, record: TrialRecord) -> None:
        self.records[uid] = record
        for title in _titles(record):
            for key in block_keys(title):
                self.blocks.setdefault(key, []).append(len(self.titles))
            self.uids.append(uid)
            self.titles.append(title)

    def _neighbours(self, title: str) -> list[tuple[str, float, int]]:
        """The pooled titles most like ``title``, compared only within its blocks."""
        keys = block_keys(title)
        if keys:
            positions = sorted({i for key in keys for i in self.blocks.get(key, ())})
            choices: dict[int, str] | list[str] = {i: self.titles[i] for i in positions}
        else:
            choices = self.titles
        return process.extract(
            title,
            choices,
            scorer=fuzz.token_sort_ratio,
            limit=NEIGHBOURS,
            score_cutoff=REVIEW - 10,
        )

    def best(self, record: TrialRecord, exclude: Iterable[int] = ()) -> Match | None:
        """The best-scoring pooled trial at or above ``REVIEW``, or ``None``."""
        if not self.titles:
            return None
        skip = set(exclude)
        seen: set[int] = set()
        best: Match | None = None
        for title in _titles(record):
            for _, _, index in self._neighbours(title):
                uid = self.uids[index]
                if uid in seen or uid in skip:
                    continue
                seen.add(uid)
                score = score_pair(record, self.records[uid])
                if score.score >= REVIEW and (best is None or score.score > best.score.score):
                    best = Match(uid, score)
        return best
