"""Parsers for registry files: the v2 bulk dump, ChiCTR pages, WHO ICTRP XML."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isletbase import taxonomy
from isletbase.errors import InputError
from isletbase.model import TrialRecord
from isletbase.sources import (
    NOT_FOLLOWED,
    chictr,
    chictr_xml,
    codec_for,
    ctgov,
    ctgov_dump,
    ictrp,
    registry_page,
)
from isletbase.sources.ctgov import raw_to_record
from isletbase.store.query import TrialQuery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "registries"


def _studies() -> list[dict]:
    return [
        s
        for name in ("ctgov_page1.json", "ctgov_page2.json")
        for s in json.loads((FIXTURES / name).read_text())["studies"]
    ]


def _write_dump(tmp_path: Path, studies: list[dict], extra: dict[str, bytes] | None = None) -> Path:
    path = tmp_path / "AllPublicJSON.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, study in enumerate(studies):
            nct = study["protocolSection"]["identificationModule"].get("nctId", f"NCTX{i}")
            zf.writestr(f"{nct[:7]}xxxx/{nct}.json", json.dumps(study))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_dump_zip_is_streamed_study_by_study(tmp_path: Path) -> None:
    path = _write_dump(
        tmp_path, _studies(), {"NCT9/NCT99999999.json": b'{"protocolSection": ', "README.txt": b"x"}
    )
    raws = list(ctgov_dump.read_dump(path))
    assert [r.ref for r in raws][:3] == ["NCT01219465", "NCT05013879", "NCT05507697"]
    assert len(raws) == 6
    assert raws[-1].payload is None and "not valid JSON" in raws[-1].error
    assert raws[-1].ref == "NCT99999999"  # named by the id its file is, to be released by it
    assert raw_to_record(raws[0]).sites[0].city == "Qingdao"


def test_a_macs_zip_metadata_is_no_study_and_a_byte_order_mark_is_read_past(tmp_path):
    """A zip made in a Mac's Finder holds ``__MACOSX/…/._NCT….json`` files, quarantined as not
    JSON; a study an editor saved with a byte-order mark was quarantined too."""
    studies = _studies()
    bom = b"\xef\xbb\xbf" + json.dumps(studies[0]).encode()
    path = _write_dump(
        tmp_path,
        studies[1:],
        {"NCT0121/NCT01219465.json": bom, "__MACOSX/NCT0121/._NCT01219465.json": b"\x00\x05"},
    )
    raws = list(ctgov_dump.read_dump(path))
    assert len(raws) == len(studies) and all(r.payload is not None for r in raws)
    folder = tmp_path / "dump"
    shutil.unpack_archive(path, folder)
    assert len(list(ctgov_dump.read_dump(folder))) == len(studies)


def test_dump_directory_gives_the_same_records_as_the_zip(tmp_path: Path) -> None:
    zipped = _write_dump(tmp_path, _studies())
    folder = tmp_path / "dump"
    shutil.unpack_archive(zipped, folder)
    # a study without an id is named by its place: the file's absolute path, the zip's and its
    # member's; past the place, the two name it alike
    places = (f"{folder.absolute()}{os.sep}", f"{zipped.absolute()}:")

    def read(path: Path) -> dict:
        return {_past(r.ref, places): r.payload for r in ctgov_dump.read_dump(path)}

    from_dir = read(folder)
    assert from_dir == read(zipped)
    assert len(from_dir) == 5


def _past(ref: str, places: tuple[str, ...]) -> str:
    return next((ref.removeprefix(p) for p in places if ref.startswith(p)), ref)


def test_two_id_less_studies_of_one_name_in_two_folders_are_two_places(tmp_path: Path) -> None:
    """Two noid.json in two folders, ingested one folder at a time, were both quarantined as
    "noid", and `quarantine --retry` kept one of them."""
    refs = []
    for folder in ("qa", "qb"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "noid.json").write_text("[]")
        refs += [r.ref for r in ctgov_dump.read_dump(tmp_path / folder)]
    assert refs == [str(tmp_path / "qa" / "noid"), str(tmp_path / "qb" / "noid")]
    zipped = tmp_path / "dump.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("a/noid.json", "[]")
    assert [r.ref for r in ctgov_dump.read_dump(zipped)] == [f"{zipped}:a/noid"]


@pytest.mark.parametrize("skip", [0, 1, 3, 6, 9])
def test_dump_skips_its_first_studies_in_the_order_it_reads_them(tmp_path: Path, skip: int) -> None:
    zipped = _write_dump(
        tmp_path, _studies(), {"NCT9/NCT99999999.json": b"not json", "README.txt": b"x"}
    )
    folder = tmp_path / "dump"
    shutil.unpack_archive(zipped, folder)
    for path in (zipped, folder):
        every = [r.ref for r in ctgov_dump.read_dump(path)]
        assert len(every) == 6  # the README is no study; the bad JSON one is (quarantined)
        assert [r.ref for r in ctgov_dump.read_dump(path, skip=skip)] == every[skip:]


@pytest.mark.parametrize("level", [1, 6, 9])
def test_dump_members_read_as_the_standard_library_reads_them(tmp_path: Path, level: int) -> None:
    """Whatever the compression level, a member far larger than one inflated chunk (64 KB),
    and a member stored uncompressed: each study is what ``zipfile`` reads (stream-unzip
    inflates with python-isal here, see ``ctgov_dump``)."""
    studies = _studies()
    studies[1]["protocolSection"]["descriptionModule"] = {"briefSummary": "islet 胰岛 " * 40_000}
    path = tmp_path / "AllPublicJSON.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for i, study in enumerate(studies):
            method = zipfile.ZIP_STORED if i == 2 else zipfile.ZIP_DEFLATED
            zf.writestr(f"NCT/{i}.json", json.dumps(study, ensure_ascii=False), method)
    with zipfile.ZipFile(path) as zf:
        expected = [json.loads(zf.read(name)) for name in zf.namelist()]
    assert [r.payload for r in ctgov_dump.read_dump(path)] == expected
    assert len(expected[1]["protocolSection"]["descriptionModule"]["briefSummary"]) > 300_000


def test_a_damaged_member_is_a_clear_error(tmp_path: Path) -> None:
    """Bytes changed inside one member's compressed data: an ``InputError`` naming the file
    once the reader reaches it (the studies before it were read)."""
    path = _write_dump(tmp_path, _studies())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        member = zf.infolist()[2]
    start = member.header_offset + 30 + len(member.filename.encode())
    for offset in range(start + 20, start + member.compress_size - 20):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    read = []
    with pytest.raises(InputError, match=f"{path}: not a readable zip") as failed:
        read.extend(r.ref for r in ctgov_dump.read_dump(path))
    assert read == ["NCT01219465", "NCT05013879"]
    # where it failed, and how far the reading got
    assert f"in member 3 ({member.filename}); 2 members were read whole" in str(failed.value)


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "AllPublicJSON.zip"
    bad.write_bytes(b"this is not a zip archive at all" * 10)
    with pytest.raises(InputError, match="not a readable zip"):
        list(ctgov_dump.read_dump(bad))
    with pytest.raises(InputError, match="no such file"):
        list(ctgov_dump.read_dump(tmp_path / "missing.zip"))


def test_chictr_page_gives_both_languages_and_the_registration_facts() -> None:
    raw = next(chictr.read_pages(FIXTURES / "chictr_ChiCTR2300071975.html"))
    record = chictr.to_record(raw)
    assert record.registry_ids[0].id == "ChiCTR2300071975"
    assert record.title_zh == "脐带间充质干细胞治疗难治性糖尿病周围神经病的临床研究"
    assert record.title_en.startswith("Treatment With Human Umbilical Cord")
    assert record.first_posted == "2023-05-30"
    assert record.sites[0].city == "Wuhan" and record.country == "China"
    assert record.source_url == "https://www.chictr.org.cn/hvshowproject.html?id=232708"
    assert record.notes == "ChiCTR: Retrospective registration"


def test_a_chictr_page_with_both_labels_in_one_cell_is_read(tmp_path: Path) -> None:
    """The registry's pages put a row's Chinese and English labels in one cell, a paragraph
    each, with one value: read as the label "注册号： Registration number", no field was found
    and every such page was quarantined (found by a review against a page of that layout)."""
    page = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    for zh, en, value in (
        ("注册号", "Registration number", "ChiCTR2300071975"),
        ("注册时间", "Date of Registration", "2023-05-30 00:00:00"),
    ):
        label = '<tr><td class="left_title"><p>'
        rows = (
            f'{label}{zh}：</p></td><td class="splaceTen1">{value}</td></tr>',
            f"{label}{zh}：</p></td><td>{value}</td></tr>",
            f"{label}{en}:</p></td><td>{value}</td></tr>",
        )
        combined = (
            f'<tr><td class="left_title">\n  <p class="cn">{zh}：</p>\n'
            f'  <p class="en">{en}：</p>\n</td><td>{value}&nbsp;</td></tr>'
        )
        for row in rows:
            page = page.replace(row, combined if combined not in page else "")
    assert "Registration number：" in page and "<p>Registration number:" not in page
    path = tmp_path / "chictr_ChiCTR2300071975.html"
    path.write_text(page, "utf-8")
    record = chictr.to_record(next(chictr.read_pages(path)))
    assert record.registry_ids[0].id == "ChiCTR2300071975"
    assert record.first_posted == "2023-05-30"
    assert record.title_zh == "脐带间充质干细胞治疗难治性糖尿病周围神经病的临床研究"
    # the English institution label is "Institution<br>hospital" there
    sites = chictr.fields_of(
        "<table><tr><td><p>单位(医院)：</p></td><td>武汉大学人民医院</td></tr>"
        "<tr><td><p>Institution<br>hospital：</p></td><td>Renmin Hospital</td></tr></table>"
    )
    assert sites["institution"] == {"zh": ["武汉大学人民医院"], "en": ["Renmin Hospital"]}


def test_a_chictr_secondary_sponsor_s_place_is_not_a_site() -> None:
    """The secondary sponsor's block holds the sites' labels (country, province, institution):
    a sponsoring company became the trial's first site, in its own province."""
    place = (
        "<table><tr><td><p>国家：</p></td><td>中国</td><td><p>省(直辖市)：</p></td>"
        "<td>{province}</td></tr><tr><td><p>单位(医院)：</p></td><td>{name}</td></tr></table>"
    )
    html = (
        '<table><tr><td class="left_title"><p class="cn">试验主办单位(项目批准或申办者)：</p>'
        '<p class="en">Secondary sponsor：</p></td><td>'
        + place.format(province="北京", name="一家公司")
        + '</td></tr><tr><td class="left_title"><p class="cn">研究实施地点：</p>'
        '<p class="en">Countries of recruitment and research settings：</p></td><td>'
        + place.format(province="湖北", name="武汉市中心医院")
        + "</td></tr></table>"
    )
    fields = chictr.fields_of(html)
    assert fields["institution"]["zh"] == ["武汉市中心医院"]
    assert fields["province"]["zh"] == ["湖北"]
    assert fields["secondary_institution"]["zh"] == ["一家公司"]


