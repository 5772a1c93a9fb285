"""Plot fonts: Chinese text is set in a font that has it, where one is installed."""

from __future__ import annotations

import warnings
from pathlib import Path

from isletbase import census, fonts


def test_a_font_file_it_cannot_read_is_passed_over(tmp_path: Path, monkeypatch) -> None:
    """Where no CJK font is known, the system's fonts matplotlib has not listed are read; one
    that is no font is skipped (as matplotlib skips it), not an error for every plot."""
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    monkeypatch.setattr(fonts, "CJK_FONTS", ("A Font Nobody Installed",))
    monkeypatch.setattr(fonts.font_manager, "findSystemFonts", lambda: [str(broken)])
    fonts.font_family.cache_clear()
    try:
        assert fonts.font_family() == ["sans-serif"]
    finally:
        fonts.font_family.cache_clear()


def test_the_census_diagram_in_chinese_is_measured_in_a_font_that_has_it() -> None:
    """The Chinese page's flow diagram warned of every missing glyph: its boxes were sized
    with matplotlib's own font, which has no Chinese."""
    counts = census.prisma(census.load_screening())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = census.flow_svg(counts, words={"identified": "检出记录", "included": "纳入"})
    assert "检出记录" in svg
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_a_bold_heading_s_one_weight_chinese_fallback_is_not_reported() -> None:
    """matplotlib logged "findfont: Failed to find font weight bold for WenQuanYi Micro Hei" to
    every `--plot` user's terminal: the fallback has one weight, regular is meant."""
    import logging

    logger = logging.getLogger("matplotlib.font_manager")
    said = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    handler = Kept()
    logger.addHandler(handler)
    try:
        for font in (*fonts.CJK_FONTS, "Some Other Font"):
            logger.warning("findfont: Failed to find font weight bold for %s, now using 400.", font)
    finally:
        logger.removeHandler(handler)
    assert said == ["findfont: Failed to find font weight bold for Some Other Font, now using 400."]
