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
