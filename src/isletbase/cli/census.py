"""``isletbase census``: PRISMA counts, flow diagram and audit sample, read from the data files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from isletbase import census
from isletbase.cli.common import console, fail, writable_file
from isletbase.errors import InputError, IsletbaseError

census_app = typer.Typer(
    help="Census of registered stem-cell trials for diabetes in China: counts, flow, audit.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@census_app.callback()
def counts(
    ctx: typer.Context,
    svg: Path | None = typer.Option(
        None, "--svg", help="Write the PRISMA flow diagram to this SVG file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Print the PRISMA-style counts of the census (and optionally write the flow SVG)."""
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in (("--svg", svg), ("--json", as_json)) if value]
        if given:  # they were passed over: `census --svg f.svg audit` wrote nothing, exit 0
            raise typer.BadParameter(
                f"{', '.join(given)}: for `census` alone (its counts), not for "
                f"`census {ctx.invoked_subcommand}`, whose options follow its name",
                param_hint=given[0],
            )
        return
    try:
        writable_file(svg, "--svg")  # a folder or no folder: said as the other commands say it
        if svg is not None and svg.suffix.lower() != ".svg":  # SVG was written into flow.png
            raise InputError(f"--svg: {svg.name}: the diagram is SVG; give a file ending .svg")
        protocol = census.load_protocol()
        result = census.prisma(census.load_screening(), protocol, census.load_trials())
        if svg is not None:
            svg.write_text(census.flow_svg(result, protocol.exclusion_codes), encoding="utf-8")
    except (IsletbaseError, OSError) as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    table = Table(title=f"Census (protocol {protocol.version}, searched {protocol.search_date})")
    table.add_column("step")
    table.add_column("records", justify="right")
    for source, n in result.identified_by_source.items():
        table.add_row(f"identified — {protocol.source_name(source)}", str(n))
    table.add_row("identified", str(result.identified))
    table.add_row("duplicates removed", str(result.duplicates))
    table.add_row("screened", str(result.screened))
    for code, n in result.excluded_by_reason.items():
        table.add_row(f"excluded — {protocol.exclusion_codes.get(code, code)}", str(n))
    table.add_row("excluded", str(result.excluded))
    table.add_row("included", str(result.included))
    table.add_row("  China / HK / Macau / Taiwan", str(result.included_china))
    table.add_row("    diabetic complications", str(result.china_complications))
    table.add_row("  foreign comparators", str(result.included_comparators))
    table.add_row("queries run", str(result.queries))
    for code, n in result.loaded_excluded.items():
        table.add_row(
            f"excluded, in the trials database for context — "
            f"{protocol.exclusion_codes.get(code, code)}",
            str(n),
        )
    console.print(table)
    if svg is not None:
        console.print(f"flow diagram written to {svg}")


@census_app.command("audit")
def audit(
    sample: int = typer.Option(20, "--sample", help="How many included records to draw."),
    seed: int = typer.Option(
        ..., "--seed", help="Random seed; the same seed draws the same records."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the sample as JSON."),
) -> None:
    """Draw a reproducible sample of included records with their source URL and fields to verify."""
    try:
        items = census.audit(sample, seed)
    except IsletbaseError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps([asdict(i) for i in items], ensure_ascii=False))
        return
    for n, item in enumerate(items, start=1):
        console.print(
            f"[bold]{n}. {item.id}[/] ({item.in_file or 'screening log only'})", highlight=False
        )
        console.print(f"   source: {item.source_url}", highlight=False, soft_wrap=True)
        for key, value in item.fields.items():
            console.print(
                f"   [ ] {key}: {json.dumps(value, ensure_ascii=False)}",
                highlight=False,
                soft_wrap=True,
            )


def register(app: typer.Typer) -> None:
    """Add ``isletbase census`` to the main app."""
    app.add_typer(census_app, name="census")
