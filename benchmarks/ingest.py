"""Benchmark: ingest a synthetic ClinicalTrials.gov-sized corpus end to end into SQLite.

The corpus is N studies in the real API v2 shape (the modules and enums of
``reference/trials_notes.md`` §4) with field distributions drawn to look like the registry:
1–3 conditions, 1–3 interventions, 0–12 locations in ~60 countries, summaries of 300–2,000
characters, a mix of statuses and phases, and a share of records naming a ChiCTR secondary id.
It is written to a zip first (not timed), then ``run_dump`` streams it through parse →
validate → classify → dedup → upsert → search index (with the worker process ``run_dump``
starts by default; ``--workers 1`` for none). Writes JSON: n, seconds, records_per_s,
peak_rss_mb (this process and its children together), the load average before the run, and
the same for a 1/10 baseline run in the same process (ratio = scaling).

    python benchmarks/ingest.py --n 100000 --out bench-ingest.json [--db FILE] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil

from isletbase.harvest import run_dump
from isletbase.store.db import Database

STATUSES = [
    ("COMPLETED", 45),
    ("UNKNOWN", 15),
    ("RECRUITING", 12),
    ("TERMINATED", 6),
    ("NOT_YET_RECRUITING", 4),
    ("ACTIVE_NOT_RECRUITING", 5),
    ("WITHDRAWN", 3),
    ("ENROLLING_BY_INVITATION", 1),
    ("SUSPENDED", 1),
]
PHASES = [
    ["NA"],
    ["PHASE1"],
    ["PHASE2"],
    ["PHASE3"],
    ["PHASE4"],
    ["PHASE1", "PHASE2"],
    ["EARLY_PHASE1"],
    [],
]
COUNTRIES = [
    "United States",
    "China",
    "France",
    "Canada",
    "United Kingdom",
    "Germany",
    "Spain",
    "Italy",
    "Korea, Republic of",
    "Japan",
    "Egypt",
    "Brazil",
    "Taiwan",
    "Hong Kong",
    "Australia",
    "India",
    "Turkey",
    "Netherlands",
    "Belgium",
    "Denmark",
]
CONDITIONS = [
    "Type 1 Diabetes",
    "Type 2 Diabetes Mellitus",
    "Breast Cancer",
    "Hypertension",
    "Diabetic Foot Ulcer",
    "Asthma",
    "HIV Infections",
    "Depression",
    "Obesity",
    "Diabetic Nephropathy",
    "Critical Limb Ischemia",
    "Stroke",
    "Heart Failure",
    "COVID-19",
    "Rheumatoid Arthritis",
    "Lung Cancer",
    "Alzheimer Disease",
    "Chronic Kidney Disease",
]
INTERVENTIONS = [
    ("DRUG", "Metformin"),
    ("BIOLOGICAL", "Umbilical cord mesenchymal stem cells"),
    ("DRUG", "Placebo"),
    ("BEHAVIORAL", "Exercise program"),
    ("DEVICE", "Insulin pump"),
    ("PROCEDURE", "Autologous hematopoietic stem cell transplantation"),
    ("BIOLOGICAL", "Bone marrow mononuclear cells"),
    ("DRUG", "Insulin glargine"),
    ("OTHER", "Standard of care"),
    ("DIETARY_SUPPLEMENT", "Vitamin D"),
]
WORDS = (
    "patients with the of and in to a study treatment efficacy safety randomized controlled "
    "trial phase outcome primary secondary glucose insulin cells therapy weeks months dose "
    "evaluate participants compared placebo group baseline change clinical"
).split()


def study(i: int, rng: random.Random) -> dict:
    """One synthetic study in the v2 shape."""
    nct = f"NCT{10_000_000 + i:08d}"
    cond = rng.sample(CONDITIONS, rng.randint(1, 3))
    ivs = rng.sample(INTERVENTIONS, rng.randint(1, 3))
    status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
    year = rng.randint(2000, 2025)
    n_sites = rng.choices([0, 1, 2, 5, 12], [10, 55, 15, 12, 8])[0]
    country = rng.choice(COUNTRIES)
    summary = " ".join(rng.choices(WORDS, k=rng.randint(50, 300)))
    ident = {
        "nctId": nct,
        "orgStudyIdInfo": {"id": f"ORG-{i}"},
        "briefTitle": f"{ivs[0][1]} for {cond[0]} {' '.join(rng.choices(WORDS, k=6))}",
        "officialTitle": f"A {rng.choice(['Randomized', 'Single-arm', 'Open-label'])} Study of "
        f"{ivs[0][1]} in {cond[0]}: {' '.join(rng.choices(WORDS, k=10))}",
    }
    if rng.random() < 0.01:
        ident["secondaryIdInfos"] = [
            {
                "id": f"ChiCTR{year % 100:02d}{rng.randint(0, 10**8):08d}",
                "type": "REGISTRY",
                "domain": "ChiCTR",
            }
        ]
    return {
        "protocolSection": {
            "identificationModule": ident,
            "statusModule": {
                "overallStatus": status,
                "startDateStruct": {"date": f"{year}-{rng.randint(1, 12):02d}"},
                "completionDateStruct": {
                    "date": f"{year + rng.randint(1, 5)}-{rng.randint(1, 12):02d}-01"
                },
                "studyFirstPostDateStruct": {
                    "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                },
                "lastUpdatePostDateStruct": {
                    "date": f"{min(year + rng.randint(0, 6), 2025)}-01-15"
                },
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": f"Sponsor {rng.randint(1, 20000)}", "class": "OTHER"}
            },
            "descriptionModule": {"briefSummary": summary},
            "conditionsModule": {"conditions": cond},
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": rng.choice(PHASES),
                "designInfo": {
                    "allocation": "RANDOMIZED",
                    "interventionModel": "PARALLEL",
                    "primaryPurpose": "TREATMENT",
                    "maskingInfo": {"masking": "DOUBLE"},
                },
                "enrollmentInfo": {"count": int(rng.lognormvariate(4, 1.2)), "type": "ACTUAL"},
            },
            "armsInterventionsModule": {
                "interventions": [
                    {"type": t, "name": n, "description": " ".join(rng.choices(WORDS, k=20))}
                    for t, n in ivs
                ]
            },
            "outcomesModule": {
                "primaryOutcomes": [{"measure": "Change in HbA1c", "timeFrame": "24 weeks"}]
            },
            "eligibilityModule": {
                "eligibilityCriteria": " ".join(rng.choices(WORDS, k=rng.randint(50, 250)))
            },
            "contactsLocationsModule": {
                "locations": [
                    {
                        "facility": f"{country} Hospital {rng.randint(1, 3000)}",
                        "city": f"City {rng.randint(1, 500)}",
                        "state": f"State {rng.randint(1, 40)}",
                        "country": country,
                    }
                    for _ in range(n_sites)
                ]
            },
        },
        "hasResults": False,
    }


def write_corpus(path: Path, n: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(n):
            nct = f"NCT{10_000_000 + i:08d}"
            zf.writestr(f"{nct[:7]}xxxx/{nct}.json", json.dumps(study(i, rng)))
    return path


class PeakRss:
    """Samples the resident memory of this process and its children (the ingest worker) every
    50 ms and keeps the peak of their sum."""

    def __init__(self) -> None:
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # a worker that just exited
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def measure(n: int, workdir: Path, db_path: Path, workers: int | None) -> dict:
    corpus = write_corpus(workdir / f"corpus-{n}.zip", n)
    db_path.unlink(missing_ok=True)
    load = os.getloadavg()[0]  # other work on the machine slows the run: say how much there was
    db = Database(f"sqlite:///{db_path}")
    with PeakRss() as rss:
        start = time.perf_counter()
        report = run_dump(db, corpus, batch_size=2000, workers=workers)
        seconds = time.perf_counter() - start
    db.dispose()
    corpus.unlink()
    assert report.new == n, report.to_dict()
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "records_per_s": round(n / seconds, 1),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "new": report.new,
        "quarantined": report.quarantined,
        "workers": workers or "default",
        "load_average_before": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("bench-ingest.json"))
    parser.add_argument("--db", type=Path, help="keep the database here (for benchmarks/search.py)")
    parser.add_argument(
        "--workers", type=int, help="processes (1: no worker; default: run_dump's default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = measure(max(args.n // 10, 1000), work, work / "baseline.db", args.workers)
        result = measure(args.n, work, args.db or work / "bench.db", args.workers)
    result["baseline"] = baseline
    result["throughput_ratio_vs_baseline"] = round(
        result["records_per_s"] / baseline["records_per_s"], 3
    )
    result["goal"] = {"records_per_s": 5000, "peak_rss_mb": 1024}
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
