"""Trial designs (YAML): virtual population, arms with their grafts, size, duration, endpoints.

``load_design`` validates a file and raises ``InputError`` naming the field at fault (negative
dose, unknown patient group, days ≤ 0, NaN or infinite numbers, malformed YAML …). A design that
comes over HTTP (``parse_design(..., files=False)``) may name only bundled scenarios: the server
never opens a path a request names.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from isletbase.errors import InputError
from isletbase.simulate.graft import GraftSpec
from isletbase.simulate.params import GROUPS, resolve_names
from isletbase.simulate.scenario import (
    Scenario,
    bundled,
    bundled_names,
    bundled_scenario,
    load_scenario,
    parse_scenario,
    read_yaml,
    shown,
    validation_message,
    yaml_name,
)
from isletbase.store.db import printable

#: Parameters that may vary between virtual patients: none enters the basal steady state, so
#: each patient's initial state stays its steady state.
VARIABLE_PARAMETERS: tuple[str, ...] = ("Vmx", "p2u", "kabs", "kmax", "kmin")
PRIMARY = ("insulin_independence", "hba1c", "tir")
#: Seeds a run may use: 0 to 2**31 - 1, which numpy's ``SeedSequence`` accepts and every
#: backend's integer column stores (PostgreSQL's ``integer`` is 32-bit).
MAX_SEED = 2**31 - 1


class Population(BaseModel):
    """Who is enrolled: weights of the patient groups (or names) and parameter spread."""

    model_config = ConfigDict(extra="forbid")
    groups: dict[str, FiniteFloat] = Field(default_factory=lambda: {"adult": 1.0})
    variability: dict[str, FiniteFloat] = Field(default_factory=dict)

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name not in GROUPS:
                resolve_names(name)  # raises InputError naming an unknown patient
            if weight < 0:
                raise ValueError(f"weight of {name!r} must not be negative")
        if not value or sum(value.values()) <= 0:
            raise ValueError("at least one group with a positive weight")
        if not math.isfinite(sum(value.values())):
            raise ValueError("weights must add up to a finite number")
        return value

    @field_validator("variability")
    @classmethod
    def _variability(cls, value: dict[str, float]) -> dict[str, float]:
        for name, cv in value.items():
            if name not in VARIABLE_PARAMETERS:
                raise ValueError(
                    f"{name!r} cannot vary (allowed: {', '.join(VARIABLE_PARAMETERS)})"
                )
            if not 0 <= cv <= 2:
                raise ValueError(f"cv of {name} must be between 0 and 2")
        return value


#: A design's or an arm's name: shown on pages and stored with a run, so printable text (a
#: lone surrogate ran the whole simulation, then failed its answer with a 500).
Name = Annotated[str, AfterValidator(printable)]


class Arm(BaseModel):
    """One arm: a name and its graft (``null`` = insulin only, the control)."""

    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1, max_length=80)
    graft: dict[str, Any] | None = None


class Endpoints(BaseModel):
    """The assessment: last ``window_days`` of the run, primary endpoint and test level."""

    model_config = ConfigDict(extra="forbid")
    window_days: int = Field(default=90, gt=0, strict=True)
    primary: Literal["insulin_independence", "hba1c", "tir"] = "insulin_independence"
    alpha: float = Field(default=0.05, gt=0, lt=1)


class Design(BaseModel):
    """A virtual trial."""

    model_config = ConfigDict(extra="forbid")
    name: Name = Field(default="virtual trial", min_length=1, max_length=200)
    seed: int = Field(default=0, ge=0, le=MAX_SEED, strict=True, description="0 to 2**31 - 1")
    days: int = Field(gt=0, le=3650, strict=True)
    sample_size: int = Field(gt=0, le=100_000, strict=True, description="patients per arm")
    repeats: int = Field(default=1, gt=0, le=1000, strict=True)
    population: Population = Field(default_factory=Population)
    scenario: Scenario | str | None = None
    arms: list[Arm] = Field(min_length=1, max_length=8)
    endpoints: Endpoints = Field(default_factory=Endpoints)
    stride_days: int = Field(
        default=1,
        gt=0,
        le=90,
        strict=True,
        description="simulate one day in N (slow graft time scale)",
    )
    shard_size: int = Field(default=512, gt=0, le=100_000, strict=True)

    @model_validator(mode="after")
    def _check(self) -> Design:
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms: names must be unique")
        for i, arm in enumerate(self.arms):
            if arm.graft is not None:
                GraftSpec.build(where=f"arms.{i}.graft", **arm.graft)
        return self

    def graft_spec(self, arm: int) -> GraftSpec | None:
        graft = self.arms[arm].graft
        return None if graft is None else GraftSpec.build(where=f"arms.{arm}.graft", **graft)

    def resolved_scenario(self, base: Path | None = None) -> Scenario:
        """The design's scenario: inline, a file next to the design, a bundled one by its name
        (``daily-life`` or ``daily-life.yaml``) — not a file of that name in the working
        directory, which silently replaced the bundled one — or a path as given."""
        if isinstance(self.scenario, Scenario):
            return self.scenario
        if self.scenario is None:
            return load_scenario()
        path = Path(self.scenario)
        if base is not None and (base / path).is_file():
            return load_scenario(base / path)
        named = "/" not in self.scenario and os.sep not in self.scenario
        if named and yaml_name(self.scenario) in bundled_names():
            return bundled_scenario(self.scenario)  # a name; ./daily-life.yaml is a path
        return load_scenario(path)

    def runnable_scenario(self, base: Path | None = None) -> Scenario:
        """The resolved scenario, or ``InputError`` where an arm would have neither insulin nor
        a graft: without insulin the UVA/Padova model leaves physiology (glucose in the
        thousands of mg/dL), so such an arm has no meaningful result."""
        scenario = self.resolved_scenario(base)
        if scenario.controller == "none":
            bare = [arm.name for arm in self.arms if arm.graft is None]
            if bare:
                raise InputError(
                    f"scenario.controller 'none' leaves arm(s) {', '.join(map(repr, bare))} "
                    "with neither insulin nor a graft; the model is not valid without insulin "
                    "(use controller 'basal-bolus', which tapers insulin as a graft takes over)"
                )
        return scenario


def parse_design(data: Any, where: str = "design", files: bool = True) -> Design:
    """Validate a design mapping; ``InputError`` names the field at fault.

    ``files=False`` (a design sent over HTTP) takes a scenario only inline or as the name of a
    bundled scenario, loaded here, so running the design never opens a path the sender chose.
    """
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping (name, days, sample_size, arms, …)")
    scenario = data.get("scenario")
    if isinstance(scenario, dict):
        data = {**data, "scenario": parse_scenario(scenario, f"{where} scenario")}
    elif not files:
        data = {**data, "scenario": bundled_scenario(scenario, f"{where}.scenario")}
    try:
        return Design.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(where, exc)) from exc


def load_design(path: str | Path) -> Design:
    """Read and validate a design file (a bare name falls back to the bundled designs)."""
    path = bundled(path, "designs")
    return parse_design(read_yaml(path, "design"), f"design {shown(path)}")
