"""Reading a clinic's offer: free text (English or Chinese) and/or structured fields → facts.

Each fact names the words it came from (a quote with its position in the text, or the JSON
field), so a finding can show a patient or journalist exactly which sentence triggered it. The
words to look for are data in ``rules.yaml`` (phrase lists, condition and cell vocabularies,
places, negation), each list with the page that names the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from isletbase.errors import InputError
from isletbase.model import Institution
from isletbase.regulation.charges import charge_words
from isletbase.regulation.facts import Evidence, Fact
from isletbase.regulation.negation import Negation
from isletbase.regulation.offer import Offer
from isletbase.regulation.phrases import (
    HAN,
    Match,
    Matcher,
    fold,
    folded,
    in_traditional_script,
    phrase_regex,
    trial_id,
)
from isletbase.regulation.prices import (
    CURRENCY_PLACES,
    PLACE_CURRENCIES,
    find_prices,
    names_renminbi,
    read_price_field,
)
from isletbase.regulation.rules import RuleBook
from isletbase.store.institutions import InstitutionIndex


class Extractor:
    """Turns an :class:`Offer` into facts, using one rule book's vocabularies."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self.negation = Negation.of(book)
        self.phrases = Matcher({k: (*v.en, *v.zh) for k, v in book.phrases.items()}, self.negation)
        self.conditions = Matcher({k: (*v.en, *v.zh) for k, v in book.conditions.items()})
        self.cells = Matcher({k: (*v.en, *v.zh) for k, v in book.cell_sources.items()})
        # read whether negated or not: "免排异干细胞" is still about cells
        self.cell_words = Matcher(_words(book, "cell_therapy"))
        # longest first, so "前往" is read whole where "往" alone is no cue
        cues = map(fold, _words(book, "destination").get("destination", ()))
        self.destinations = sorted(cues, key=lambda cue: (-len(cue), cue))
        # place words that begin with a destination cue (赴港, 赴日) are matched apart, so that
        # 赴日 does not hide the 日本 of 赴日本 from the other place words
        sent = {k: [w for w in (*v.en, *v.zh) if self._cued(w)] for k, v in book.places.items()}
        self.places = Matcher(
            {k: [w for w in (*v.en, *v.zh) if not self._cued(w)] for k, v in book.places.items()}
        )
        self.sent_to = Matcher({k: w for k, w in sent.items() if w})
        origin = book.phrases.get("origin")
        self.origin_before = tuple(fold(w) for w in origin.en) if origin else ()
        self.origin_after = tuple(fold(w) for w in origin.zh) if origin else ()

    def extract(
        self,
        offer: Offer,
        institutions: Iterable[Institution] = (),
        today: date | None = None,
        *,
        named: Institution | None = None,
    ) -> dict[str, Fact]:
        """All facts the offer states or implies, each with its evidence.

        ``named`` is the directory entry the offer's ``institution`` field names, where the
        caller matched it already (``check_offer`` does, pinyin included); otherwise it is
        matched against ``institutions`` here.
        """
        facts: dict[str, Fact] = {}
        text = offer.text or ""
        insts = list(institutions)
        self._from_text(text, facts, insts)
        self._from_fields(offer, facts, insts, named)
        self._derive(facts, bool(text), today or date.today())
        self._cell_therapy(facts, text, _described(offer))
        return facts

    # -- text ---------------------------------------------------------------------------
    def _from_text(self, text: str, facts: dict[str, Fact], insts: list[Institution]) -> None:
        if not text:
            return
        hits = {m.key: m for m in self.phrases.find(text)}
        claims = [m for k, m in hits.items() if k in _CLAIM_CODES]
        if claims:
            facts["claims"] = Fact("claims", [m.key for m in claims], [_ev(m) for m in claims])
        conds = self.conditions.find(text)
        if conds:
            facts["conditions_treated"] = Fact(
                "conditions_treated", [m.key for m in conds], [_ev(m) for m in conds]
            )
        cells = self.cells.find(text)
        if cells:
            facts["cell_source"] = Fact("cell_source", cells[0].key, [_ev(cells[0])])
        therapy = self.cell_words.find(text)
        if therapy:
            facts["cell_therapy"] = Fact("cell_therapy", True, [_ev(therapy[0])])
        for key, fact_field, value in _SIGNALS:
            if key in hits:
                facts[fact_field] = Fact(fact_field, value, [_ev(hits[key])])
        price = self._price(text)
        if price:
            amount, currency, m = price
            facts["price_amount"] = Fact("price_amount", amount, [_ev(m)])
            facts["price_currency"] = Fact("price_currency", currency, [_ev(m)])
        self._charges(text, price, facts)
        registered = trial_id(text)
        if registered:
            m = Match("trial", registered.start(), registered.end(), registered.group(0))
            facts["registered_trial_id"] = Fact("registered_trial_id", m.quote, [_ev(m)])
        country = self._country_of_text(text, price)
        if country is not None:
            facts["country"] = country
        inst = _find_institution(text, insts)
        if inst:
            inst_obj, m = inst
            facts["institution"] = Fact("institution", inst_obj.display_name, [_ev(m)])
            self._institution_facts(inst_obj, facts)

    def _country_of_text(self, text: str, price: tuple[float, str, Match] | None) -> Fact | None:
        """Where the text says the offer is: the place it names (see ``_place_named``); else
        the currency of its price where that is one place's own (Hong Kong, Macau or Taiwan
        dollars); else mainland China where it is written in simplified Chinese or priced in
        renminbi by name (人民币, RMB: a bare 18萬 or 10萬元 is read as yuan, but Taiwan and
        Hong Kong write 元 for their dollars). Traditional characters alone say nothing
        either: Hong Kong, Macau, Taiwan and many overseas Chinese write them."""
        places = self.places.find(text)
        named = self._place_named(text, places, price)
        if named is not None:
            return named
        if price and price[1] in CURRENCY_PLACES:
            why = Evidence.said(
                "derived", "price_in", currency=price[1], quote=price[2].quote.strip()
            )
            return Fact("country", CURRENCY_PLACES[price[1]], [why])
        if HAN.search(text) and not in_traditional_script(text):
            why = Evidence.said("derived", "simplified_chinese", quote=text.strip()[:20])
        elif price and price[1] == "CNY" and names_renminbi(price[2].quote):
            why = Evidence.said("derived", "price_in_yuan", quote=price[2].quote.strip())
        else:
            return None
        return Fact("country", "CN", [why])

    def _cued(self, word: str) -> bool:
        """Whether a place word begins with a destination cue (赴港)."""
        return any(fold(word).startswith(cue) for cue in self.destinations)

    def _place_named(
        self, text: str, places: list[Match], price: tuple[float, str, Match] | None
    ) -> Fact | None:
        """Of the places a text names: the one it names as where to go, at any mention (赴日本,
        赴港, "fly to Bangkok"; not where negated: "无需赴日"); else, passing over where the
        patients come from (中国患者, "patients from California"), the one whose own currency
        its price is in (…东京…300万日元); else the first named (of two at one spot the
        longer: 中国香港 is Hong Kong), never one named as where not to go. Agencies sending
        patients abroad name China first."""
        f = folded(text)  # once: each mention is looked at by its position in it
        not_going = set()  # mentions named as where not to go ("no need to travel to Mexico")
        for m in self.places.find_all(text):
            end = f.index(m.start)
            while end and f.text[end - 1].isspace():
                end -= 1
            cue = next((c for c in self.destinations if _ends_with_words(f.text, c, end)), None)
            if cue is not None and self._negated(f.text, end - len(cue)):
                not_going.add(m.start)
            elif cue is not None:
                why = Evidence.said("derived", "destination_cue", cue=cue, quote=m.quote)
                return Fact("country", m.key, [_ev(m), why])
        for m in self.sent_to.find_all(text):
            if not self._negated(f.text, f.index(m.start)):
                why = Evidence.said("derived", "destination", quote=m.quote)
                return Fact("country", m.key, [_ev(m), why])
        places = [  # nor is it the first named; and of two at one spot, the longer (中国香港)
            m
            for m in places
            if m.start not in not_going
            and not any(
                o.start <= m.start and m.end <= o.end and o.end - o.start > m.end - m.start
                for o in places
            )
        ]
        if not places:
            return None
        treated = [m for m in places if not self._is_origin(text, m)] or places
        if price is not None and len(places) > 1:
            for m in treated:
                if PLACE_CURRENCIES.get(m.key) == price[1]:
                    why = Evidence.said(
                        "derived", "price_in", currency=price[1], quote=price[2].quote.strip()
                    )
                    return Fact("country", m.key, [_ev(m), why])
        return Fact("country", treated[0].key, [_ev(treated[0])])

    def _negated(self, folded_text: str, at: int) -> bool:
        """Whether a negation governs the words at ``at`` of ``folded_text``."""
        return self.negation is not None and self.negation.cue_before(folded_text, at) is not None

    def _is_origin(self, text: str, m: Match) -> bool:
        """Whether place ``m`` is where patients come from (中国患者, "patients from China")."""
        after = fold(text[m.end : m.end + 4])
        before = fold(text[max(0, m.start - 24) : m.start]).rstrip()
        return after.startswith(self.origin_after) or any(
            _ends_with_words(before, w, len(before)) for w in self.origin_before
        )

    def _price(self, text: str) -> tuple[float, str, Match] | None:
        """The highest price the text states that no negation governs ("无需支付10万元")."""
        f = folded(text)
        for amount, currency, m, start in find_prices(f):
            if self.negation is None or self.negation.cue_before(f.text, start) is None:
                return amount, currency, m
        return None

    def _charges(
        self, text: str, price: tuple[float, str, Match] | None, facts: dict[str, Fact]
    ) -> None:
        """Whether the patient pays: a price says so (a price of 0 says not); otherwise charge
        words do, unless negated ("不收取受试者费用", "no fee") or in a clause that says who
        else pays ("费用由申办方承担", "the sponsor covers the cost"). Words both ways leave
        it unknown."""
        if price:
            amount, _, m = price
            facts["charges_patient"] = Fact("charges_patient", amount > 0, [_ev(m)])
            return
        said, said_not = charge_words(self.phrases, text)
        if said and said_not:
            return
        if said_not:
            evidence = [_ev(m, text) for m in said_not]
            facts["charges_patient"] = Fact("charges_patient", False, evidence)
        elif said:
            facts["charges_patient"] = Fact("charges_patient", True, [_ev(said[0])])

    # -- structured fields --------------------------------------------------------------
    def _from_fields(
        self,
        offer: Offer,
        facts: dict[str, Fact],
        insts: list[Institution],
        named: Institution | None,
    ) -> None:
        given = offer.model_dump(
            exclude_none=True,
            exclude={"text", "price", "currency", "claims", "conditions_treated", "date"},
        )
        for name, value in given.items():
            if name == "cell_source":
                facts["cell_autologous"] = Fact(
                    "cell_autologous", value.lower() == "autologous", [_json("cell_source", value)]
                )
            if name == "country":
                facts[name] = Fact(name, self._country(value), [_json(name, value)])
                continue
            facts[name] = Fact(name, value, [_json(name, value)])
        if offer.institution:
            # the offer names its own institution: what its text's mention of another one gave
            # (its filing, its country: a Bangkok clinic naming Kyoto University Hospital was
            # placed in Japan) is not the offer's
            for name in ("institution_id", "institution_filed"):
                facts.pop(name, None)
            if "country" in facts and facts["country"].evidence[0].source == "database":
                del facts["country"]
            matched = named or _match_name(offer.institution, insts)
            if matched:
                self._institution_facts(matched, facts)
        if offer.date:
            facts["as_of"] = Fact("as_of", offer.date, [_json("date", offer.date)])
        if offer.price is not None:
            parsed = read_price_field(offer.price) if isinstance(offer.price, str) else None
            # Offer's validator lets through a float or a price text read_price_field reads
            amount = parsed[0] if parsed else float(offer.price)
            currency = offer.currency or (parsed[1] if parsed else None)
            facts["price_amount"] = Fact("price_amount", amount, [_json("price", offer.price)])
            if currency:  # named by the currency field, or read from the price's own words
                facts["price_currency"] = Fact(
                    "price_currency",
                    currency,
                    [
                        _json("currency", offer.currency)
                        if offer.currency
                        else _json("price", offer.price)
                    ],
                )
            if offer.charges_patient is None:
                facts["charges_patient"] = Fact(
                    "charges_patient", amount > 0, [_json("price", offer.price)]
                )
        for name, matcher in (("claims", self.phrases), ("conditions_treated", self.conditions)):
            items: list[str] = getattr(offer, name)
            if not items:
                continue
            codes = list(facts[name].value) if name in facts else []
            evidence = list(facts[name].evidence) if name in facts else []
            for item in items:
                found = [m.key for m in matcher.find(item)]
                if name == "claims":
                    code = item.strip().lower()  # GUARANTEED, No_Side_Effects: codes too
                    found = [k for k in found if k in _CLAIM_CODES] or (
                        [code] if code in _CLAIM_CODES else []
                    )
                    if not found:  # kept as given, it matched no rule: a check silently weaker
                        raise InputError(
                            f"offer: field 'claims': {item!r} is no claim this checker knows;"
                            f" give a code ({', '.join(sorted(_CLAIM_CODES))}) or the offer's"
                            " words for it"
                        )
                found = found or [item.strip().lower()]
                for code in found:
                    if code not in codes:
                        codes.append(code)
                evidence.append(_json(name, item))
            facts[name] = Fact(name, codes, evidence)

    def _country(self, value: str) -> str:
        """The rule book's code for a country field ("China", "中国", "PRC" → CN)."""
        if not self.book.countries:
            return value
        code = self.book.country_code(value)
        if code is None:
            known = ", ".join(self.book.countries)
            raise InputError(
                f"offer: field 'country': unknown country {value!r}; expected a code or name"
                f" of one of {known} (leave it out for another country)"
            )
        return code

    def _institution_facts(self, inst: Institution, facts: dict[str, Fact]) -> None:
        source = inst.filing_source_url or inst.source_url
        facts["institution_id"] = Fact(
            "institution_id",
            inst.id,
            [
                Evidence.said(
                    "database", "directory_entry", zh={"id": inst.name_for_chinese}, id=inst.id
                )
            ],
        )
        seen = "filing_seen" if inst.filed_stem_cell_institution else "filing_not_seen"
        facts["institution_filed"] = Fact(
            "institution_filed",
            inst.filed_stem_cell_institution,
            [Evidence.said("database", seen, source=source)],
        )
        if inst.country and "country" not in facts:
            code = self.book.country_code(inst.country) or inst.country
            facts["country"] = Fact(
                "country", code, [Evidence("database", f"{inst.id}: {inst.country}")]
            )

    # -- derived ------------------------------------------------------------------------
    def _derive(self, facts: dict[str, Fact], from_text: bool, today: date) -> None:
        if "as_of" not in facts:
            facts["as_of"] = Fact(
                "as_of", today.isoformat(), [Evidence.said("derived", "check_date")]
            )
        if from_text and "is_advertisement" not in facts:
            facts["is_advertisement"] = Fact(
                "is_advertisement", True, [Evidence.said("derived", "offer_text")]
            )
        trial = facts.get("claims_to_be_trial")
        if (
            "offered_as_routine_treatment" not in facts
            and "price_amount" in facts
            and not (trial and trial.value)
        ):
            facts["offered_as_routine_treatment"] = Fact(
                "offered_as_routine_treatment", True, list(facts["price_amount"].evidence)
            )
        conds = facts.get("conditions_treated")
        if conds:
            systems = {self._system(c) for c in conds.value}
            facts["condition_systems"] = Fact("condition_systems", len(systems), conds.evidence)
            facts["treats_many_unrelated_conditions"] = Fact(
                "treats_many_unrelated_conditions",
                len(conds.value) >= 3 and len(systems) >= 2,
                conds.evidence,
            )
            diabetic = [
                e
                for v, e in zip(conds.value, conds.evidence, strict=False)
                if v in {"diabetes", "diabetic_foot"}
            ]
            facts["mentions_diabetes"] = Fact("mentions_diabetes", bool(diabetic), diabetic)
        self._place_currency(facts)
        amount, currency = facts.get("price_amount"), facts.get("price_currency")
        if amount and currency and isinstance(amount.value, int | float):
            marks = self.book.param("high_price")
            limit = marks.get(currency.value)
            evidence = list(dict.fromkeys([*amount.evidence, *currency.evidence]))
            if limit is not None:
                facts["price_high"] = Fact("price_high", amount.value >= limit, evidence)
            else:  # said, not left out: a reader should know the price was not judged
                why = Evidence.said(
                    "derived",
                    "no_price_mark",
                    currency=currency.value,
                    marked=", ".join(sorted(marks)),
                )
                facts["price_high"] = Fact("price_high", None, [*evidence, why])

    def _place_currency(self, facts: dict[str, Fact]) -> None:
        """A price in ¥ or 元 read as yuan, in an offer made where they name that place's own
        money: ¥ is the yen in Japan, 元 and 萬元 Hong Kong's, Macau's and Taiwan's dollars
        (``prices.RENMINBI_NAMES``); 元 elsewhere (Tokyo, Bangkok) is the yuan of the Chinese
        reader written to. A price naming the renminbi (人民币, RMB, also after 元), or a
        currency given in its own field, stays as said. ¥30,000 in Tokyo (~US$200) was a high
        price."""
        currency, country = facts.get("price_currency"), facts.get("country")
        if currency is None or country is None or currency.value != "CNY":
            return
        own = PLACE_CURRENCIES.get(country.value)
        said = " ".join(e.quote for e in currency.evidence)
        if own in (None, "CNY") or said.startswith("currency:") or names_renminbi(said):
            return
        # ¥ is the yen in Japan alone, and 元 a dollar only where it names one: a Chinese
        # agency's "东京…30万元" or "赴泰国…18万元" is in yuan (was read as yen, and as baht)
        yen_sign = "¥" in said or "￥" in said
        local_dollar = own in _YUAN_WORD_PLACES and not yen_sign
        yen = own == "JPY" and yen_sign and "元" not in said
        if not (local_dollar or yen):
            return
        where = {"country": self.book.country_name(country.value, "zh")}
        why = Evidence.said("derived", "own_money", zh=where, country=country.value, own=own)
        facts["price_currency"] = Fact("price_currency", own, [*currency.evidence, why])

    @staticmethod
    def _cell_therapy(facts: dict[str, Fact], text: str, described: bool) -> None:
        """Whether the offer is about a cell or gene therapy, where nothing said so already: a
        cell source named says it is; a text naming neither that nor such a therapy (an insulin
        pump, a diet) says it is not — unless fields describe the offer beyond its text (a
        clinic's name pasted beside them says nothing), or the text is in a script whose words
        the rule book does not hold (Korean, Thai, Cyrillic…). Otherwise it stays unknown, and
        the rules on such therapies still read the offer (``check`` is for such offers)."""
        if "cell_therapy" in facts:
            return
        source = facts.get("cell_source")
        if source is not None:
            facts["cell_therapy"] = Fact("cell_therapy", True, list(source.evidence))
        elif text.strip() and not described and not _UNREAD_SCRIPT.search(text):
            why = Evidence.said("derived", "no_cell_therapy")
            facts["cell_therapy"] = Fact("cell_therapy", False, [why])

    def _system(self, condition: str) -> str:
        vocab = self.book.conditions.get(condition)
        return vocab.system if vocab and vocab.system else condition


