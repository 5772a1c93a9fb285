"""ChiCTR's own XML export (the "下载XML文档" link of a record page) → ``TrialRecord``.

The export is the WHO Trial Registration Data Set as the registry sends it to ICTRP: a root
``<trials>`` holding one element per trial (``<trial>``; the registry's own files write
``<Triall>``), each with a ``<main>`` of flat English fields (``trial_id``,
``date_registration``, ``primary_sponsor``, ``public_title``, ``target_size``,
``recruitment_status``, ``hc_freetext``, ``i_freetext`` …) and blocks of lists
(``countries/country2``, ``primary_outcome/prim_outcome``, ``secondary_ids/secondary_id``).
Contacts, ethics reviews and funding are not read: they name people, and the record holds
none of them (the registry's ``primary_sponsor`` may itself be a person, as the applicant
wrote it: it is kept as the sponsor, as on the record's page). A file of another root (an
ICTRP export, a page) is refused naming it.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from isletbase import places
from isletbase.errors import InputError
from isletbase.model import TrialRecord, canonical_id
from isletbase.sources import NOT_FOLLOWED, RawRecord, codec_for, files_in, followed
from isletbase.sources.chictr import ID_PATTERN, language_of, search_url, secondary_ids
from isletbase.sources.curated import describe
from isletbase.sources.ictrp import (
    FIRST_TAG,
    local_name,
    root_named,
    target_size,
    trds_date,
    values_of,
    xml_encoding,
)

SOURCE = "ChiCTR XML export"
ROOT = "trials"
#: The fields a trial's record is read from: ``<main>``'s, and one list block's items each.
_LISTS = {
    "countries": "country2",
    "primary_outcome": "prim_outcome",
    "secondary_ids": "sec_id",
}


def read_exports(path: Path | str, retrieved: str | None = None) -> Iterator[RawRecord]:
    """One raw record per trial of a ChiCTR XML export: a single ``.xml`` file or every one
    in a directory (its links are not followed, as no reader follows them). A file that is
    not such an export — another root, not XML, not text in its declared encoding — is a
    rejected record naming it, and the directory's other files load; a single file given is
    refused outright. The root is read from the file's head before the rest: a full ICTRP
    export lying beside the pages is refused unread."""
    path = Path(path)
    for file in files_in(path, (".xml",)):
        ref = os.path.abspath(file)
        if not followed(file, path):
            yield RawRecord(SOURCE, ref, None, error=f"{file}: {NOT_FOLLOWED}")
            continue
        try:
            root = _root(file)
        except InputError as exc:
            if file == path:
                raise
            yield RawRecord(SOURCE, ref, None, error=str(exc))
            continue
        for number, trial in enumerate(root, 1):
            yield _trial(trial, f"{ref}:trial {number}", retrieved)


#: The XML declaration, taken off a text decoded in Python (the parser refuses to decode a
#: multi-byte encoding such as GB2312 itself).
_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def _root(file: Path) -> ET.Element:
    """The export's root element, read in the file's own encoding (its byte-order mark or
    declaration, GB2312 and GBK as browsers read them, UTF-8 where none is named); an
    ``InputError`` naming the file where it is not a ChiCTR export."""
    try:
        with file.open("rb") as raw:
            head = raw.read(4096)
        encoding = xml_encoding(head)
        first = FIRST_TAG.search(head.decode(codec_for(encoding), "replace"))
        name = local_name(first.group(1)) if first else None
        if name is None or name.lower() != ROOT:
            found = root_named(name, head)
            raise InputError(
                f"{file}: root element is {found}, expected <{ROOT}> (ChiCTR's XML export); an"
                " ICTRP export is read by `isletbase ingest ictrp`"
            )
        text = file.read_bytes().decode(codec_for(encoding))
        return ET.fromstring(_DECLARATION.sub("", text, count=1))
    except (OSError, LookupError, UnicodeDecodeError, ET.ParseError) as exc:
        raise InputError(f"{file}: not a readable XML file ({exc})") from exc


def _trial(trial: ET.Element, place: str, retrieved: str | None) -> RawRecord:
    """A trial element's fields: ``<main>``'s texts by name, each list block's items."""
    fields: dict[str, object] = {}
    main = next((c for c in trial if local_name(c.tag) == "main"), None)
    for child in main if main is not None else ():
        fields[local_name(child.tag)] = (child.text or "").strip()
    for child in trial:
        block = local_name(child.tag)
        if block in _LISTS:
            fields[block] = [
                text
                for item in child.iter()
                if local_name(item.tag) == _LISTS[block] and (text := (item.text or "").strip())
            ]
    tid = str(fields.get("trial_id") or "")
    return RawRecord(
        SOURCE,
        tid or place,
        fields,
        url=str(fields.get("url") or "") or None,
        extra={"retrieved": retrieved},
    )


def _text(fields: dict, name: str) -> str | None:
    """A ``<main>`` field's text, ``None`` where empty or absent."""
    value = fields.get(name)
    return value or None if isinstance(value, str) else None


def _in(lang: str, text: str | None) -> str | None:
    """``text`` where it is in the language asked (Chinese: it holds Han characters)."""
    return text if text and language_of(text) == lang else None


def to_record(raw: RawRecord) -> TrialRecord:
    """Map one trial of a ChiCTR XML export; ``InputError`` names the file and field."""
    if raw.payload is None:
        raise InputError(raw.error or f"{raw.ref}: empty record")
    f = raw.payload
    found = ID_PATTERN.fullmatch((_text(f, "trial_id") or "").strip())
    if not found:
        raise InputError(f"{raw.ref}: trial_id: expected a ChiCTR id, got {_text(f, 'trial_id')!r}")
    chictr = canonical_id("ChiCTR", found.group(0))
    links, org_ids = secondary_ids(list(f.get("secondary_ids") or []), chictr)
    ids = [{"registry": "ChiCTR", "id": chictr}, *links]
    countries = [places.country_english(c) for c in f.get("countries") or []]
    title, scientific, sponsor = (
        _text(f, k) for k in ("public_title", "scientific_title", "primary_sponsor")
    )
    url = _text(f, "url") or search_url(chictr)
    outcomes = [o.rstrip(";； ") for o in f.get("primary_outcome") or [] if o.rstrip(";； ")]
    values = {
        "registry_ids": ids,
        "org_study_ids": org_ids,
        "title_en": _in("en", title),
        "official_title_en": _in("en", scientific),
        "title_zh": _in("zh", title),
        "sponsor": _in("en", sponsor),
        "sponsor_zh": _in("zh", sponsor),
        "conditions": values_of(_text(f, "hc_freetext")),
        "interventions": values_of(_text(f, "i_freetext")),
        "phase": _text(f, "phase"),
        "status": _text(f, "recruitment_status"),
        "enrollment": target_size(_text(f, "target_size")),
        "start_date": trds_date(_text(f, "date_enrolment")),
        "first_posted": trds_date(_text(f, "date_registration")),
        "design": _text(f, "study_design"),
        "primary_outcome": outcomes[0] if outcomes else None,
        "country": places.trial_country(countries),
        "region": places.trial_region(countries),
        "source_url": url,
        "sources": [{"url": url, "fields": ["all"], "retrieved": raw.extra.get("retrieved")}],
    }
    try:
        return TrialRecord.model_validate(values)
    except ValidationError as exc:
        raise InputError(describe(exc, f"{raw.ref} ({chictr})")) from exc
