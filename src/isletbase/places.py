"""Place names in English and Chinese: China's province-level divisions and their seats, the
countries and the regions a trial is filtered by (``data/places.yaml``, each entry with the
pages its names were read from).

Sites are stored as their registry wrote them — CT.gov in English ("Guangdong", "Guangzhou",
"Korea, Republic of"), a ChiCTR page in Chinese only in Chinese (广东省, 广州) — so a place
filter, written in either language, is matched against every spelling of its place
(``spellings``); a country or a region is named by its English name (``english``), as the
registries' readers store it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import pycountry
import yaml

from isletbase.taxonomy import normalise, simplified

#: How a division's Chinese name is written in full, by its kind (the sources give the
#: autonomous regions' and special administrative regions' full names themselves).
_SUFFIX = {"province": "省", "municipality": "市"}
#: A city, a seat of a province, written in full.
_CITY_SUFFIX = "市"


@dataclass(frozen=True)
class Place:
    """One place: its English name first, then its other spellings; a city also names the
    province it is in (``within``, in English), where the book gives it."""

    en: str
    spellings: tuple[str, ...]
    within: str | None = None


def _key(text: str) -> str:
    """How a spelling is looked up: NFKC, simplified characters, case and spaces folded."""
    if text.isascii():  # most sites' places: NFKC and simplifying leave ASCII as it is
        return " ".join(text.casefold().split())
    return " ".join(simplified(normalise(text)).casefold().split())


def _place(en: str, *chinese: str, within: str | None = None) -> Place:
    return Place(en, tuple(dict.fromkeys([en, *(c for c in chinese if c)])), within)


@cache
def _book() -> dict[str, dict[str, Place]]:
    """kind (country, region, province, city) → looked-up spelling → place."""
    raw = yaml.safe_load(
        resources.files("isletbase.data").joinpath("places.yaml").read_text("utf-8")
    )
    places: dict[str, list[Place]] = {"country": [], "region": [], "province": [], "city": []}
    for kind, listed in (("country", "countries"), ("region", "regions")):
        for entry in raw[listed]:
            others = [*entry.get("full", []), *entry.get("also", [])]
            places[kind].append(_place(entry["en"], entry["zh"], *others))
    for entry in raw["provinces"]:
        suffix = _SUFFIX.get(entry["kind"])
        full = [entry["zh"] + suffix] if suffix else entry.get("full", [])
        places["province"].append(_place(entry["en"], entry["zh"], *full))
        seat = entry.get("seat") or (
            {"en": entry["en"], "zh": entry["zh"]} if entry["kind"] == "municipality" else None
        )
        if seat:
            places["city"].append(
                _place(seat["en"], seat["zh"], seat["zh"] + _CITY_SUFFIX, within=entry["en"])
            )
    for entry in raw.get("cities", []):
        others = [entry["zh"] + _CITY_SUFFIX, *entry.get("also", [])]
        places["city"].append(
            _place(entry["en"], entry["zh"], *others, within=entry.get("province"))
        )
    return {
        kind: {_key(spelling): place for place in found for spelling in place.spellings}
        for kind, found in places.items()
    }


def find(kind: str, name: str) -> Place | None:
    """The place of ``kind`` (country, region, province or city) ``name`` spells, in English or
    Chinese (simplified or traditional, with or without 省/市), if the book holds it."""
    return _book()[kind].get(_key(name))


def chinese_names() -> tuple[str, ...]:
    """Every Chinese spelling of every place the book holds (as looked up: simplified)."""
    return tuple(key for book in _book().values() for key in book if not key.isascii())


def spellings(kind: str, name: str) -> tuple[str, ...]:
    """``name`` and every other spelling of its place (just ``name`` for a place the book does
    not hold), to match sites stored in either language."""
    place = find(kind, name)
    return tuple(dict.fromkeys([name, *place.spellings])) if place else (name,)


def chinese(kind: str, name: str) -> str | None:
    """The Chinese name of the place ``name`` spells (北京 for Beijing), if the book holds it."""
    place = find(kind, name)
    return next((s for s in place.spellings if not s.isascii()), None) if place else None


def english(kind: str, name: str) -> str:
    """The English name of the place ``name`` spells (``name`` itself if the book lacks it); a
    country also by its ISO 3166 code or name (CN, KR, USA, "People's Republic of China"),
    which found no trial."""
    place = find(kind, name) or (_iso_country(name) if kind == "country" else None)
    return place.en if place else name


def site_names(city: str | None, province: str | None, country: str | None) -> tuple[str, ...]:
    """Every spelling of a site's city and province in China, in both languages, where the
    book holds them (Beijing: Beijing, 北京, 北京市), for its trial's search text: a search
    for 北京 finds a trial whose record names the city only in English, and ``beijing`` one
    whose record names it only in Chinese. A site outside China (by its country, where given)
    has none, nor a city whose province is given and is not the book's for it (the book's
    Suzhou is Jiangsu's: Anhui's is another city)."""
    if country is not None and country not in _CHINA:
        # countries are stored as the registries write them in English (``country_english``):
        # only a Chinese spelling needs reading
        if country.isascii() or country_english(country) not in _CHINA:
            return ()
    return _site_names(city, province)


@lru_cache(maxsize=1 << 14)  # a registry names the same cities again and again
def _site_names(city: str | None, province: str | None) -> tuple[str, ...]:
    region = find("province", province) if province else None
    town = find("city", city) if city else None
    if town and town.within and province and (region is None or region.en != town.within):
        town = None
    return tuple(dict.fromkeys(s for p in (town, region) if p for s in p.spellings))


@lru_cache(maxsize=4096)  # facets and pages ask for the same few names again and again
def _iso_country(name: str) -> Place | None:
    """The book's country (or region of China) that ISO 3166 (pycountry's copy) names ``name``."""
    try:
        iso = pycountry.countries.lookup(name.strip())
    except LookupError:
        return None
    for spelling in (
        iso.name,
        getattr(iso, "common_name", None),
        getattr(iso, "official_name", None),
    ):
        if spelling and (place := find("country", spelling) or find("region", spelling)):
            return place
    return None


#: The parts of China with a region of their own here (their own rules and registries), as
#: the registries write them; the rest of China is ``mainland China``.
_REGIONS = {"Hong Kong": "Hong Kong", "Macau": "Macau", "Macao": "Macau", "Taiwan": "Taiwan"}
_CHINA = ("China", *_REGIONS)


def country_english(name: str) -> str:
    """A site's country in English as the registries write it: a country the book knows
    (日本 → Japan), or a region of China written as a country, alone or after 中国 (香港,
    中国台湾 → Hong Kong, Taiwan), else ``name`` as given."""
    place = (
        find("country", name)
        or find("region", name)
        or find("region", name.strip().removeprefix("中国").removeprefix("中國"))
    )
    return place.en if place else name


def trial_country(countries: list[str]) -> str | None:
    """A trial's one country from its sites' (in English): China where a site is in China,
    Hong Kong, Macau or Taiwan included (``trial_region`` tells them apart), else the first."""
    if not countries:
        return None
    return "China" if any(c in _CHINA for c in countries) else countries[0]


def trial_region(countries: list[str]) -> str | None:
    """A trial's region from its sites' countries (in English): mainland China where a site is
    there, else Hong Kong, Macau or Taiwan where one is there (the first named), else foreign.
    A trial with eleven sites on the mainland and two in Taiwan was filed under Taiwan alone,
    out of a mainland filter; each site keeps its own country."""
    if not countries:
        return None
    if "China" in countries:
        return "mainland China"
    region = next((_REGIONS[c] for c in countries if c in _REGIONS), None)
    return region or "foreign"
