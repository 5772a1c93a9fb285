"""The words a search looks for in a run of Chinese typed without spaces.

Chinese is written without spaces between words, so 干细胞治疗糖尿病 is one term to a query
parser, and it was matched whole, as one substring: it found 1 of the 118 trials naming both
干细胞 and 糖尿病, and 脐带1型糖尿病 none. A run is cut here into the words isletbase knows —
the taxonomy's Chinese labels and aliases, the glossary's words, the place book's names and the
field's common words of ``data/cjk_words.yaml`` — longest first, the words of how a question
is phrased (治疗) dropped, so each word is looked for on its own. Text between known words is
kept as typed, so a name no list holds (协和) is still a substring of its own. A general-purpose
segmenter (jieba) was measured for this: its dictionary costs ~0.9 s and ~80 MB to load, and it
cuts the field's words apart (间充质 → 间 + 充质, 1型 → 1 + 型) unless given these same lists.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml

from isletbase import glossary, places, taxonomy

#: A type's or phase's number before 型 or 期, written as Chinese write it (NFKC-folded and in
#: lower case: Ⅰ型 is i型): 1型, i型, 一型 are one type of diabetes; II期, 二期, 2期 one phase.
NUMBERED = re.compile(r"(?<![a-z0-9一二三四])(iv|iii|ii|i|[1-4]|[一二三四])(?=[型期])")
#: Each number's ways of writing, the digit first.
NUMERALS = (("1", "i", "一"), ("2", "ii", "二"), ("3", "iii", "三"), ("4", "iv", "四"))
#: A way of writing a number → its digit: a run's words are looked up with digits, so
#: 脐带一型糖尿病 finds the label 1型糖尿病 in it (the search then matches each way again).
_DIGIT = {form: forms[0] for forms in NUMERALS for form in forms}


def _key(text: str) -> str:
    """A text as its words are looked up: NFKC, simplified, lower case, numbers as digits."""
    folded = taxonomy.simplified(taxonomy.normalise(text)).lower()
    return NUMBERED.sub(lambda m: _DIGIT[m.group()], folded)


class _Lexicon:
    """The known words (by ``_key``), the stopwords and connectors, and the longest word."""

    def __init__(
        self,
        words: set[str],
        stopwords: set[str],
        connectors: set[str],
        labels: dict[str, str] | None = None,
    ) -> None:
        # a word holding a stopword (the glossary's 干细胞治疗) would keep the stopword in
        # what is looked for, where the stopword is to cut it (干细胞治疗糖尿病: 干细胞, 糖尿病)
        self.words = {w for w in words if not any(s in w for s in stopwords)}
        self.stopwords = stopwords
        self.connectors = connectors
        #: a vocabulary's Chinese alias → its label (第1型糖尿病 → 1型糖尿病, 静脉注射 → 静脉输注)
        self.labels = labels or {}
        self.longest = max(map(len, words | stopwords))

    def match(self, text: str, at: int) -> str | None:
        """The longest known word or stopword of ``text`` starting at ``at``."""
        for end in range(min(len(text), at + self.longest), at + 1, -1):
            if text[at:end] in self.words or text[at:end] in self.stopwords:
                return text[at:end]
        return None


@cache
def _lexicon() -> _Lexicon:
    raw = yaml.safe_load(
        resources.files("isletbase.data").joinpath("cjk_words.yaml").read_text("utf-8")
    )
    tax = taxonomy.load()
    names = [
        name
        for terms in tax.vocabularies.values()
        for term in terms
        for name in (term.label_zh, *term.aliases)
    ]
    names += [*glossary.chinese_words(), *places.chinese_names(), *raw["words"]]
    words = {_key(n) for n in names if len(n) > 1 and not n.isascii()}
    # every classified trial's text holds its value's label, not the alias a reader typed
    labels = {
        _key(alias): _key(term.label_zh)
        for terms in tax.vocabularies.values()
        for term in terms
        for alias in term.aliases
        if not alias.isascii() and _key(alias) != _key(term.label_zh)
    }
    stopwords = {_key(w) for w in raw["stopwords"]}
    return _Lexicon(words, stopwords, {_key(c) for c in raw["connectors"]}, labels)


def words(run: str) -> list[str]:
    """The words of ``run`` (a term of Chinese, lower case, punctuation already split off)
    that a search looks for, each on its own; ``[run]`` where it holds one word or none the
    lists know, only words of how a question is phrased, or only words under three characters
    (北京医院: each would be a scan of every trial, where the run is one lookup in the trigram
    index, and the name is found as written).

    A vocabulary's Chinese alias is looked for as its label, which every trial classified so
    carries (第一型糖尿病 as 1型糖尿病, 静脉注射 as 静脉输注: they found nothing). A character no
    list knows stays a word of its own (肾 in 肾移植), but a Latin one goes with
    the word after it (β细胞); a connector or particle between known words or at the run's
    ends is dropped (用 in 用干细胞治疗, 吗 at the end of a question).
    """
    text = _key(run)
    lexicon = _lexicon()
    out: list[str] = []
    pending, at, known_before = "", 0, True  # the run's start counts as a word's end
    while at < len(text):
        found = lexicon.match(text, at)
        if found is None:
            char = text[at]
            at += 1
            # 脐带血和胰岛: 和 joins two words (not 协和's, after a character no list knows)
            if not (
                char in lexicon.connectors
                and not pending
                and known_before
                and (at == len(text) or lexicon.match(text, at))
            ):
                pending += char
                known_before = False
            continue
        at += len(found)
        known_before = True
        if len(pending) == 1 and not taxonomy.CJK.match(pending):
            found, pending = pending + found, ""  # β细胞: a letter goes with its word
        out += [pending] if pending else []
        out += [] if found in lexicon.stopwords else [lexicon.labels.get(found, found)]
        pending = ""
    if pending:
        out.append(pending)
    if not out or out == [text] or all(len(w) < _INDEXED for w in out):
        return [run]
    return out


#: The shortest term the trigram index serves (shorter ones are a scan of every trial).
_INDEXED = 3