_CLAIM_CODES = {
    "cure", "guaranteed", "no_side_effects", "permanent", "cure_all", "absolutely_safe",
    "one_shot", "efficacy_rate", "insulin_free", "nmpa_approved", "ind_claim", "fda_claim",
    "registry_as_approval", "minimally_manipulated", "lecheng",
}  # fmt: skip
#: phrase list -> (fact field, value it sets)
_SIGNALS = (
    ("testimonial", "testimonial_based", True),
    ("trial", "claims_to_be_trial", True),
    ("routine_treatment", "offered_as_routine_treatment", True),
    ("ethics", "ethics_approval", True),
    ("consent", "informed_consent", True),
    ("overseas", "arranges_overseas_treatment", True),
    ("beauty_salon", "provider_type", "beauty_salon"),
    ("autologous", "cell_autologous", True),
)
#: Places whose own dollars Chinese writes 元 (港元, 澳门元, 新台币 元): a price in 元 made there
#: is in them.
_YUAN_WORD_PLACES = frozenset(("HKD", "MOP", "TWD"))
#: Letters of scripts the rule book holds no words of (Cyrillic, Hebrew, Arabic, the Indic
#: scripts, Thai, Hangul): a text in one may name a cell therapy ``check`` cannot read.
_UNREAD_SCRIPT = re.compile("[\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0e7f\uac00-\ud7af]")
#: Offer fields that say nothing of what is offered.
_NOT_DESCRIBING = {"text", "institution", "registered_trial_id", "date", "country"}


