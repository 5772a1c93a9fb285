"""Landmark case studies: found by name, by its start, or by one of its words."""

from __future__ import annotations

import pytest

from isletbase.errors import NotFoundError
from isletbase.evidence.cases import get_case


def test_a_case_is_found_by_its_name_its_start_or_one_of_its_words() -> None:
    """`isletbase cases zimislecel`, as the README names it, was "not a case"."""
    assert get_case("vx-880-zimislecel").name == "vx-880-zimislecel"
    assert get_case("VX-880").name == get_case("zimislecel").name == "vx-880-zimislecel"
    with pytest.raises(NotFoundError, match="is not a case"):
        get_case("insulin")
