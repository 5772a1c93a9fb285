"""`isletbase rules|check|findings|timeline`: exit codes 0/1/3 (2 for bad input) and JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from isletbase.cli import main; main()"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, check=False)


@pytest.mark.parametrize(
    ("text", "code", "worst"),
    [
        ("Patients should monitor glucose daily.", 0, "none"),
        ("Our stem cell treatment cures diabetes. Price $25,000.", 1, "red_flag"),
        ("干细胞治疗糖尿病，根治糖尿病，无毒副作用，费用¥150,000。", 3, "violation"),
    ],
)
def test_check_exit_code_and_json_contract(
    tmp_path: Path, text: str, code: int, worst: str
) -> None:
    offer = tmp_path / "offer.txt"
    offer.write_text(text, encoding="utf-8")
    done = run(
        "check", str(offer), "--json", "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path
    )
    assert done.returncode == code, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"worst", "findings", "facts"}
    assert data["worst"] == worst
    for finding in data["findings"]:
        assert set(finding) == {"rule", "severity", "evidence", "source"}
        assert finding["source"].startswith("http")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("香港幹細胞中心：臍帶幹細胞療程，療程費用HK$180,000。", "country: HK (text: 香港)"),
        ("幹細胞療程，療程費用NT$300,000。", "country: TW (derived: price in TWD: 'NT$300,000')"),
        ("臍帶幹細胞療程，根治糖尿病。", "country: not told by the offer"),
    ],
)
def test_check_says_where_it_placed_the_offer(tmp_path: Path, text: str, line: str) -> None:
    offer = tmp_path / "offer.txt"
    offer.write_text(text, encoding="utf-8")
    done = run("check", str(offer), "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert line in done.stdout.splitlines()[1]


def test_check_says_when_it_applied_no_rule_on_cell_therapies(tmp_path: Path) -> None:
    offer = tmp_path / "offer.txt"
    offer.write_text("东京诊所：胰岛素泵强化治疗糖尿病，疗程费50万日元。", encoding="utf-8")
    done = run("check", str(offer), "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "cell therapy: none named" in " ".join(done.stdout.split())


def test_check_says_when_it_could_not_judge_the_price(tmp_path: Path) -> None:
    offer = tmp_path / "offer.json"
    fields = {"text": "Stem cells for diabetes", "price": 50000, "currency": "gbp", "country": "GB"}
    offer.write_text(json.dumps(fields), encoding="utf-8")
    done = run("check", str(offer), "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    said = " ".join(done.stdout.split())
    assert "price: no high-price mark for GBP" in said and "not judged" in said, done.stdout


@pytest.mark.parametrize("name", ["offer.json", "offer.txt"])
def test_check_reads_an_offer_saved_with_a_byte_order_mark(tmp_path: Path, name: str) -> None:
    offer = tmp_path / name
    body = json.dumps({"text": "干细胞根治糖尿病", "country": "CN"}, ensure_ascii=False)
    offer.write_text("\ufeff" + (body if name.endswith(".json") else "干细胞根治糖尿病"), "utf-8")
    done = run(
        "check", str(offer), "--json", "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path
    )
    assert done.returncode in (1, 3), done.stderr
    assert "\\ufeff" not in done.stdout and "\ufeff" not in done.stdout


def test_check_reads_json_offers(tmp_path: Path) -> None:
    offer = tmp_path / "offer.json"
    offer.write_text(
        json.dumps({"country": "CN", "provider_type": "beauty_salon"}), encoding="utf-8"
    )
    done = run(
        "check", str(offer), "--json", "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path
    )
    assert done.returncode == 3
    assert "CN-NHC-001" in {f["rule"] for f in json.loads(done.stdout)["findings"]}


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("{not json", "offer.json", "invalid JSON at line 1"),
        ('{"charges": true}', "offer.json", "field 'charges'"),
    ],
)
def test_bad_offer_files_give_one_line_and_exit_2(
    tmp_path: Path, content: str, name: str, message: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    done = run("check", str(tmp_path / name), cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_rules_and_timeline_print_sourced_json(tmp_path: Path) -> None:
    done = run("rules", "--jurisdiction", "CN", "--json", cwd=tmp_path)
    rules = json.loads(done.stdout)["rules"]
    assert rules and all(r["jurisdiction"] == "CN" and r["source_url"] for r in rules)
    unknown = run("rules", "--jurisdiction", "XX", cwd=tmp_path)
    assert unknown.returncode == 2 and "--jurisdiction: expected CN" in unknown.stderr
    hong_kong = json.loads(run("rules", "--jurisdiction", "香港", "--json", cwd=tmp_path).stdout)
    assert hong_kong["rules"] and {r["jurisdiction"] for r in hong_kong["rules"]} == {"HK"}
    target = run("rules", "--applies-to", "clinic", cwd=tmp_path)
    assert target.returncode == 2 and "--applies-to: expected trial" in target.stderr
    events = json.loads(run("timeline", "--json", cwd=tmp_path).stdout)["events"]
    assert events[0]["date"] < events[-1]["date"]


def test_findings_needs_a_database(tmp_path: Path) -> None:
    done = run("findings", "--db", f"sqlite:///{tmp_path / 'missing.db'}", cwd=tmp_path)
    assert done.returncode == 2 and "isletbase db load" in done.stderr


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            "干细胞治疗糖尿病，每次10万元，根治。" * 6_000,
            "long.txt",
            "field 'text': 114000 characters",
        ),
        ('{"price": NaN, "country": "CN"}', "offer.json", "field 'price'"),
        ('{"price": -1, "country": "CN"}', "offer.json", "field 'price'"),
        ('{"country": "Chna"}', "offer.json", "unknown country 'Chna'"),
    ],
)
def test_unreadable_offers_exit_2_with_one_line(
    tmp_path: Path, content: str, name: str, message: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    done = subprocess.run(
        [*CLI, "check", name, "--db", f"sqlite:///{tmp_path / 'none.db'}"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_offer_s_brackets_are_shown_as_written_in_the_table(tmp_path: Path) -> None:
    """'[/x]' in an offer was read as Rich markup: a traceback and exit 1 ("red flags") for a
    violation, and balanced markup changed the quoted words."""
    offer = tmp_path / "offer.txt"
    offer.write_text("干细胞[/x]治疗糖尿病，[b]根治糖尿病[/b]，费用¥150,000。", encoding="utf-8")
    done = run("check", str(offer), "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "[/x]" in done.stdout and "[b]" in done.stdout


def test_a_check_against_a_database_that_is_not_there_says_so(tmp_path: Path) -> None:
    """A mistyped --db was passed over without a word: the offer was checked without its trial
    and institution lookups, as if no database had been asked for."""
    offer = tmp_path / "offer.txt"
    offer.write_text("干细胞治疗糖尿病，每次十万元。", encoding="utf-8")
    missing = f"sqlite:///{tmp_path / 'typo.db'}"
    done = run("check", str(offer), "--db", missing, cwd=tmp_path)
    assert done.returncode in (0, 1, 3) and "no isletbase data at" in done.stderr
    assert "was checked without looking up trials and institutions" in done.stderr
    assert not (tmp_path / "typo.db").exists()


def test_check_reads_a_chinese_offer_saved_as_gbk(tmp_path: Path) -> None:
    """Chinese Windows saves text as GBK: such an offer was refused as not UTF-8, from a file
    and from standard input alike."""
    text = "干细胞治疗糖尿病，根治糖尿病，无毒副作用，费用15万元。"
    offer = tmp_path / "offer.txt"
    offer.write_bytes(text.encode("gbk"))
    db = f"sqlite:///{tmp_path / 'none.db'}"
    done = run("check", str(offer), "--json", "--db", db, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    piped = subprocess.run(
        [*CLI, "check", "-", "--json", "--db", db],
        input=text.encode("gbk"), capture_output=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert piped.returncode == 3 and json.loads(piped.stdout) == json.loads(done.stdout)


@pytest.mark.parametrize(
    ("content", "path", "message"),
    [(b"caf\xe9 stem cells", "latin1.txt", "not UTF-8 text, nor GBK Chinese"),
     # read as GB18030 each made Chinese of rare characters, and the check found nothing
     ("台北診所：幹細胞治療糖尿病，可根治第一型糖尿病，費用新台幣30萬元。".encode("big5"),
      "big5.txt", "nor GBK Chinese"),
     ("Terapia con células madre en México: cura la diabetes.".encode("cp1252"),
      "cp1252.txt", "nor GBK Chinese"),
     (None, "/dev/null", "not a regular file")],
)  # fmt: skip
def test_an_offer_that_is_no_text_file_is_refused_saying_why(tmp_path, content, path, message):
    """/dev/null was "no such file", though it is there."""
    if content is not None:
        (tmp_path / path).write_bytes(content)
    done = run("check", path, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_standard_input_past_the_limit_is_said_to_be_too_large(tmp_path: Path) -> None:
    """Cut at the limit mid-character, it was refused as no UTF-8 at byte 999,999."""
    done = subprocess.run(
        [*CLI, "check", "-"], input="干" * 400_000, capture_output=True, text=True,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "stdin: larger than" in done.stderr, done.stderr