def _described(offer: Offer) -> bool:
    """Whether fields describe the offer besides its text (a price, claims, a cell source…)."""
    return bool(offer.model_dump(exclude_none=True, exclude_defaults=True, exclude=_NOT_DESCRIBING))


def _words(book: RuleBook, name: str) -> dict[str, tuple[str, ...]]:
    """One phrase list of ``book`` as a matcher's group (none where the book lacks it)."""
    words = book.phrases.get(name)
    return {name: (*words.en, *words.zh)} if words else {}


def _ends_with_words(text: str, words: str, end: int) -> bool:
    """Whether ``text[:end]`` ends with ``words``, English ones whole ("go to", not "cargo
    to")."""
    start = end - len(words)
    if start < 0 or not text.startswith(words, start):
        return False
    before = text[start - 1 : start]
    return not (words[:1].isascii() and before.isascii() and before.isalnum())


def _json(name: str, value: Any) -> Evidence:
    return Evidence("json", f"{name}: {value}")


def _ev(m: Match, text: str = "") -> Evidence:
    """Evidence of words in the text; a negated phrase is quoted from its negation on."""
    if m.cue_start is not None and text:
        return Evidence("text", text[m.cue_start : m.end], m.cue_start, m.end)
    return Evidence("text", m.quote, m.start, m.end)


