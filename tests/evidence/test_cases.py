"""Landmark case studies: found by name, by its start, or by one of its words."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from isletbase.errors import NotFoundError
from isletbase.evidence.cases import Case, get_case, load_cases


def test_a_case_is_found_by_its_name_its_start_or_one_of_its_words() -> None:
    """`isletbase cases zimislecel`, as the README names it, was "not a case"."""
    assert get_case("vx-880-zimislecel").name == "vx-880-zimislecel"
    assert get_case("VX-880").name == get_case("zimislecel").name == "vx-880-zimislecel"
    with pytest.raises(NotFoundError, match="is not a case"):
        get_case("insulin")


def test_every_case_source_is_a_page_address_and_a_news_report_is_marked() -> None:
    """The marker " (secondary)" was written into four links' addresses, which led nowhere."""
    links = [link for case in load_cases() for link in case.links]
    assert len(links) == sum(len(case.sources) for case in load_cases())
    assert all(re.fullmatch(r"https?://\S+", link.url) for link in links)
    assert {"https://spacedaily.com/?p=769328"} <= {link.url for link in links if link.secondary}


def test_a_case_source_that_is_no_address_is_refused_naming_it() -> None:
    case = load_cases()[0].model_dump()
    with pytest.raises(ValidationError, match="see the paper"):
        Case.model_validate({**case, "sources": ["see the paper"]})


def test_every_case_has_its_title_in_chinese() -> None:
    """The Chinese page showed every case's title in English."""
    assert all(case.title_zh and not case.title_zh.isascii() for case in load_cases())


def _numbers(text: str | list[str] | None) -> set[str]:
    """The numbers of a text, a month written as a number in Chinese left out ("June 2023" is
    "2023年6月")."""
    joined = " ".join(text) if isinstance(text, list) else text or ""
    return set(re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?<=年)\d{1,2}月", "", joined)))


@pytest.mark.parametrize("field", ["what_was_done", "outcome", "follow_up", "caveats"])
def test_every_case_write_up_is_translated_with_the_english_numbers(field: str) -> None:
    """The Chinese page showed the write-ups in English; a translation that dropped or
    changed a number would say something else than its source."""
    for case in load_cases():
        english, chinese = getattr(case, field), getattr(case, f"{field}_zh")
        assert bool(english) == bool(chinese), (case.name, field)
        if english:
            assert not "".join(chinese if isinstance(chinese, list) else [chinese]).isascii()
            assert _numbers(english) == _numbers(chinese), (case.name, field)


def test_a_case_translated_in_part_is_refused() -> None:
    case = load_cases()[0].model_dump()
    with pytest.raises(ValidationError, match="outcome_zh"):
        Case.model_validate({**case, "outcome_zh": None})
    with pytest.raises(ValidationError, match="caveats_zh"):
        Case.model_validate({**case, "caveats_zh": case["caveats_zh"][:-1]})
    with pytest.raises(ValidationError, match="outcome_zh"):  # an empty one said "None"
        Case.model_validate({**case, "outcome_zh": ""})
