"""Benchmark: search latency on a large database (e.g. the one ``benchmarks/ingest.py --db`` left).

Runs 20 representative queries — English and Chinese text, pinyin, ids, with and without facet
filters — through ``search_trials`` (one page of 20, with the total count), each repeated, and
writes JSON with p50_ms, p95_ms, max_ms and the per-query medians. A baseline of the same
queries on the bundled database (loaded in the same process) gives the ratio.

    python benchmarks/search.py --db /tmp/bench.db --out bench-search.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from isletbase.ingest import load_bundled
from isletbase.store.db import Database
from isletbase.store.query import TrialQuery
from isletbase.store.search import search_trials

QUERIES: list[dict] = [
    {"q": "mesenchymal stem cells"},
    {"q": "umbilical cord", "condition": "T1D"},
    {"q": "type 2 diabetes", "status": "recruiting"},
    {"q": "脐带间充质干细胞"},
    {"q": "糖尿病足"},
    {"q": "干细胞 糖尿病", "region": "mainland China"},
    {"q": "xiehe"},
    {"q": "insulin", "phase": "PHASE2"},
    {"q": "diabetic foot ulcer", "country": "China"},
    {"q": "NCT10000042"},
    {"q": "bone marrow mononuclear", "year_from": 2010, "year_to": 2015},
    {"q": "metformin placebo", "sort": "-start_date"},
    {"cell_source": "UC-MSC"},
    {"condition": "T2D", "status": "completed"},
    {"registry": "chictr"},
    {"country": "China", "sort": "-enrollment"},
    {"q": "islet", "province": "Shanghai"},
    {"q": "hematopoietic", "status": "unknown"},
    {"q": "exercise program", "per_page": 50},
    {"year_from": 2020, "sort": "start_date"},
]


def run(db: Database, repeats: int) -> dict:
    per_query = []
    samples = []
    for spec in QUERIES:
        query = TrialQuery(**spec)
        search_trials(db, query)  # warm
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            search_trials(db, query)
            times.append((time.perf_counter() - start) * 1000)
        samples += times
        per_query.append({"query": spec, "median_ms": round(statistics.median(times), 2)})
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "max_ms": round(max(samples), 2),
        "queries": per_query,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database file or URL to search")
    parser.add_argument("--out", type=Path, default=Path("bench-search.json"))
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    db = Database(url)
    with db.session() as session:
        n = session.connection().exec_driver_sql("SELECT count(*) FROM trials").scalar()
    result = {"db": url, "trials": n, **run(db, args.repeats)}
    with tempfile.TemporaryDirectory() as tmp:
        small = Database(f"sqlite:///{tmp}/bundled.db")
        load_bundled(small)
        base = run(small, args.repeats)
        small.dispose()
    result["baseline_bundled"] = {k: base[k] for k in ("p50_ms", "p95_ms", "max_ms")}
    result["p95_ratio_vs_bundled"] = round(result["p95_ms"] / max(base["p95_ms"], 1e-9), 1)
    result["goal"] = {"p95_ms": 10}
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "queries"}, indent=2, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
