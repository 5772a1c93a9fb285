"""Finding words in offer text: phrase lists (English and Chinese) and registry ids.

Matching folds case, full-width forms and traditional characters one character at a time and
keeps where each folded character came from, so every match can be quoted exactly from the
original text. English phrases only match whole words ("spa" does not match "space"). A phrase
that a negation governs ("不能根治", "not a cure") is reported as negated (see ``negation``).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from isletbase.taxonomy import simplified

if TYPE_CHECKING:
    from isletbase.regulation.negation import Negation

HAN = re.compile(r"[\u3400-\u9fff]")
#: A registry id, or a ChiCTR prefix whose digits ``trial_id`` counts: searched for as one
#: pattern, a run of "chictr-chictr-…" was read to its end again from each "chictr" (20 s for
#: an offer of 100,000 characters); each run is now read once.
#: An id may follow a Chinese word directly (登记号CTR20252968), where ``\b`` sees no boundary.
_TRIAL_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:NCT\d{8}|CTR\d{8}(?!\d)|ChiCTR[-A-Za-z]*(\d*))", re.IGNORECASE
)


def trial_id(text: str) -> re.Match[str] | None:
    """The first registry id in ``text``: NCT and 8 digits, CTR and 8 (China's drug-trial
    registry, where a product on the NMPA's drug track is registered), or ChiCTR, letters and
    hyphens (ChiCTR-TRC-, ChiCTR-OCH-) and at least 6 digits."""
    for found in _TRIAL_ID.finditer(text):
        if found.group(1) is None or len(found.group(1)) >= 6:
            return found
    return None


#: Where a clause ends (in folded or original text): a negation or a "the sponsor pays"
#: reaches no further.
CLAUSE_BREAK = re.compile(r"[。！？；，、：!?;,:\n\r—–]|\.(?!\d)| - ")
#: Characters folded besides NFKC, case and traditional forms (one for one).
_PUNCTUATION = {ord("’"): "'", ord("‘"): "'"}


@dataclass(frozen=True)
class Match:
    """Words found in a text: their group, position and exact quote; ``cue_start`` is where a
    negation that governs them starts (``None`` when none does)."""

    key: str
    start: int
    end: int
    quote: str
    cue_start: int | None = None

    @property
    def negated(self) -> bool:
        return self.cue_start is not None


@dataclass(frozen=True)
class Folded:
    """A text folded for matching, with the index in ``source`` of each folded character."""

    source: str
    text: str
    origin: tuple[int, ...] | None  # None: folding kept every character in place

    def at(self, pos: int) -> int:
        """Where folded position ``pos`` (or the end, ``len(text)``) is in ``source``."""
        if self.origin is None:
            return pos
        return self.origin[pos] if pos < len(self.text) else len(self.source)

    def index(self, source_pos: int) -> int:
        """Where ``source`` position ``source_pos`` is in the folded text (the inverse of
        ``at``): a phrase found in the source is looked at in the folded text without folding
        the text before it again."""
        return source_pos if self.origin is None else bisect_left(self.origin, source_pos)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of folded ``[start, end)`` (whole source characters)."""
        if self.origin is None:
            return start, end
        return self.at(start), (self.origin[end - 1] + 1 if end > start else self.at(start))

    def match(self, key: str, start: int, end: int, cue_start: int | None = None) -> Match:
        """A :class:`Match` of folded ``[start, end)``, quoted from the source."""
        s, e = self.span(start, end)
        cue = None if cue_start is None else self.at(cue_start)
        return Match(key, s, e, self.source[s:e], cue)


@lru_cache(maxsize=1 << 16)
def _fold_char(ch: str) -> str:
    """One character folded: NFKC, case, and traditional → simplified, character by character
    (never by phrase), so that folding keeps a map back to the text."""
    normal = unicodedata.normalize("NFKC", ch).casefold()
    return simplified(normal)


@lru_cache(maxsize=32)
def folded(text: str) -> Folded:
    """``text`` folded (NFKC, case, traditional → simplified) one character at a time.

    A character NFKC expands ("⑩" → "10", "…" → "...") folds to several; the others stay one
    for one, so a match can always be mapped back to the words it came from.
    """
    if text.isascii():
        return Folded(text, text.lower(), None)
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        f = ch.lower() if ch.isascii() else _fold_char(ch).translate(_PUNCTUATION)
        parts.append(f)
        origin.extend([i] * len(f))
    out = "".join(parts)
    same = len(out) == len(text)
    return Folded(text, out, None if same else tuple(origin))


#: Han characters in traditional form (changed by ``taxonomy.simplified``) a text must hold, at
#: least this many and this share of its Han characters, to count as written in traditional
#: script: a mainland text may carry a stray traditional form (a name, a quoted title), a Hong
#: Kong, Macau or Taiwan one is full of them (幹細胞, 臍帶, 療程, 費用).
TRADITIONAL_MIN = 2
TRADITIONAL_SHARE = 0.1


def in_traditional_script(text: str) -> bool:
    """Whether ``text`` is written in traditional Chinese characters (see ``TRADITIONAL_MIN``).

    Mainland China writes simplified characters; Hong Kong, Macau and Taiwan write traditional
    ones, so Chinese text alone says "mainland" only when it is simplified.
    """
    han = HAN.findall(text)
    changed = sum(1 for ch in han if _fold_char(ch) != unicodedata.normalize("NFKC", ch))
    return changed >= TRADITIONAL_MIN and changed >= TRADITIONAL_SHARE * len(han)


def fold(text: str) -> str:
    """Text as phrases are matched: NFKC, case folded, traditional characters simplified."""
    return folded(text).text


def clause_start(text: str, pos: int, limit: int = 0) -> int:
    """Start of the clause that ``text`` is in at ``pos`` (not before ``limit``)."""
    start = limit
    for m in CLAUSE_BREAK.finditer(text, limit, pos):
        start = m.end()
    return start


def clause_starts(text: str, positions: Iterable[int]) -> dict[int, int]:
    """``clause_start(text, pos)`` of each of ``positions``, from one scan of ``text`` (a
    scan each would cost the length of the text again for every position)."""
    ends = [m.end() for m in CLAUSE_BREAK.finditer(text)]
    starts = {}
    for pos in positions:
        i = bisect_right(ends, pos)
        start = ends[i - 1] if i else 0
        # a scan that stops at ``pos`` also ends a clause at a '.' just before a digit there
        if pos > start and text[pos - 1] == "." and CLAUSE_BREAK.match(text, pos - 1, pos):
            start = pos
        starts[pos] = start
    return starts


#: What may stand between two words of a phrase in a text: spaces, a line break, a hyphen or a
#: dash, any number of them ("stem cells" matches "stem\ncells" and "stem–cells" as pasted).
_GAP = r"[\s\-\u2010-\u2013]+"


def phrase_regex(phrase: str) -> str:
    """A regex for a folded phrase; English words only match whole, and the space or hyphen
    between two words matches any gap of spaces, line breaks and dashes."""
    p = fold(phrase)
    head = r"(?<![a-z0-9])" if p[:1].isascii() and p[:1].isalnum() else ""
    tail = r"(?![a-z0-9])" if p[-1:].isascii() and p[-1:].isalnum() else ""
    body = _GAP.join(re.escape(part) for part in re.split(r"(?<=[^ -])[ -]+(?=[^ -])", p))
    return head + body + tail


class Matcher:
    """Finds the phrase lists and vocabularies of a rule book in text, case-insensitively.

    With ``negation``, a phrase a negation cue governs is marked as negated, and ``find``
    skips it.
    """

    def __init__(self, groups: dict[str, Iterable[str]], negation: Negation | None = None) -> None:
        self._patterns = {
            key: re.compile("|".join(phrase_regex(p) for p in sorted(set(words), key=len)[::-1]))
            for key, words in groups.items()
            if words
        }
        self.negation = negation
        self._cues: tuple[Folded | None, dict[int, int | None]] = (None, {})

    @property
    def keys(self) -> set[str]:
        """The groups this matcher finds."""
        return set(self._patterns)

    def find(self, text: str) -> list[Match]:
        """Every group found, at its first occurrence that is not negated, in text order; of
        two found at one place the longer first (脐带血 is cord blood before 脐带 is a cord)."""
        f = folded(text)
        found = []
        for key, pattern in self._patterns.items():
            for m in pattern.finditer(f.text):
                if self._cue(f, m.start()) is None:
                    found.append(f.match(key, m.start(), m.end()))
                    break
        return sorted(found, key=_text_order)

    def find_all(self, text: str, keys: Iterable[str] | None = None) -> list[Match]:
        """Every occurrence of every group (or of ``keys``), negated or not, in text order."""
        f = folded(text)
        wanted = self._patterns if keys is None else {k: self._patterns[k] for k in keys}
        found = [
            f.match(key, m.start(), m.end(), self._cue(f, m.start()))
            for key, pattern in wanted.items()
            for m in pattern.finditer(f.text)
        ]
        return sorted(found, key=_text_order)

    def _cue(self, f: Folded, start: int) -> int | None:
        """The negation cue before folded ``start``, remembered for the last text read."""
        if self.negation is None:
            return None
        seen, known = self._cues  # one read: another thread may be reading another text
        if seen is not f:
            known = {}
            self._cues = (f, known)
        if start not in known:
            known[start] = self.negation.cue_before(f.text, start)
        return known[start]


def _text_order(m: Match) -> tuple[int, int, str]:
    """Matches in text order; at one place the longer first, then by group."""
    return m.start, m.start - m.end, m.key
