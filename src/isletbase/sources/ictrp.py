"""WHO ICTRP "Export results to XML" files → ``TrialRecord``: one ``<Trial>`` element each.

The export's root is ``<Trials_downloaded_from_ICTRP>``; each ``<Trial>`` holds flat text
fields (``TrialID``, ``Public_title``, ``Primary_sponsor``, ``Source_Register``,
``Secondary_ID``, ``Date_registration`` …) padded with whitespace, with HTML entities such as
``&lt;br&gt;`` left in free text. ``TrialID`` is the source registry's own id, so an ICTRP
record of a ChiCTR trial carries its ChiCTR id and, in ``Secondary_ID``, the NCT id of a dual
registration: that is the bridge dedup follows. The file is parsed incrementally.
"""

from __future__ import annotations

import html
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from isletbase import places
from isletbase.errors import InputError
from isletbase.model import TrialRecord, canonical_id, partial_date
from isletbase.sources import RawRecord, codec_for, not_a_file
from isletbase.sources.chictr import ID_PATTERN as CHICTR_ID
from isletbase.sources.chictr import (
    NCT_PATTERN,
    NO_ID,
    YMD_DATE,
    iso_date,
    secondary_ids,
    whole_numbers,
)
from isletbase.sources.curated import describe

SOURCE = "ICTRP"
ROOT = "Trials_downloaded_from_ICTRP"
_REGISTERS = {
    "clinicaltrials.gov": "ClinicalTrials.gov",
    "chictr": "ChiCTR",
    "jprn": "jRCT",
    "isrctn": "ISRCTN",
    "eu clinical trials register": "EU-CTR",
    "anzctr": "ANZCTR",
    "cris": "CRIS",
}
#: Ids of the other primary registries ICTRP gathers, by their form (its Source_Register
#: names them in several spellings): they were all filed under "ICTRP", so an Iranian, an
#: Indian and a German trial were one registry's.
_ID_FORMS = (
    (re.compile(r"IRCT\d", re.IGNORECASE), "IRCT"),
    (re.compile(r"CTRI/\d{4}/", re.IGNORECASE), "CTRI"),
    (re.compile(r"DRKS\d{8}$", re.IGNORECASE), "DRKS"),
    (re.compile(r"RBR-\w+$", re.IGNORECASE), "ReBEC"),
    (re.compile(r"PACTR\d{15}$", re.IGNORECASE), "PACTR"),
    (re.compile(r"TCTR\d{11}$", re.IGNORECASE), "TCTR"),
    (re.compile(r"SLCTR/\d{4}/\d+$", re.IGNORECASE), "SLCTR"),
    (re.compile(r"RPCEC\d{8}$", re.IGNORECASE), "RPCEC"),
    (re.compile(r"LBCTR\d{10}$", re.IGNORECASE), "LBCTR"),
    (re.compile(r"ITMCTR\d+$", re.IGNORECASE), "ITMCTR"),
    (re.compile(r"PER-\d{3}-\d{2}$", re.IGNORECASE), "REPEC"),
    (re.compile(r"ACTRN\d{14}$", re.IGNORECASE), "ANZCTR"),
    (re.compile(r"EUCTR\d{4}-\d{6}-\d{2}", re.IGNORECASE), "EU-CTR"),
    (re.compile(r"KCT\d{7}$", re.IGNORECASE), "CRIS"),
    (re.compile(r"ISRCTN\d{8}$", re.IGNORECASE), "ISRCTN"),
    (re.compile(r"JPRN-|jRCT", re.IGNORECASE), "jRCT"),
)
#: HTML markup left in free text (``<br>``, ``<p>``…): only tags by name, so a title's "<5
#: years … >0.3" is text, not a tag.
_TAGS = re.compile(
    r"</?\s*(?:br|p|b|i|u|em|strong|sup|sub|span|div|font|li|ul|ol|a)\b[^<>]*>", re.IGNORECASE
)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    value = _TAGS.sub(" ", html.unescape(html.unescape(text))).replace("\r", " ")
    value = re.sub(r"\s+", " ", value).strip()
    return value or None


