"""Finding words in offer text: phrase lists (English and Chinese), prices and registry ids.

Matching folds case and full-width forms but keeps offsets into the original text, so each match
can be quoted exactly. English phrases only match whole words ("spa" does not match "space").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

HAN = re.compile(r"[\u3400-\u9fff]")
TRIAL_ID = re.compile(r"\b(NCT\d{8}|ChiCTR[-A-Za-z]*\d{6,})", re.IGNORECASE)
_NUM = r"(\d{1,3}(?:[,，]\d{3})+|\d+)(?:\.\d+)?"
_CUR_BEFORE = {
    "¥": "CNY",
    "￥": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "us$": "USD",
    "usd": "USD",
    "$": "USD",
    "€": "EUR",
    "eur": "EUR",
    "hk$": "HKD",
    "hkd": "HKD",
}
_CUR_AFTER = {
    "元": "CNY",
    "人民币": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "yuan": "CNY",
    "usd": "USD",
    "dollars": "USD",
    "美元": "USD",
    "euros": "EUR",
    "eur": "EUR",
}
_PRICE_BEFORE = re.compile(
    r"(hk\$|us\$|¥|￥|\$|€|rmb|cny|usd|eur|hkd)\s?" + _NUM + r"\s*(万|k\b)?", re.IGNORECASE
)
_PRICE_AFTER = re.compile(
    _NUM + r"\s*(万)?\s*(元|人民币|rmb|cny|yuan|usd|dollars|美元|euros|eur)", re.IGNORECASE
)


@dataclass(frozen=True)
class Match:
    key: str
    start: int
    end: int
    quote: str


class Matcher:
    """Finds the phrase lists and vocabularies of a rule book in text, case-insensitively."""

    def __init__(self, groups: dict[str, Iterable[str]]) -> None:
        self._patterns = {
            key: re.compile("|".join(_phrase_regex(p) for p in sorted(set(words), key=len)[::-1]))
            for key, words in groups.items()
            if words
        }

    def find(self, text: str) -> list[Match]:
        """Every group found, at its first occurrence, in text order."""
        folded = fold(text)
        found = []
        for key, pattern in self._patterns.items():
            m = pattern.search(folded)
            if m:
                found.append(Match(key, m.start(), m.end(), text[m.start() : m.end()]))
        return sorted(found, key=lambda m: (m.start, m.key))


def fold(text: str) -> str:
    """NFKC + casefold keeps offsets for the texts we read (one char in, one char out)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded if len(folded) == len(text) else text.casefold()


def _phrase_regex(phrase: str) -> str:
    p = fold(phrase)
    head = r"(?<![a-z0-9])" if p[:1].isascii() and p[:1].isalnum() else ""
    tail = r"(?![a-z0-9])" if p[-1:].isascii() and p[-1:].isalnum() else ""
    return head + re.escape(p) + tail


def find_price(text: str) -> tuple[float, str, Match] | None:
    """The highest price stated in the text, with its currency and the words."""
    best: tuple[float, str, Match] | None = None
    for pattern, before in ((_PRICE_BEFORE, True), (_PRICE_AFTER, False)):
        for m in pattern.finditer(text):
            groups = m.groups()
            if before:
                cur, mult = _CUR_BEFORE[groups[0].lower()], groups[2]
            else:
                mult, cur = groups[1], _CUR_AFTER[groups[2].lower()]
            whole = m.group(0)
            amount = float(re.sub(r"[,，]", "", re.search(_NUM, whole).group(0)))  # type: ignore[union-attr]
            if mult == "万":
                amount *= 10_000
            elif mult and mult.lower() == "k":
                amount *= 1_000
            if best is None or amount > best[0]:
                best = (amount, cur, Match("price", m.start(), m.end(), whole))
    return best
