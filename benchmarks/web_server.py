"""What the web benchmarks share: a uvicorn server on a free loopback port, and ``wrk`` rounds
whose summary (requests, latency percentiles, errors) comes back as JSON from a Lua hook."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    db_url: str, workers: int, cache_ttl: float | None = None
) -> tuple[subprocess.Popen, str]:
    """uvicorn with ``workers`` processes over ``db_url``; returns once it answers."""
    port = free_port()
    env = {**os.environ, "ISLETBASE_DB": db_url}
    env.pop("ISLETBASE_TOKEN", None)
    if cache_ttl is not None:
        env["ISLETBASE_CACHE_TTL"] = str(cache_ttl)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "isletbase.app:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/stats", timeout=30).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server on {db_url} did not start")


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
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait(timeout=10)
