"""Optional numba: one source for the model, compiled where numba is installed.

Model functions are written over indexable state (``x[i]``) with branch-free arithmetic, so the
same Python function runs on numpy rows (every patient at once) and, through numba's
``register_jitable``, on scalars inside a compiled per-patient loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Fn = TypeVar("Fn", bound=Callable)

try:  # numba is optional: the numpy backend needs nothing beyond numpy
    import numba
    from numba.extending import register_jitable
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

    def register_jitable(fn: Fn) -> Fn:
        return fn


HAVE_NUMBA = numba is not None

__all__ = ["HAVE_NUMBA", "numba", "register_jitable"]