@pytest.mark.parametrize("reg", ["ChiCTR-TRC-10000986", "ChiCTR-ONRC-12001883", "chictr2000031234"])
def test_chictr_old_and_new_style_ids_and_partner_nct_ids(reg: str) -> None:
    html = (
        f"<table><tr><td>注册号：</td><td>{reg}</td></tr>"
        "<tr><td>Public title:</td><td>A title</td></tr>"
        "<tr><td>The registration number of the Partner Registry or other register:</td>"
        "<td>NCT05507697</td></tr></table>"
    )
    record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    assert record.registry_ids[0].id.upper() == reg.upper()
    assert record.registry_ids[0].id.startswith("ChiCTR")
    assert [r.id for r in record.registry_ids[1:]] == ["NCT05507697"]


@pytest.mark.parametrize(
    ("reg", "partner", "ids"),
    [
        ("ＣｈｉＣＴＲ２３０００７１９７５", "ＮＣＴ０５５０７６９７",
         ["ChiCTR2300071975", "NCT05507697"]),
        ("ChiCTR２３０００７１９７５", "", ["ChiCTR2300071975"]),
        ("ChiCTR 2300071975", "NCT05507697；jRCT2031200001，ISRCTN12345678",
         ["ChiCTR2300071975", "NCT05507697", "jRCT2031200001", "ISRCTN12345678"]),
    ],
)  # fmt: skip
def test_chictr_ids_in_full_width_forms_or_spaced_are_the_ids(
    reg: str, partner: str, ids: list[str]
) -> None:
    """A page's full-width or spaced id is the registry's id (it was stored as written, so a
    CT.gov record naming the id found no link); a partner field's other registries' ids are
    registry ids too."""
    html = (
        f"<table><tr><td>注册号：</td><td>{reg}</td></tr>"
        "<tr><td>Public title:</td><td>A title</td></tr>"
        "<tr><td>The registration number of the Partner Registry or other register:</td>"
        f"<td>{partner}</td></tr></table>"
    )
    record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    assert [r.id for r in record.registry_ids] == ids


def test_a_chictr_page_without_a_registration_number_says_so_in_words() -> None:
    """The reason ended "got None", Python's word for the missing field."""
    html = "<table><tr><td>Public title:</td><td>A title</td></tr></table>"
    with pytest.raises(InputError) as refused:
        chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    said = str(refused.value)
    assert said.endswith("expected a ChiCTR id, got none (the page has no such field)")
    assert "None" not in said


def test_a_ctgov_record_s_secondary_ids_name_other_registries_however_worded() -> None:
    study = copy.deepcopy(_studies()[0])
    identification = study["protocolSection"]["identificationModule"]
    identification["secondaryIdInfos"] = [
        {"id": "ChiCTR2000029990 (ChiCTR)"},
        {"id": "Chinese Clinical Trial Registry: ChiCTR-IOR-17013612"},
        {"id": "jRCT2031200001"},
        {"id": "2019-KY-001"},
    ]
    record = raw_to_record(ctgov_dump.RawRecord("ClinicalTrials.gov", "x", study))
    assert [(r.registry, r.id) for r in record.registry_ids[1:]] == [
        ("ChiCTR", "ChiCTR2000029990"),
        ("ChiCTR", "ChiCTR-IOR-17013612"),
        ("jRCT", "jRCT2031200001"),
    ]
    assert "2019-KY-001" in record.org_study_ids


@pytest.mark.parametrize(
    ("module", "key", "value", "message"),
    [
        ("identificationModule", "briefTitle", 5, "briefTitle: expected text, got number"),
        ("conditionsModule", "conditions", "notalist", "conditions: expected a list, got string"),
        ("contactsLocationsModule", "locations", "x", "locations: expected a list, got string"),
        ("statusModule", "overallStatus", {"a": 1}, "overallStatus: expected text, got object"),
        ("statusModule", "startDateStruct", "2020-01", "startDateStruct: expected an object"),
        ("designModule", "enrollmentInfo", [50], "enrollmentInfo: expected an object, got array"),
        ("designModule", "enrollmentInfo", {"count": 1e300}, "enrollmentInfo.count: expected a"),
        ("designModule", "enrollmentInfo", {"count": -5}, "expected a whole number"),
    ],
)
def test_a_ctgov_field_of_the_wrong_type_is_a_malformed_record(
    module: str, key: str, value: object, message: str
) -> None:
    """It was loaded with the field left empty and no error; it is rejected naming the field."""
    study = copy.deepcopy(_studies()[0])
    study["protocolSection"].setdefault(module, {})[key] = value
    with pytest.raises(InputError, match=message):
        raw_to_record(ctgov_dump.RawRecord("ClinicalTrials.gov", "x", study))


def test_a_study_file_larger_than_any_study_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    """A zip member that inflates past the limit (a small zip holding gigabytes) is a rejected
    record naming it, read through without being kept; the studies after it load."""
    monkeypatch.setattr(ctgov_dump, "MAX_STUDY_BYTES", 1 << 16)
    studies = _studies()
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("NCT0000xxxx/NCT00000001.json", b" " * (1 << 20))  # 1 MB of spaces
        zf.writestr("NCT0121xxxx/NCT01219465.json", json.dumps(studies[0]))
    raws = list(ctgov_dump.read_dump(big))
    assert [r.payload is not None for r in raws] == [False, True]
    assert raws[0].ref == "NCT00000001"
    assert "NCT00000001.json: larger than 65,536 bytes, not read" in raws[0].error
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "NCT00000001.json").write_bytes(b" " * (1 << 17))
    (raw,) = ctgov_dump.read_dump(folder)
    assert raw.payload is None and "not read" in raw.error


