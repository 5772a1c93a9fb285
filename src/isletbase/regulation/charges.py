"""Whether words say the patient pays: charge words, unless negated or paid by someone else.

"费用" or "fee" alone says a patient pays; "不收取受试者费用", "no fee for participants" say they
do not (a negation governs the charge word), and so do "研究相关费用由申办方承担" and "the
sponsor covers the cost" (a charge word in the same clause as words naming another payer).
Offers and trial records are read the same way; where words say both, the caller leaves
``charges_patient`` unknown rather than guess.
"""

from __future__ import annotations

import re

from isletbase.regulation.phrases import Match, Matcher, clause_starts

#: phrase lists of words that a patient pays, and of words that someone else does
CHARGED = frozenset({"charges", "trial_charges"})
NOT_CHARGED = frozenset({"free", "sponsor_pays"})
#: Words that turn a sentence to another payer ("the sponsor covers travel and you pay …").
_TURN = re.compile(r"(?<![a-z])(?:and|but|while|whereas|however)(?![a-z])|[但而却]")


def _turned(text: str, payer: Match, charge: Match) -> bool:
    """Whether a turn to another subject separates words naming another payer from a charge
    word of their clause ("the sponsor covers travel and you pay"). Not turned, the payer
    speaks of that charge word."""
    lo, hi = (payer.end, charge.start) if payer.end <= charge.start else (charge.end, payer.start)
    return _TURN.search(text, lo, hi) is not None


def charge_words(matcher: Matcher, text: str) -> tuple[list[Match], list[Match]]:
    """(words saying the patient pays, words saying they do not) in ``text``, in text order.

    A payer and a charge word speak of each other only within one clause, so only the pairs
    of a clause are compared (comparing every pair of a long text cost its length cubed)."""
    hits = matcher.find_all(text, (CHARGED | NOT_CHARGED) & matcher.keys)
    clause = clause_starts(text, (m.start for m in hits))
    others_pay = [m for m in hits if m.key in NOT_CHARGED and not m.negated]
    payers: dict[int, list[Match]] = {}
    for p in others_pay:
        payers.setdefault(clause[p.start], []).append(p)
    words = [m for m in hits if m.key in CHARGED]
    said_not = [m for m in words if m.negated]
    said = [
        m
        for m in words
        if not m.negated and all(_turned(text, p, m) for p in payers.get(clause[m.start], ()))
    ]
    if said:  # a payer turned away from a charge word pays for something else (travel)
        charged: dict[int, list[Match]] = {}
        for m in said:
            charged.setdefault(clause[m.start], []).append(m)
        others_pay = [
            p
            for p in others_pay
            if not any(_turned(text, p, m) for m in charged.get(clause[p.start], ()))
        ]
    return said, sorted([*others_pay, *said_not], key=lambda m: m.start)