_PARTS = re.compile(r"<br\s*/?>|[;\n；，、]", re.IGNORECASE)


#: A letter of any script: a condition holds one ("--", and ICD codes an IRCT row lists beside
#: its conditions as bare numbers, "130-152", "150.1", name none).
_WORD = re.compile(r"[^\W\d_]")


def values_of(text: str | None) -> list[str]:
    """A multi-valued field's values (conditions, countries, ids), each cleaned. ICTRP parts
    them by ``;``, new lines or ``<br>``, so the raw text is split first: cleaning turns those
    into spaces."""
    unescaped = html.unescape(html.unescape(text or ""))
    return [value for part in _PARTS.split(unescaped) if (value := _clean(part))]


def _refreshed(text: str | None) -> str | None:
    """``Last_Refreshed_on`` reads like ``21 September 2026``."""
    if not text:
        return None
    for fmt in ("%d %B %Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _exported(text: str | None) -> str | None:
    """``Export_date``, the day the export was made, written month first with the time
    ("08/28/2026 20:14:44"), as an ISO date like every other source's day of reading; a text in
    another form as given."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y %H:%M:%S").date().isoformat()
    except ValueError:
        return text


#: The other forms the registries' dates take in an ICTRP export, and the precision each gives:
#: DD/MM/YYYY (most), DD-MM-YYYY (CTRI, India), "June 28, 2019" (ClinicalTrials.gov's
#: ``Date_enrollement``), a month, YYYYMMDD.
_DATE_FORMATS = (
    ("%d/%m/%Y", "%Y-%m-%d"),
    ("%d-%m-%Y", "%Y-%m-%d"),
    ("%B %d, %Y", "%Y-%m-%d"),
    ("%B %Y", "%Y-%m"),
    ("%Y%m%d", "%Y-%m-%d"),
)


def trds_date(text: str | None) -> str | None:
    """``Date_enrollement`` and ``Date_registration`` come as YYYY-MM-DD, DD/MM/YYYY or another
    of ``_DATE_FORMATS`` (and, from some registries, 2020/3/5 or 2020年3月5日)."""
    if not text:
        return None
    try:  # YYYY[-MM[-DD]], a time of day after it dropped, as every reader reads a date
        return partial_date(text)
    except ValueError:
        pass
    ymd = YMD_DATE.fullmatch(text.removesuffix("日").rstrip())
    if ymd:
        return iso_date(ymd.groups())
    for fmt, out in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime(out)
        except ValueError:
            continue
    return None


#: Groups' numbers ("Experimental group:30;Control group:30;"), a name holding digits too ("S-1
#: maintenance group:49;"): a name runs to its colon, its number to the group's semicolon or the
#: end, so each text splits one way only (a group's trailing blanks were the next name's or its
#: own: ~3× the time a group, 6.9 s for 65 characters; three runs of blanks side by side at
#: the end took 5 s for 1,500 blanks).
_GROUP = r"[^:;：；]+[:：][ \t]*(\d+)"
_GROUPS = re.compile(rf"(?:{_GROUP}\s*[;；])*{_GROUP}\s*(?:[;；]\s*)?")
_GROUP_SIZE = re.compile(_GROUP)


def target_size(text: str | None) -> int | None:
    """``Target_size``: a number ("60", "1,000", "60 cases", "60例"), or groups' numbers summed
    ("Experimental group:30;Control group:30;"); otherwise unknown."""
    numbers = whole_numbers(text)
    if len(numbers) == 1:
        return numbers[0]
    if numbers and _GROUPS.fullmatch(text or ""):
        return sum(int(m.group(1)) for m in _GROUP_SIZE.finditer(text or ""))
    return None


#: One answer of an EU Clinical Trials Register phase list as ICTRP exports it: "Human
#: pharmacology (Phase I): no Therapeutic exploratory (Phase II): yes …", the answers run
#: into the next heading in some exports ("(Phase II): yesTherapeutic confirmatory").
_EU_PHASE = re.compile(r"\((?i:phase (I{1,3}|IV))\):\s*((?i:yes|no))(?![a-z])")


def eu_phase(text: str | None) -> str | None:
    """An EU trial's phase list as the phases it answers yes ("Phase II", "Phase I/Phase II"),
    ``None`` where it answers none; any other text as given. Read whole, the list names every
    phase, and the classifier took the last one's "no" (Phase IV) for the phase."""
    answers = _EU_PHASE.findall(text or "")
    if not answers:
        return text
    return "/".join(f"Phase {p.upper()}" for p, yes in answers if yes.lower() == "yes") or None


def to_record(raw: RawRecord) -> TrialRecord:
    """Map one ICTRP trial to a ``TrialRecord``; ``InputError`` names the trial and field."""
    if raw.payload is None:
        raise InputError(raw.error or f"{raw.ref}: empty record")
    f = {k: _clean(v) for k, v in raw.payload.items()}
    trial_id = f.get("TrialID")
    if not trial_id:
        raise InputError(f"{raw.ref}: TrialID is empty")
    register = _REGISTERS.get((f.get("Source_Register") or "").lower()) or next(
        (name for form, name in _ID_FORMS if form.match(trial_id)), "ICTRP"
    )
    if trial_id.upper().startswith("NCT"):
        if not NCT_PATTERN.fullmatch(trial_id):
            raise InputError(f"{raw.ref}: TrialID {trial_id!r}: expected NCT and 8 digits")
        register = "ClinicalTrials.gov"
    elif CHICTR_ID.fullmatch(trial_id):
        register = "ChiCTR"
    own = {"registry": register, "id": trial_id}
    links, org_ids = secondary_ids(
        values_of(raw.payload.get("Secondary_ID")) + values_of(raw.payload.get("other_records")),
        canonical_id(register, trial_id),
    )
    ids = [own, *links]
    size = target_size(f.get("Target_size"))
    # as ClinicalTrials.gov writes them where the place book knows them (WHO's "Viet Nam" is
    # Vietnam), so one country is one facet value whichever registry named it
    countries = [places.country_english(c) for c in values_of(raw.payload.get("Countries"))]
    url = f.get("web_address") or f"https://trialsearch.who.int/Trial2.aspx?TrialID={trial_id}"
    try:
        return TrialRecord.model_validate(
            {
                "registry_ids": ids,
                "org_study_ids": list(dict.fromkeys(org_ids)),
                "title_en": f.get("Public_title"),
                "official_title_en": f.get("Scientific_title"),
                "sponsor": f.get("Primary_sponsor"),
                "conditions": [
                    c
                    for c in values_of(raw.payload.get("Condition"))
                    if _WORD.search(c) and c.lower() not in NO_ID
                ],
                "interventions": values_of(raw.payload.get("Intervention")),
                "phase": eu_phase(f.get("Phase")),
                "status": f.get("Recruitment_Status"),
                "enrollment": size,
                "start_date": trds_date(f.get("Date_enrollement")),
                "first_posted": trds_date(f.get("Date_registration")),
                "last_update": _refreshed(f.get("Last_Refreshed_on")),
                "design": f.get("Study_design"),
                "primary_outcome": f.get("Primary_outcome"),
                "country": places.trial_country(countries),
                "region": places.trial_region(countries),
                "source_url": url if url.startswith(("http://", "https://")) else f"https://{url}",
                "sources": [
                    {
                        "url": f"https://trialsearch.who.int/Trial2.aspx?TrialID={trial_id}",
                        "fields": ["all"],
                        "retrieved": _exported(f.get("Export_date")),
                    }
                ],
            }
        )
    except ValidationError as exc:
        raise InputError(describe(exc, f"{raw.ref} ({trial_id})")) from exc


#: A ``<Trial>`` element's start and end tags (not ``<Trials_downloaded_from_ICTRP>``).
_TRIAL_START = re.compile(r"<(?:[\w.-]+:)?Trial[\s>]")
_TRIAL_END = re.compile(r"</(?:[\w.-]+:)?Trial\s*>")
#: A namespace prefix on a tag (``<x:Trial>``): a trial parsed alone has no declaration for it.
_PREFIX = re.compile(r"(</?)[\w.-]+:")
#: The first element's start tag, its name whole (followed by a space, ``>`` or ``/``: a
#: name cut by the end of a block is not yet the name).
#: (A name reaching the end of the text read matches with an empty second group: a run of
#: "<" was otherwise read to its end from each of its "<", 12.5 s for 30,000.)
FIRST_TAG = re.compile(r"<(?![?!])([^\s>/]+)([\s>/]|\Z)")
#: A trial's id between its blanks, the blanks taken possessively (a lazy id before them was
#: tried at every length: 4.6 s for 2,000 blanks).
_TRIAL_ID = re.compile(r"<TrialID>\s*+((?:\s*+[^<\s])*)\s*+</TrialID>")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Text read at a time: a trial is a few kilobytes, so memory stays flat however long the file.
_BLOCK = 1 << 20


def root_named(name: str | None, read: str | bytes) -> str:
    """What an error calls a file's first element (``name``, as ``FIRST_TAG`` found it in the
    text ``read`` from the file's start): the element, none, or none for an empty file (an
    empty export was said to have "no element")."""
    if name:
        return f"<{name}>"
    return "no element" if read.strip() else "missing: the file is empty"


def xml_encoding(head: bytes) -> str:
    """The file's encoding: its byte-order mark, else its XML declaration, else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    declared = _DECLARED.match(head)
    if not declared:
        return "utf-8"
    label = declared.group(1).decode()
    try:
        return codec_for(label)
    except LookupError:  # refused with its name where the file is opened
        return label


def read_export(path: Path | str) -> Iterator[RawRecord]:
    """One raw record per ``<Trial>``, the file read a block at a time and each trial parsed
    on its own, so one malformed trial (a bare ``&``, a tag left open, a file cut inside it)
    is a rejected record naming it and the others load.

    A file that is not XML, or whose root is not ``<Trials_downloaded_from_ICTRP>`` (in any
    namespace), is an ``InputError``; WHO's known defect, a missing closing root tag after
    complete trials, is tolerated. The encoding is the file's own (a byte-order mark, else its
    XML declaration: GB2312 too), UTF-8 where it names none.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: a folder; give the export's XML file")
    if not path.is_file():
        raise not_a_file(path, "the export's XML file")
    with path.open("rb") as raw:
        encoding = xml_encoding(raw.read(4096))
    try:
        # a byte that is not of the encoding is kept as a lone surrogate (``surrogateescape``)
        # and rejects its trial alone (``_trials``): one bad byte refused the whole file
        with path.open(encoding=encoding, errors="surrogateescape", newline="") as text:
            yield from _trials(path, text)
    except LookupError as exc:
        raise InputError(
            f"{path}: unknown encoding {encoding!r} ({exc}); save it as UTF-8"
        ) from exc