def test_an_ictrp_trial_left_open_is_rejected_alone_and_a_prefixed_export_is_read(
    tmp_path: Path,
) -> None:
    """A trial missing its </Trial> swallowed the next one; a root and trials written with a
    namespace prefix loaded nothing and said nothing."""
    text = (FIXTURES / "ictrp_export.xml").read_text()
    first, second = text.index("<Trial>"), text.rindex("<Trial>")
    end = text.index("</Trials_downloaded_from_ICTRP>")
    open_one = text[first:second].replace("</Trial>", "", 1)
    path = tmp_path / "open.xml"
    path.write_text(
        f"<Trials_downloaded_from_ICTRP>{open_one}{text[second:end]}</Trials_downloaded_from_ICTRP>"
    )
    raws = list(ictrp.read_export(path))
    assert [r.payload is not None for r in raws] == [False, True]
    assert "trial 1 (ChiCTR1900025872) is not closed" in raws[0].error
    assert raws[1].ref == "NCT01219465"
    body = text[first:end].replace("<", "<x:").replace("<x:/", "</x:")
    prefixed = tmp_path / "prefixed.xml"
    prefixed.write_text(
        f'<x:Trials_downloaded_from_ICTRP xmlns:x="urn:x">{body}</x:Trials_downloaded_from_ICTRP>'
    )
    assert [ictrp.to_record(r).display_id for r in ictrp.read_export(prefixed)] == [
        "ChiCTR1900025872",
        "NCT01219465",
    ]


def test_a_jrct_id_with_its_study_type_letter_is_a_jrct_id() -> None:
    assert chictr.other_registry_ids("jRCTs031180159; jRCT2031200001") == [
        {"registry": "jRCT", "id": "jRCTs031180159"},
        {"registry": "jRCT", "id": "jRCT2031200001"},
    ]


@pytest.mark.parametrize(
    ("trial_id", "registry"),
    [
        ("IRCT2016070428786N1", "IRCT"),
        ("CTRI/2020/01/022641", "CTRI"),
        ("DRKS00012345", "DRKS"),
        ("RBR-6rgqc7", "ReBEC"),
        ("ACTRN12617000358336", "ANZCTR"),
        ("TCTR20200707004", "TCTR"),
        ("ABC-123", "ICTRP"),  # a form none of the registries writes
    ],
)
def test_an_ictrp_trial_of_another_primary_registry_is_filed_under_it(trial_id, registry):
    """IRCT, CTRI and DRKS trials were all filed under "ICTRP": one registry's to facets and
    matching alike."""
    raw = ictrp.RawRecord(ictrp.SOURCE, "t", {"TrialID": trial_id, "Public_title": "x"})
    assert ictrp.to_record(raw).registry_ids[0].model_dump() == {
        "registry": registry,
        "id": trial_id,
    }
    assert TrialQuery(registry=registry.lower()).registry == registry


def test_an_ictrp_title_keeps_its_less_and_greater_than_signs() -> None:
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {
            "TrialID": "NCT01219465",
            "Public_title": "Children aged &amp;lt;5 years with C-peptide &amp;gt;0.3&lt;br&gt;",
            "Secondary_ID": "ChiCTR2300071975；jRCT2031200001，ISRCTN12345678",
        },
    )
    record = ictrp.to_record(raw)
    assert record.title_en == "Children aged <5 years with C-peptide >0.3"
    assert [r.id for r in record.registry_ids] == [
        "NCT01219465",
        "ChiCTR2300071975",
        "jRCT2031200001",
        "ISRCTN12345678",
    ]


def test_a_chictr_page_in_chinese_alone_keeps_its_status_phase_interventions_and_dates() -> None:
    html = (
        "<table><tr><td>注册号：</td><td>ChiCTR2000031234</td></tr>"
        "<tr><td>注册题目：</td><td>脐带间充质干细胞治疗1型糖尿病</td></tr>"
        "<tr><td>注册时间：</td><td>2020年3月5日</td></tr>"
        "<tr><td>研究实施时间：</td><td>从2020年4月1日至2022年12月31日</td></tr>"
        "<tr><td>征募研究对象情况：</td><td>正在进行</td></tr>"
        "<tr><td>研究所处阶段：</td><td>Ⅰ期</td></tr>"
        "<tr><td>研究设计：</td><td>单臂</td></tr>"
        "<tr><td>干预措施：</td><td>脐带间充质干细胞</td></tr>"
        "<tr><td>指标中文名：</td><td>糖化血红蛋白</td></tr></table>"
    )
    record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    assert (record.first_posted, record.start_date, record.completion_date) == (
        "2020-03-05",
        "2020-04-01",
        "2022-12-31",
    )
    assert (record.status, record.phase, record.design) == ("正在进行", "Ⅰ期", "单臂")
    assert record.interventions == ["脐带间充质干细胞"]
    assert record.primary_outcome == "糖化血红蛋白"


def test_a_chictr_page_naming_its_country_in_chinese_stores_it_in_english() -> None:
    """A country the place book knows is stored as the other registries write it (日本 →
    Japan, 中國 → China), so one English filter finds it; one it lacks, as the page wrote it.
    The site too: a page in Chinese alone put 日本 and 福建省 where the bilingual page gives
    Japan and Fujian."""
    for written, stored in (("日本", "Japan"), ("中國", "China"), ("韩国", "Korea, Republic of"),
                            ("蒙古", "蒙古")):  # fmt: skip
        html = (
            "<table><tr><td>注册号：</td><td>ChiCTR2000031234</td></tr>"
            "<tr><td>注册题目：</td><td>脐带间充质干细胞治疗1型糖尿病</td></tr>"
            f"<tr><td>国家：</td><td>{written}</td></tr></table>"
        )
        record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
        assert record.country == stored, written
        assert record.sites[0].country == stored


@pytest.mark.parametrize(
    ("size", "dates", "enrollment", "iso"),
    [
        ("60 cases", "2020/3/5", 60, "2020-03-05"),
        ("Experimental group:30;Control group:30;", "2020年3月5日", 60, "2020-03-05"),
        ("about 60-80", "05/03/2020", None, "2020-03-05"),
        # real rows of ICTRP's exports: ChiCTR2600132949's arms (a name holding a digit: the
        # size was lost), CTRI/2019/04/018467's date (India writes DD-MM-YYYY), NCT04078386's
        # Date_enrollement (ClinicalTrials.gov's month, day and year): both dates were lost
        (
            "Capecitabine maintenance group:49;S-1 maintenance group:49;follow-up group:49;",
            "08-04-2019", 147, "2019-04-08",
        ),
        ("2019 Y:2418;2020 Y:821;", "June 28, 2019", 3239, "2019-06-28"),
    ],
)  # fmt: skip
def test_ictrp_target_sizes_and_dates_as_registries_write_them(
    size: str, dates: str, enrollment: int | None, iso: str
) -> None:
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {
            "TrialID": "NCT01219465",
            "Public_title": "x",
            "Target_size": size,
            "Date_registration": dates,
        },
    )
    record = ictrp.to_record(raw)
    assert (record.enrollment, record.first_posted) == (enrollment, iso)


def test_chictr_dates_without_leading_zeros_are_read_as_iso_dates() -> None:
    html = (
        "<table><tr><td>注册号：</td><td>ChiCTR-TRC-10000986</td></tr>"
        "<tr><td>Study execute time:</td><td>From 2009-9-1 To 2011/12/31</td></tr>"
        "<tr><td>The registration number of the Partner Registry or other register:</td>"
        "<td>nct05507697</td></tr></table>"
    )
    record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    assert (record.start_date, record.completion_date) == ("2009-09-01", "2011-12-31")
    assert [r.id for r in record.registry_ids] == ["ChiCTR-TRC-10000986", "NCT05507697"]


