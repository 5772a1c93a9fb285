"""What every CLI command shares: the console, the database option and one-line failures."""

from __future__ import annotations

import os
from typing import NoReturn

import typer
from rich.console import Console

from isletbase.store.db import Database

console = Console()
err_console = Console(stderr=True)

#: Use as ``db: Annotated[str | None, DbOption] = None``.
DbOption = typer.Option(
    "--db",
    help="Database URL (sqlite:///FILE or postgresql+psycopg://…); "
    "default $ISLETBASE_DB or ./isletbase.db.",
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit: the CLI never shows a traceback for user errors."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_db(url: str | None) -> Database:
    """Open the database named on the command line, in $ISLETBASE_DB, or the default file."""
    return Database(url or os.environ.get("ISLETBASE_DB"))
