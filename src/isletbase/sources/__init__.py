"""Sources: one module per format, each turning what it reads into raw records, then models.

Every source offers the same small protocol — read or fetch pages, yield ``RawRecord``s, map a
raw record to a model — and touches no database; ``isletbase.ingest`` does the rest.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any


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


#: Codecs read as a superset, as browsers read them (the WHATWG Encoding Standard decodes the
#: labels gb2312 and gbk as GBK): a page or export that declares GB2312 often holds
#: characters only GBK has — rare name characters such as 堃, 喆 or 镕 — and was refused.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030"}


def codec_for(label: str) -> str:
    """The codec that reads text declared as ``label`` (the label itself where Python reads it
    as declared); ``LookupError`` if unknown."""
    return _SUPERSET.get(codecs.lookup(label).name, label)


def visible(text: str) -> str:
    """``text`` with each character that is not printable (controls, line breaks, bidirectional
    overrides) written as its escape (``\x1b``), so printing it shows it and does nothing."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


#: Why a file found in a directory being read that is a symbolic link is not read: it may
#: point anywhere on the machine (an archive unpacked with its links could plant one to a
#: secret, and its text would be kept in quarantine).
NOT_FOLLOWED = "a symbolic link, not followed (it may point anywhere on this machine)"
