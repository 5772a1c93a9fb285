"""The two-process ingest: a worker prepares the next batches while this process writes.

Reading, mapping and validating (``ingest.prepare``) run in a worker process, and so do
classifying, hashing and shaping the stored values while the writer has batches waiting (the
writer finishes what is left); every batch is still written as one transaction by the caller's
process, so a killed run keeps the guarantees of ``ingest.Pipeline``. While the worker
prepares its first batch, the writer does the first ~2,000 records all by itself. The worker
ends itself when its writer is gone.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from multiprocessing.queues import Queue
from queue import Empty, Full

from isletbase.errors import InputError
from isletbase.ingest import Pipeline, batched, prepare
from isletbase.model import TrialRecord
from isletbase.sources import RawRecord
from isletbase.store.trials import TrialShaper


def _put(queue: Queue, item: object, parent: int) -> bool:
    """Queue ``item``, waiting while the queue is full; ``False`` once the writer is gone."""
    while True:
        try:
            queue.put(item, timeout=1.0)
            return True
        except Full:
            if os.getppid() != parent:
                return False


#: Batches between two collections of cyclic garbage while ``collected_per_batch`` holds, and
#: how many such collections make one a full one.
COLLECT_EVERY = 10
FULL_EVERY = 10


@contextmanager
def collected_per_batch() -> Iterator[Callable[[], None]]:
    """Collect cyclic garbage every few batches instead of whenever allocations pile up.

    A batch allocates hundreds of thousands of short-lived objects, so the collector's automatic
    passes ran many times a batch over everything alive (measured: a third of the worker's time,
    444 → 300 µs a record with it off). Inside the block what start-up left is frozen,
    automatic collection is off, and the caller calls the function it gets after each batch,
    which collects every ``COLLECT_EVERY`` calls: the young generations only (what was
    allocated since and is still alive), and everything every ``FULL_EVERY`` such collections.
    What lives long — the classifier's and the institution index's memos — grows through a
    load, so a full pass costs more and more (~65 ms in the worker by 100k records, ~1 s of
    its time in all; 0.2 s this way). On leaving, the collector is on again if it was, and
    unfrozen unless something (a served app) had frozen objects before.
    """
    enabled, frozen = gc.isenabled(), gc.get_freeze_count() > 0
    batches = 0

    def collect() -> None:
        nonlocal batches
        batches += 1
        if batches % COLLECT_EVERY == 0:
            gc.collect(2 if batches % (COLLECT_EVERY * FULL_EVERY) == 0 else 1)

    gc.freeze()
    gc.disable()
    try:
        yield collect
    finally:
        if not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


def _waiting(queue: Queue) -> int:
    """Batches queued and not yet taken; 1 where the platform cannot count them (macOS)."""
    try:
        return queue.qsize()
    except NotImplementedError:
        return 1


def _exit_without(parent: int) -> None:
    """Worker's watchdog: end the process once the writer is gone (killed, say), even while a
    batch waits to be sent to it, so no worker outlives its writer."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


