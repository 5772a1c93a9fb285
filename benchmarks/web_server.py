"""What the web benchmarks share: a uvicorn server on a free loopback port, and ``wrk`` rounds
whose summary (requests, latency percentiles, errors) comes back as JSON from a Lua hook."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from isletbase import server_process

#: Appended to any wrk script: print the round's summary as one JSON line.
REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


#: wrk's error counters: socket errors, non-2xx/3xx answers ("status") and timeouts.
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


def start_server(
    db_url: str, workers: int, cache_ttl: float | None = None
) -> tuple[subprocess.Popen, str]:
    """uvicorn with ``workers`` processes over ``db_url`` (no write token; the response cache
    as ``serve`` runs it unless ``cache_ttl`` says otherwise); returns once it answers."""
    env = {k: v for k, v in os.environ.items() if k != "ISLETBASE_TOKEN"}
    if cache_ttl is not None:
        env["ISLETBASE_CACHE_TTL"] = str(cache_ttl)
    try:
        return server_process.start(db_url, workers, env)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc


def wrk_round(
    url: str, seconds: int, connections: int, threads: int, script: Path, warm_timeout: float = 60
) -> dict:
    """One wrk run; latencies in ms, errors = socket errors + non-2xx/3xx answers.

    A first request warms the path; if it takes longer than ``warm_timeout`` seconds the round
    is not run and the result says so (``warm_up_failed``) instead of timing a stuck server.
    """
    try:
        httpx.get(url, timeout=warm_timeout)  # the first request pays imports and compiles
    except httpx.TimeoutException:
        return {
            "warm_up_failed": f"first request took over {warm_timeout} s",
            "req_per_s": 0.0,
            "p50_ms": None,
            "p99_ms": None,
            "errors": 1,
            "requests": 0,
        }
    if REPORT_LUA not in script.read_text():
        script.write_text(script.read_text() + REPORT_LUA)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    raw = json.loads(out.strip().splitlines()[-1])
    return {
        "req_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "errors": sum(raw[k] for k in ERROR_KINDS),
        "error_kinds": {k: raw[k] for k in ERROR_KINDS if raw[k]},
        "requests": raw["requests"],
    }


def stop_server(proc: subprocess.Popen) -> None:
    """Stop uvicorn; a worker stuck in a long query is killed after 10 s."""
    server_process.stop(proc)
