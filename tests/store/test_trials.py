"""How a new trial's rows are laid out for the bulk insert (``store.trials.pack``)."""

from __future__ import annotations

import json

import pytest

from isletbase.store.institutions import InstitutionIndex
from isletbase.store.schema import SiteRow
from isletbase.store.trials import (
    SITE_FIELDS,
    TRIAL_COLUMNS,
    TrialShaper,
    _Layout,
    latin_in_cjk,
    pack,
)
from isletbase.taxonomy import Derived

DATA = {
    "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT01219465"}],
    "org_study_ids": ["UC-MSC-T1D"],
    "title_en": "Umbilical cord MSC for type 1 diabetes",
    "official_title_en": None,
    "title_zh": "脐带间充质干细胞治疗1型糖尿病",
    "sponsor": None,
    "sponsor_zh": None,
    "sites": [
        {
            "name": "Site A",
            "name_zh": None,
            "city": "Jinan",
            "province": None,
            "country": "China",
            "institution_id": None,
        }
    ],
    "conditions": ["Type 1 Diabetes"],
    "interventions": ["Biological: UC-MSC"],
    "summary": None,
    "phase": "PHASE1/PHASE2",
    "status": "Completed",
    "enrollment": 42,
    "enrollment_type": "actual",
    "start_date": "2010-10",
    "completion_date": None,
    "first_posted": "2010-10-14",
    "last_update": "2012-02-01",
    "design": None,
    "primary_outcome": None,
    "country": "China",
    "region": "mainland China",
    "curated": {"cell_source": None, "condition": None, "route": None, "note": None},
    "source_url": "https://clinicaltrials.gov/study/NCT01219465",
    "sources": [
        {
            "url": "https://clinicaltrials.gov/study/NCT01219465",
            "fields": ["all"],
            "retrieved": "2026-11-26",
        }
    ],
    "notes": None,
}
DERIVED = [
    Derived("cell_source", "UC-MSC", "classifier", "uc-msc"),
    Derived("route", None, "classifier", "no rule matched"),
]


def test_a_layout_refuses_fields_named_out_of_the_table_s_order() -> None:
    """Child rows are tuples in their table's column order: a schema whose columns moved must
    fail at import, not write a city into the province column."""
    assert _Layout.of(SiteRow, ("id", "trial_uid"), SITE_FIELDS).columns[1] == "name"
    shuffled = (SITE_FIELDS[1], SITE_FIELDS[0], *SITE_FIELDS[2:])
    with pytest.raises(TypeError, match="SiteRow"):
        _Layout.of(SiteRow, ("id", "trial_uid"), shuffled)


def test_a_packed_trial_holds_its_values_in_column_order_with_json_as_text() -> None:
    shaper = TrialShaper(InstitutionIndex.from_rows([]), {})
    values = shaper.values(DATA, DERIVED, "digest")
    # every column but those the insert and the writer fill is given a value, and no other
    assert set(values.trial) == set(TRIAL_COLUMNS)
    packed = pack(values)
    row = dict(zip(TRIAL_COLUMNS, packed.trial, strict=True))
    assert row["title_en"] == DATA["title_en"] and row["content_hash"] == "digest"
    assert row["cell_source"] == "UC-MSC" and row["start_year"] == 2010
    for column in ("conditions", "interventions", "org_study_ids", "flags", "curated"):
        assert isinstance(row[column], str)
        assert json.loads(row[column]) == values.trial[column]
    assert packed.sites == [(0, "Site A", None, "Jinan", None, "China", None)]
    assert packed.registry_ids == [(0, "ClinicalTrials.gov", "NCT01219465")]
    assert [json.loads(fields) for _, fields, _ in packed.sources] == [["record"], ["all"]]
    # a field the classifier matched nothing in has no row: reading the trial gives it back
    assert packed.derivations == [tuple(DERIVED[0])]


@pytest.mark.parametrize(
    ("text", "found"),
    [("评价E10I治疗2型糖尿病", ["E10I"]), ("评价ＥＩ０Ａ治疗２型糖尿病", ["EI0A"]),
     ("using MSC糖尿病 and", ["MSC"]), ("2型糖尿病", []), ("干细胞 abc", []),
     ("糖尿病 " + "a" * 200_000 + " x", [])],
)  # fmt: skip
def test_a_latin_word_written_against_chinese_is_read_out_once(text, found):
    """Full-width words were missed, and a pattern of lookarounds took 3 min on a 2,000-letter
    word: the runs are read in one pass now, the longest here too."""
    assert latin_in_cjk([text, None, ""]) == found
