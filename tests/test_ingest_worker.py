"""The ingest worker's garbage collection (once per batch inside, as it was outside), its head
and the standard streams of a forked worker."""

from __future__ import annotations

import gc
import sys
import weakref

from isletbase.ingest_worker import (
    COLLECT_EVERY,
    FULL_EVERY,
    _fresh_std_streams,
    collected_per_batch,
    head_size,
)


class _Node:
    """A weak-referenceable object kept alive only by a reference cycle."""

    def __init__(self, cycle: list) -> None:
        self.cycle = cycle
        cycle.append(self)


def test_collection_is_per_batch_inside_and_restored_after():
    gc.unfreeze()  # as in a fresh process
    assert gc.isenabled()
    with collected_per_batch() as collect:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        cycle: list = []
        cycle.append(cycle)
        found = weakref.ref(_Node(cycle))
        del cycle
        for _ in range(COLLECT_EVERY - 1):
            collect()
        assert found() is not None  # not yet: collections come every COLLECT_EVERY batches
        collect()
        assert found() is None  # the cycle is gone
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_cycle_that_outlived_a_young_collection_goes_at_the_next_full_one():
    gc.unfreeze()
    with collected_per_batch() as collect:
        cycle: list = []
        found = weakref.ref(_Node(cycle))
        for _ in range(COLLECT_EVERY):  # alive at the first collection: now an old object
            collect()
        del cycle
        for _ in range(COLLECT_EVERY * (FULL_EVERY - 1) - 1):
            collect()
        assert found() is not None  # the young collections since did not look at it
        collect()
        assert found() is None  # the full one did
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with collected_per_batch():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_objects_a_served_app_froze_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collected_per_batch():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()


def test_the_writer_s_own_head_is_whole_batches_of_about_two_thousand_records():
    assert head_size(1000) == 2000 and head_size(2000) == 2000
    assert head_size(25) == 50 and head_size(1) == 2  # two batches at most
    assert head_size(5000) == 5000  # one at least


def test_a_forked_worker_writes_through_standard_streams_of_its_own(monkeypatch, capfd):
    """The streams a forked worker was copied with may be locked by a thread of the writer;
    it writes through new ones, to the same places."""
    old_out, old_err = sys.stdout, sys.stderr
    monkeypatch.setattr(sys, "stdout", old_out)  # put back after the test
    monkeypatch.setattr(sys, "stderr", old_err)
    _fresh_std_streams()
    try:
        assert sys.stdout is not old_out and sys.stderr is not old_err
        print("out of the worker")
        print("worker's complaint", file=sys.stderr)  # line-buffered: no flush needed
        sys.stdout.flush()
        captured = capfd.readouterr()
        assert "out of the worker" in captured.out
        assert "worker's complaint" in captured.err
    finally:
        sys.stdout.close()
        sys.stderr.close()
