"""The labelled offers in ``offers/``: each must give its expected worst severity and rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from isletbase.regulation.engine import check_offer
from isletbase.regulation.offer import Offer
from isletbase.regulation.phrases import HAN

OFFERS = Path(__file__).parent / "offers"
EXPECTED = yaml.safe_load((OFFERS / "expected.yaml").read_text(encoding="utf-8"))
AS_OF = date.fromisoformat(EXPECTED["date"])


def load_offer(name: str) -> Offer:
    """A fixture offer without its provenance comment (``# …`` lines or ``_comment``)."""
    path = OFFERS / name
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("_comment")
        return Offer.parse(data, name)
    lines = path.read_text(encoding="utf-8").splitlines()
    return Offer(text="\n".join(line for line in lines if not line.startswith("# ")))


def test_there_are_at_least_30_labelled_offers_in_both_languages() -> None:
    names = list(EXPECTED["offers"])
    assert len(names) >= 30
    texts = [load_offer(n).text or "" for n in names]
    assert sum(1 for t in texts if HAN.search(t)) >= 10
    assert sum(1 for t in texts if t and not HAN.search(t)) >= 10
    on_disk = {p.name for p in OFFERS.iterdir() if p.suffix in {".txt", ".json"}}
    assert on_disk == set(names)


def test_every_fixture_names_the_kind_of_page_it_mimics() -> None:
    for name in EXPECTED["offers"]:
        raw = (OFFERS / name).read_text(encoding="utf-8")
        assert "pattern:" in raw, name


@pytest.mark.parametrize("name", sorted(EXPECTED["offers"]))
def test_labelled_offer_gives_expected_findings(name: str) -> None:
    expected = EXPECTED["offers"][name]
    result = check_offer(load_offer(name), today=AS_OF)
    found = {f.rule.id for f in result.findings}
    assert result.worst == expected["worst"]
    assert set(expected["rules"]) <= found, sorted(found)
    assert not found & set(expected.get("absent", [])), sorted(found)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED["offers"] if n.endswith(".txt")))
def test_text_evidence_quotes_the_offer_exactly(name: str) -> None:
    offer = load_offer(name)
    for finding in check_offer(offer, today=AS_OF).findings:
        for item in finding.to_dict()["evidence"]:
            if item["source"] == "text":
                assert offer.text[item["start"] : item["end"]] == item["quote"]