def test_chictr_page_without_a_registration_number_names_the_file() -> None:
    raw = chictr.RawRecord(
        "ChiCTR", "broken.html", {"html": "<table><tr><td>注册号：</td><td>—</td></tr></table>"}
    )
    with pytest.raises(InputError, match=r"broken.html: Registration number"):
        chictr.to_record(raw)


def test_ictrp_export_trials_and_secondary_ids() -> None:
    raws = list(ictrp.read_export(FIXTURES / "ictrp_export.xml"))
    records = [ictrp.to_record(r) for r in raws]
    assert [r.registry_ids[0].id for r in records] == ["ChiCTR1900025872", "NCT01219465"]
    assert records[0].registry_ids[0].registry == "ChiCTR"
    assert records[1].org_study_ids == ["MSCT1DM003"] and records[1].enrollment == 50
    assert records[1].last_update == "2010-10-13"


def test_ictrp_secondary_nct_id_becomes_a_registry_id(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "ictrp_export.xml")
        .read_text()
        .replace("<Secondary_ID/>", "<Secondary_ID>NCT05507697;HX-2019-01</Secondary_ID>")
    )
    path = tmp_path / "x.xml"
    path.write_text(text)
    record = ictrp.to_record(next(ictrp.read_export(path)))
    assert [r.id for r in record.registry_ids] == ["ChiCTR1900025872", "NCT05507697"]
    assert record.org_study_ids == ["HX-2019-01"]


def test_ictrp_tolerates_a_missing_root_close_but_not_other_xml(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "ictrp_export.xml").read_text().replace("</Trials_downloaded_from_ICTRP>", "")
    )
    cut = tmp_path / "cut.xml"
    cut.write_text(text)
    assert len(list(ictrp.read_export(cut))) == 2
    other = tmp_path / "other.xml"
    other.write_text("<clinical_study><id_info/></clinical_study>")
    with pytest.raises(InputError, match="expected <Trials_downloaded_from_ICTRP>"):
        list(ictrp.read_export(other))
    broken = tmp_path / "broken.xml"
    broken.write_text("<Trials_downloaded_from_ICTRP><Trial><TrialID>x</TrialID><Phase>1</Trial>")
    (raw,) = ictrp.read_export(broken)
    assert raw.payload is None and raw.ref == "x"
    assert "broken.xml: trial 1 (x) is not well-formed XML" in raw.error
    with pytest.raises(InputError, match="broken.xml: trial 1 .x. is not well-formed"):
        ictrp.to_record(raw)
    for junk in ("", "not xml at all", '{"json": true}'):
        other.write_text(junk)
        with pytest.raises(InputError, match="expected <Trials_downloaded_from_ICTRP>"):
            list(ictrp.read_export(other))


def test_one_malformed_ictrp_trial_is_rejected_and_the_others_load(tmp_path: Path) -> None:
    """A bare & in the second trial's title: the first and third still load (the whole file
    was refused before); a namespaced root is read as the plain one."""
    text = (FIXTURES / "ictrp_export.xml").read_text()
    first, second = text.index("<Trial>"), text.rindex("<Trial>")
    trials = text[first:second], text[second : text.index("</Trials_downloaded_from_ICTRP>")]
    bad = trials[1].replace("<Public_title>", "<Public_title>A & B ", 1)
    body = trials[0] + bad + trials[1]
    path = tmp_path / "amp.xml"
    path.write_text(
        f'<Trials_downloaded_from_ICTRP xmlns="urn:x">{body}</Trials_downloaded_from_ICTRP>'
    )
    raws = list(ictrp.read_export(path))
    assert [r.payload is not None for r in raws] == [True, False, True]
    assert (
        raws[1].ref == "NCT01219465" and "trial 2 (NCT01219465) is not well-formed" in raws[1].error
    )
    assert [ictrp.to_record(r).display_id for r in (raws[0], raws[2])] == [
        "ChiCTR1900025872",
        "NCT01219465",
    ]


def test_ictrp_fields_of_several_values_are_split_before_they_are_cleaned() -> None:
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {
            "TrialID": "nct01219465",
            "Public_title": "x",
            "Condition": "Type 1 diabetes&lt;br&gt;Diabetic foot;\n Obesity",
            "Countries": "Korea, Republic of\nChina",
            "Secondary_ID": "chictr2300071975",
        },
    )
    record = ictrp.to_record(raw)
    assert record.conditions == ["Type 1 diabetes", "Diabetic foot", "Obesity"]
    assert record.country == "China"
    assert [(r.registry, r.id) for r in record.registry_ids] == [
        ("ClinicalTrials.gov", "NCT01219465"),
        ("ChiCTR", "ChiCTR2300071975"),
    ]


@pytest.mark.parametrize(
    ("countries", "country"),
    [("Viet Nam", "Vietnam"), ("South Korea\nJapan", "Korea, Republic of"), ("中国", "China"),
     ("Atlantis", "Atlantis")],
)  # fmt: skip
def test_an_ictrp_country_is_stored_as_clinicaltrials_gov_writes_it(
    countries: str, country: str
) -> None:
    """WHO's "Viet Nam" and CT.gov's "Vietnam" are one facet value; a name the place book
    lacks is kept as the export writes it."""
    raw = ictrp.RawRecord(
        ictrp.SOURCE, "t", {"TrialID": "NCT01219465", "Public_title": "x", "Countries": countries}
    )
    assert ictrp.to_record(raw).country == country


@pytest.mark.parametrize(
    ("countries", "region"),
    [("China", "mainland China"), ("Taiwan", "Taiwan"), ("Japan\nChina", "mainland China"),
     ("Japan", "foreign"), ("", None)],
)  # fmt: skip
def test_a_trial_from_ictrp_or_chictr_alone_has_its_region(countries: str, region: str) -> None:
    """A China trial known only to ICTRP or ChiCTR is found by ``--region "mainland China"``
    as one from ClinicalTrials.gov is (the two readers set no region)."""
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {"TrialID": "ChiCTR2400088881", "Public_title": "x", "Countries": countries},
    )
    assert ictrp.to_record(raw).region == region
    page = chictr.to_record(next(chictr.read_pages(FIXTURES / "chictr_ChiCTR2300071975.html")))
    assert (page.country, page.region) == ("China", "mainland China")


def test_an_unreadable_file_in_a_directory_is_a_rejected_record_and_the_rest_load(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "a.json").write_text(json.dumps(_studies()[0]))
    (dump / "b.json").mkdir()  # a directory named like a study is walked, not read
    (dump / "c.json").write_bytes(b"\x89PNG")
    (dump / "c.json").chmod(0)
    raws = list(ctgov_dump.read_dump(dump))
    readable = os.access(dump / "c.json", os.R_OK)  # root reads it all the same
    assert [r.payload is not None for r in raws] == [True, False]
    assert ("not valid JSON" if readable else "c.json: cannot be read") in raws[1].error
    pages = tmp_path / "pages"
    (pages / "sub.html").mkdir(parents=True)  # a directory named like a page is no page
    shutil.copy(FIXTURES / "chictr_ChiCTR2300071975.html", pages)
    raws = list(chictr.read_pages(pages))
    assert [(r.ref, r.payload is not None) for r in raws] == [
        (str(pages / "chictr_ChiCTR2300071975.html"), True),
    ]