def _trials(path: Path, text) -> Iterator[RawRecord]:  # noqa: ANN001 - a text file
    """The trials of an export's text, checked for its root element first. What a block's
    trials leave unread (``buffer`` from ``pos``) is kept for the next block; the buffer is cut
    once a block, not after each trial (which copied the rest of the block each time)."""
    buffer, pos, number, rooted = "", 0, 0, False
    while True:
        block = text.read(_BLOCK)
        buffer, pos = buffer[pos:] + block, 0
        if not rooted:
            first = FIRST_TAG.search(buffer)
            if first is not None and not first.group(2):  # a name cut by the block's end
                first = None
            if first is None and block:
                continue
            name = first.group(1) if first else None
            local = name.rsplit(":", 1)[-1] if name else None  # any namespace prefix
            if local != ROOT:
                found = root_named(name, buffer)
                hint = (
                    " (ChiCTR's own XML export: `isletbase ingest chictr` reads it)"
                    if local == "trials"
                    else ""
                )
                raise InputError(f"{path}: root element is {found}, expected <{ROOT}>{hint}")
            rooted = True
        while (start := _TRIAL_START.search(buffer, pos)) is not None:
            end = _TRIAL_END.search(buffer, start.end())
            following = _TRIAL_START.search(buffer, start.end())
            if following is not None and (end is None or following.start() < end.start()):
                # a trial left open: rejected alone, the next one read as itself
                number += 1
                chunk = buffer[start.start() : following.start()]
                yield _rejected(path, number, chunk, "is not closed before the next <Trial>")
                pos = following.start()
                continue
            if end is None:
                pos = start.start()
                break
            number += 1
            chunk = buffer[start.start() : end.end()]
            undecoded = _UNDECODED.search(chunk)
            if undecoded is None:
                yield _trial(path, number, chunk)
            else:
                byte = ord(undecoded.group()) - 0xDC00
                why = f"holds a byte (0x{byte:02X}) that is not {text.encoding} text"
                yield _rejected(path, number, chunk, why)
            pos = end.end()
        if not block:
            break
    start = _TRIAL_START.search(buffer, pos)
    if start is not None:  # the file ends inside a trial
        number += 1
        chunk = buffer[start.start() :]
        yield _rejected(path, number, chunk, "is cut off: the file ends before its </Trial>")


