"""The bilingual classifier: rules that explain themselves, accuracy on real curated records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isletbase import taxonomy
from isletbase.model import TrialRecord

DATA = Path(__file__).resolve().parents[1] / "src" / "isletbase" / "data" / "trials"


def test_umbilical_cord_in_english_and_chinese_gives_the_same_cell_source():
    en = taxonomy.classify_field(
        "cell_source", {"title_en": "Umbilical Cord Mesenchymal Stem Cells for T1D"}
    )
    zh = taxonomy.classify_field("cell_source", {"title_zh": "脐带间充质干细胞治疗1型糖尿病"})
    assert en.value == zh.value == "UC-MSC"
    assert en.rule == "ucmsc-en" and zh.rule == "ucmsc-zh"
    assert "title_zh" in zh.explain()


def test_specific_products_win_over_generic_stem_cell_words():
    text = {
        "title_en": "Chemically induced pluripotent stem-cell-derived islets in type 1 diabetes"
    }
    assert taxonomy.classify_field("cell_source", text).value == "CiPSC-islet"
    assert (
        taxonomy.classify_field("cell_source", {"title_en": "stem cell therapy"}).value == "other"
    )


def test_complication_outranks_the_diabetes_type():
    text = {"conditions": ["Type 2 Diabetes", "Diabetic Foot Ulcer"]}
    assert taxonomy.classify_field("condition", text).value == "complication:diabetic-foot"


def test_both_types_named_gives_diabetes_with_both_rules():
    match = taxonomy.classify_field(
        "condition", {"conditions": ["Type 1 Diabetes", "Type 2 Diabetes"]}
    )
    assert match.value == "diabetes"
    assert match.rule == "t1d-en+t2d-en"


def test_summary_mentions_do_not_outrank_the_title():
    fields = {"title_en": "UC-MSC for Type 1 Diabetes", "summary": "may prevent nephropathy"}
    assert taxonomy.classify_field("condition", fields).value == "T1D"


def test_registry_wording_is_normalised_to_v2_codes():
    assert taxonomy.classify_field("status", {"status": "Unknown status"}).value == "UNKNOWN"
    assert taxonomy.classify_field("status", {"status": "正在进行"}).value == "RECRUITING"
    assert taxonomy.classify_field("phase", {"phase": "Phase 1/Phase 2"}).value == "PHASE1/PHASE2"
    assert taxonomy.classify_field("phase", {"phase": "II期"}).value == "PHASE2"
    assert taxonomy.classify_field("phase", {"phase": "N/A"}).value == "NA"


def test_curated_value_overrides_the_classifier_and_says_why():
    record = TrialRecord.model_validate(
        {
            "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT00000001"}],
            "title_en": "Umbilical cord MSC for type 2 diabetes",
            "curated": {"cell_source": "WJ-MSC", "note": "the protocol says Wharton's jelly"},
            "source_url": "https://example.org/x",
        }
    )
    derived = {d.field: d for d in taxonomy.classify_record(record)}
    assert derived["cell_source"].value == "WJ-MSC"
    assert derived["cell_source"].method == "curated"
    assert derived["cell_source"].rule == "the protocol says Wharton's jelly"
    assert derived["condition"].method == "classifier" and derived["condition"].value == "T2D"


def _labelled() -> list[tuple[str, str, dict]]:
    """Real bundled records whose curator set a value, with text the classifier can read."""
    cases = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = TrialRecord.model_validate(json.loads(line))
            if not (record.title_en or record.title_zh or record.interventions):
                continue
            for field in ("cell_source", "condition", "route"):
                gold = getattr(record.curated, field)
                if gold:
                    cases.append((field, gold, record.model_dump()))
    return cases


def test_classifier_accuracy_on_curated_real_records(record_property):
    """Agreement of the text classifier with curators' labels on the bundled real records."""
    cases = _labelled()
    assert len(cases) >= 60
    scores: dict[str, list[bool]] = {}
    for field, gold, fields in cases:
        match = taxonomy.classify_field(field, fields)
        scores.setdefault(field, []).append(bool(match and match.value == gold))
    accuracy = {f: sum(v) / len(v) for f, v in scores.items()}
    record_property("classifier_accuracy", json.dumps(accuracy))
    print("classifier accuracy:", {f: f"{a:.0%} of {len(scores[f])}" for f, a in accuracy.items()})
    assert accuracy["cell_source"] >= 0.75
    assert accuracy["condition"] >= 0.90
    assert accuracy["route"] >= 0.50


