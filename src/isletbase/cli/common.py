"""What every CLI command shares: the console, the database option and one-line failures."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from isletbase.errors import InputError
from isletbase.store.db import Database

#: The exit status of a process whose output pipe closed (128 + SIGPIPE), as a shell reports it.
PIPE_CLOSED = 141


def reader_gone() -> NoReturn:
    """Exit quietly once the process reading our output has gone (``isletbase search … | head``):
    it was reported as "error: Broken pipe" with exit 2, or a table's write ended it with exit
    1. What is still buffered goes nowhere (stdout pointed at /dev/null), so the exit's own
    flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(PIPE_CLOSED)


class _Console(Console):
    """rich's console, ending as every command does when its reader has gone (rich exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        reader_gone()


console = _Console()
err_console = _Console(stderr=True)

#: Use as ``db: Annotated[str | None, DbOption] = None``.
DbOption = typer.Option(
    "--db",
    help="Database URL (sqlite:///FILE or postgresql+psycopg://…); "
    "default $ISLETBASE_DB or ./isletbase.db.",
)


def error_line(message: str) -> None:
    """Print one line naming a user error to stderr, unwrapped (a script reads it whole). The
    message is text, not markup: it may quote what a user typed or a registry wrote."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr (``error_line``) and exit: the CLI never shows a
    traceback for user errors."""
    error_line(message)
    raise typer.Exit(code)


def writable_file(path: Path | None, option: str) -> Path | None:
    """``path`` where a file can be written there, checked before the work that fills it (a run
    of minutes should not end in "Is a directory"); else an ``InputError`` naming ``option``."""
    if path is None:
        return None
    if path.is_dir():
        raise InputError(f"{option} {str(path)!r}: is a folder; expected a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{option} {str(path)!r}: there is no folder {str(folder)!r}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{option} {str(path)!r}: not writable")
    return path


def writable_folder(path: Path | None, option: str) -> Path | None:
    """``path`` as a folder of outputs, made now if it is not there (``writable_file``'s check
    for a folder: a permission check alone let root "write" under /proc until the end)."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {str(path)!r}: is a file; expected a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {str(path)!r}: cannot make it ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"{option} {str(path)!r}: not writable")
    return path


def open_db(url: str | None) -> Database:
    """Open the database named on the command line, in $ISLETBASE_DB, or the default file."""
    return Database(url or os.environ.get("ISLETBASE_DB"))


def loaded_db(url: str | None) -> Database:
    """The database a reading command needs, or one line saying there is none there (never an
    empty database made by the asking, under a mistyped path)."""
    db = open_db(url)
    if not db.is_initialised():
        fail(f"no database at {db.url}; run `isletbase db load` first")
    return db


Item = TypeVar("Item")


def print_listing(
    items: Sequence[Item],
    as_json: bool,
    data: Callable[[Item], dict[str, Any]],
    title: str,
    columns: Iterable[str],
    row: Callable[[Item], Sequence[str]],
) -> None:
    """Print ``items`` as a JSON list (``data`` of each, for scripts) or as a rich table."""
    if as_json:
        console.print_json(json.dumps([data(i) for i in items], ensure_ascii=False))
        return
    table = Table(title=escape(title))
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in items:  # cells hold registry text: shown as written, never read as markup
        table.add_row(*map(escape, row(item)))
    console.print(table)


def counted(n: int, thing: str, things: str | None = None) -> str:
    """``n`` things in words ("1 institution", "2 institutions"; it read "1 institutions")."""
    return f"{n} {thing if n == 1 else things or thing + 's'}"
