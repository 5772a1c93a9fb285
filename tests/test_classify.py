"""The ``isletbase classify`` interface: each bad line is named, by its line and the key as the
input wrote it, and the good lines around it are still classified."""

from __future__ import annotations

import json

import pytest

from isletbase import taxonomy
from isletbase.classify import classify_lines
from isletbase.errors import InputError


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"protocolSection": 5}', "protocolSection: expected an object, got number"),
        ('{"protocolSection": []}', "protocolSection: expected an object, got array"),
        ('{"protocolSection": null}', "protocolSection: expected an object, got null"),
        (
            '{"protocolSection": {"identificationModule": {"nctId": 7}}}',
            "protocolSection.identificationModule.nctId: expected text, got number",
        ),
        ('{"title": 5}', "title: expected a string, got number"),
        ('{"description": ["a"]}', "description: expected a string, got array"),
        ("[1]", "expected a JSON object, got array"),
    ],
)
def test_a_malformed_line_is_named_by_line_and_input_key(line, message):
    good = json.dumps({"title": "Umbilical cord MSC for type 1 diabetes"})
    results = list(classify_lines([good, line, good]))
    assert [type(r) for r in results] == [dict, InputError, dict]
    assert str(results[1]) == f"line 2: {message}"
    assert results[0]["cell_source"] == "UC-MSC" and results[2]["condition"] == "T1D"


def test_a_traditional_chinese_title_is_classified():
    (out,) = classify_lines(['{"title_zh": "臍帶間充質幹細胞治療1型糖尿病"}'])
    assert out["cell_source"] == "UC-MSC" and out["condition"] == "T1D"


@pytest.mark.parametrize(
    ("intervention", "cell_source"),
    [("Biological: ALLO-ASC-DFU", "AD-MSC"), ("Biological: ALLO-ASC-SHEET", "AD-MSC"),
     ("Combination Product: CYP-006TK", "other-MSC")],
)  # fmt: skip
def test_named_mesenchymal_products_are_classified(intervention: str, cell_source: str) -> None:
    """Eight bundled trials of these products had no cell source: no filter found them."""
    derived = {d.field: d.value for d in taxonomy.derive({"interventions": [intervention]})}
    assert derived["cell_source"] == cell_source


def test_a_line_that_is_no_text_or_nested_too_deep_is_reported_and_the_rest_classified() -> None:
    """A byte that is not UTF-8 (read from stdin as a lone surrogate), a \\ud800 escape and a
    line nested 100,000 deep each ended the run with a traceback, the lines after it lost."""
    lines = [
        '\ufeff{"title": "type 1 diabetes"}',  # a byte-order mark on the first line
        '{"title": "caf\udce9"}',
        '{"title": "a\\ud800b"}',
        "[" * 100_000 + "]" * 100_000,
        '{"title": "type 2 diabetes"}',
    ]
    results = list(classify_lines(lines))
    assert [r["condition"] for r in results if isinstance(r, dict)] == ["T1D", "T2D"]
    errors = [str(r) for r in results if isinstance(r, InputError)]
    assert errors[0].startswith("line 2: not UTF-8") and errors[1].startswith("line 3: not UTF-8")
    assert errors[2] == "line 4: JSON nested too deeply"
