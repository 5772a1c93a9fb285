"""Negation: whether a phrase found in an offer is said, or said not to be ("不能根治", "no fee").

The method is NegEx (Chapman et al. 2001): a negation cue governs the words that follow it for
a few words, up to the end of the clause or a termination word ("but", "但"); pseudo-negations
look like cues but negate nothing ("not only", "不仅", "免疫"). The cues, pseudo-negations,
termination words and window are data (``negation`` in ``rules.yaml``). A phrase of the rule
book that itself starts with a cue ("无副作用", "no side effects") is read as that phrase, never
as a cue for what follows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from isletbase.regulation.phrases import HAN, clause_start, fold, phrase_regex
from isletbase.regulation.rules import NegationSpec, RuleBook

_WORD = re.compile(r"[a-z0-9'’]+")
#: Characters looked at before a phrase (a window of words or characters is far shorter).
_LOOKBACK = 80


def _alternation(words: Iterable[str]) -> str:
    folded = sorted({fold(w) for w in words if w.strip()}, key=len, reverse=True)
    return "|".join(phrase_regex(w) for w in folded) or "(?!)"


class Negation:
    """Finds the negation cue, if any, that governs a phrase at a position of folded text."""

    def __init__(self, spec: NegationSpec, phrases: Iterable[str] = ()) -> None:
        payment = (*spec.payment_cues.en, *spec.payment_cues.zh)
        self._cues = re.compile(_alternation((*spec.cues.en, *spec.cues.zh, *payment)))
        self._payment = {fold(w) for w in payment}
        own = [p for p in phrases if self._cues.match(fold(p))]
        pseudo = [*spec.pseudo.en, *spec.pseudo.zh, *own]
        self._pseudo = re.compile(_alternation(pseudo))
        self._longest = max((len(fold(p)) for p in pseudo), default=0)
        self._stops = re.compile(_alternation((*spec.terminators.en, *spec.terminators.zh)))
        self.window_words = spec.window_words
        self.window_han = spec.window_han
        self.window_han_short = spec.window_han_short

    @classmethod
    def of(cls, book: RuleBook) -> Negation | None:
        """The rule book's negation, knowing its phrase lists (``None`` if it has none)."""
        if book.negation is None:
            return None
        words = [w for p in book.phrases.values() for w in (*p.en, *p.zh)]
        return cls(book.negation, words)

    def cue_before(self, text: str, start: int) -> int | None:
        """Start of the cue in folded ``text`` that negates the phrase at ``start``, or None.

        The last cue of the clause before the phrase counts, unless a pseudo-negation or a
        termination word comes after it or more than the window lies between.
        """
        begin = clause_start(text, start, max(0, start - _LOOKBACK))
        cue = None
        for cue in self._cues.finditer(text, begin, start):  # noqa: B007 - the last one
            pass
        if cue is None:
            return None
        lo = max(begin, cue.start() - self._longest)
        for pseudo in self._pseudo.finditer(text, lo, start):
            if pseudo.start() <= cue.start() and pseudo.end() >= cue.end():
                return None
        if self._stops.search(text, cue.end(), start):
            return None
        between = text[cue.end() : start]
        if len(_WORD.findall(between)) > self.window_words:
            return None
        window = self.window_han if cue.group() in self._payment else self.window_han_short
        if len(HAN.findall(between)) > window:
            return None
        return cue.start()
