"""Scenario files: when and how much a virtual patient eats, who doses insulin, sensor noise.

YAML keys: ``start`` (ISO time), ``meals`` (``{time: "HH:MM", carbs_g: N}``, repeated daily),
``controller`` (``basal-bolus`` or ``none``), ``dosing`` (``exact`` or ``real-life``, how the
patient doses meal boluses: ``isletbase.simulate.dosing``), ``sensitivity`` (``fixed`` or
``day-to-day``, whether the patient's insulin sensitivity varies from day to day:
``isletbase.simulate.variability``), ``hypo_treatment`` (``none`` or ``rule-of-15``, whether
the patient eats for a low: ``isletbase.simulate.dosing``) and ``noise`` (bool). A malformed
file raises ``InputError`` naming the file and field.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isletbase.errors import InputError
from isletbase.simulate.params import DATA

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
BUNDLED_SCENARIOS = DATA / "scenarios"
DEFAULT_SCENARIO = "meals.yaml"


class Meal(BaseModel):
    """A meal announced at the same clock time every day."""

    model_config = ConfigDict(extra="forbid")
    time: str
    carbs_g: float = Field(ge=0, le=500)

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _HHMM.match(str(value)):
            raise ValueError(f"expected a clock time HH:MM, got {value!r}")
        return str(value)

    @property
    def minute_of_day(self) -> int:
        hours, minutes = self.time.split(":")
        return int(hours) * 60 + int(minutes)


class Scenario(BaseModel):
    """A daily meal plan with the insulin controller, how meal boluses are dosed (``exact``:
    simglucose's; ``real-life``: with people's errors), whether insulin sensitivity varies
    from day to day, whether lows are eaten for and whether the sensor is noisy."""

    model_config = ConfigDict(extra="forbid")
    start: datetime = datetime(2018, 1, 1)
    meals: list[Meal] = Field(default_factory=list)
    controller: Literal["basal-bolus", "none"] = "basal-bolus"
    dosing: Literal["exact", "real-life"] = "exact"
    sensitivity: Literal["fixed", "day-to-day"] = "fixed"
    hypo_treatment: Literal["none", "rule-of-15"] = "none"
    noise: bool = False

    def meals_per_minute(self) -> np.ndarray:
        """Grams announced at each minute of a simulated day (day starts at ``start``)."""
        out = np.zeros(1440)
        offset = self.start.hour * 60 + self.start.minute
        for meal in self.meals:
            out[(meal.minute_of_day - offset) % 1440] += meal.carbs_g
        return out

    def meal_times(self, days: int) -> list[tuple[int, float]]:
        """(minute from start, grams) for every meal of ``days`` days."""
        per_day = self.meals_per_minute()
        minutes = np.nonzero(per_day)[0]
        return [(int(m + 1440 * d), float(per_day[m])) for d in range(days) for m in minutes]


def validation_message(where: str, exc: ValidationError) -> str:
    """One line naming each bad field of ``where`` and what was expected."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    return f"{where}: " + "; ".join(parts)


def shown(path: str | Path) -> str:
    """A file as a message names it: a bundled one by its name (where the package lies on the
    server is nobody's business), any other as given."""
    given = Path(path)
    try:
        return f"{str(given.resolve().relative_to(Path(str(DATA)).resolve()))!r} (bundled)"
    except ValueError:
        return repr(str(given))


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping (``_UniqueKeys``)."""


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader refusing a key given twice in one mapping: YAML keeps the last
    silently, so a design giving ``sample_size`` twice ran with the second unsaid."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file, or raise ``InputError`` naming the file and the YAML problem (a key
    given twice in one mapping among them)."""
    path = Path(path)
    if path.is_dir():  # it was said not to exist
        raise InputError(f"{what} file {shown(path)} is a folder; give a YAML file")
    if not path.is_file():
        raise InputError(f"{what} file {shown(path)} does not exist")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)  # noqa: S506
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {shown(path)}: not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        problem = exc.problem if isinstance(exc, _DuplicateKey) else "malformed YAML"
        raise InputError(f"{what} {shown(path)}: {problem}{at}") from exc


def parse_scenario(data: Any, where: str = "scenario") -> Scenario:
    """Validate a scenario mapping; ``InputError`` names the field at fault."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with {', '.join(Scenario.model_fields)}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(where, exc)) from exc


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file; a bare name such as ``meals.yaml`` falls back to the bundled one.

    Without ``path``, the bundled ``meals.yaml`` (never a file of that name in the working
    directory).
    """
    path = bundled(path, "scenarios") if path else _bundled_file(DEFAULT_SCENARIO)
    return parse_scenario(read_yaml(path, "scenario"), f"scenario {shown(path)}")


def yaml_name(name: str) -> str:
    """A bundled file's name as given or as a bare name (``daily-life`` is
    ``daily-life.yaml``, as the API names it)."""
    return name if name.endswith(".yaml") else f"{name}.yaml"


def bundled_names() -> list[str]:
    """Names of the scenarios bundled in ``data/simulate/scenarios``."""
    return sorted(p.name for p in BUNDLED_SCENARIOS.iterdir() if p.name.endswith(".yaml"))


def bundled_scenario(value: Any, where: str = "scenario") -> Any:
    """``value`` with a scenario name replaced by that bundled scenario, parsed.

    For designs from an untrusted sender (HTTP): only the names of bundled scenarios are
    accepted (``meals.yaml`` or ``meals``), never a path; the error does not echo the value, so
    it tells nothing about the server's files. Mappings, ``Scenario`` objects and ``None`` pass
    through unchanged.
    """
    if not isinstance(value, str):
        return value
    names = bundled_names()
    name = yaml_name(value)
    if name not in names:
        raise InputError(
            f"{where}: expected an inline scenario ({', '.join(Scenario.model_fields)}) or the "
            f"name of a bundled scenario ({', '.join(names)}); file paths are read only by the "
            "command line"
        )
    return load_scenario(_bundled_file(name))


def _bundled_file(name: str) -> Path:
    """The bundled scenario ``name``, whatever the working directory holds."""
    return Path(str(BUNDLED_SCENARIOS / name))


def bundled(path: str | Path, folder: str) -> Path:
    """``path`` if it exists, else the bundled file of that name in ``data/simulate/<folder>``
    (``daily-life`` is ``daily-life.yaml``, as the API names it)."""
    given = Path(path)
    if given.is_file():
        return given
    candidate = DATA / folder / yaml_name(given.name)
    return Path(str(candidate)) if candidate.is_file() else given