def _place(path: Path, number: int) -> str:
    """The ref of a trial without a TrialID: its place, the file's absolute path and its
    number there (two exports named alike in two folders are two places)."""
    return f"{os.path.abspath(path)}:trial {number}"


def _trial(path: Path, number: int, chunk: str) -> RawRecord:
    """One ``<Trial>`` element's fields, or the record of why it could not be read."""
    try:
        elem = ET.fromstring(_PREFIX.sub(r"\1", chunk))
    except ET.ParseError as exc:
        return _rejected(path, number, chunk, f"is not well-formed XML ({exc})")
    payload: dict[str, str] = {}
    for child in elem:  # its whole text, the tags inside it too ("Nested <b>bold</b> title")
        tag, text = local_name(child.tag), _inner_text(child)
        # a field given twice (two <Secondary_ID>s) keeps both values, one a line
        payload[tag] = f"{payload[tag]}\n{text}" if payload.get(tag) else text
    tid = (payload.get("TrialID") or "").strip()
    return RawRecord(
        SOURCE,
        tid or _place(path, number),
        payload,
        url=(payload.get("web_address") or "").strip() or None,
    )


def local_name(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _inner_text(elem: ET.Element) -> str:
    """All the text inside an element, a ``<br/>`` in it read as a line break (which parts a
    field's values, see ``_split``)."""
    parts = [elem.text or ""]
    for inner in elem:
        parts += [
            "\n" if local_name(inner.tag).lower() == "br" else _inner_text(inner),
            inner.tail or "",
        ]
    return "".join(parts)


#: A byte the file's encoding could not read, as ``surrogateescape`` keeps it.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _rejected(path: Path, number: int, chunk: str, why: str) -> RawRecord:
    """A trial that could not be read, under its TrialID where one can be seen (so that the
    file's next, mended version releases it from quarantine)."""
    chunk = _UNDECODED.sub("\ufffd", chunk)  # text a database can store, a person read
    seen = _TRIAL_ID.search(chunk)
    tid = html.unescape(seen.group(1)).strip() if seen else ""
    return RawRecord(
        SOURCE,
        tid or _place(path, number),
        None,
        text=chunk[:2000],
        error=f"{path}: trial {number}{f' ({tid})' if tid else ''} {why}",
    )