_NEUTRAL = st.text(alphabet=st.sampled_from(list("abefghjkopqwxyz ,.-0123456789")), max_size=80)


@given(_NEUTRAL)
def test_text_without_vocabulary_words_gets_no_cell_source(text):
    assert taxonomy.classify_field("cell_source", {"title_en": text}) is None


@given(st.text(max_size=200), st.sampled_from(["UC-MSC", "T1D"]))
def test_classifier_never_crashes_and_a_keyword_anywhere_is_found(noise, kind):
    keyword = "umbilical cord mesenchymal stem cells" if kind == "UC-MSC" else "type 1 diabetes"
    field = "cell_source" if kind == "UC-MSC" else "condition"
    fields = {"title_en": f"{noise} {keyword} {noise}"}
    match = taxonomy.classify_field(field, fields)
    assert match is not None


def test_a_text_in_traditional_characters_is_classified_as_the_simplified_one():
    """Taiwan's and Hong Kong's 臍帶間充質幹細胞 was no cell source; the rules are written in
    simplified characters."""
    pairs = (("臍帶間充質幹細胞治療1型糖尿病", "脐带间充质干细胞治疗1型糖尿病"),
             ("骨髓間充質幹細胞移植", "骨髓间充质干细胞移植"))  # fmt: skip
    for traditional, simplified in pairs:
        wanted = {d.field: d.value for d in taxonomy.derive({"title_en": simplified})}
        assert wanted["cell_source"] is not None
        found = {d.field: d.value for d in taxonomy.derive({"title_en": traditional})}
        assert found == wanted


def test_a_filter_takes_the_names_registries_and_taiwan_write_for_a_diabetes_type() -> None:
    """--condition refused 第一型糖尿病 (Taiwan's usual term), 一型糖尿病, I型糖尿病 and T1DM,
    which the classifier reads as type 1 diabetes in a record's text."""
    for name in (
        "第一型糖尿病",
        "一型糖尿病",
        "I型糖尿病",
        "Ⅰ型糖尿病",
        "T1DM",
        "Type 1 Diabetes Mellitus",
    ):
        assert taxonomy.code_of("condition", name) == "T1D", name
    for name in ("第二型糖尿病", "Ⅱ型糖尿病", "T2DM", "NIDDM"):
        assert taxonomy.code_of("condition", name) == "T2D", name
    assert taxonomy.code_of("condition", "not a diabetes") is None


@pytest.mark.parametrize(
    ("status", "code"),
    [("Pending", "NOT_YET_RECRUITING"), ("Complete", "COMPLETED"), ("Not Recruiting", None)],
)
def test_ictrp_registries_status_words(status: str, code: str | None) -> None:
    """ChiCTR's "Pending" and IRCT's "Complete" as ICTRP exports them had no code; ICTRP's
    own "Not recruiting" says neither that a trial goes on nor that it ended, and has none."""
    match = taxonomy.classify_field("status", {"status": status})
    assert (match.value if match else None) == code


