"""ChiCTR (chictr.org.cn) record pages → ``TrialRecord``: bilingual label/value tables.

A ChiCTR record page (``showproj.html?proj=…`` or a version page ``hvshowproject.html?id=…``)
is a set of tables whose rows pair a label cell with a value cell, each field twice: the
Chinese label and value (``注册题目：``), then the English ones (``Public title:``). The parser
reads every label/value pair, whatever the row layout, and maps them by label in either
language; fields the page lacks stay ``None``. Ids are new style (``ChiCTR2300071975``) or
old style with a study-type infix (``ChiCTR-TRC-10000986``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path

from pydantic import ValidationError

from isletbase import places
from isletbase.errors import InputError
from isletbase.model import TrialRecord, canonical_id
from isletbase.sources import NOT_FOLLOWED, RawRecord, codec_for, files_in, followed
from isletbase.sources.curated import describe
from isletbase.taxonomy import simplified

SOURCE = "ChiCTR"
ID_PATTERN = re.compile(r"\bChiCTR(?:-[A-Z]{2,5}-|[- ])?\d{8,10}\b", re.IGNORECASE)
NCT_PATTERN = re.compile(r"\bNCT\d{8}\b", re.IGNORECASE)
#: A date as the pages write it: 2009-09-01, 2009/9/1, 2009.9.1 or 2009年9月1日.
YMD_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
#: A month as the pages write it, where no day is given: 2021.01, 2021-1, 2021年1月.
_YM_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?!\d)(?!\s*[-/.月]\s*\d)")
#: A year alone, where a period gives neither day nor month (2025 ~ 2026): this century's or
#: the last, so that a number of patients (1200) is no year.
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
#: What parts a study period's start from its end: 2021.01 ~ 2023.12, From … To …, 2021年至2023年;
#: the bilingual page writes both words ("从 From 2026-09-21 至 To 2031-12-31"), one separator.
_UNTIL = re.compile(r"至\s*to\b|~|～|至|—|–|\s-\s|\bto\b", re.IGNORECASE)


def _period(execute: str, ref: str) -> list[str | None]:
    """The start and end dates of a study period as the page writes it — 2009-09-01 ~
    2011-12-31, to the month (2021.01 ~ 2023.12) or the year (2025 ~ 2026), each half at its
    own precision — or the first two dates it names where nothing parts them. A month that is
    none (2021.13) is a malformed record, as a registration date is: dropping it made the end
    date the start."""
    halves = _UNTIL.split(execute)
    if len(halves) != 2:  # nothing parts them: the text, then what follows its first date
        first = _first_date_match(execute)
        halves = [execute, execute[first.end() :] if first else ""]
    return [_first_date(half, execute, ref) for half in halves]


def _first_date_match(text: str) -> re.Match[str] | None:
    """The date ``text`` names first, as the longest pattern reads it there (2021.01.05 a
    day, not the month 2021.01 or the year 2021)."""
    found = [m for m in (p.search(text) for p in (YMD_DATE, _YM_DATE, _YEAR)) if m]
    return min(found, key=lambda m: (m.start(), -len(m.group())), default=None)


def _first_date(text: str, execute: str, ref: str) -> str | None:
    """The first date ``text`` names, at the precision written (``None`` for none)."""
    found = _first_date_match(text)
    if found is None:
        return None
    parts = found.groups()  # as the pattern that matched: day, month or year
    if len(parts) == 3:
        return iso_date(parts)
    if len(parts) == 1:
        return parts[0]
    year, month = parts
    if not 1 <= int(month) <= 12:
        raise InputError(
            f"{ref}: Study execute time (研究实施时间) {execute!r}: {year}.{month} is no month"
        )
    return f"{year}-{int(month):02d}"


#: A whole number as registries write it, thousands separated or not ("1,000", "60").
_WHOLE_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+")
_HAN = re.compile(r"[\u3400-\u9fff]")

#: Field → the labels it goes by on the page, Chinese and English (colons stripped).
LABELS: dict[str, tuple[str, ...]] = {
    "id": ("注册号", "Registration number"),
    "last_update": ("最近更新日期", "Date of Last Refreshed on"),
    "registered": ("注册时间", "Date of Registration"),
    "registration_status": ("注册号状态", "Registration Status"),
    "title": ("注册题目", "Public title"),
    "scientific_title": ("研究课题的正式科学名称", "Scientific title"),
    "subject_id": ("研究课题代号(代码)", "Study subject ID"),
    "partner_id": (
        "在二级注册机构或其它机构的注册号",
        "The registration number of the Partner Registry or other register",
    ),
    "sponsor": ("研究实施负责（组长）单位", "Primary sponsor"),
    "disease": ("研究疾病", "Target disease"),
    "study_type": ("研究类型", "Study type"),
    "phase": ("研究所处阶段", "Study phase"),
    "design": ("研究设计", "Study design"),
    "status": ("征募研究对象情况", "Recruiting status"),
    "execute_time": ("研究实施时间", "Study execute time"),
    "sample_size": ("样本总量", "Total sample size"),
    # each arm's row of the interventions table: its name and planned size (no total is given)
    "group": ("组别", "Group"),
    "group_size": ("样本量", "Sample size"),
    "intervention": ("干预措施", "Intervention"),
    "country": ("国家", "Country"),
    "province": ("省(直辖市)", "Province"),
    "city": ("市(区县)", "City"),
    # "Institution<br>hospital" on the registry's pages
    "institution": ("单位(医院)", "Institution/hospital", "Institution hospital"),
    "outcome": ("指标中文名", "Outcome"),
    "outcome_type": ("指标类型", "Type"),
    # headings of the blocks whose place labels are a sponsor's or the sites'
    "secondary_sponsor": ("试验主办单位(项目批准或申办者)", "Secondary sponsor"),
    "sites_heading": ("研究实施地点", "Countries of recruitment and research settings"),
}


def _label_key(label: str) -> str:
    """A label as compared: NFKC-folded (the pages mix full-width and ASCII brackets, and a copy
    may fold them), in simplified characters, blanks squeezed, colons stripped, lower case."""
    folded = simplified(unicodedata.normalize("NFKC", label))
    return re.sub(r"\s+", " ", folded).strip().rstrip(": ").lower()


_BY_LABEL = {_label_key(lab): f for f, labs in LABELS.items() for lab in labs}


class _Cells(HTMLParser):
    """Collects the text of every table cell, row by row, and each cell's paragraphs apart: the
    registry's pages put a row's Chinese and English labels in one cell, each in a paragraph
    (``<p class="cn">注册号：</p><p class="en">Registration number：</p>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        #: each cell's paragraphs (its text, where it has none), row by row as ``rows``
        self.paragraphs: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._parts: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002 - HTMLParser API
        if tag == "tr":
            self.rows.append([])
            self.paragraphs.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self._parts = [[]]
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
            self._parts[-1].append(" ")
        elif tag == "p" and self._cell is not None:
            self._cell.append(" ")  # two paragraphs' words are not run together
            self._parts.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows:
                self.rows.append([])
                self.paragraphs.append([])
            self.rows[-1].append(_squeezed(self._cell))
            self.paragraphs[-1].append([t for part in self._parts if (t := _squeezed(part))])
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
            self._parts[-1].append(data)


def _squeezed(texts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(texts)).strip()


def _known(label: str) -> str | None:
    """The field a label names, if we know it."""
    return _BY_LABEL.get(_label_key(label))


def label_pairs(html: str) -> list[tuple[str, str, str]]:
    """Every (field, label, value) pair on a page, in page order, for labels we know; a cell
    holding a Chinese and an English label gives a pair for each, with the one value.

    The secondary sponsor's block holds the same place labels as the sites' (country,
    province, city, institution): within it they are the sponsor's (``secondary_*``), or a
    sponsoring company in Beijing became the trial's first site."""
    parser = _Cells()
    parser.feed(html)
    parser.close()
    pairs = []
    section: str | None = None
    for row, paragraphs in zip(parser.rows, parser.paragraphs, strict=True):
        for i, cell in enumerate(row):
            found = [(f, cell)] if (f := _known(cell)) else []
            if not found and len(paragraphs[i]) > 1:
                found = [(f, part) for part in paragraphs[i] if (f := _known(part))]
            for field, label in found:
                if field in _SECTIONS:
                    section = _SECTIONS[field]
                    continue
                if field not in _PLACE_FIELDS:
                    section = None
                elif section:
                    field = f"{section}_{field}"
                if i + 1 < len(row):
                    value = row[i + 1]
                    if len(found) == 2:  # one cell, both labels: each its language's value
                        value = _value(label, value, paragraphs[i + 1])
                    pairs.append((field, label, value))
    return pairs


def _value(label: str, cell: str, paragraphs: list[str]) -> str:
    """The value of one of the two labels a cell holds: where the value cell holds a Chinese
    and an English paragraph (征募研究对象情况 / Recruiting status: 尚未开始 / Not yet
    recruiting), the one in the label's language — each label took "尚未开始 Not yet
    recruiting" whole; else the cell's text (a label of one language keeps all of its value,
    a dose in ASCII after a Chinese paragraph too)."""
    if len(paragraphs) == 2:
        languages = [language_of(p) for p in paragraphs]
        if languages[0] != languages[1]:
            return paragraphs[languages.index(language_of(label))]
    return cell


#: Headings that open a block of place labels, and the prefix its places take (None: sites).
_SECTIONS = {"secondary_sponsor": "secondary", "sites_heading": None}
_PLACE_FIELDS = frozenset(("country", "province", "city", "institution"))


def fields_of(html: str) -> dict[str, dict[str, list[str]]]:
    """Field → {"zh": [...], "en": [...]}: the value under the Chinese label and the English one."""
    return _fields(label_pairs(html))


def language_of(text: str) -> str:
    """ "zh" for a text holding a Han character, else "en"."""
    return "zh" if _HAN.search(text) else "en"


def _fields(pairs: list[tuple[str, str, str]]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for field, label, value in pairs:
        if value:
            out.setdefault(field, {"zh": [], "en": []})[language_of(label)].append(value)
    return out


Block = dict[str, dict[str, str | None]]


def _blocks(pairs: list[tuple[str, str, str]], names: frozenset[str]) -> list[Block]:
    """The page's repeated blocks of ``names`` (a site's country, province, city and
    institution; an outcome and its type; an arm and its size), each as field → {language:
    value or None}: a block ends where a label it holds comes again. A blank value stays in
    its block — dropped, it moved every later site's city and English name to the site
    before it."""
    blocks: list[Block] = []
    for field, label, value in pairs:
        if field not in names:
            continue
        lang = language_of(label)
        if not blocks or lang in blocks[-1].get(field, {}):
            blocks.append({})
        blocks[-1].setdefault(field, {})[lang] = value or None
    return blocks


def _either(block: Block, field: str) -> str | None:
    """A block's value in English, else in Chinese."""
    given = block.get(field, {})
    return given.get("en") or given.get("zh")


_OUTCOME_FIELDS = frozenset(("outcome", "outcome_type"))
_GROUP_FIELDS = frozenset(("group", "group_size"))


def _site(block: Block) -> dict[str, str | None]:
    """A site from its block: its place in English as the page gives it, or from the place
    book where the page gives it in Chinese only (福建省 → Fujian), else as written."""
    site: dict[str, str | None] = {
        "name": block.get("institution", {}).get("en"),
        "name_zh": block.get("institution", {}).get("zh"),
    }
    for kind in ("city", "province", "country"):
        written = _either(block, kind)
        if written and not block.get(kind, {}).get("en"):
            written = places.english(kind, written)
        site[kind] = written
    return site


def _primary_outcome(blocks: list[Block]) -> str | None:
    """The first outcome the page types primary (主要指标 / Primary indicator); ``None``
    where each is typed secondary (the first was stored, a secondary one); else the first."""
    kinds = [" ".join(v for v in b.get("outcome_type", {}).values() if v) for b in blocks]
    for block, kind in zip(blocks, kinds, strict=True):
        if ("主要" in kind or "primary" in kind.lower()) and (found := _either(block, "outcome")):
            return found
    if kinds and all("次要" in k or "secondary" in k.lower() for k in kinds):
        return None
    return next((o for b in blocks if (o := _either(b, "outcome"))), None)


def _enrollment(fields: dict, groups: list[Block]) -> int | None:
    """The total sample size where the page gives one (样本总量), else the sum of its arms'
    sizes (样本量, each arm's row of the interventions) where every arm has one number."""
    size = whole_numbers(_any(fields, "sample_size"))
    if size:
        return size[0]
    sizes = [whole_numbers(_either(g, "group_size")) for g in groups]
    if sizes and all(len(n) == 1 for n in sizes):
        return sum(n[0] for n in sizes)
    return None


def _first(fields: dict, name: str, lang: str) -> str | None:
    values = fields.get(name, {}).get(lang) or []
    return values[0] if values else None


def _any(fields: dict, name: str) -> str | None:
    return _first(fields, name, "en") or _first(fields, name, "zh")


def whole_numbers(text: str | None) -> list[int]:
    """The whole numbers in ``text`` ("1,000 cases" is 1000, not 1 and 0)."""
    return [int(n.replace(",", "")) for n in _WHOLE_NUMBER.findall(text or "")]


def _date(text: str | None) -> str | None:
    """The first date in ``text`` as ISO ``YYYY-MM-DD`` (pages write ``2009/9/1`` too)."""
    found = YMD_DATE.search(text or "")
    return iso_date(found.groups()) if found else None


def iso_date(parts: tuple[str, str, str]) -> str:
    """``YMD_DATE``'s year, month and day as ISO ``YYYY-MM-DD``."""
    year, month, day = parts
    return f"{year}-{int(month):02d}-{int(day):02d}"


#: Other registries' ids as a record may name them (secondary ids, a partner registry): the
#: registry and its id pattern. jRCT ids are jRCT and ten digits, or a letter and nine for
#: other study types (jRCTs031180159); ISRCTN ids ISRCTN and eight digits; China's drug-trial
#: registry's CTR and eight digits (CTR20201158; ChiCTR's own hold no word boundary before
#: their CTR); and the other primary registries' as ICTRP's exports name them (ANZCTR's
#: ACTRN12619000423112, CTRI/2019/04/018467, IRCT20190410043236N1, DRKS00041145, KCT0001234,
#: TCTR20190101001): an id of these in a record's secondary ids was the sponsor's, and no
#: exact link was made.
OTHER_IDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ClinicalTrials.gov", NCT_PATTERN),
    ("ChiCTR", ID_PATTERN),
    ("ChinaDrugTrials", re.compile(r"\bCTR\d{8}\b", re.IGNORECASE)),
    ("jRCT", re.compile(r"\bjRCT(?:[a-z]\d{9}|\d{10})\b")),
    ("ISRCTN", re.compile(r"\bISRCTN\d{8}\b")),
    ("ANZCTR", re.compile(r"\bACTRN\d{14}\b")),
    ("CTRI", re.compile(r"\bCTRI/\d{4}/\d{2,3}/\d{6}\b")),
    ("IRCT", re.compile(r"\bIRCT\d{6,}N\d+\b")),
    ("DRKS", re.compile(r"\bDRKS\d{8}\b")),
    ("CRIS", re.compile(r"\bKCT\d{7}\b")),
    ("TCTR", re.compile(r"\bTCTR\d{11}\b")),
    # the traditional-medicine registry that shares ChiCTR's pages (ITMCTR2100005248)
    ("ITMCTR", re.compile(r"\bITMCTR\d{10}\b")),
)


#: ``OTHER_IDS`` as one pattern, each registry's a named group (``r0``, ``r1`` … in its order,
#: its own flags kept): a text is scanned once, not once a registry (a secondary id 5.3 →
#: ~2 µs with eleven registries).
assert all(p.flags & ~(re.IGNORECASE | re.UNICODE) == 0 for _, p in OTHER_IDS), "flags kept"
_ANY_ID = re.compile(
    "|".join(
        f"(?P<r{i}>(?i:{p.pattern}))" if p.flags & re.IGNORECASE else f"(?P<r{i}>{p.pattern})"
        for i, (_, p) in enumerate(OTHER_IDS)
    )
)


def other_registry_ids(text: str, skip: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The registry ids ``text`` names (folded NFKC first: full-width ids are ids), each once,
    in the order the text names them, as ``{"registry", "id"}``; registries in ``skip`` are
    left out."""
    folded = unicodedata.normalize("NFKC", text)
    found: dict[tuple[str, str], None] = {}
    for m in _ANY_ID.finditer(folded):
        registry = OTHER_IDS[int(m.lastgroup[1:])][0]  # type: ignore[index]
        if registry not in skip:
            found.setdefault((registry, canonical_id(registry, m.group(0))))
    return [{"registry": r, "id": i} for r, i in found]


#: What registries write among secondary ids for none ("NIL", "Nil Known": ANZCTR, CTRI).
NO_ID = frozenset(("no", "yes", "nil", "nil known", "none", "n/a", "na", "not applicable"))


def secondary_ids(values: list[str], own: str) -> tuple[list[dict[str, str]], list[str]]:
    """Of a record's secondary ids, the other registries' (its own id ``own`` left out) and
    the rest as the sponsor's, each once; a registry's word for none is no id."""
    links: list[dict[str, str]] = []
    org_ids: list[str] = []
    for value in values:
        named = [i for i in other_registry_ids(value) if i["id"] != own]
        links += [i for i in named if i not in links]
        if not named and value.lower() not in NO_ID and value not in org_ids:
            org_ids.append(value)
    return links, org_ids


def to_record(raw: RawRecord) -> TrialRecord:
    """Map one ChiCTR page to a ``TrialRecord``; raises ``InputError`` naming the file and field."""
    if raw.payload is None:
        raise InputError(raw.error or f"{raw.ref}: empty record")
    pairs = label_pairs(raw.payload["html"])
    fields = _fields(pairs)
    reg = _any(fields, "id")
    # full-width forms (ＣｈｉＣＴＲ２０２０…) and a space inside the id are read as the id
    folded = unicodedata.normalize("NFKC", reg or "")
    found = ID_PATTERN.search(folded) or ID_PATTERN.search(re.sub(r"\s+", "", folded))
    if not found:
        got = "none (the page has no such field)" if reg is None else repr(reg)
        raise InputError(
            f"{raw.ref}: Registration number (注册号): expected a ChiCTR id, got {got}"
        )
    chictr = canonical_id("ChiCTR", found.group(0))
    ids = [{"registry": "ChiCTR", "id": chictr}]
    partner = " ".join(
        fields.get("partner_id", {}).get("en", []) + fields.get("partner_id", {}).get("zh", [])
    )
    ids += other_registry_ids(partner, skip=("ChiCTR",))  # which reads full-width ids too
    sites = [site for site in map(_site, _blocks(pairs, _PLACE_FIELDS)) if any(site.values())]
    # in English where the place book knows it (日本 → Japan), as the other registries write it
    countries = [places.country_english(s["country"]) for s in sites if s["country"]]
    start, end = _period(_any(fields, "execute_time") or "", raw.ref)
    title_zh = _first(fields, "title", "zh")
    url = raw.url or search_url(chictr)
    values = {
        "registry_ids": ids,
        "org_study_ids": [v for v in [_any(fields, "subject_id")] if v],
        "title_en": _first(fields, "title", "en"),
        "official_title_en": _first(fields, "scientific_title", "en"),
        "title_zh": title_zh,
        "sponsor": _first(fields, "sponsor", "en"),
        "sponsor_zh": _first(fields, "sponsor", "zh"),
        "sites": sites,
        "conditions": fields.get("disease", {}).get("en", [])
        or fields.get("disease", {}).get("zh", []),
        # a page in Chinese alone still says what it tests and how far it is
        "interventions": fields.get("intervention", {}).get("en", [])
        or fields.get("intervention", {}).get("zh", []),
        "phase": _any(fields, "phase"),
        "status": _any(fields, "status"),
        "enrollment": _enrollment(fields, _blocks(pairs, _GROUP_FIELDS)),
        "start_date": start,
        "completion_date": end,
        "first_posted": _date(_any(fields, "registered")),
        "last_update": _date(_any(fields, "last_update")),
        "design": _any(fields, "design"),
        "primary_outcome": _primary_outcome(_blocks(pairs, _OUTCOME_FIELDS)),
        "country": places.trial_country(countries),
        "region": places.trial_region(countries),
        "source_url": url,
        "sources": [{"url": url, "fields": ["all"], "retrieved": raw.extra.get("retrieved")}],
        "notes": _registration_note(fields),
    }
    if len({lang for given in fields.values() for lang, texts in given.items() if texts}) == 1:
        # a page in one language: its source names the fields it gave (``language_view``)
        values["sources"][0]["fields"] = [k for k in GIVEN if values.get(k) not in (None, [])]
    try:
        return TrialRecord.model_validate(values)
    except ValidationError as exc:
        raise InputError(describe(exc, f"{raw.ref} ({chictr})")) from exc


#: The record's fields a page may give, as a page in one language lists those it gave.
GIVEN = tuple(f for f in TrialRecord.model_fields if f not in ("source_url", "sources", "curated"))


def language_view(fields: Sequence[str]) -> str | None:
    """Which language's page a record was read from, by the fields its own source gave
    (``fields``): ``None`` for the bilingual page ("all"), else "zh" or "en" — the registry's
    Chinese or English view of an entry it keeps in both, which gives part of what the registry
    says and fills the gaps of what is stored for the entry (``Pipeline``'s ``partial``)."""
    if not fields or "all" in fields:
        return None
    return "zh" if any(f.endswith("_zh") for f in fields) else "en"


#: The registration statuses a Chinese page writes, as the English page writes them.
REGISTRATION_STATUS = {"预注册": "Prospective registration", "补注册": "Retrospective registration"}


def _registration_note(fields: dict) -> str | None:
    written = _first(fields, "registration_status", "zh")
    status = _first(fields, "registration_status", "en") or REGISTRATION_STATUS.get(
        written or "", written
    )
    return f"ChiCTR: {status}" if status else None


#: A page's declared encoding (``<meta charset="gbk">``, or in ``http-equiv``'s content).
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)


def _page_text(data: bytes) -> str:
    """A saved page's text: UTF-8, as the registry serves it, else the encoding the page
    declares (a browser may save it as GBK, saying so); ``UnicodeDecodeError`` if neither."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as not_utf8:
        declared = _CHARSET.search(data[:4096])
        name = declared.group(1).decode("ascii").lower() if declared else ""
        try:
            codec = codec_for(name)
        except LookupError:  # none declared, or one Python does not know
            raise not_utf8 from None
        return data.decode(codec)


def search_url(chictr: str) -> str:
    """The registry's search page for a ChiCTR id: a record's source where it names no page of
    its own."""
    return f"https://www.chictr.org.cn/searchprojEN.html?regno={chictr}"


#: A record page's own address as the page links it: the record (``showproj.html?proj=``), a
#: version of it (``hvshowproject.html?id=``), either in the English view (``showprojEN``,
#: ``hvshowprojectEN``), or the old site's (``showproj.aspx?proj=``, as the XML export names it).
_PAGE = re.compile(r"(?:showproj(?:EN)?\.(?:html|aspx)\?proj=|hvshowproject(?:EN)?\.html\?id=)\d+")


def read_pages(path: Path | str, retrieved: str | None = None) -> Iterator[RawRecord]:
    """One raw record per ChiCTR page: a single ``.html`` file or every one in a directory."""
    path = Path(path)
    for file in files_in(path, (".html", ".htm")):
        ref = os.path.abspath(file)  # its place: two pages named alike in two folders are two
        if not followed(file, path):
            yield RawRecord(SOURCE, ref, None, error=f"{file}: {NOT_FOLLOWED}")
            continue
        try:
            html = _page_text(file.read_bytes())
        except UnicodeDecodeError as exc:
            yield RawRecord(
                SOURCE,
                ref,
                None,
                text=exc.object[:2000].decode("utf-8", "replace"),
                error=f"{file}: not {exc.encoding} text ({exc.reason} at byte {exc.start})",
            )
            continue
        except OSError as exc:  # a dangling link, a file gone or unreadable: the rest loads
            yield RawRecord(SOURCE, ref, None, error=f"{file}: cannot be read ({exc})")
            continue
        page = _PAGE.search(html)
        url = f"https://www.chictr.org.cn/{page.group(0)}" if page else None
        yield RawRecord(SOURCE, ref, {"html": html}, url=url, extra={"retrieved": retrieved})
