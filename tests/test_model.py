"""Validation of records: bad input is named precisely."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from isletbase.model import TrialRecord, partial_date


def test_partial_dates_keep_the_precision_shown():
    assert partial_date("2010-09") == "2010-09"
    assert partial_date("2019-09-12 10:47:31") == "2019-09-12"
    assert partial_date(None) is None


@pytest.mark.parametrize("bad", ["2010-13", "Sept 2010", "2010-02-30", " ", {"y": 2010}])
def test_impossible_dates_are_rejected_each_time_they_are_read(bad):
    for _ in range(2):  # texts are remembered once read: a bad one is never taken for good
        with pytest.raises(ValueError):
            partial_date(bad)


def test_dates_given_as_numbers_or_empty():
    assert partial_date(2010) == "2010"  # type: ignore[arg-type]
    assert partial_date("") is None
    assert partial_date("  2010-09-01  ") == "2010-09-01"


def test_a_record_without_source_or_ids_names_both_fields():
    with pytest.raises(ValidationError) as info:
        TrialRecord.model_validate({"registry_ids": [], "title_en": "x"})
    fields = {e["loc"][0] for e in info.value.errors()}
    assert {"registry_ids", "source_url"} <= fields


def test_unknown_keys_are_rejected_not_silently_dropped():
    with pytest.raises(ValidationError, match="titel"):
        TrialRecord.model_validate(
            {
                "registry_ids": [{"registry": "ChiCTR", "id": "ChiCTR1900025872"}],
                "titel": "typo",
                "source_url": "https://www.chictr.org.cn/showproj.html?proj=1",
            }
        )


def test_registry_ids_are_stored_as_their_registries_write_them():
    """Exact links compare ids as text: ``chictr…`` and ``NCT 0…`` must match their registry's
    spelling, and one id in two spellings is one id."""
    record = TrialRecord.model_validate(
        {
            "registry_ids": [
                {"registry": "ChiCTR", "id": "chictr-trc-10000986"},
                {"registry": "ClinicalTrials.gov", "id": " nct 01219465"},
                {"registry": "ChiCTR", "id": "CHICTR-TRC-10000986"},
                {"registry": "jRCT", "id": "jRCTs031190055"},
            ],
            "source_url": "https://www.chictr.org.cn/showproj.html?proj=1",
        }
    )
    assert [r.id for r in record.registry_ids] == [
        "ChiCTR-TRC-10000986",
        "NCT01219465",
        "jRCTs031190055",
    ]


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2024-04-01 00:00:00", "2024-04-01"), ("2024-04-01T08:00:00Z", "2024-04-01"),
     ("2010-09", "2010-09")],
)  # fmt: skip
def test_a_date_with_a_time_of_day_is_its_day(given: str, stored: str) -> None:
    assert partial_date(given) == stored


@pytest.mark.parametrize(
    ("given", "says"),
    [("2010-09-011", "got '2010-09-011'"), ("2010-02-30", "'2010-02-30' is no date"),
     ("2024-04-01 junk", "got '2024-04-01 junk'")],
)  # fmt: skip
def test_a_date_with_more_after_it_or_no_such_day_is_refused_naming_it(given: str, says: str):
    """'2010-09-011' was stored as 2010-09-01 (the text cut to ten characters), and an
    impossible day was refused without saying which date."""
    with pytest.raises(ValueError, match=re.escape(says)):
        partial_date(given)


def test_a_text_past_any_registry_s_length_is_refused_naming_the_field() -> None:
    """A study with a 5 MB summary loaded, and ``show`` then took 15 s to print it."""
    record = {
        "registry_ids": [{"registry": "ClinicalTrials.gov", "id": "NCT01219465"}],
        "source_url": "https://clinicaltrials.gov/study/NCT01219465",
    }
    TrialRecord.model_validate({**record, "summary": "A" * 5000})
    for field, value in (("summary", "A" * 5_000_000), ("conditions", ["A" * 60_000])):
        with pytest.raises(ValidationError, match=f"(?s){field}.*at most 50000 characters"):
            TrialRecord.model_validate({**record, field: value})


@pytest.mark.parametrize("zone", [" +0800", "+08:00", " UTC", "Z"])
def test_a_date_s_time_may_name_its_zone(zone: str) -> None:
    assert partial_date(f"2024-04-01 00:00:00{zone}") == "2024-04-01"
