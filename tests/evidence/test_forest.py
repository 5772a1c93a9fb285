"""Forest and funnel plots: text in Chinese is drawn from a font that has it."""

from __future__ import annotations

import warnings
from pathlib import Path

from isletbase.evidence.dataset import read_input
from isletbase.evidence.forest import forest_figure, funnel_figure, render
from isletbase.evidence.meta import pool
from isletbase.fonts import CJK_FONTS, font_family

ARMS = "study,mean_treated,sd_treated,n_treated,mean_control,sd_control,n_control\n"


def test_a_study_labelled_in_chinese_is_drawn_without_missing_glyphs(tmp_path: Path) -> None:
    """A dataset's study labels and a title may be Chinese (张 2021); the plots draw them from a
    CJK font (CI installs fonts-wqy-microhei), where matplotlib's own font has no such glyph
    and would draw empty boxes, warning of each missing glyph."""
    assert font_family()[-1] in CJK_FONTS  # a CJK font is installed and known
    path = tmp_path / "studies.csv"
    path.write_text(
        ARMS + "张 2021,7.5,1.1,45,8.2,1.0,46\n胡 2019,7.9,1.3,30,8.1,1.2,31\n"
        "Zang 2022,7.52,1.07,45,8.19,1.02,46\n",
        encoding="utf-8",
    )
    result = pool(read_input(path, "MD"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in (forest_figure(result, "脐带间充质干细胞：糖化血红蛋白"), funnel_figure(result)):
            for fmt in ("svg", "png"):
                assert render(fig, fmt)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
