"""Fonts for plots drawn with matplotlib: its default font has no Chinese characters, so text
holding one (a study labelled 张 2021, a Chinese page's census diagram) is set in a font that
has them, where one is installed, instead of being drawn (and measured) as empty boxes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

#: Fonts with Chinese characters, in order of preference: a character matplotlib's default font
#: lacks is drawn from the first one installed (Debian: fonts-noto-cjk, fonts-wqy-microhei).
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei")


class _OneWeightFallback(logging.Filter):
    """Drop matplotlib's "findfont: Failed to find font weight bold for WenQuanYi Micro Hei"
    line: the Chinese fallback fonts come in one weight, so a bold heading's Chinese characters
    are set in it regular, as intended; the line reached every `--plot` user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("findfont: Failed to find font weight")
            and any(name in message for name in CJK_FONTS)
        )


logging.getLogger("matplotlib.font_manager").addFilter(_OneWeightFallback())

#: Plots are drawn one at a time: matplotlib's settings (``rc_context``) and font list are the
#: process's, and the web server draws in several threads.
_DRAWING = threading.RLock()


@cache
def font_family() -> list[str]:
    """The font families a plot's text is set in: matplotlib's sans-serif, then the first of
    ``CJK_FONTS`` installed (none where none is)."""
    manager = font_manager.fontManager
    if not _cjk_known():
        # installed after matplotlib listed the system's fonts (its list is kept on disk)
        listed = {font.fname for font in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in listed:
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # not a font it can read: skipped
                    continue  # as matplotlib skips it when it lists the fonts itself
    return ["sans-serif", *_cjk_known()[:1]]


def _cjk_known() -> list[str]:
    known = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in known]


@contextmanager
def plot_fonts() -> Iterator[None]:
    """Draw inside this block with text in ``font_family`` (a text's font is fixed when it is
    made), one plot at a time."""
    with _DRAWING, matplotlib.rc_context({"font.family": font_family()}):
        yield


def in_plot_fonts(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """``draw`` run inside ``plot_fonts``."""

    @wraps(draw)
    def drawn(*args: object, **kwargs: object) -> Figure:
        with plot_fonts():
            return draw(*args, **kwargs)

    return drawn