def test_a_symbolic_link_in_a_directory_is_not_followed(tmp_path: Path) -> None:
    """An archive unpacked with its links could plant one to a secret file: its text would be
    kept in quarantine. A link found in a directory is refused unread; one named is read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret")
    dump, pages = tmp_path / "dump", tmp_path / "pages"
    dump.mkdir()
    pages.mkdir()
    (dump / "a.json").write_text(json.dumps(_studies()[0]))
    for link in (dump / "passwd.json", dump / "gone.json", pages / "passwd.html"):
        link.symlink_to(secret if "passwd" in link.name else tmp_path / "nowhere")
    raws = [*ctgov_dump.read_dump(dump), *chictr.read_pages(pages)]
    assert [r.payload is not None for r in raws] == [True, False, False, False]
    for raw in raws[1:]:
        assert "a symbolic link, not followed" in raw.error
        assert "secret" not in f"{raw.text}{raw.payload}"
    page = pages / "named.html"
    page.symlink_to(FIXTURES / "chictr_ChiCTR2300071975.html")
    assert [r.payload is not None for r in chictr.read_pages(page)] == [True]


def test_ictrp_file_cut_inside_a_trial_rejects_that_trial_and_reads_its_encoding(
    tmp_path: Path,
) -> None:
    text = (FIXTURES / "ictrp_export.xml").read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.rfind("<Trial>") + 300])
    raws = list(ictrp.read_export(cut))
    assert [r.payload is not None for r in raws] == [True, False]
    assert "cut.xml: trial 2 (NCT01219465) is cut off" in raws[1].error
    unclosed = tmp_path / "unclosed.xml"  # WHO's known defect: complete trials, no root end
    unclosed.write_text(text.replace("</Trials_downloaded_from_ICTRP>", ""))
    assert len(list(ictrp.read_export(unclosed))) == 2
    gb = tmp_path / "gb.xml"  # the encoding its declaration names is read
    gb.write_bytes(text.replace("UTF-8", "GB2312").encode("gb2312", "replace"))
    assert [ictrp.to_record(r).display_id for r in ictrp.read_export(gb)] == [
        "ChiCTR1900025872",
        "NCT01219465",
    ]
    odd = tmp_path / "odd.xml"
    odd.write_bytes(text.replace("UTF-8", "X-NOSUCH").encode())
    with pytest.raises(InputError, match=r"odd.xml: unknown encoding 'X-NOSUCH'.*save it as UTF-8"):
        list(ictrp.read_export(odd))
    latin = tmp_path / "latin.xml"  # says UTF-8, and one trial holds a byte that is not
    latin.write_bytes(text.replace("Export_date>", "Export_date>\xe9", 1).encode("latin-1"))
    bad, good = ictrp.read_export(latin)  # that trial waits alone; the other loads
    assert bad.payload is None and "holds a byte (0xE9) that is not UTF-8 text" in bad.error
    assert "\ufffd" in bad.text and good.payload is not None


@pytest.mark.parametrize("block", [7, 64, 1000])
def test_an_ictrp_export_read_in_small_blocks_gives_the_same_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Trials, a trial left open and one cut off by the file's end cross the boundaries of
    the blocks the export is read in: each is read (or rejected) as when read whole."""
    text = (FIXTURES / "ictrp_export.xml").read_text()
    first, second = text.index("<Trial>"), text.rindex("<Trial>")
    trials = text[first:second], text[second : text.index("</Trials_downloaded_from_ICTRP>")]
    left_open = trials[0].replace("</Trial>", "", 1)
    cut = trials[1][: len(trials[1]) // 2]
    path = tmp_path / "blocks.xml"
    path.write_text(
        f"<?xml version='1.0'?>\n<Trials_downloaded_from_ICTRP>\n"
        f"{trials[0]}\n{left_open}{trials[1]} {trials[0]}{cut}"
    )

    def read() -> list[tuple[str, bool, str | None]]:
        return [(r.ref, r.payload is not None, r.error) for r in ictrp.read_export(path)]

    whole = read()
    assert [ok for _, ok, _ in whole] == [True, False, True, True, False]
    assert "is not closed" in whole[1][2] and "is cut off" in whole[4][2]
    monkeypatch.setattr(ictrp, "_BLOCK", block)
    assert read() == whole


def test_a_chictr_page_saved_in_the_encoding_it_declares_is_read(tmp_path: Path) -> None:
    """A browser may save a page as GBK, saying so in its <meta>; one that is neither UTF-8
    nor what it declares is quarantined naming the byte, its text kept for a person."""
    page = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    declared = page.replace("<head>", '<head><meta charset="gbk">', 1)
    assert declared != page
    (tmp_path / "gbk.html").write_bytes(declared.encode("gbk", "replace"))
    (tmp_path / "latin.html").write_bytes(b"<html><p>\xe9t\xe9</p>")  # no charset declared
    gbk, latin = chictr.read_pages(tmp_path)
    record = chictr.to_record(gbk)
    assert record.display_id == "ChiCTR2300071975" and record.title_zh
    assert latin.payload is None and "not utf-8 text" in latin.error.lower()
    assert "at byte 9" in latin.error and latin.text.startswith("<html>")


@pytest.mark.parametrize("label", ["GB2312", "gbk", "gb_2312-80", "x-gbk", "csgb2312", "Chinese"])
def test_every_label_browsers_read_as_gbk_is_read_as_gb18030(label: str) -> None:
    assert codec_for(label) == "gb18030"
    assert codec_for("UTF-8") == "UTF-8"
    with pytest.raises(LookupError):
        codec_for("x-nosuch")


def test_gb2312_is_read_as_browsers_read_it_with_the_characters_only_gbk_has(tmp_path: Path):
    """A name such as 王堃 is not GB2312 text: a page or an export declaring GB2312 that holds
    it was quarantined ("illegal multibyte sequence"); browsers read the label as GBK."""
    page = (FIXTURES / "chictr_ChiCTR2300071975.html").read_text("utf-8")
    declared = page.replace("<head>", '<head><meta charset="gb2312">', 1)
    declared = declared.replace("<body>", "<body><p>王堃医院</p>", 1)
    (tmp_path / "gb.html").write_bytes(declared.encode("gb18030"))
    (raw,) = chictr.read_pages(tmp_path / "gb.html")
    assert raw.payload is not None and "王堃医院" in raw.payload["html"]
    text = (FIXTURES / "ictrp_export.xml").read_text()
    export = tmp_path / "gb.xml"
    named = text.replace("UTF-8", "GB2312").replace("<Public_title>", "<Public_title>王堃 ", 1)
    export.write_bytes(named.encode("gb18030"))
    first, _ = ictrp.read_export(export)
    assert first.payload is not None and "王堃" in ictrp.to_record(first).title_en


def test_ictrp_keeps_a_field_s_whole_text_and_every_value_given_twice(tmp_path: Path) -> None:
    """An element inside a field cut the field at it ("Nested"), a <br/> joined two values,
    and a second <Secondary_ID> replaced the first (a cross-registry link lost)."""
    export = tmp_path / "x.xml"
    export.write_text(
        "<Trials_downloaded_from_ICTRP><Trial><TrialID>ChiCTR2400066604</TrialID>"
        "<Public_title>Nested <b>bold</b> title</Public_title>"
        "<Condition>Type 1 diabetes<br/>Obesity</Condition><Target_size>1,000</Target_size>"
        "<Secondary_ID>NCT07300001</Secondary_ID><Secondary_ID>NCT07300002</Secondary_ID>"
        "</Trial></Trials_downloaded_from_ICTRP>",
        encoding="utf-8",
    )
    record = ictrp.to_record(next(ictrp.read_export(export)))
    assert record.title_en == "Nested bold title"
    assert record.conditions == ["Type 1 diabetes", "Obesity"]
    assert record.enrollment == 1000
    assert [r.id for r in record.registry_ids] == ["ChiCTR2400066604", "NCT07300001", "NCT07300002"]


def test_ictrp_refuses_a_trial_id_that_is_no_nct_id() -> None:
    raw = ictrp.RawRecord(ictrp.SOURCE, "t", {"TrialID": "NCT0730000X", "Public_title": "x"})
    with pytest.raises(InputError, match="'NCT0730000X': expected NCT and 8 digits"):
        ictrp.to_record(raw)


def test_a_chictr_sample_size_with_a_thousands_separator_is_the_whole_number() -> None:
    html = (
        "<table><tr><td>注册号：</td><td>ChiCTR2100011112</td></tr>"
        "<tr><td>Public title:</td><td>MSC trial</td></tr>"
        "<tr><td>Total sample size:</td><td>1,000</td></tr></table>"
    )
    assert chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html})).enrollment == 1000


def test_a_dump_study_s_ref_is_its_nct_id_in_the_canonical_form() -> None:
    study = copy.deepcopy(_studies()[0])
    study["protocolSection"]["identificationModule"]["nctId"] = "nct80000030"
    assert next(ctgov.study_raws([study], "x")).ref == "NCT80000030"
    assert ctgov.study_ref("NCT0730000X") == "NCT0730000X" and ctgov.study_ref(5) is None


