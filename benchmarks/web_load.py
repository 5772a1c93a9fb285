"""Load benchmark of the web site and API: uvicorn (workers = cores) driven by ``wrk`` on loopback.

Runs the server on the bundled data and on a synthetic database of 500,000 trials (built once from
the bundled trials, with new ids and varied places, statuses and years; cached), and drives each
target for a bounded time: the API search with free text and filters, a trial page and the search
page, plus a static file as the ceiling of the server itself. Writes JSON with, per target,
``req_per_s``, ``p50_ms``, ``p99_ms``, ``errors``, and ratios to the static-file baseline measured
in the same run. Each dataset is run twice: with the
workers' response cache (``ISLETBASE_CACHE_TTL``, what ``isletbase serve`` runs) and without it,
so the cost of the database path itself is reported too.

    .venv/bin/python benchmarks/web_load.py --out bench-web.json [--duration 10] [--trials 500000]

Goal on a 2-core machine: API search >= 1,000 req/s with p99 <= 50 ms and 0 errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload
from web_server import start_server, stop_server, wrk_round

from isletbase.ingest import load_bundled
from isletbase.store.db import Database
from isletbase.store.schema import DerivationRow, RegistryIdRow, SiteRow, SourceRow, TrialRow

TARGETS = {
    "static_baseline": "/static/site.css",
    "api_search": "/api/trials?q=umbilical&condition=T1D&status=RECRUITING&per_page=20",
    "trial_page": "/trials/NCT01219465",
    "search_page": "/trials?q=umbilical&condition=T1D",
}
#: Cities, statuses and years the synthetic trials are spread over (a trial keeps its own text).
CITIES = [
    ("Beijing", "Beijing"),
    ("Shanghai", "Shanghai"),
    ("Guangzhou", "Guangdong"),
    ("Wuhan", "Hubei"),
    ("Chengdu", "Sichuan"),
    ("Nanjing", "Jiangsu"),
    ("Fuzhou", "Fujian"),
    ("Jinan", "Shandong"),
    ("Hangzhou", "Zhejiang"),
    ("Xi'an", "Shaanxi"),
]
STATUSES = ["RECRUITING", "COMPLETED", "UNKNOWN", "NOT_YET_RECRUITING", "TERMINATED"]


def build_synthetic(path: Path, trials: int, seed: int = 20261125) -> Database:
    """A SQLite database of ``trials`` trials cloned from the bundled ones (cached at ``path``)."""
    db = Database(f"sqlite:///{path}")
    if path.exists():
        return db
    load_bundled(db)
    rng = random.Random(seed)
    with db.session() as session:
        templates = session.scalars(
            select(TrialRow).options(
                selectinload(TrialRow.sites), selectinload(TrialRow.derivations)
            )
        ).all()
        columns = [c.key for c in TrialRow.__table__.columns if c.key not in ("uid", "display_id")]
        base = [({c: getattr(t, c) for c in columns}, t.sites, t.derivations) for t in templates]
    first_uid = len(base) + 1
    batch = 20_000
    for start in range(0, trials - len(base), batch):
        rows, ids, sites, sources, derivations = [], [], [], [], []
        for n in range(start, min(start + batch, trials - len(base))):
            values, tsites, tder = base[n % len(base)]
            uid, key = first_uid + n, f"SYN{n:08d}"
            city, province = rng.choice(CITIES)
            year = rng.randint(2005, 2026)
            status = rng.choice(STATUSES)
            rows.append(
                {
                    **values,
                    "uid": uid,
                    "display_id": key,
                    "status_code": status,
                    "start_year": year,
                    "start_date": f"{year}-{rng.randint(1, 12):02d}",
                    "search_text": f"{key.lower()} | {city.lower()} | {values['search_text']}",
                    "content_hash": key,
                }
            )
            ids.append(
                {"trial_uid": uid, "position": 0, "registry_name": "other", "registry_id": key}
            )
            sites.append(
                {
                    "trial_uid": uid,
                    "position": 0,
                    "name": (tsites[0].name if tsites else None),
                    "city": city,
                    "province": province,
                    "country": "China",
                }
            )
            sources.append({"trial_uid": uid, "url": values["source_url"], "fields": ["record"]})
            derivations += [
                {
                    "trial_uid": uid,
                    "field": d.field,
                    "value": d.value,
                    "method": d.method,
                    "rule": d.rule,
                }
                for d in tder
            ]
        with db.session() as session:
            for table, data in (
                (TrialRow, rows),
                (RegistryIdRow, ids),
                (SiteRow, sites),
                (SourceRow, sources),
                (DerivationRow, derivations),
            ):
                session.execute(insert(table), data)
        print(f"  synthetic: {start + len(rows) + len(base):,} trials", file=sys.stderr)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return db


def run_dataset(name: str, db: Database, args: argparse.Namespace, lua: Path) -> dict:
    """Every target against one database, with the worker response cache on and off."""
    out: dict = {}
    for mode, ttl in (("cached", args.cache_ttl), ("uncached", 0.0)):
        proc, base = start_server(db.url, args.workers, ttl)
        try:
            results: dict = {"cache_ttl_s": ttl}
            for target, path in TARGETS.items():
                results[target] = {
                    "path": path,
                    **wrk_round(base + path, args.duration, args.connections, args.threads, lua),
                }
                print(f"  {name} {mode} {target}: {results[target]}", file=sys.stderr)
            ceiling = results["static_baseline"]["req_per_s"] or 1
            for target in TARGETS:
                results[target]["ratio_to_static"] = round(
                    results[target]["req_per_s"] / ceiling, 3
                )
            search = results["api_search"]
            results["api_search_meets_goal"] = (
                search["req_per_s"] >= 1000 and search["p99_ms"] <= 50 and search["errors"] == 0
            )
            out[mode] = results
            out["trials"] = httpx.get(base + "/api/stats", timeout=60).json()["counts"]["trials"]
        finally:
            stop_server(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--trials", type=int, default=500_000, help="size of the synthetic database"
    )
    parser.add_argument(
        "--synthetic-db",
        type=Path,
        default=Path(tempfile.gettempdir()) / "isletbase-bench-500k.db",
        help="where the synthetic database is cached",
    )
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument(
        "--cache-ttl", type=float, default=5.0, help="ISLETBASE_CACHE_TTL of the cached runs"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="isletbase-bench-"))
    lua = work / "report.lua"
    lua.write_text("")
    bundled = Database(f"sqlite:///{work / 'bundled.db'}")
    load_bundled(bundled)
    report = {
        "workers": args.workers,
        "connections": args.connections,
        "threads": args.threads,
        "duration_s": args.duration,
        "cpu_count": os.cpu_count(),
        "goal": {"api_search": {"req_per_s_min": 1000, "p99_ms_max": 50, "errors": 0}},
        "datasets": {"bundled": run_dataset("bundled", bundled, args, lua)},
    }
    if not args.skip_synthetic:
        started = time.monotonic()
        synthetic = build_synthetic(args.synthetic_db, args.trials)
        report["synthetic_build_s"] = round(time.monotonic() - started, 1)
        report["datasets"]["synthetic"] = run_dataset("synthetic", synthetic, args, lua)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
