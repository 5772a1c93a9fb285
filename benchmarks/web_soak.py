"""Soak test: the server under steady mixed load for a bounded time, memory sampled throughout.

Starts uvicorn (workers = cores) on the bundled data, drives it with ``wrk`` on loopback through a
rotating mix of API searches (varied free text and filters, so the worker cache sees many keys),
trial pages, search pages and exports, in back-to-back rounds; after each round it records the
resident memory of the server's processes and the round's errors. Writes JSON with the series and
the verdict: memory is flat when the last quarter's mean RSS is within ``--tolerance`` of the
mean after warm-up, and the run is clean when no round had errors.

    .venv/bin/python benchmarks/web_soak.py --out soak.json [--seconds 600] [--round 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
from web_server import start_server, stop_server, wrk_round

from isletbase.ingest import load_bundled
from isletbase.store.db import Database

PATHS = [
    "/api/trials?q=umbilical&condition=T1D",
    "/api/trials?q=%E8%84%90%E5%B8%A6&per_page=50",
    "/api/trials?cell_source=UC-MSC&sort=-enrollment&page=2",
    "/api/trials?q=xiehe",
    "/api/trials?status=RECRUITING&province=Beijing",
    "/api/trials?q=bone+marrow&year_from=2010&year_to=2020",
    "/api/trials/NCT01219465",
    "/api/trials/NCT01219465/history",
    "/api/institutions?q=hospital",
    "/api/stats?by=cell_source&by=year",
    "/api/export/csv?condition=T2D",
    "/trials?q=umbilical&condition=T1D",
    "/trials?q=%E5%B9%B2%E7%BB%86%E8%83%9E&page=2",
    "/trials/NCT01219465",
    "/institutions",
    "/",
]
#: wrk script: each request takes the next path; cache-busting page numbers vary keys over time.
MIX_LUA = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  local path = paths[(i %% #paths) + 1]
  if i %% 7 == 0 then
    local sep = string.find(path, "?") and "&" or "?"
    path = path .. sep .. "per_page=" .. ((i %% 50) + 1)
  end
  return wrk.format("GET", path)
end
"""


def server_rss(pid: int) -> int:
    """Resident memory of the server and its worker processes, bytes."""
    parent = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=600, help="total soak time")
    parser.add_argument("--round", type=int, default=30, help="seconds per wrk round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed RSS growth")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="isletbase-soak-"))
    db = Database(f"sqlite:///{work / 'soak.db'}")
    load_bundled(db)
    lua = work / "mix.lua"
    lua.write_text(MIX_LUA % ", ".join(json.dumps(p) for p in PATHS))
    proc, base = start_server(db.url, args.workers)
    rounds = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.seconds:
            result = wrk_round(base + "/", args.round, args.connections, 1, lua)
            result["rss_mb"] = round(server_rss(proc.pid) / 2**20, 1)
            result["t_s"] = round(time.monotonic() - started)
            rounds.append(result)
            print(f"  {result}", file=sys.stderr)
    finally:
        stop_server(proc)
    warm = rounds[1:] or rounds
    baseline = sum(r["rss_mb"] for r in warm[: max(1, len(warm) // 4)]) / max(1, len(warm) // 4)
    last = warm[-max(1, len(warm) // 4) :]
    final = sum(r["rss_mb"] for r in last) / len(last)
    report = {
        "seconds": args.seconds,
        "workers": args.workers,
        "connections": args.connections,
        "paths": PATHS,
        "rounds": rounds,
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "rss_after_warmup_mb": round(baseline, 1),
        "rss_last_quarter_mb": round(final, 1),
        "rss_growth": round(final / baseline - 1, 4),
    }
    report["memory_flat"] = report["rss_growth"] <= args.tolerance
    report["clean"] = report["errors"] == 0
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("rounds", "paths")}, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