def test_dates_as_registries_write_them_with_a_time_or_to_the_month() -> None:
    """ICTRP's "2024-04-01 00:00:00" and a ChiCTR period to the month ("2021.01 ~ 2023.12")
    were no dates at all."""
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {"TrialID": "NCT01219465", "Public_title": "x", "Date_enrollement": "2024-04-01 00:00:00"},
    )
    assert ictrp.to_record(raw).start_date == "2024-04-01"
    html = (
        "<table><tr><td>注册号：</td><td>ChiCTR2100011112</td></tr>"
        "<tr><td>Public title:</td><td>x</td></tr>"
        "<tr><td>Study execute time:</td><td>2021.01 ~ 2023.12</td></tr></table>"
    )
    record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))
    assert (record.start_date, record.completion_date) == ("2021-01", "2023-12")
    for written, dates in (
        ("2025 ~ 2026", ("2025", "2026")),
        ("2020/09 ~ 2021/8/31", ("2020-09", "2021-08-31")),  # each half at its own precision
        ("2020-09-01 ~ 2021.08", ("2020-09-01", "2021-08")),
        ("1200 cases, 2020 ~ 2022", ("2020", "2022")),  # a number of patients is no year
        ("2021年1月至2023年12月", ("2021-01", "2023-12")),
        ("From 2009-9-1 To 2011/12/31", ("2009-09-01", "2011-12-31")),
    ):
        page = html.replace("2021.01 ~ 2023.12", written)
        record = chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": page}))
        assert (record.start_date, record.completion_date) == dates, written
    # a month that is none was dropped, and the end date became the start
    typo = html.replace("2021.01", "2021.13")
    with pytest.raises(InputError, match=r"p.html: Study execute time .*2021.13 is no month"):
        chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": typo}))


EU_PHASES = (
    "Human pharmacology (Phase I): {} Therapeutic exploratory (Phase II): {} "
    "Therapeutic confirmatory - (Phase III): no Therapeutic use (Phase IV): no"
)


@pytest.mark.parametrize(
    ("phase", "stored", "code"),
    [
        (EU_PHASES.format("no", "yes"), "Phase II", "PHASE2"),
        (EU_PHASES.format("yes", "yes"), "Phase I/Phase II", "PHASE1/PHASE2"),
        (EU_PHASES.format("no", "no"), None, None),
        (
            EU_PHASES.format("yes", "yes").replace("(Phase III): no", "(Phase III): yes"),
            "Phase I/Phase II/Phase III",
            "PHASE1/PHASE2/PHASE3",  # was PHASE1/PHASE2: less than the trial
        ),
        ("Phase 3", "Phase 3", "PHASE3"),
        # EUCTR2019-004010-34-PL as ICTRP's export wrote it: each answer run into the next
        # heading, so only the last one (Phase IV: no) was read
        (
            "Human pharmacology (Phase I): noTherapeutic exploratory (Phase II): yesTherapeutic"
            " confirmatory - (Phase III): noTherapeutic use (Phase IV): no",
            "Phase II",
            "PHASE2",
        ),
        # ICTRP's other registries' phases: IRCT's "2-3" and "3", ChiCTR's "0" and "4", CTRI's
        # "Post Marketing Surveillance" — no code was derived
        ("2-3", "2-3", "PHASE2/PHASE3"),
        ("3", "3", "PHASE3"),
        ("0", "0", "EARLY_PHASE1"),
        ("4", "4", "PHASE4"),
        ("Post Marketing Surveillance", "Post Marketing Surveillance", "PHASE4"),
    ],
)
def test_an_eu_trials_phase_list_is_read_as_the_phases_it_answers_yes(phase, stored, code):
    """The list names every phase; read whole it was Phase IV, whose answer was "no"."""
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {"TrialID": "EUCTR2012-001234-56-DE", "Public_title": "x", "Phase": phase},
    )
    record = ictrp.to_record(raw)
    match = taxonomy.classify_fields(record.model_dump())["phase"]
    assert (record.phase, match.value if match else None) == (stored, code)


def test_a_chictr_id_written_with_a_dash_or_a_space_is_the_registry_s_id():
    """A CT.gov record naming "ChiCTR-2000029990" kept it as an organisation's id, and the
    exact link to the ChiCTR record was never made."""
    for written in ("ChiCTR-2000029990", "ChiCTR 2000029990", "chictr2000029990"):
        assert chictr.other_registry_ids(f"see {written}.") == [
            {"registry": "ChiCTR", "id": "ChiCTR2000029990"}
        ]


#: The patterns as they were, which backtracked for hours on the inputs below: the reference
#: the linear ones must agree with.
_OLD_FIRST_TAG = r"<(?![?!])([^\s>/]+)[\s>/]"
_OLD_TRIAL_ID = r"<TrialID>\s*([^<]*?)\s*</TrialID>"


def _groups(text: str) -> bool:
    """Whether ``text`` is arms' sizes as ChiCTR's exports write them, read part by part: each
    part between semicolons a name (digits too: "S-1 group") and its number, the last one's
    semicolon optional."""
    parts = re.split("[;；]", text)
    if len(parts) > 1 and not parts[-1].strip():
        parts = parts[:-1]
    head, last = parts[:-1], parts[-1]
    group = r"[^:：]+[:：][ \t]*\d+"
    return all(re.fullmatch(group + r"\s*", p) for p in head) and bool(
        re.fullmatch(group + r"\s*", last)
    )


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab :;：；12 \t\n<>/!?-", max_size=12))
def test_ictrp_patterns_read_what_they_read_before(text: str) -> None:
    assert bool(ictrp._GROUPS.fullmatch(text)) == _groups(text)
    old, new = re.search(_OLD_FIRST_TAG, text), ictrp.FIRST_TAG.search(text)
    new = new if new is not None and new.group(2) else None
    assert (old and (old.span(), old.group(1))) == (new and (new.span(), new.group(1)))
    tagged = f"<TrialID>{text}</TrialID>"
    old, new = re.search(_OLD_TRIAL_ID, tagged), ictrp._TRIAL_ID.search(tagged)
    assert (old and (old.span(), old.group(1))) == (new and (new.span(), new.group(1)))


def test_ictrp_inputs_that_backtracked_for_hours_are_read_at_once(tmp_path: Path, ends) -> None:
    """A target size of 65 characters took 7 s (×3 a group); a run of 30,000 "<" 12 s; a
    rejected trial's id among 2,000 blanks 5 s."""
    assert ends(lambda: ictrp.target_size("a:1 " * 200 + "x")) is None
    tags = tmp_path / "tags.xml"
    tags.write_text("<" * 300_000)
    with pytest.raises(InputError, match="root element"):
        ends(lambda: list(ictrp.read_export(tags)))
    blanks = tmp_path / "blanks.xml"
    blanks.write_text(
        "<Trials_downloaded_from_ICTRP><Trial><TrialID>" + " " * 200_000 + "x & y</Trial>"
        "</Trials_downloaded_from_ICTRP>"
    )
    raws = ends(lambda: list(ictrp.read_export(blanks)))
    assert len(raws) == 1 and raws[0].payload is None


def test_a_registry_s_own_page_is_told_from_a_copy_of_its_record() -> None:
    assert registry_page("https://ClinicalTrials.gov/ct2/show/NCT01219465")
    assert registry_page("https://www.chictr.org.cn/showprojEN.html?proj=1")
    assert not registry_page("https://crick.ai/trials/NCT03390231")
    assert not registry_page("https://clinicaltrials.gov.example.com/NCT1")  # the host, whole
    assert not registry_page(None) and not registry_page("http://[::1")


def test_an_ictrp_export_s_date_is_read_as_the_day_it_was_made() -> None:
    """Its sources showed "11/25/2026 10:00:00" beside the other sources' ISO days."""
    records = [ictrp.to_record(r) for r in ictrp.read_export(FIXTURES / "ictrp_export.xml")]
    assert {s.retrieved for r in records for s in r.sources} == {"2026-11-25"}


