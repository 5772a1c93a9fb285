"""Benchmark: isletbase's simulator against simglucose 0.2.11, timed in the same run.

Writes JSON with ``patient_days_per_s`` (a large cohort here), ``reference_patient_days_per_s``
(simglucose, a few patient-days), their ``ratio``, ``rms_mg_dl`` (adult#001, 24 h, same scenario
and controller, noise off) and the measured error of the weekly-stride shortcut. With
``--full-year`` it also times 10,000 patients × 365 days as a trial (with ``--stride``).

    python benchmarks/simulate.py --out results/simulate.json [--patients 10000] [--full-year]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from isletbase.simulate.bench import benchmark
from isletbase.simulate.design import parse_design
from isletbase.simulate.trial import run_trial


def full_year(stride: int, patients: int = 10_000) -> dict:
    """Wall time of a one-arm trial of ``patients`` × 365 days with a graft (stride days)."""
    design = parse_design(
        {
            "name": "scale",
            "days": 365,
            "sample_size": patients,
            "shard_size": patients,
            "stride_days": stride,
            "arms": [{"name": "graft", "graft": {"regimen": "standard"}}],
        }
    )
    tic = time.perf_counter()
    run_trial(design)
    seconds = time.perf_counter() - tic
    return {"patients": patients, "days": 365, "stride_days": stride, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the JSON record here")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--reference-days", type=int, default=1)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--full-year", action="store_true", help="also time 10k × 365 days")
    parser.add_argument("--stride", type=int, default=7)
    args = parser.parse_args()
    record = benchmark(args.patients, args.days, args.reference_days, args.backend, args.stride)
    record["cpu_count"] = os.cpu_count()
    if args.full_year:
        record["full_year"] = full_year(args.stride)
    text = json.dumps(record, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
