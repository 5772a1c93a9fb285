"""Work that holds a route thread for long, limited per server process.

A server process runs its synchronous routes in a few threads (``ROUTE_THREADS``); a request
that holds one for seconds — a simulation, checking a long offer, scoring every trial against
the rules — leaves searches waiting behind it (four simulations at once held every thread and a
search waited 28 s; twelve long offers, 8 s; eight findings reports, 18 s). Each kind of such
work runs at most so many at once; one more is answered 503 at once with ``Retry-After``,
which a client can wait out, instead of queueing in front of every other request. Together the
kinds hold at most three of the four route threads, so a search always finds one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

#: Seconds a client told to come back waits.
RETRY_AFTER_S = 5


class Slot:
    """At most ``at_once`` runs of one kind of work in this process; ``busy`` says why another
    is refused."""

    def __init__(self, at_once: int, busy: str) -> None:
        self.at_once, self.busy = at_once, busy
        self._free = threading.BoundedSemaphore(at_once)

    def try_take(self) -> bool:
        """Take a place without waiting; ``False`` when all are taken."""
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Run the block in a place, or raise a 503 with ``Retry-After`` at once."""
        if not self.try_take():
            raise HTTPException(
                status_code=503, detail=self.busy, headers={"Retry-After": str(RETRY_AFTER_S)}
            )
        try:
            yield
        finally:
            self.give_back()


#: One simulation at a time: a design at the API's limit holds a thread ~8 s.
SIMULATION = Slot(
    1,
    "another simulation is running in this server process; try again in a few seconds, or "
    "run larger designs with `isletbase simulate trial`",
)
#: One offer checked at a time: the longest text takes ~1 s.
CHECK = Slot(
    1,
    "other offers are being checked in this server process; try again in a few seconds, or "
    "check long texts with `isletbase check`",
)
#: One findings report at a time: it scores every trial in the database (~3 s at 5,000).
FINDINGS = Slot(
    1,
    "a findings report is being computed in this server process; try again in a few "
    "seconds, or run `isletbase findings`",
)
