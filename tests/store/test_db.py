"""The database's JSON columns: written with orjson, read back as ``json`` would have them."""

from __future__ import annotations

import numpy as np
import pytest

from isletbase.store.db import _json_text


def test_json_text_writes_what_json_writes_for_numbers_text_and_keys():
    text = _json_text({"pooled": np.float64(-0.5), "n": 3, "名称": "脐带", 7: [True, None]})
    assert text == '{"pooled":-0.5,"n":3,"名称":"脐带","7":[true,null]}'


def test_json_text_refuses_what_json_refuses():
    with pytest.raises(TypeError, match="not JSON serializable"):
        _json_text({"x": object()})
