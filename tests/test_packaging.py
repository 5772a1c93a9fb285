"""What a wheel of the package holds: every file it reads besides its modules."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "isletbase"


def test_every_file_the_package_reads_is_declared_as_its_data():
    """``web/i18n.yaml`` was not: an installed wheel served no page (an editable install, as
    ``make run`` makes, reads the source tree and hid it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["isletbase"]
    declared = {path for pattern in patterns for path in PACKAGE.glob(pattern) if path.is_file()}
    files = {
        path
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert files and files <= declared, sorted(
        str(p.relative_to(PACKAGE)) for p in files - declared
    )
