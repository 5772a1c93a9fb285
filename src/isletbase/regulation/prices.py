"""Prices in offer text: amounts in Arabic or Chinese numerals, multipliers and currencies.

"¥150,000", "15万元", "十万元", "10萬元", "10万一针", "US$1.2 million", "9.5k USD" are all read,
from the folded text (full-width digits and traditional characters already plain), and quoted
from the original. A bare "万" amount with no currency counts only next to a price word ("费用",
"每针") or a unit of treatment ("一针", "每次"), and is taken to be yuan.
"""

from __future__ import annotations

import re

import pycountry

from isletbase.regulation.phrases import Folded, Match, folded

#: currency words and symbols -> ISO code (symbols before the amount, words either side)
CURRENCIES: dict[str, str] = {
    "¥": "CNY", "rmb": "CNY", "cny": "CNY", "yuan": "CNY", "元": "CNY", "人民币": "CNY",
    "元人民币": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "美元": "USD",
    "美金": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR",
    "hk$": "HKD", "hkd": "HKD", "港元": "HKD", "港币": "HKD", "jpy": "JPY", "yen": "JPY",
    "日元": "JPY", "円": "JPY", "thb": "THB", "baht": "THB", "泰铢": "THB",
    "nt$": "TWD", "twd": "TWD", "ntd": "TWD", "新台币": "TWD", "台币": "TWD",
    "mop$": "MOP", "mop": "MOP", "澳门元": "MOP", "澳门币": "MOP", "葡币": "MOP",
}  # fmt: skip
#: Currencies that are one place's own (ISO 4217), so that a price in one says where the offer
#: is (the renminbi only where named as such: ``names_renminbi``).
CURRENCY_PLACES: dict[str, str] = {"HKD": "HK", "MOP": "MO", "TWD": "TW"}
#: Each place's own currency (ISO 4217), for an offer naming two places: its price says which
#: one it is made in. Not the US dollar: clinics in Mexico, Thailand and elsewhere ask for it.
PLACE_CURRENCIES: dict[str, str] = {
    "CN": "CNY", "HK": "HKD", "MO": "MOP", "TW": "TWD", "JP": "JPY", "TH": "THB",
}  # fmt: skip
#: currency before the amount; a Chinese name before it wins over the 元 after it (港币18万元)
_BEFORE = (
    r"hk\$|us\$|nt\$|mop\$|¥|\$|€|(?<![a-z])(?:rmb|cny|usd|eur|hkd|jpy|thb|twd|ntd|mop)"
    r"|人民币|美元|美金|港币|港元|新台币|台币|澳门币|澳门元|葡币|欧元|日元|泰铢"
)
_AFTER = (
    r"人民币|美元|美金|欧元|港元|港币|日元|泰铢|新台币|台币|澳门元|澳门币|葡币|元人民币|元|円"
    r"|(?:rmb|cny|yuan|usd|dollars?|euros?|eur|hkd|jpy|yen|thb|baht|twd|ntd|mop)(?![a-z])"
)
_MULTIPLIERS = {
    "百万": 1e6, "千万": 1e7, "万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2, "k": 1e3, "m": 1e6,
    "mn": 1e6, "million": 1e6, "thousand": 1e3, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_MULT = r"(?:百万|千万|万|亿|千|百|(?:million|thousand|billion|mn|bn|k|m)(?![a-z]))"
_ZH_DIGITS = {
    **dict.fromkeys("零〇", 0), **dict.fromkeys("一壹", 1), **dict.fromkeys("二两贰", 2),
    **dict.fromkeys("三叁", 3), **dict.fromkeys("四肆", 4), **dict.fromkeys("五伍", 5),
    "六": 6, **dict.fromkeys("七柒", 7), **dict.fromkeys("八捌", 8), **dict.fromkeys("九玖", 9),
}  # fmt: skip
_ZH_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_D = "".join(_ZH_DIGITS)
_U = "".join((*_ZH_UNITS, *_ZH_BIG))
# Every repetition below is bounded (a number of at most 15 digits, at most 3 spaces between
# its parts): ``finditer`` tries a pattern at each position of the text, and an unbounded ``\d+``
# or ``\s*`` ran to the end of a long run of digits or spaces from each of them, then gave back
# one character at a time — 12 KB of digits held a server for 20 s. Bounded, a text costs time
# in proportion to its length.
#: a Chinese numeral with at least one unit ("十万", "三十五", "一万五"); a last digit not
#: followed by a measure word ("十万一针" is 十万, one shot)
_ZH_NUM = rf"[{_D}]{{0,4}}[{_U}](?:[{_D}]{{0,4}}[{_U}]){{0,8}}(?:[{_D}](?![针次支剂个]))?"
#: not part of a longer number: "1,50,000" (lakh grouping), "1.2.3" or "1e308" is no price of 1
#: (a comma then a digit may be a clause's end: folding makes "¥180000，3次" "¥180000,3次"; the
#: exponent's sign as \x2b: no repetition sign in a pattern, see the test of their bounds);
#: nor is one read from the middle of a longer one: "150 000 USD" was a price of 0 USD (read
#: from its "000"), which the checker took for no charge, and "$1,000.000" one of $1. Thousands
#: are grouped by commas or by spaces (as Europe and ISO write them, a no-break space folded
#: to one), with decimals after either, or by two or more dots ("1.500.000"); one dot before
#: three digits of a number otherwise plain ("20.000 EUR") is thousands in Europe and a
#: decimal point elsewhere, so it is read as no price rather than as 20. A number after a
#: digit and a space is a price where it is no group of three ("Package 2 35,000 USD").
_ARABIC = (
    r"(?<!\d)(?<!\d[,.])(?!(?<=\d )\d{3}(?!\d|[ ,.]\d))"
    r"(?:(?:\d{1,3}(?:,\d{3}){1,5}|\d{1,3}(?: \d{3}){1,5})(?:\.\d{1,6})?"
    r"|\d{1,3}(?:\.\d{3}){2,5}"
    r"|\d{1,15}(?![, ]\d{3}(?!\d))(?:\.(?!\d{3}(?!\d))\d{1,6})?)"
    r"(?!\d)(?!\.\d)(?!,\d\d,\d)(?!e[-\x2b]?\d)"
)
_NUM = rf"(?P<num>{_ARABIC}|{_ZH_NUM})"
_S = r"\s{0,3}"
_PRICE_WORD = r"(?:费用|价格|收费|报价|售价|花费|仅需|只需|只要|每针|每次|每疗程|疗程费)"
_PER_TREATMENT = r"(?:/|每|一)?(?:针|次|疗程|个疗程|支|剂)"
_PATTERNS = (
    # a 元 after it kept in the quote: "¥30万元" is in yuan, also in Tokyo
    re.compile(rf"(?P<cur>{_BEFORE})\s?{_NUM}{_S}(?P<mult>{_MULT})?(?:{_S}元)?"),
    re.compile(rf"{_NUM}{_S}(?P<mult>{_MULT})?{_S}(?P<cur>{_AFTER})"),
    re.compile(rf"{_PRICE_WORD}{_S}:?{_S}(?:{_ARABIC}{_S}[-~～至到]{_S})?{_NUM}{_S}(?P<mult>万|亿)?"
               rf"(?![人例名位个])(?!{_S}(?:{_AFTER}))"),
    re.compile(rf"{_NUM}{_S}(?P<mult>万|亿)?{_S}{_PER_TREATMENT}"),
)  # fmt: skip


def currency_code(name: str) -> str | None:
    """The ISO code of a currency word or symbol ("rmb", "元", "US$"), an ISO 4217 code as
    given ("gbp"), or ``None`` for neither: three letters that name no currency ("XQZ") were
    taken as one, and a price in it was then judged against no mark, silently."""
    key = name.strip().casefold()
    if key in CURRENCIES:
        return CURRENCIES[key]
    code = key.upper()
    return code if re.fullmatch(r"[A-Z]{3}", code) and is_iso_currency(code) else None


def is_iso_currency(code: str) -> bool:
    """Whether ``code`` is a currency of ISO 4217 (pycountry's copy of the standard's list)."""
    return pycountry.currencies.get(alpha_3=code) is not None


#: Words that name the renminbi and nothing else; 元 and ¥ do not (Taiwan and Hong Kong write
#: 元 for their own dollars, Japan ¥ for yen).
RENMINBI_NAMES = ("人民币", "rmb", "cny", "yuan")


def names_renminbi(words: str) -> bool:
    """Whether ``words`` (a price as quoted) name the renminbi unmistakably (``RENMINBI_NAMES``),
    rather than leave the currency to be assumed (a bare "18万", "10萬元" are read as yuan)."""
    text = folded(words).text
    return any(name in text for name in RENMINBI_NAMES)


def chinese_number(text: str) -> float | None:
    """The value of a Chinese numeral ("十万" 100000, "一万五" 15000, "两千" 2000)."""
    total, section, digit, last_unit = 0, 0, None, 0
    for ch in text:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
            last_unit = 10 if ch in "零〇" else last_unit
        elif ch in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[ch]
            digit, last_unit = None, _ZH_UNITS[ch]
        elif ch in _ZH_BIG:
            section += digit or 0
            total = (total + section) * _ZH_BIG[ch] if ch == "亿" else total + section * 10_000
            section, digit, last_unit = 0, None, _ZH_BIG[ch]
        else:
            return None
    if digit is not None and last_unit:
        digit = digit * last_unit // 10  # "一万五": five thousand
    return float(total + section + (digit or 0))


def _amount(number: str) -> float | None:
    if number[:1].isdigit():
        digits = number.replace(",", "").replace(" ", "")
        return float(digits.replace(".", "") if digits.count(".") > 1 else digits)
    return chinese_number(number)


def find_prices(text: str | Folded) -> list[tuple[float, str, Match, int]]:
    """Every price stated in the text: amount, currency, the words, and where (in the folded
    text) the words start, highest amount first."""
    f = text if isinstance(text, Folded) else folded(text)
    found: dict[tuple[int, int], tuple[float, str, Match, int]] = {}
    for pattern in _PATTERNS:
        for m in pattern.finditer(f.text):
            groups = m.groupdict()
            amount = _amount(groups["num"])
            if not amount and not groups["num"][:1].isdigit():
                continue  # a unit without a number ("万元", "数万元") is no amount
            mult = groups.get("mult")
            is_big = bool(mult) or any(c in groups["num"] for c in _ZH_BIG)
            if "cur" not in groups and not is_big:
                continue  # a bare number is a price only in 万 or 亿
            amount *= _MULTIPLIERS[mult] if mult else 1
            currency = CURRENCIES[groups["cur"]] if groups.get("cur") else "CNY"
            span = (m.start("num"), m.end())
            if span not in found or found[span][0] < amount:
                found[span] = (amount, currency, f.match("price", m.start(), m.end()), m.start())
    return sorted(found.values(), key=lambda p: (-p[0], p[3]))


def find_price(text: str) -> tuple[float, str, Match] | None:
    """The highest price stated in the text, with its currency and the words."""
    prices = find_prices(text)
    return prices[0][:3] if prices else None


#: An amount alone, as a price field may give it: "150,000", "15万", "十万", "1.2 million".
_AMOUNT = re.compile(rf"{_NUM}{_S}(?P<mult>{_MULT})?")


def read_price_field(text: str) -> tuple[float, str | None] | None:
    """What a price field says: its (highest) amount and the currency it names — yuan for an
    amount in 万 or 亿 or in Chinese numerals, as the offer's text reads one next to a price
    word; ``None`` for a bare number — or ``None`` where the field states no price: a number
    written otherwise ("¥1,50,000" and "¥1e308" were read as 1) or after a minus ("-¥5" was
    read as 5)."""
    text = text.strip()
    if (m := _AMOUNT.fullmatch(folded(text).text)) is not None:
        amount = _amount(m["num"])
        if amount is None:
            return None
        chinese = m["mult"] in _ZH_MULTIPLIERS or not m["num"][:1].isdigit()
        return amount * _MULTIPLIERS.get(m["mult"] or "", 1), "CNY" if chinese else None
    found = find_price(text)
    if found is None or text[: found[2].start].rstrip().endswith(("-", "−", "－")):
        return None
    return found[0], found[1]


#: Multipliers that say the amount is written as Chinese write money (15万: yuan).
_ZH_MULTIPLIERS = ("百万", "千万", "万", "亿", "千", "百")
