"""Sources: one module per format, each turning what it reads into raw records, then models.

Every source offers the same small protocol — read or fetch pages, yield ``RawRecord``s, map a
raw record to a model — and touches no database; ``isletbase.ingest`` does the rest.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from isletbase.errors import InputError


@dataclass
class RawRecord:
    """One record as received: where it came from, its payload, or why it could not be read."""

    source: str
    ref: str
    payload: dict[str, Any] | None
    text: str = ""
    error: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the ref is a record's own id or a file's name, and is printed (ingest reports,
        # ``isletbase quarantine``): an ESC in it would drive the reader's terminal
        if not self.ref.isprintable():
            self.ref = visible(self.ref)
        if self.error is not None and not self.error.isprintable():
            self.error = visible(self.error)


#: The labels the WHATWG Encoding Standard decodes as GBK, as browsers do, read here as its
#: superset GB18030: a page or export that declares GB2312 often holds characters only GBK has
#: — rare name characters such as 堃, 喆 or 镕 — and was refused; some of these labels Python
#: does not know at all (gb_2312-80, x-gbk, csgb2312).
_GBK_LABELS = frozenset(
    "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk".split()
)


def codec_for(label: str) -> str:
    """The codec that reads text declared as ``label`` (the label itself where Python reads it
    as declared); ``LookupError`` if unknown."""
    if label.strip().lower() in _GBK_LABELS or codecs.lookup(label).name in ("gb2312", "gbk"):
        return "gb18030"
    return label


def visible(text: str) -> str:
    """``text`` with each character that is not printable (controls, line breaks, bidirectional
    overrides) written as its escape (``\x1b``), so printing it shows it and does nothing."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


#: Why a file found in a directory being read that is a symbolic link is not read: it may
#: point anywhere on the machine (an archive unpacked with its links could plant one to a
#: secret, and its text would be kept in quarantine).
NOT_FOLLOWED = "a symbolic link, not followed (it may point anywhere on this machine)"


def files_in(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files a reader reads at ``path``: the file itself (a link named on the command line
    is read), or every file or link under the directory whose name ends in one of ``suffixes``
    (lower case), in name order — but a Mac's resource forks (``__MACOSX/``, ``._*``), which
    are no records; ``InputError`` where nothing is there. A link found in a directory is
    listed for the reader to refuse (``followed``)."""
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in suffixes
            and (p.is_file() or p.is_symlink())
            and "__MACOSX" not in p.parts
            and not p.name.startswith("._")
        )
    if path.is_file():
        return [path]
    raise not_a_file(path, "a file or a folder of records")


def not_a_file(path: Path, wanted: str) -> InputError:
    """The error for ``path`` where a file to read was wanted and none is: not there, or there
    but no regular file (/dev/null, a pipe, which were said to be no such file); ``wanted``
    says what to give instead."""
    if path.exists():
        return InputError(f"{path}: not a regular file; give {wanted}")
    return InputError(f"{path}: no such file or directory")


def followed(file: Path, path: Path) -> bool:
    """Whether ``file``, found reading ``path``, may be read: not a symbolic link found in a
    directory (``NOT_FOLLOWED``)."""
    return file == path or not file.is_symlink()


#: The registries' own sites: a record read from any other page (a mirror, a news report, a
#: paper) is a copy or a report of the registry's record, and is said to be one.
REGISTRY_HOSTS = frozenset(
    {
        "clinicaltrials.gov",
        "www.clinicaltrials.gov",
        "classic.clinicaltrials.gov",
        "chictr.org.cn",
        "www.chictr.org.cn",
        "trialsearch.who.int",
    }
)


def registry_page(url: str | None) -> bool:
    """Whether ``url`` is a page of a registry's own site (``REGISTRY_HOSTS``)."""
    try:
        host = urlsplit(url or "").hostname
    except ValueError:  # an address that is no URL (an unclosed IPv6 bracket)
        return False
    return host in REGISTRY_HOSTS
