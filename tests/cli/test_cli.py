"""Each foundation command run as a user would, against a real database file."""

from __future__ import annotations

import csv
import io
import json
import re
from importlib import resources

import pytest
import rispy
from typer.testing import CliRunner

from isletbase.cli import app, main
from isletbase.store import search as search_module

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def url(loaded_db) -> str:
    return loaded_db.url


def test_db_init_load_check_on_a_new_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert run("db", "init", "--db", url).exit_code == 0
    loaded = run("db", "load", "--db", url)
    assert loaded.exit_code == 0
    assert "loading trials" in loaded.output and "quarantined" in loaded.output
    checked = run("db", "check", "--db", url)
    assert checked.exit_code == 0 and "ok" in checked.output


def test_db_check_without_a_database_fails(tmp_path):
    assert run("db", "check", "--db", f"sqlite:///{tmp_path / 'none.db'}").exit_code == 1


def test_search_combines_text_and_filters(url):
    result = run("search", "umbilical cord", "--condition", "T1D", "--json", "--db", url)
    data = json.loads(result.output)
    assert data["total"] >= 1
    assert all(t["condition"] == "T1D" for t in data["trials"])
    assert data["filters"] == {"q": "umbilical cord", "condition": "T1D"}


def test_search_in_chinese_prints_a_table(url):
    result = run("search", "脐带间充质干细胞", "--per-page", "5", "--db", url)
    assert result.exit_code == 0 and "trials (page 1" in result.output


def test_a_search_table_keeps_each_registry_id_on_one_line(url, monkeypatch):
    """Piped (80 columns), the id column split NCT00690066 into NCT00690 / 066: a grep for the
    id found nothing."""
    from isletbase.cli.common import console

    monkeypatch.setattr(console, "_width", 60)
    table = run("search", "diabetes", "--per-page", "20", "--db", url).output
    found = json.loads(run("search", "diabetes", "--per-page", "20", "--json", "--db", url).output)
    ids = [t["registry_ids"][0]["id"] for t in found["trials"]]
    assert ids and all(i in table for i in ids), table


def test_a_search_with_a_country_no_trial_names_so_offers_the_stored_spelling(url):
    result = run("search", "--country", "Korea", "--db", url)
    assert result.exit_code == 0 and "0 trials" in result.output
    assert "--country 'Korea, Republic of'" in " ".join(result.output.split())
    assert "did you mean" not in run("search", "--country", "Russia", "--db", url).output


def test_search_by_pinyin_names_the_institution(url):
    data = json.loads(run("search", "xiehe", "--json", "--db", url).output)
    assert "pumch" in [i["id"] for i in data["institutions"]]


def test_show_prints_fields_sources_and_derivations(url):
    result = run("show", "NCT01219465", "--db", url)
    assert result.exit_code == 0
    for text in ("Qingdao University", "clinicaltrials.gov", "derived fields", "cell_source"):
        assert text in result.output
    # a linked site names its institution in both languages, not by its directory id alone
    flat = "".join(result.output.replace("│", "").split())
    assert "→青岛大学附属医院/TheAffiliatedHospitalofQingdaoUniversity(qingdao-university" in flat
    data = json.loads(run("show", "NCT01219465", "--json", "--db", url).output)
    assert data["cell_source"] == "UC-MSC"
    assert {d["field"] for d in data["derivations"]} >= {"cell_source", "condition", "status_code"}


def test_a_search_page_past_the_last_says_so(url):
    """It printed an empty table under "(page 999 of 4)"; one trial was "1 trials"."""
    past = run("search", "diabetes", "--page", "999", "--db", url)
    assert past.exit_code == 0 and "— past the last page)" in past.output
    assert "1 trial (page 1 of 1)" in run("search", "NCT01219465", "--db", url).output


def test_an_unquoted_search_of_several_words_is_told_to_quote_them(url, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "umbilical", "cord", "--db", url])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unexpected extra argument" in err and 'isletbase search "umbilical cord"' in err


def test_show_reads_a_full_width_id(url):
    """As a Chinese input method types it: ＮＣＴ01219465 is NCT01219465."""
    assert run("show", "ＮＣＴ０１２１９４６５", "--db", url).exit_code == 0


