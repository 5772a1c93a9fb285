"""The ``isletbase`` command: a thin Typer shell over the package's functions.

Each capability keeps its commands in its own module here, exposing ``register(app)``; the list
below wires them in. User errors (``IsletbaseError`` and usage mistakes) print one line on stderr
and exit 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer
from sqlalchemy.exc import DatabaseError, OperationalError
from typer.core import TyperGroup

try:  # typer >= 0.20 ships its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from isletbase.cli.common import reader_gone
from isletbase.errors import IsletbaseError

#: Modules of ``isletbase.cli`` that add commands through ``register(app)``.
REGISTRARS: tuple[str, ...] = (
    "trials",
    "database",
    "serve",
    "census",
    "evidence",
    "regulation",
    "simulate",
    "ingest",
)


class _Group(TyperGroup):
    """Turns a user error raised anywhere below into one line and exit code 2 (a file the user
    named that cannot be read or written too), and so a database that cannot be used: a
    ``--db`` that is no database, a server that does not answer, a file locked too long (a
    constraint failing stays a traceback: that is a bug)."""

    def invoke(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        from isletbase.cli.common import fail

        try:
            return super().invoke(ctx)
        except IsletbaseError as exc:
            fail(str(exc))
        except BrokenPipeError:  # the reader went (`| head`): no error of ours
            reader_gone()
        except OSError as exc:  # a path given on the command line: no folder, no permission
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            fail(f"a file given is not UTF-8 text ({exc.reason} at byte {exc.start})")
        except DatabaseError as exc:
            if not isinstance(exc, OperationalError) and "not a database" not in str(exc):
                raise
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            fail(f"the database cannot be used: {reason}")


app = typer.Typer(
    cls=_Group,
    name="isletbase",
    help="A living, sourced evidence base on stem-cell therapies for diabetes, China first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for _name in REGISTRARS:
    importlib.import_module(f"isletbase.cli.{_name}").register(app)


def _command_path(argv: list[str]) -> str | None:
    """The command ``argv`` names ("isletbase search"), for an error raised before its context
    was made (an option given without its value: ``search --country``)."""
    commands = getattr(typer.main.get_command(app), "commands", {})
    words = ["isletbase"]
    for token in argv:
        if token not in commands:
            break
        commands = getattr(commands[token], "commands", {})  # a group's, or none
        words.append(token)
    return " ".join(words) if len(words) > 1 else None


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning click usage errors into one line and exit 2."""
    try:
        code = app(args=argv, standalone_mode=False, prog_name="isletbase")
        sys.stdout.flush()  # here, where a reader gone is caught, not at the interpreter's exit
    except BrokenPipeError:
        reader_gone()
    except NoArgsIsHelpError:  # the help has been printed already
        sys.exit(0)
    except UsageError as exc:
        path = exc.ctx.command_path if exc.ctx else _command_path(argv or sys.argv[1:])
        where = f" (see: {path} --help)" if path else ""
        message = exc.format_message()
        if exc.ctx and exc.ctx.info_name == "search" and "unexpected extra argument" in message:
            # `isletbase search umbilical cord`: the words after the first are extra arguments
            where = ' (a text of several words goes in quotes: isletbase search "umbilical cord")'
        print(f"error: {message}{where}", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
