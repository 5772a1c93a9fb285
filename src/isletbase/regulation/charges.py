"""Whether words say the patient pays: charge words, unless negated or paid by someone else.

"费用" or "fee" alone says a patient pays; "不收取受试者费用", "no fee for participants" say they
do not (a negation governs the charge word), and so do "研究相关费用由申办方承担" and "the
sponsor covers the cost" (a charge word in the same clause as words naming another payer).
Offers and trial records are read the same way; where words say both, the caller leaves
``charges_patient`` unknown rather than guess.
"""

from __future__ import annotations

from isletbase.regulation.phrases import Match, Matcher, clause_start

#: phrase lists of words that a patient pays, and of words that someone else does
CHARGED = frozenset({"charges", "trial_charges"})
NOT_CHARGED = frozenset({"free", "sponsor_pays"})


def charge_words(matcher: Matcher, text: str) -> tuple[list[Match], list[Match]]:
    """(words saying the patient pays, words saying they do not) in ``text``, in text order."""
    hits = matcher.find_all(text, (CHARGED | NOT_CHARGED) & matcher.keys)
    others_pay = [m for m in hits if m.key in NOT_CHARGED and not m.negated]
    covered = {clause_start(text, m.start) for m in others_pay}
    words = [m for m in hits if m.key in CHARGED]
    said_not = [m for m in words if m.negated]
    said = [m for m in words if not m.negated and clause_start(text, m.start) not in covered]
    return said, sorted([*others_pay, *said_not], key=lambda m: m.start)