@pytest.mark.parametrize("written", ["ChiCTR-2300072200", "ChiCTR 2300072200", "chictr2300072200"])
def test_show_reads_a_chictr_id_as_ingest_reads_it_from_a_page(url, written):
    """Ingest stores ChiCTR-2300072200 as ChiCTR2300072200; `show` found no trial of it."""
    shown = run("show", written, "--json", "--db", url)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["registry_ids"][0]["id"] == "ChiCTR2300072200"


def test_show_unknown_id_is_one_line_and_exit_2(url, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["show", "NCT99999999", "--db", url])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "NCT99999999" in err


def test_usage_errors_are_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--no-such-flag"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--no-such-flag" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "command"),
    [(["search", "--country"], "isletbase search"),
     (["ingest", "ctgov", "--query"], "isletbase ingest ctgov")],
)  # fmt: skip
def test_an_option_without_its_value_names_the_command_s_help(capsys, argv, command):
    """It said only "Option '--country' requires an argument.", without the hint every other
    usage error gives."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"(see: {command} --help)")


def test_stats_by_two_facets(url):
    result = run("stats", "--by", "cell_source", "--by", "year", "--db", url)
    assert result.exit_code == 0 and "UC-MSC" in result.output and "total" in result.output
    rows = json.loads(run("stats", "--by", "region", "--json", "--db", url).output)
    assert {r["region"] for r in rows} >= {"mainland China", "foreign"}


@pytest.mark.parametrize("fmt", ["csv", "json", "ris"])
def test_export_writes_each_format_with_sources(url, tmp_path, fmt):
    out = tmp_path / f"trials.{fmt}"
    result = run(
        "export", "--format", fmt, "--out", str(out), "--cell-source", "UC-MSC", "--db", url
    )
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and all(
            r["cell_source"] == "UC-MSC" and r["source_url"].startswith("http") for r in rows
        )
    elif fmt == "json":
        trials = json.loads(text)
        assert trials and all(t["source_url"] for t in trials)
    else:
        entries = rispy.loads(text)
        assert entries and all(e["urls"] for e in entries)
        # every line a tag (rispy's writer put "1.", "2." before each record, which RIS has not)
        assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) for line in text.splitlines() if line)


def test_export_writes_every_match_past_the_count_limit(url, tmp_path, monkeypatch):
    """Past COUNT_LIMIT a total is only "at least": export pages on until a page is short
    (it stopped at the capped total, 10,000 at registry scale)."""
    monkeypatch.setattr(search_module, "COUNT_LIMIT", 30)
    monkeypatch.setattr(search_module, "EXPORT_PAGE", 20)
    out = tmp_path / "all.json"
    assert run("export", "--format", "json", "--out", str(out), "--db", url).exit_code == 0
    everything = json.loads(out.read_text(encoding="utf-8"))
    ids = {t["registry_ids"][0]["id"] for t in everything}
    assert len(everything) == len(ids) > 30


def test_stats_total_counts_each_trial_once(url):
    """A trial with sites in two provinces is in two rows; the total counts it once, and
    trials without a site are a row of their own."""
    rows = json.loads(run("stats", "--by", "province", "--json", "--db", url).output)
    assert None in {r["province"] for r in rows}
    shown = run("stats", "--by", "province", "--db", url).output
    everything = json.loads(run("search", "--per-page", "1", "--json", "--db", url).output)
    assert f"total          │    {everything['total']}" in shown.replace("[bold]", "")


def test_search_names_institutions_from_the_cleaned_query(url):
    data = json.loads(run("search", '"xiehe"', "--json", "--db", url).output)
    assert any(i["id"] == "pumch" for i in data["institutions"])
    blank = json.loads(run("search", "   ", "--json", "--db", url).output)
    assert blank["institutions"] == []


def test_export_to_a_dash_writes_standard_output(url, tmp_path, monkeypatch):
    """`--out -` wrote a file named "-" in the working folder."""
    monkeypatch.chdir(tmp_path)
    done = run("export", "--format", "json", "--out", "-", "--condition", "T1D", "--db", url)
    assert done.exit_code == 0 and not (tmp_path / "-").exists()
    trials = json.loads(done.stdout)
    assert trials and all(t["condition"] == "T1D" for t in trials)
    assert f"wrote {len(trials)} trials to standard output (json)" in done.stderr


def test_export_rejects_an_unknown_format(url, tmp_path):
    result = run("export", "--format", "xls", "--out", str(tmp_path / "x"), "--db", url)
    assert result.exit_code == 2


def test_classify_reads_v2_and_flat_lines_and_reports_bad_ones():
    study = {
        "protocolSection": {
            "identificationModule": {
                "nctId": "NCT01219465",
                "briefTitle": "Umbilical Cord Mesenchymal Stem Cells Infusion for Initial "
                "Type 1 Diabetes Mellitus",
            },
            "statusModule": {"overallStatus": "UNKNOWN"},
            "conditionsModule": {"conditions": ["Diabetes Mellitus, Type 1"]},
            "designModule": {"phases": ["PHASE1", "PHASE2"]},
            "armsInterventionsModule": {
                "interventions": [
                    {"type": "BIOLOGICAL", "name": "umbilical cord mesenchymal stem cells"}
                ]
            },
        }
    }
    flat = {"title_zh": "脐带间充质干细胞治疗2型糖尿病", "interventions": ["静脉输注"]}
    lines = "\n".join(
        [json.dumps(study), json.dumps(flat, ensure_ascii=False), "{oops", '{"colour": 1}']
    )
    result = runner.invoke(app, ["classify"], input=lines)
    assert result.exit_code == 2
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [set(o) for o in out] == [
        {"id", "cell_source", "condition", "route", "phase", "status", "rule"}
    ] * 2
    assert (
        out[0]["id"] == "NCT01219465"
        and out[0]["cell_source"] == "UC-MSC"
        and out[0]["phase"] == "PHASE1/PHASE2"
    )
    assert out[0]["status"] == "UNKNOWN" and out[0]["condition"] == "T1D"
    assert out[1]["condition"] == "T2D" and out[1]["route"] == "intravenous"
    assert "ucmsc-zh" in out[1]["rule"]["cell_source"]
    assert "line 3" in result.stderr and "line 4" in result.stderr


def test_institutions_lists_bilingual_names(url):
    data = json.loads(run("institutions", "协和", "--json", "--db", url).output)
    assert any(i["id"] == "pumch" and i["name_en"] for i in data)


def test_serve_help_names_host_and_port():
    result = run("serve", "--help")
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["review", "--accept", "99999999999999999999999", "--db", "{db}"],
        ["ingest", "ctgov-dump", ".", "--batch", "99999999999999999999", "--db", "{db}"],
        ["ingest", "ctgov", "--query", "x", "--rate", "0", "--db", "{db}"],
        ["evidence", "pool", "--input", "{bin}", "--measure", "MD"],
        ["evidence", "update", "--outcomes", "{bin}", "--db", "{db}"],
        ["simulate", "patient", "--scenario", "{bin}"],
        ["simulate", "trial", "--design", "{bin}", "--no-save"],
        ["simulate", "bench", "--patients", "1000000000"],
        ["simulate", "trial", "--design", "{design}", "--out", "{bin}", "--no-save"],
        ["check", "{tmp}"],
        ["check", "{offer}", "--date", ""],
        ["findings", "--severity", "", "--db", "{db}"],
        ["ingest", "ctgov", "--query", "x", "--base-url", "file:///etc/passwd", "--db", "{db}"],
    ],
)
def test_bad_arguments_and_unreadable_files_are_one_line_and_exit_2(
    tmp_path, capsys, args: list[str]
) -> None:
    """A number too big for the database, a file not in UTF-8, a file where a folder must be:
    one line naming the problem, exit 2, never a traceback."""
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00\x00garbage")
    design = resources.files("isletbase") / "data" / "simulate" / "example.yaml"
    db = f"sqlite:///{tmp_path / 'x.db'}"
    offer = tmp_path / "offer.txt"
    offer.write_text("干细胞治疗糖尿病", encoding="utf-8")
    values = {"bin": binary, "design": design, "db": db, "tmp": tmp_path, "offer": offer}
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(**values) for a in args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "Traceback" not in err and err.count("\n") <= 1


@pytest.mark.parametrize(
    "args", [["search", "x"], ["review"], ["quarantine"], ["stats", "--by", "province"]]
)
def test_a_reading_command_on_a_database_that_is_not_there_makes_none(tmp_path, args):
    """A mistyped --db left an empty database file behind, and review or quarantine then
    answered as if from an empty store."""
    missing = tmp_path / "typo.db"
    result = run(*args, "--db", f"sqlite:///{missing}")
    assert result.exit_code == 2 and "no database at" in result.output
    assert not missing.exists()


def test_classify_prints_a_key_holding_markup_as_written():
    result = runner.invoke(app, ["classify"], input='{"[red]x[/]": 1}\n')
    assert result.exit_code == 2
    assert "unknown keys ['[red]x[/]']" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["search", "diabetes", "--json", "--db"], ["search", "diabetes", "--db"], ["show", "--db"]],
)
def test_a_reader_that_went_away_ends_the_command_quietly(loaded_db, args):
    """`isletbase search … | head`: JSON said "error: Broken pipe" and exited 2, a table
    exited 1; now both end as a process whose pipe closed does, with nothing on stderr."""
    import subprocess
    import sys

    command = [sys.executable, "-c", "from isletbase.cli import main; main()"]
    done = subprocess.Popen(
        [*command, *args, loaded_db.url, *(["NCT01219465"] if args[0] == "show" else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    done.stdout.close()  # gone before the command writes a byte
    _, err = done.communicate(timeout=120)
    assert done.returncode == 141 and err == b"", err


def test_stats_say_why_the_rows_add_up_to_more_than_the_total(url):
    """By city the rows added up to 153 under a total of 118, and nothing said why."""
    by_city = " ".join(run("stats", "--by", "city", "--db", url).output.split())
    rows = json.loads(run("stats", "--by", "city", "--json", "--db", url).output)
    summed = sum(r["trials"] for r in rows)
    assert f"the rows add up to {summed}; the total counts each trial once" in by_city
    assert "add up to" not in run("stats", "--by", "status", "--db", url).output


def test_export_bom_starts_a_csv_file_with_a_byte_order_mark(url, tmp_path):
    """For Excel, which read the file as the system's code page and garbled Chinese names."""
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    assert run("export", "--format", "csv", "--out", str(plain), "--db", url).exit_code == 0
    done = run("export", "--format", "csv", "--bom", "--out", str(marked), "--db", url)
    assert done.exit_code == 0 and marked.read_bytes().startswith(b"\xef\xbb\xbf")
    assert marked.read_bytes()[3:] == plain.read_bytes()
    refused = run("export", "--format", "json", "--bom", "--out", str(tmp_path / "x"), "--db", url)
    assert refused.exit_code == 2 and "--bom" in refused.output


