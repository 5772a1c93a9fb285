"""The census: counts agree with the screening log, the flow SVG shows them, the audit repeats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from html import unescape

import pytest
import typer
from typer.testing import CliRunner

from isletbase import census
from isletbase.errors import InputError
from isletbase.model import TrialRecord


@pytest.fixture(scope="module")
def rows():
    return census.load_screening()


@pytest.fixture(scope="module")
def protocol():
    return census.load_protocol()


def test_every_candidate_is_identified_once_and_ends_in_one_box(rows):
    counts = census.prisma(rows)
    assert counts.included + counts.excluded + counts.duplicates == counts.identified
    assert counts.screened == counts.identified - counts.duplicates
    assert sum(counts.identified_by_source.values()) == counts.identified
    assert sum(counts.excluded_by_reason.values()) == counts.excluded
    assert counts.included_china + counts.included_comparators == counts.included


def test_query_yields_in_the_protocol_match_the_screening_log(rows, protocol):
    logged = Counter(r.query for r in rows if r.query)
    assert {q.id: q.candidates for q in protocol.queries} == {
        q.id: logged.get(q.id, 0) for q in protocol.queries
    }


def test_exclusion_codes_are_those_the_protocol_defines(rows, protocol):
    assert {r.exclusion for r in rows if r.exclusion} <= set(protocol.exclusion_codes)


def test_duplicates_point_at_a_record_that_was_screened(rows):
    screened = {r.id for r in rows if r.decision != "duplicate"}
    assert {r.duplicate_of for r in rows if r.decision == "duplicate"} <= screened


def test_census_file_holds_only_included_trials_outside_the_shared_and_core_sets(rows):
    trials_dir = census.DATA / "trials"
    lines = (trials_dir / "census.jsonl").read_text(encoding="utf-8").splitlines()
    records = [TrialRecord.model_validate(json.loads(line)) for line in lines if line.strip()]
    ids = {r.display_id for r in records}
    marked = {r.id for r in rows if r.in_file == "census"}
    assert ids == marked
    core = (trials_dir / "core.jsonl").read_text(encoding="utf-8")
    assert not any(f'"{i}"' in core for i in ids)


def test_flow_svg_is_valid_xml_and_shows_the_counts(rows):
    counts = census.prisma(rows)
    svg = census.flow_svg(counts)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    for n in (
        counts.identified,
        counts.duplicates,
        counts.excluded,
        counts.included,
        counts.included_china,
    ):
        assert f": {n}" in svg


def test_audit_is_reproducible_for_a_seed_and_changes_with_the_seed(rows):
    first = [i.id for i in census.audit(20, 7, rows=rows)]
    assert first == [i.id for i in census.audit(20, 7, rows=rows)]
    assert first != [i.id for i in census.audit(20, 8, rows=rows)]
    assert len(set(first)) == 20
    included = {r.id for r in rows if r.decision == "included"}
    assert set(first) <= included


def test_audit_items_carry_a_source_url_and_fields_to_verify(rows):
    for item in census.audit(5, 1, rows=rows):
        assert item.source_url and item.source_url.startswith("http")
        assert item.fields


def test_a_malformed_screening_line_names_the_line_and_field(tmp_path, rows):
    good = rows[0].model_dump()
    bad = dict(good, decision="maybe")
    path = tmp_path / "screening.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: field decision"):
        census.load_screening(path)


def test_an_excluded_line_without_a_code_is_refused(tmp_path, rows):
    row = next(r for r in rows if r.decision == "excluded").model_dump()
    row["exclusion"] = None
    path = tmp_path / "screening.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1 .*exclusion"):
        census.load_screening(path)


@pytest.fixture()
def cli():
    from isletbase.cli.census import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test shell."""

    register(app)
    return app


