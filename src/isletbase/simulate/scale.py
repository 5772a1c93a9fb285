"""Spread a trial's tasks over a Dask cluster; the result equals the single-process run.

Each patient is seeded on its own (``trial.patient_streams``), so the order and place in which
tasks run cannot change any number.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from isletbase.simulate.design import Design
from isletbase.simulate.engine import resolve_backend
from isletbase.simulate.results import TrialResult, combine
from isletbase.simulate.trial import run_task, tasks, with_scenario


def run_trial_dask(
    design: Design | str | Path,
    workers: int = 2,
    backend: str = "auto",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrialResult:
    """Run ``design`` on a Dask ``LocalCluster`` of ``workers`` processes (or at ``address``)."""
    from dask.distributed import Client, LocalCluster, as_completed

    design = with_scenario(design)  # refused before starting a cluster
    backend = resolve_backend(backend)
    todo = tasks(design)
    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(address or cluster)
    try:
        futures = client.map(
            run_task, [design] * len(todo), todo, [backend] * len(todo), pure=False,
        )  # fmt: skip
        results = []
        for done, future in enumerate(as_completed(futures), start=1):
            results.append(future.result())
            if progress:
                progress(done, len(todo))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return combine(design, results)