def test_serve_on_a_port_in_use_says_so_on_one_line_before_serving(loaded_db):
    """It printed "serving … on http://…", then uvicorn's error, and exited 3 (the exit of a
    check that found violations)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port), "--db", loaded_db.url])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "serving" not in result.output


def test_the_cli_starts_without_the_pooling_and_plotting_libraries():
    """Every command, --help too, took ~3.5 s to start: the evidence commands' modules imported
    PyMARE, statsmodels, scipy and matplotlib for all of them."""
    import subprocess
    import sys

    heavy = ("matplotlib", "scipy", "statsmodels", "pymare")
    code = f"import sys, isletbase.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == ""


def test_one_institution_is_counted_as_one(loaded_db):
    """The table's title read "1 institutions"."""
    result = runner.invoke(app, ["institutions", "pumch", "--db", loaded_db.url])
    assert result.exit_code == 0 and "1 institution\n" in result.output.replace(" ", "").replace(
        "1institution", "1 institution"
    )


def test_db_init_force_says_it_dropped_the_data(tmp_path):
    """It dropped every table and printed only "initialised …"."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert runner.invoke(app, ["db", "init", "--db", url]).exit_code == 0
    first = runner.invoke(app, ["db", "init", "--force", "--db", url])
    assert first.exit_code == 0 and "dropped every table" in first.output