def test_cli_prints_counts_as_json_and_writes_the_svg(cli, tmp_path, rows):
    svg = tmp_path / "flow.svg"
    result = CliRunner().invoke(cli, ["census", "--json", "--svg", str(svg)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["identified"] == len(rows)
    assert data["loaded_excluded"]["not-diabetes"] == 1  # NCT02336646, in the database
    ET.fromstring(svg.read_text(encoding="utf-8"))


def test_cli_names_an_svg_path_it_cannot_write_like_the_other_commands(cli, tmp_path):
    """A folder gave "[Errno 21] Is a directory: …", Python's words."""
    folder = CliRunner().invoke(cli, ["census", "--svg", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder; expected a file name" in folder.output
    assert "Errno" not in folder.output


def test_cli_table_and_audit(cli):
    table = CliRunner().invoke(cli, ["census"])
    assert table.exit_code == 0 and "included" in table.output
    assert "in the trials database for context" in " ".join(table.output.split())
    audit = CliRunner().invoke(cli, ["census", "audit", "--sample", "3", "--seed", "4", "--json"])
    assert audit.exit_code == 0, audit.output
    assert len(json.loads(audit.output)) == 3


def test_cli_bad_sample_exits_2_with_one_line(cli):
    result = CliRunner().invoke(cli, ["census", "audit", "--sample", "0", "--seed", "1"])
    assert result.exit_code == 2


def test_every_china_record_of_the_export_sweep_is_included_in_the_census(rows):
    lines = (census.DATA / "trials" / "ctgov_export.jsonl").read_text(encoding="utf-8").splitlines()
    records = [TrialRecord.model_validate(json.loads(line)) for line in lines if line.strip()]
    china = {r.display_id for r in records if r.region != "foreign"}
    included = {r.id for r in rows if r.decision == "included" and r.scope == "china"}
    assert china <= included
    logged = {r.id for r in rows if r.query == "e01"}
    assert {r.display_id for r in records} <= logged


def test_the_census_options_given_with_a_subcommand_are_refused_not_passed_over(tmp_path):
    """`census --svg f.svg audit` wrote no file and `census --json audit` printed text, exit 0."""
    from isletbase.cli import app

    svg = tmp_path / "flow.svg"
    result = CliRunner().invoke(app, ["census", "--svg", str(svg), "audit", "--sample", "1"])
    assert result.exit_code == 2 and "--svg" in result.output and not svg.exists()
    assert CliRunner().invoke(app, ["census", "--json", "audit", "--sample", "1"]).exit_code == 2
    assert CliRunner().invoke(app, ["census", "--svg", str(svg)]).exit_code == 0 and svg.exists()


def test_the_flow_diagram_is_written_only_to_an_svg_file(tmp_path):
    """`census --svg flow.png` wrote SVG into a file named .png."""
    from isletbase.cli import app

    png = tmp_path / "flow.png"
    result = CliRunner().invoke(app, ["census", "--svg", str(png)])
    assert result.exit_code == 2 and "give a file ending .svg" in result.output
    assert not png.exists()


def test_flow_svg_shows_each_exclusion_reason_whole(rows, protocol):
    """Reasons were cut at 38 characters ("publication, review, news or commercia: 71")."""
    counts = census.prisma(rows)
    svg = unescape(census.flow_svg(counts, protocol.exclusion_codes))
    for code, n in counts.excluded_by_reason.items():
        words = protocol.exclusion_codes[code].split()
        assert all(word in svg for word in words), code
        assert f"{words[-1]}: {n}" in svg  # the count stays with its reason's last word


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("publication, review, news or commercial page rather than a registry record", 40),
        ("显示了研究点，但均不在中国大陆、香港、澳门或台湾，且不是关键对照试验", 40),
    ],
)
def test_a_flow_label_wraps_within_its_width_and_keeps_its_count(text, width):
    lines = census._wrapped(text, width, "：42").split("\n")
    assert len(lines) > 1 and lines[-1].endswith("：42")
    assert all(census._columns(line) <= width + 4 for line in lines)
    assert "".join(line.strip().replace(" ", "") for line in lines) == (text + "：42").replace(
        " ", ""
    )
