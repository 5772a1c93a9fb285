"""Sources: one module per format, each turning what it reads into raw records, then models.

Every source offers the same small protocol — read or fetch pages, yield ``RawRecord``s, map a
raw record to a model — and touches no database; ``isletbase.ingest`` does the rest.
"""

from __future__ import annotations

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


#: Why a file found in a directory being read that is a symbolic link is not read: it may
#: point anywhere on the machine (an archive unpacked with its links could plant one to a
#: secret, and its text would be kept in quarantine).
NOT_FOLLOWED = "a symbolic link, not followed (it may point anywhere on this machine)"