@pytest.mark.parametrize(
    ("fields", "condition"),
    [
        # ACTRN12619000423112 and EUCTR2017-004026-15-PL: no word of diabetes
        ({"conditions": ["Peripheral Arterial Disease"]}, None),
        ({"title_en": "Ferumoxytol for iron deficiency in children with chronic kidney disease"},
         None),
        ({"title_en": "Stem cells for a chronic wound"}, None),
        ({"conditions": ["Critical limb ischemia"], "summary": "in people with type 2 diabetes"},
         "complication:critical-limb-ischaemia"),
        ({"title_en": "ALLO-ASC-DFU for a foot ulcer"}, "complication:diabetic-foot"),
        ({"title_zh": "脐带间充质干细胞治疗糖尿病周围神经病"}, "complication:neuropathy"),
    ],
)  # fmt: skip
def test_a_complication_of_diabetes_is_one_only_where_the_record_names_diabetes(
    fields: dict, condition: str | None
) -> None:
    """A registry-wide load classed a peripheral-artery-disease trial and a children's kidney
    disease trial as diabetic complications."""
    match = taxonomy.classify_field("condition", fields)
    assert (match.value if match else None) == condition


@pytest.mark.parametrize(
    "title",
    [
        # ChiCTR2600122412's titles: the MSC is the product, the transplant its setting
        "Exploratory Clinical Study on Umbilical Cord Mesenchymal Stem Cells for Prophylaxis"
        " Against Endothelial Injury Syndrome Following Allogeneic Hematopoietic Stem Cell"
        " Transplantation",
        "脐带间充质干细胞预防异体造血干细胞移植后内皮损伤综合征",
        "UC-MSCs for Prophylaxis Following Allogenic Hematopoietic Stem Cell Transplantation",
    ],
)
def test_an_allogeneic_transplant_a_product_follows_is_its_setting_not_its_cells(title):
    """Classed autologous haematopoietic stem-cell transplantation (HSC/AHST) by the
    transplant the trial's MSCs are given after."""
    assert taxonomy.classify_field("cell_source", {"title_en": title}).value == "UC-MSC"
    autologous = "Autologous hematopoietic stem cell transplantation in type 1 diabetes"
    assert taxonomy.classify_field("cell_source", {"title_en": autologous}).value == "HSC/AHST"


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        # ChiCTR2600121779 and NCT02138331: cell-free products of stem cells
        ({"title_en": "Safety Study of Mesenchymal Stem Cell-Derived Exosomes in DFU"},
         "MSC-exosome"),
        ({"interventions": ["Biological: MSC exosomes."]}, "MSC-exosome"),
        ({"title_zh": "人脐带间充质干细胞来源外泌体凝胶治疗糖尿病足"}, "MSC-exosome"),
        # the cells' tissue no longer names the product
        ({"title_en": "Adipose-derived mesenchymal stromal cell exosomes for knee pain"},
         "MSC-exosome"),
        # a diagnostic study's exosomes are no product of stem cells
        ({"title_en": "Urinary exosomes as biomarkers of diabetic nephropathy"}, None),
        # the short forms and verbs registries write (a review's cases)
        ({"title_en": "hUC-MSC-Exos in type 2 diabetes"}, "MSC-exosome"),
        ({"title_en": "MSC-EVs for diabetic foot ulcer"}, "MSC-exosome"),
        ({"title_en": "ADSC-Exo hydrogel"}, "MSC-exosome"),
        ({"title_en": "Exosomes produced by umbilical cord MSCs"}, "MSC-exosome"),
        ({"title_zh": "MSC外泌体治疗糖尿病足溃疡"}, "MSC-exosome"),
        ({"title_zh": "间充质干细胞(MSC)来源的外泌体"}, "MSC-exosome"),
        # NCT06480123 spells them "exome"
        ({"title_en": "Stem Cell Derived Exome for Treatment of Diabetic Foot"}, "MSC-exosome"),
        # vesicles of other stem cells are no islets
        ({"title_en": "iPSC-derived extracellular vesicles for diabetic foot"}, "MSC-exosome"),
        # exosomes of people treated with cells are no product
        ({"title_en": "Exosomes of patients treated with mesenchymal stem cells"}, "other-MSC"),
        ({"title_zh": "间充质干细胞移植后患者外泌体变化"}, "other-MSC"),
    ],
)  # fmt: skip
def test_stem_cells_exosomes_are_a_cell_free_product_of_their_own(fields, source):
    match = taxonomy.classify_field("cell_source", fields)
    assert (match.value if match else None) == source
