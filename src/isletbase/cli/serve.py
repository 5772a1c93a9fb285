"""``isletbase serve``: the JSON API and web site on a local address."""

from __future__ import annotations

from typing import Annotated

import typer

from isletbase.cli.common import DbOption, console, open_db
from isletbase.errors import InputError


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    db: Annotated[str | None, DbOption] = None,
) -> None:
    """Serve the JSON API (/api, docs at /api/docs) and the web site."""
    import os

    import uvicorn

    database = open_db(db)
    if not database.is_initialised():
        console.print(f"[yellow]no data yet at {database.url}; run `isletbase db load`[/]")
    os.environ["ISLETBASE_DB"] = database.url
    can_listen(host, port)
    console.print(f"serving {database.url} on http://{host}:{port} (API docs at /api/docs)")
    uvicorn.run(
        "isletbase.app:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def can_listen(host: str, port: int) -> None:
    """``InputError`` where the server could not listen at ``host``:``port`` (a port in use, a
    host that is no address here): said on one line before "serving …" is printed (it was
    printed, then uvicorn's own error, and the run ended with exit 3, the exit of a check that
    found violations)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:  # socket.gaierror too
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
