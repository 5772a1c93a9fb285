"""Whether words say the patient pays: charge words, unless negated or paid by someone else.

"费用" or "fee" alone says a patient pays; "不收取受试者费用", "no fee for participants" say they
do not (a negation governs the charge word), and so do "研究相关费用由申办方承担" and "the
sponsor covers the cost" (a charge word in the same clause as words naming another payer).
Offers and trial records are read the same way; where words say both, the caller leaves
``charges_patient`` unknown rather than guess.
"""

from __future__ import annotations

import re

from isletbase.regulation.phrases import Match, Matcher, clause_start

#: phrase lists of words that a patient pays, and of words that someone else does
CHARGED = frozenset({"charges", "trial_charges"})
NOT_CHARGED = frozenset({"free", "sponsor_pays"})
#: Words that turn a sentence to another payer ("the sponsor covers travel and you pay …").
_TURN = re.compile(r"(?<![a-z])(?:and|but|while|whereas|however)(?![a-z])|[但而却]")


def _turned(text: str, payer: Match, charge: Match) -> bool | None:
    """Whether a turn to another subject separates words naming another payer from a charge
    word of their clause ("the sponsor covers travel and you pay"); ``None`` when the two
    are in different clauses. Not turned, the payer speaks of that charge word."""
    if clause_start(text, payer.start) != clause_start(text, charge.start):
        return None
    lo, hi = (payer.end, charge.start) if payer.end <= charge.start else (charge.end, payer.start)
    return _TURN.search(text, lo, hi) is not None


def charge_words(matcher: Matcher, text: str) -> tuple[list[Match], list[Match]]:
    """(words saying the patient pays, words saying they do not) in ``text``, in text order."""
    hits = matcher.find_all(text, (CHARGED | NOT_CHARGED) & matcher.keys)
    others_pay = [m for m in hits if m.key in NOT_CHARGED and not m.negated]
    words = [m for m in hits if m.key in CHARGED]
    said_not = [m for m in words if m.negated]
    said = [
        m
        for m in words
        if not m.negated and not any(_turned(text, p, m) is False for p in others_pay)
    ]
    if said:  # a payer turned away from a charge word pays for something else (travel)
        others_pay = [p for p in others_pay if not any(_turned(text, p, m) for m in said)]
    return said, sorted([*others_pay, *said_not], key=lambda m: m.start)