def test_one_study_file_given_as_a_dump_is_told_what_a_dump_is(tmp_path: Path) -> None:
    """It was called "not a readable zip archive (UnexpectedSignatureError at its start …)"."""
    study = tmp_path / "NCT01219465.json"
    study.write_text(json.dumps(_studies()[0]))
    with pytest.raises(InputError, match="reads a zip or a folder"):
        list(ctgov_dump.read_dump(study))


def _chictr_page(html: str) -> TrialRecord:
    return chictr.to_record(chictr.RawRecord("ChiCTR", "p.html", {"html": html}))


def test_a_real_chictr_page_s_arms_outcome_types_and_bilingual_cells() -> None:
    """ChiCTR2600132949 as the registry serves it (an excerpt): no total sample size, only
    each arm's (样本量 49, three arms); its first outcome typed secondary (指标类型：次要指标),
    the primary one third; its status cell holding 尚未开始 and Not yet recruiting; its period
    "从 From 2026-09-21 至 To 2031-12-31". The enrollment was lost, the secondary outcome
    stored as the primary, each label took both languages' status."""
    page = (FIXTURES / "chictr_ChiCTR2600132949_excerpt.html").read_text("utf-8")
    record = _chictr_page(page)
    assert record.enrollment == 147
    assert record.primary_outcome == "Recurrence-free survival（RFS）"
    assert (record.start_date, record.completion_date) == ("2026-09-21", "2031-12-31")
    assert record.status == "Not yet recruiting"
    assert chictr.fields_of(page)["status"] == {"zh": ["尚未开始"], "en": ["Not yet recruiting"]}
    assert [(s.name_zh, s.province, s.city) for s in record.sites] == [
        ("福建医科大学附属协和医院", "Fujian", None),
        ("福建省漳州市医院", "Fujian", None),
        ("福建医科大学附属第二医院", "Fujian", None),
    ]
    assert record.sites[1].name == "Zhangzhou Municipal Hospital"


_SITE = (
    '<table class="noComma"><tr><td><p class="cn">国家：</p></td><td><p class="cn">中国</p></td>'
    '<td><p class="cn">市(区县)：</p></td><td><p class="cn">{city_zh}</p></td></tr>'
    '<tr><td><p class="en">Country：</p></td><td><p class="en">China</p></td>'
    '<td><p class="en">City：</p></td><td><p class="en">{city}</p></td></tr>'
    '<tr><td><p class="cn">单位(医院)：</p></td><td><p class="cn">{name_zh}</p></td>'
    '<td><p class="en">Institution<br/>hospital：</p></td><td><p class="en">{name}</p></td></tr>'
    "</table>"
)


def test_a_chictr_site_with_a_blank_cell_keeps_its_own_values() -> None:
    """Each site is its own table, and the pages leave cells blank (every city on the page
    above): blanks were dropped and the sites paired by position, so one site without an
    English name gave it the next site's, and a city went to the site before its own."""
    sites = "".join(
        (
            _SITE.format(city_zh="", city="", name_zh="福建医科大学附属协和医院", name=""),
            _SITE.format(
                city_zh="漳州市", city="Zhangzhou", name_zh="福建省漳州市医院",
                name="Zhangzhou Municipal Hospital",
            ),
        )
    )  # fmt: skip
    record = _chictr_page(
        "<table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr>"
        '<tr><td><p class="cn">研究实施地点：</p></td><td>' + sites + "</td></tr></table>"
    )
    assert [(s.name, s.name_zh, s.city) for s in record.sites] == [
        (None, "福建医科大学附属协和医院", None),
        ("Zhangzhou Municipal Hospital", "福建省漳州市医院", "Zhangzhou"),
    ]


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("研究实施负责(组长)单位", "福建医科大学附属协和医院"),  # ASCII brackets (NFKC's)
        ("研究實施負責（組長）單位", "福建医科大学附属协和医院"),  # traditional characters
    ],
)
def test_chictr_labels_are_read_in_either_bracket_width_and_in_traditional_characters(
    label: str, value: str
) -> None:
    record = _chictr_page(
        f"<table><tr><td>註冊號：</td><td>ChiCTR2600132949</td></tr>"
        f"<tr><td>{label}：</td><td>{value}</td></tr></table>"
    )
    assert record.sponsor_zh == value


def test_a_chictr_period_without_a_start_has_no_start() -> None:
    """The bilingual page writes both words between its dates ("至 To"): a blank start made
    the end the start."""
    record = _chictr_page(
        "<table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr>"
        "<tr><td>研究实施时间：</td><td>从 From 至 To 2031-12-31 00:00:00</td></tr></table>"
    )
    assert (record.start_date, record.completion_date) == (None, "2031-12-31")


def test_a_chictr_outcome_list_typed_without_a_primary_one_gives_none() -> None:
    outcomes = "".join(
        f"<tr><td>指标中文名：</td><td>{name}</td><td>指标类型：</td><td>次要指标</td></tr>"
        for name in ("不良反应发生率", "总生存期")
    )
    record = _chictr_page(
        "<table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr>" + outcomes + "</table>"
    )
    assert record.primary_outcome is None


@pytest.mark.parametrize(
    "link",
    [
        "https://www.chictr.org.cn/showprojEN.html?proj=315763",
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=302306",
        "http://www.chictr.org.cn/showproj.aspx?proj=55654",
    ],
)
def test_a_chictr_page_s_english_and_old_site_addresses_are_its_source(
    link: str, tmp_path: Path
) -> None:
    page = tmp_path / "p.html"
    page.write_text(
        f'<a href="{link}">x</a><table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr></table>'
    )
    raw = next(chictr.read_pages(page))
    assert raw.url == "https://www.chictr.org.cn/" + link.split("chictr.org.cn/")[1]


@pytest.mark.parametrize(
    ("written", "registry"),
    [
        ("CTR20201158", "ChinaDrugTrials"),  # China's drug-trial registry
        ("ACTRN12619000423112", "ANZCTR"),
        ("CTRI/2019/04/018467", "CTRI"),
        ("IRCT20190410043236N1", "IRCT"),
        ("DRKS00041145", "DRKS"),
        ("KCT0001234", "CRIS"),
        ("TCTR20190101001", "TCTR"),
        ("ITMCTR2100005248", "ITMCTR"),
    ],
)
def test_other_primary_registries_ids_are_links_not_a_sponsor_s_ids(
    written: str, registry: str
) -> None:
    """Only NCT, ChiCTR, jRCT and ISRCTN ids were read as registrations: a CT.gov record
    naming its CTRI or ANZCTR twin kept the id as the sponsor's, and no exact link was made."""
    assert chictr.other_registry_ids(f"{written} (secondary)") == [
        {"registry": registry, "id": written}
    ]
    study = copy.deepcopy(_studies()[0])
    study["protocolSection"]["identificationModule"]["secondaryIdInfos"] = [
        {"id": written, "type": "OTHER"}
    ]
    record = raw_to_record(ctgov.RawRecord("ClinicalTrials.gov API", "NCT01219465", study))
    assert {"registry": registry, "id": written} in [r.model_dump() for r in record.registry_ids]
    assert written not in record.org_study_ids


def test_a_chictr_id_holds_no_drug_registry_id() -> None:
    assert chictr.other_registry_ids("ChiCTR2000031234") == [
        {"registry": "ChiCTR", "id": "ChiCTR2000031234"}
    ]


def test_a_secondary_id_given_twice_is_kept_once() -> None:
    """NCT06388018 lists NRG-GY032 as its organisation's id and twice among its secondary ids
    (under NRG Oncology and CTEP): it was stored three times."""
    study = copy.deepcopy(_studies()[0])
    ident = study["protocolSection"]["identificationModule"]
    ident["orgStudyIdInfo"] = {"id": "NRG-GY032"}
    ident["secondaryIdInfos"] = [
        {"id": "NCI-2023-09355", "type": "REGISTRY"},
        {"id": "NRG-GY032", "domain": "NRG Oncology"},
        {"id": "NRG-GY032", "type": "OTHER", "domain": "CTEP"},
    ]
    record = raw_to_record(ctgov.RawRecord("ClinicalTrials.gov API", "NCT01219465", study))
    assert record.org_study_ids == ["NRG-GY032", "NCI-2023-09355"]


