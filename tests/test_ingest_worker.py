"""The ingest worker's garbage collection: once per batch inside, as it was outside."""

from __future__ import annotations

import gc

from isletbase.ingest_worker import collected_per_batch


def test_collection_is_per_batch_inside_and_restored_after():
    gc.unfreeze()  # as in a fresh process
    assert gc.isenabled()
    with collected_per_batch() as collect:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        cycle: list = []
        cycle.append(cycle)
        del cycle
        assert collect() >= 1  # the cycle is found by the per-batch collection
    assert gc.isenabled() and gc.get_freeze_count() == 0


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
