"""The served site in a process of its own, on a free loopback port.

The browser tests, the load benchmark and the soak all run the real ``uvicorn`` command line
against a database file, as ``isletbase serve`` does, rather than an application object in the
test process; this is the one place that starts such a server and waits until it answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import IO

import httpx


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    db_url: str,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    log: IO | None = None,
    timeout: float = 60,
) -> tuple[subprocess.Popen, str]:
    """Serve ``db_url`` with ``workers`` uvicorn processes; return the process and base URL
    once ``/api/stats`` answers. ``env`` replaces the environment the server gets (the
    database URL is added); ``log`` receives its output (else it is discarded)."""
    port = free_port()
    command = [
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
    ]
    proc = subprocess.Popen(
        command,
        env={**(os.environ if env is None else env), "ISLETBASE_DB": db_url},
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so ``stop`` reaches every worker
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/stats", timeout=timeout).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"the server on {db_url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """Stop the server; workers still busy (a long query) after ``grace`` seconds are killed."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