def test_ictrp_placeholders_for_no_secondary_id_are_no_ids() -> None:
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {"TrialID": "ACTRN12619000423112", "Public_title": "x", "Secondary_ID": "Nil Known"},
    )
    assert ictrp.to_record(raw).org_study_ids == []
    raw.payload["Secondary_ID"] = "NIL;CTRI/2019/04/018467"
    record = ictrp.to_record(raw)
    assert (record.org_study_ids, [r.id for r in record.registry_ids]) == (
        [],
        ["ACTRN12619000423112", "CTRI/2019/04/018467"],
    )


def test_chictr_s_own_xml_export_is_read() -> None:
    """ChiCTR2000034346 as the registry exports it (the record page's "下载XML文档": the WHO
    data set in a root ``<trials>``, its trial element written ``<Triall>``): the ChiCTR
    reader quarantined it for want of a 注册号 and the ICTRP reader refused its root."""
    path = FIXTURES / "chictr_export_ChiCTR2000034346.xml"
    (raw,) = chictr_xml.read_exports(path, "2026-11-28")
    record = chictr_xml.to_record(raw)
    assert [r.id for r in record.registry_ids] == ["ChiCTR2000034346"]
    assert record.title_en.startswith("Survey for Surgery status of a designated Hospital")
    assert (record.first_posted, record.start_date) == ("2020-07-02", "2020-04-10")
    assert (record.status, record.enrollment, record.design) == ("Completed", 3239, "Sequential")
    assert record.conditions == ["Novel Coronavirus Pneumonia (COVID-19)"]
    assert record.primary_outcome == "decrease"
    assert (record.country, record.region) == ("China", "mainland China")
    assert record.source_url == "http://www.chictr.org.cn/showproj.aspx?proj=55654"
    assert record.sources[0].retrieved == "2026-11-28"


def test_an_xml_file_that_is_no_chictr_export_is_refused_naming_the_reader_to_use() -> None:
    with pytest.raises(InputError, match=r"<Trials_downloaded_from_ICTRP>.*ingest ictrp"):
        list(chictr_xml.read_exports(FIXTURES / "ictrp_export.xml"))
    with pytest.raises(InputError, match=r"<trials>.*ingest chictr"):
        list(ictrp.read_export(FIXTURES / "chictr_export_ChiCTR2000034346.xml"))


def test_a_folder_s_unreadable_xml_is_a_rejected_record_and_the_export_beside_it_loads(
    tmp_path: Path,
) -> None:
    shutil.copy(FIXTURES / "chictr_export_ChiCTR2000034346.xml", tmp_path / "a.xml")
    (tmp_path / "b.xml").write_text("<trials><trial><main><trial_id>ChiCTR20")
    raws = list(chictr_xml.read_exports(tmp_path))
    assert [r.ref for r in raws if r.payload] == ["ChiCTR2000034346"]
    (bad,) = [r for r in raws if r.payload is None]
    assert bad.error.startswith(f"{tmp_path / 'b.xml'}: not a readable XML file")


def test_an_observational_study_s_design_is_its_model_and_time_perspective() -> None:
    """NCT06171568 (a prospective cohort): its design was empty."""
    study = copy.deepcopy(_studies()[0])
    study["protocolSection"]["designModule"]["designInfo"] = {
        "observationalModel": "COHORT",
        "timePerspective": "PROSPECTIVE",
    }
    record = raw_to_record(ctgov.RawRecord("ClinicalTrials.gov API", "NCT01219465", study))
    assert record.design == "Observational Model: COHORT; Time Perspective: PROSPECTIVE"


def _export(sponsor: str = "Jianxing He", encoding: str = "UTF-8", size: str = "30") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<trials subjects="1"><Triall><main>'
        f"<trial_id>ChiCTR2000034346</trial_id><primary_sponsor>{sponsor}</primary_sponsor>"
        f"<target_size>{size}</target_size></main></Triall></trials>"
    )


def test_a_chictr_export_in_gb2312_is_read_in_its_encoding(tmp_path: Path) -> None:
    """The parser refuses to decode a multi-byte encoding itself: an export declaring GB2312
    was a traceback, after the folder's pages were stored."""
    path = tmp_path / "gb.xml"
    path.write_bytes(_export("北京协和医院", "GB2312").encode("gb18030"))
    (raw,) = chictr_xml.read_exports(path)
    assert chictr_xml.to_record(raw).sponsor_zh == "北京协和医院"
    path.write_bytes(_export(encoding="no-such-codec").encode())
    with pytest.raises(InputError, match="not a readable XML file"):
        list(chictr_xml.read_exports(path))


def test_a_link_among_chictr_exports_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.xml"
    outside.write_text(_export())
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "link.xml").symlink_to(outside)
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._link.xml").write_bytes(b"\x00\x05\x16\x07")
    (raw,) = chictr_xml.read_exports(folder)
    assert raw.payload is None and raw.error.endswith(NOT_FOLLOWED)


def test_an_ictrp_export_beside_chictr_exports_is_refused_by_its_head(tmp_path: Path) -> None:
    """A full ICTRP export (gigabytes) was parsed whole to be refused: its root is read from
    the file's head, so the rest (here not even XML) is never read."""
    (tmp_path / "ictrp.xml").write_text("<Trials_downloaded_from_ICTRP><Trial>&&&" + "x" * 9000)
    (raw,) = chictr_xml.read_exports(tmp_path)
    assert "root element is <Trials_downloaded_from_ICTRP>" in raw.error


def test_arms_sizes_with_blanks_are_read_at_once(ends) -> None:
    """Three runs of blanks side by side at the end of the arms' pattern: 5 s for 1,500."""
    text = "Experimental group:30;Control group:30" + " " * 3000 + "(planned)"
    assert ends(lambda: ictrp.target_size(text)) is None
    (raw,) = [chictr_xml.RawRecord(chictr_xml.SOURCE, "t", {"trial_id": "ChiCTR2000034346",
                                                             "target_size": text})]  # fmt: skip
    assert ends(lambda: chictr_xml.to_record(raw).enrollment) is None


@pytest.mark.parametrize(
    ("kinds", "primary"),
    [
        (("次要指标", "主要指标 Primary indicator"), "总生存期"),  # both languages in one cell
        (("次要指标", "主要结局指标"), "总生存期"),
        (("次要指标", "次要指标"), None),
        (("附加指标", "附加指标"), "不良反应发生率"),  # a type neither primary nor secondary
    ],
)
def test_a_chictr_outcome_typed_primary_in_other_words_is_the_primary_one(kinds, primary):
    outcomes = "".join(
        f"<tr><td>指标中文名：</td><td>{name}</td><td>指标类型：</td><td>{kind}</td></tr>"
        for name, kind in zip(("不良反应发生率", "总生存期"), kinds, strict=True)
    )
    record = _chictr_page(
        "<table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr>" + outcomes + "</table>"
    )
    assert record.primary_outcome == primary


def test_a_chinese_label_keeps_the_whole_of_a_value_in_two_paragraphs() -> None:
    """Only a cell holding both labels splits its value by language: a dose in ASCII after
    the Chinese intervention was cut off."""
    record = _chictr_page(
        "<table><tr><td>注册号：</td><td>ChiCTR2600132949</td></tr>"
        "<tr><td><p>干预措施：</p></td><td><p>脐带间充质干细胞静脉输注</p>"
        "<p>1×10^6 cells/kg, q4w x 3</p></td></tr></table>"
    )
    assert record.interventions == ["脐带间充质干细胞静脉输注 1×10^6 cells/kg, q4w x 3"]


def test_an_ictrp_condition_without_a_word_is_no_condition() -> None:
    """IRCT20190410043236N1 and IRCT20111107008022N5 list ICD codes as bare numbers and "--"
    beside their conditions."""
    raw = ictrp.RawRecord(
        ictrp.SOURCE,
        "t",
        {
            "TrialID": "IRCT20190410043236N1",
            "Public_title": "x",
            "Condition": "Heart failure;130-152;150.1;--;N/A;Not applicable;心力衰竭",
        },
    )
    assert ictrp.to_record(raw).conditions == ["Heart failure", "心力衰竭"]
