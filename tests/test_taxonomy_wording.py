"""Registry wording the classifier must read right: diabetes types as ClinicalTrials.gov and
ChiCTR write them, product names, negated cell sources and the roman four that is not a route."""

from __future__ import annotations

import json

import pytest

from isletbase import classify, taxonomy


def _value(field: str, fields: dict) -> str | None:
    match = taxonomy.classify_field(field, fields)
    return match.value if match else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a type II (Ⅱ is "II" after NFKC) must not also read as the type I inside it
        ("人脐带间充质干细胞治疗Ⅱ型糖尿病", "T2D"),
        ("II型糖尿病", "T2D"),
        ("Ⅱ型糖尿病", "T2D"),
        ("二型糖尿病", "T2D"),
        ("2型糖尿病", "T2D"),
        ("1型糖尿病", "T1D"),
        ("Ⅰ型糖尿病", "T1D"),
        ("I型糖尿病", "T1D"),
        ("一型糖尿病", "T1D"),
        ("干细胞治疗Ⅰ型糖尿病", "T1D"),
        ("Ⅰ型和Ⅱ型糖尿病", "diabetes"),
        ("1型或2型糖尿病", "diabetes"),
        ("2型和1型糖尿病", "diabetes"),
        ("糖尿病", "diabetes"),
    ],
)
def test_chinese_diabetes_types(text, expected):
    assert _value("condition", {"title_zh": text}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ClinicalTrials.gov's condition terms
        ("Diabetes Mellitus, Type 2", "T2D"),
        ("Diabetes Mellitus, Type 1", "T1D"),
        ("Diabetes Mellitus, Type I", "T1D"),
        ("Diabetes Mellitus, Type II", "T2D"),
        ("Diabetes, Type 2", "T2D"),
        ("Diabetes Mellitus Type 1", "T1D"),
        ("Type1diabetes", "T1D"),
        ("type2diabetes", "T2D"),
        ("Type 2 DM", "T2D"),
        # an insulin-dependent diabetes inside a non-insulin-dependent one does not count
        ("Non-insulin-dependent diabetes mellitus", "T2D"),
        ("Non insulin dependent diabetes", "T2D"),
        ("noninsulin-dependent diabetes", "T2D"),
        ("NIDDM", "T2D"),
        ("insulin-dependent diabetes mellitus", "T1D"),
        ("Stem cells in insulin-dependent diabetes", "T1D"),
        ("IDDM", "T1D"),
        # unchanged
        ("type 1 diabetes", "T1D"),
        ("Type I Diabetes", "T1D"),
        ("Type II Diabetes", "T2D"),
        ("T1DM", "T1D"),
        ("T2DM", "T2D"),
        ("Diabetes Mellitus", "diabetes"),
        ("Type 1 and Type 2 Diabetes", "diabetes"),
        ("diabetes type 2 or type 1", "diabetes"),
    ],
)
def test_english_diabetes_types(text, expected):
    assert _value("condition", {"conditions": [text]}) == expected


@pytest.mark.parametrize(
    ("interventions", "expected"),
    [
        (["华通氏胶间充质干细胞"], "WJ-MSC"),
        (["华通胶间充质干细胞"], "WJ-MSC"),
        (["人脐带华通氏胶间充质干细胞"], "WJ-MSC"),
        (["Wharton's jelly MSC"], "WJ-MSC"),
        # Vertex's embryonic stem-cell-derived islets
        (["VX-880 islet cells"], "ESC-islet"),
        (["Zimislecel (VX-880)"], "ESC-islet"),
        (["Stem cell–derived islets (VX-880)"], "ESC-islet"),
        (["VX-264 in an immunoprotective device"], "ESC-islet"),
        # a negated or comparator arm names no cell source ...
        (["no stem cell (standard care)"], None),
        (["Standard care without stem cells"], None),
        (["Placebo"], None),
        (["Standard care"], None),
        (["Placebo (saline, no MSCs)"], None),
        (["Placebo stem cell injection"], None),
        (["常规治疗（不输注干细胞）"], None),
        (["安慰剂"], None),
        (["对照组：无干细胞"], None),
        # ... and does not hide the arm that has one
        (["UC-MSC infusion", "no stem cell (standard care)"], "UC-MSC"),
        (["Stem cell transplantation", "No stem cells"], "other"),
        (["Stem cells versus no stem cells"], "other"),
        (["Placebo-controlled stem cell trial"], "other"),
        (["No-option patients receiving stem cells"], "other"),
        (["Umbilical cord MSC versus placebo (no MSC)"], "UC-MSC"),
        (["脐带间充质干细胞；对照组不输注干细胞"], "UC-MSC"),
        (["stem cell"], "other"),
    ],
)
def test_cell_source_wording(interventions, expected):
    assert _value("cell_source", {"interventions": interventions}) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # a roman four that is a phase, grade or stage is not a route
        ({"title_en": "A Phase IV study of UC-MSC"}, None),
        ({"title_en": "UC-MSC for Wagner grade III-IV diabetic foot"}, None),
        ({"title_en": "Stem cells in stage IV diabetic nephropathy"}, None),
        ({"design": "biopsy-proven DN class IIa-IV"}, None),
        # IV next to a route word, a dose or cells is
        ({"interventions": ["IV infusion of UC-MSC"]}, "intravenous"),
        ({"interventions": ["UC-MSC given IV"]}, "intravenous"),
        ({"interventions": ["IV drip"]}, "intravenous"),
        ({"design": "UC-MSC 1.5x10^6/kg IV x3 at 4-week intervals"}, "intravenous"),
        ({"design": "0.75x10^6/kg UC-MSC IV at weeks 0,1,5,6"}, "intravenous"),
        ({"design": "then IV on day 7 and day 14"}, "intravenous"),
        ({"design": "WJ-MSC IV by weight"}, "intravenous"),
        ({"interventions": ["MSC 1x10^6/kg i.v."]}, "intravenous"),
        ({"interventions": ["静脉输注"]}, "intravenous"),
        ({"title_zh": "脐带间充质干细胞静脉输注治疗2型糖尿病"}, "intravenous"),
    ],
)
def test_route_wording(fields, expected):
    assert _value("route", fields) == expected


def test_a_roman_phase_is_still_a_phase():
    assert _value("phase", {"phase": "Phase IV"}) == "PHASE4"
    assert _value("phase", {"phase": "IV期"}) == "PHASE4"


def test_classify_command_reads_a_chinese_type_ii_title():
    line = json.dumps({"title_zh": "人脐带间充质干细胞治疗Ⅱ型糖尿病"}, ensure_ascii=False)
    (out,) = classify.classify_lines([line])
    assert out["condition"] == "T2D" and out["cell_source"] == "UC-MSC"
    assert out["rule"]["condition"].startswith("t2d-zh:")
