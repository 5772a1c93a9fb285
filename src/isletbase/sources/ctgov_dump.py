"""The ClinicalTrials.gov bulk download (``AllPublicJSON.zip``), streamed one study at a time.

The registry publishes every study as one v2 JSON file inside a zip (about half a million
files). The zip is read as a stream (``stream-unzip``) rather than through its central
directory, and a directory of extracted files is walked lazily, so memory stays flat however
large the dump grows; only one study's bytes are held at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import stream_unzip as stream_unzip_module
from isal import isal_zlib
from stream_unzip import UnzipError, stream_unzip

from isletbase.errors import InputError, json_kind
from isletbase.sources import NOT_FOLLOWED, RawRecord, not_a_file
from isletbase.sources.ctgov import STUDY_URL, get, study_ref

SOURCE = "ClinicalTrials.gov dump"
_CHUNK = 1 << 16
#: Largest study file read: the registry's studies are kilobytes (results included, a few
#: megabytes at most); a larger one is refused unparsed, so a small zip that inflates to
#: gigabytes (a "zip bomb") cannot exhaust memory.
MAX_STUDY_BYTES = 32 << 20

# stream-unzip inflates each member, and checks its CRC, with the module it imported as
# ``zlib``; python-isal documents ``isal_zlib`` as a drop-in replacement for that module, and it
# inflates about twice as fast (reading a study 52 → 38 µs; a 100k load 3–4 % faster in runs
# alternating with zlib). Put in its place once, here.
stream_unzip_module.zlib = isal_zlib


def _ref(name: str) -> str:
    """What a study file read as no study is named by in quarantine: the NCT id its name is
    (``NCT0121/NCT01219465.json`` → ``NCT01219465``, so the study loading later releases it),
    else its place without the extension: the file's absolute path, or the zip's and the
    member's (``/data/dump.zip:a/bad``) — two ``bad.json`` in two folders, or in two dumps,
    are two records (named by the file's name alone, or its path in the dump, one replaced
    the other, and ``quarantine --retry`` lost it)."""
    # os.path, not pathlib: a Path costs several microseconds
    path = os.path.splitext(name)[0]
    stem = os.path.basename(path)
    named_by_id = len(stem) == 11 and stem.startswith("NCT") and stem[3:].isdigit()
    return stem if named_by_id else path or name


def _is_study(name: str) -> bool:
    """Whether a file of a dump is a study: a ``.json`` file, but not the metadata a Mac's
    Finder adds to a zip it makes (``__MACOSX/…/._NCT….json``), which is no study."""
    return name.endswith(".json") and "__MACOSX/" not in name and "/._" not in f"/{name}"


def _raw(name: str, data: bytes, retrieved: str | None, where: str = "") -> RawRecord:
    """A study's raw record; ``where`` + ``name`` is its place, read only for one that is no
    study (a string joined a study cost time in the load's hot path)."""
    if data[:3] == b"\xef\xbb\xbf":  # a byte-order mark, which an editor may have added
        data = data[3:]
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return RawRecord(
            SOURCE,
            _ref(where + name),
            None,
            data[:2000].decode("utf-8", "replace"),
            error=f"{where + name}: not valid JSON ({exc})",
        )
    if not isinstance(payload, dict):
        return RawRecord(
            SOURCE,
            _ref(where + name),
            None,
            data[:2000].decode("utf-8", "replace"),
            error=f"{where + name}: expected a study object, got {json_kind(payload)}",
        )
    nct = get(payload, "protocolSection.identificationModule.nctId")
    return RawRecord(
        SOURCE,
        study_ref(nct) or _ref(where + name),
        payload,
        url=STUDY_URL.format(nct=nct) if isinstance(nct, str) else None,
        extra={"retrieved": retrieved},
    )


def _too_large(name: str, ref: str) -> RawRecord:
    return RawRecord(
        SOURCE,
        ref,
        None,
        error=f"{name}: larger than {MAX_STUDY_BYTES:,} bytes, not read (no study is)",
    )


def _link(file: Path, inside: str) -> RawRecord:
    return RawRecord(SOURCE, _ref(inside), None, error=f"{file}: {NOT_FOLLOWED}")


def _member(chunks: Iterator[bytes]) -> bytes | None:
    """A zip member's bytes, or ``None`` (read through, not kept) past ``MAX_STUDY_BYTES``."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_STUDY_BYTES:
            for _ in chunks:
                pass
            return None
        parts.append(chunk)
    return b"".join(parts)


def _zip_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def read_dump(path: Path | str, retrieved: str | None = None, skip: int = 0) -> Iterator[RawRecord]:
    """Yield one raw record per ``*.json`` study in a zip or a directory tree, in stored order,
    after the first ``skip`` studies (passed over unparsed: another process has them).

    A file that is not JSON becomes a raw record carrying the error (to be quarantined); a zip
    that is not a zip, or a path that does not exist, is an ``InputError``.
    """
    path = Path(path)
    if path.is_dir():
        where = os.path.abspath(path) + os.sep  # a file's place: its absolute path
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if not _is_study(name):
                    continue
                if skip:
                    skip -= 1
                    continue
                file = Path(root) / name
                inside = os.path.relpath(file, path)  # as a zip names its member
                if file.is_symlink():
                    yield _link(file, where + inside)
                    continue
                try:
                    if file.stat().st_size > MAX_STUDY_BYTES:
                        yield _too_large(str(file), _ref(where + inside))
                        continue
                    data = file.read_bytes()
                except OSError as exc:  # a dangling link, a file gone or unreadable
                    yield RawRecord(
                        SOURCE, _ref(where + inside), None, error=f"{file}: cannot be read ({exc})"
                    )
                    continue
                yield _raw(inside, data, retrieved, where)
        return
    if not path.is_file():
        raise not_a_file(path, "a zip or a folder of studies")
    if path.suffix.lower() == ".json":  # it was called "not a readable zip archive"
        with path.open("rb") as file:
            head = file.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{"):  # a picture named .json was called a study's JSON
            raise InputError(
                f"{path}: named .json but no JSON object (it starts {head[:8]!r}); "
                "`ingest ctgov-dump` reads a zip or a folder of studies' JSON"
            )
        raise InputError(
            f"{path}: one study's JSON; `ingest ctgov-dump` reads a zip or a folder of them "
            "(put the file in a folder)"
        )
    where = os.path.abspath(path) + ":"  # a member's place: the zip's, then its own
    member, members, whole = "", 0, 0  # the member being read, its number, those read whole
    try:
        for name, _size, chunks in stream_unzip(_zip_chunks(path)):
            member, members = name.decode("utf-8", "replace"), members + 1
            study = _is_study(member)
            if study and not skip:
                data = _member(chunks)
                whole = members
                if data is None:
                    yield _too_large(member, _ref(where + member))
                else:
                    yield _raw(member, data, retrieved, where)
                continue
            if study:
                skip -= 1
            for _ in chunks:  # passed over, but read through to reach the next member
                pass
            whole = members
    except UnzipError as exc:
        # where: a download cut short or a damaged member fails here after thousands of
        # studies, which were read (and those in whole batches stored)
        at = (
            f"after member {members} ({member})"
            if whole == members
            else f"in member {members} ({member})"
        )
        raise InputError(
            f"{path}: not a readable zip archive ({type(exc).__name__} "
            f"{at if members else 'at its start'}; {whole:,} members were read whole)"
        ) from exc