def _match_name(name: str, insts: Iterable[Institution]) -> Institution | None:
    """The directory entry a given name refers to (same folding as the store's matcher)."""
    insts = list(insts)
    found = InstitutionIndex.from_institutions(insts).match(name)
    return next((i for i in insts if i.id == found), None)


def _find_institution(text: str, insts: Iterable[Institution]) -> tuple[Institution, Match] | None:
    """The directory institution whose longest name or alias appears in the text as whole
    words; an alias in capitals (an acronym: "MOST", "SANA") only as written. A regulator is
    not looked for: an offer names one to claim its approval ("国家药监局批准"), not as who
    offers it (the offer was checked against the NMPA's filing status)."""
    f = folded(text)
    best: tuple[int, Institution, Match] | None = None
    for inst in insts:
        if inst.type == "regulator":
            continue
        for name in (inst.name_en, inst.name_zh, *inst.aliases):
            if not name or len(name) < 4 or (best is not None and len(name) <= best[0]):
                continue
            if name.isascii() and name.isupper():
                if name not in text:  # a substring test first: most names are not there
                    continue
                pattern = rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])"
                m = re.search(pattern, text)
                found = Match("institution", m.start(), m.end(), m.group(0)) if m else None
            else:
                if fold(name) not in f.text:
                    continue
                m = re.search(phrase_regex(name), f.text)
                found = f.match("institution", m.start(), m.end()) if m else None
            if found:
                best = (len(name), inst, found)
    return (best[1], best[2]) if best else None