#: How the worker process is started. On Linux it is forked: it begins with the package
#: imported and the writer's state (compiled rules, institution index) copied, where a spawned
#: interpreter spent ~0.5 s of its CPU importing and unpickling them (100k records: 0.4–0.7 s
#: less wall time in four pairs of runs alternating with spawn). Elsewhere (macOS, where
#: forking a process that has used the system's frameworks is unsafe) it is spawned.
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _fresh_std_streams() -> None:
    """Give a forked worker standard streams of its own: the ones it was copied with may have
    been locked by another thread of the writer at the fork (a progress bar's refresh, say),
    and would then stay locked in the copy."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is not None:
            try:
                fresh = open(os.dup(fd), "w", 1, stream.encoding, "backslashreplace")  # noqa: SIM115
                setattr(sys, name, fresh)
            except OSError:  # no such descriptor: nothing to write to
                setattr(sys, name, None)


def _produce(
    read: Callable[[int], Iterable[RawRecord]],
    skip: int,
    to_record: Callable[[RawRecord], TrialRecord],
    salt: str,
    shaper: TrialShaper,
    batch_size: int,
    queue: Queue,
    parent: int,
    forked: bool = False,
    apart: frozenset[frozenset[str]] = frozenset(),
) -> None:
    """Worker process: queue prepared batches of ``read(skip)``, then ``None`` (or the error)."""
    if forked:
        _fresh_std_streams()
    threading.Thread(target=_exit_without, args=(parent,), daemon=True).start()
    try:
        with collected_per_batch() as collect:
            studies = iter(read(skip))
            while (batch := prepare(islice(studies, batch_size), to_record, None, apart)).fetched:
                # classifying and hashing (~30 % of the work), then shaping the stored values
                # (~20 %), are done here only while the writer has batches waiting: one
                # waiting, it classifies; two, it shapes too. Otherwise the writer is idle and
                # does them itself, so the two processes share the work whichever is slower.
                waiting = _waiting(queue)
                if waiting > 1:
                    batch.shape(shaper, salt)
                elif waiting:
                    batch.classify(salt)
                if not _put(queue, batch, parent):
                    return
                collect()
        _put(queue, None, parent)
    except Exception as exc:  # handed to the writer, which raises it
        if isinstance(exc, InputError):
            error: Exception = InputError(str(exc))
        else:
            error = RuntimeError(f"ingest worker: {type(exc).__name__}: {exc}")
        _put(queue, error, parent)


#: Batches (at most) and records (about) this process writes itself while the worker starts:
#: the worker skips those records and prepares its first batch (a spawned one imports the
#: package first, ~0.5 s), about what this process needs for ~2,000, so neither waits.
HEAD_BATCHES = 2
HEAD_RECORDS = 2000


def head_size(batch_size: int) -> int:
    """How many records this process writes before the worker's first batch."""
    return min(HEAD_BATCHES, max(1, HEAD_RECORDS // batch_size)) * batch_size


def ingest_parallel(
    pipeline: Pipeline, read: Callable[[int], Iterable[RawRecord]], batch_size: int
) -> None:
    """Run ``pipeline`` over the records ``read`` yields, a second process preparing batches.

    ``read(skip)`` yields the records after the first ``skip``, in the same order each time.
    While the worker process starts and prepares its first batch, this one reads and writes
    the first batches itself (``head_size``); then the worker reads, maps and validates
    (``prepare``) the rest while this one writes — and classifies, hashes and shapes too
    while batches wait here — each batch still one transaction here, so a killed run keeps
    the same guarantees; at most two prepared batches wait in between. ``read`` and the
    pipeline's mapper must be picklable (module-level functions or ``functools.partial`` of
    them) where the worker is spawned (``START_METHOD``).
    """
    head = head_size(batch_size)
    context = multiprocessing.get_context(START_METHOD)
    forked = START_METHOD == "fork"
    queue: Queue = context.Queue(maxsize=2)
    worker = context.Process(
        target=_produce,
        args=(
            read,
            head,
            pipeline.to_record,
            pipeline.salt,
            pipeline.shaper,
            batch_size,
            queue,
            os.getpid(),
            forked,
            pipeline.apart,
        ),
        daemon=True,
    )
    failed: list[BaseException] = []

    def start() -> None:
        try:
            worker.start()
        except BaseException as exc:  # raised here, once the head is written
            failed.append(exc)

    # a fork takes milliseconds, and is made now, before this process does anything else; a
    # spawn blocks until the new interpreter has read its arguments (more than a pipe holds),
    # so it starts from a thread while this one writes the head
    if forked:
        start()
        started: Callable[[], None] = lambda: None  # noqa: E731
    else:
        starting = threading.Thread(target=start, daemon=True)
        starting.start()
        started = starting.join
    try:
        with collected_per_batch() as collect:
            for chunk in batched(islice(read(0), head), batch_size):
                pipeline.batch(chunk)
                collect()
            started()
            if failed:
                raise failed[0]
            while True:
                try:
                    item = queue.get(timeout=1.0)
                except Empty:
                    if worker.is_alive():
                        continue
                    try:
                        item = queue.get(timeout=1.0)
                    except Empty:
                        raise RuntimeError(
                            f"ingest worker stopped (exit code {worker.exitcode}) before the end"
                        ) from None
                if item is None:
                    break
                if isinstance(item, Exception):
                    raise item
                pipeline.write(item)
                collect()
    finally:
        started()
        if worker.pid is not None:  # it started
            if worker.is_alive():
                worker.terminate()
            worker.join()
