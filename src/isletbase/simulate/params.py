"""The 30 virtual patients of the UVA/Padova 2008 simulator, as one parameter matrix per cohort.

Parameters are data (``data/simulate/vpatient_params.csv`` and ``Quest.csv``, copied from
simglucose 0.2.11 with their source); this module reads them into a ``(patients, columns)``
array whose column positions are the module constants below, so the same integer indexes serve
numpy (a column per parameter) and numba (a scalar per patient).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

import numpy as np

from isletbase.errors import InputError

DATA = files("isletbase.data") / "simulate"

#: Columns of the parameter matrix: model parameters (vpatient_params.csv), the controller's
#: carbohydrate ratio and correction factor (Quest.csv), then the graft secretion parameters
#: (filled by ``isletbase.simulate.graft``; zero without a graft).
COLUMNS: tuple[str, ...] = (
    "BW", "kabs", "kmax", "kmin", "b", "d", "f", "kp1", "kp2", "kp3", "Fsnc", "ke1", "ke2",
    "k1", "k2", "Vm0", "Vmx", "Km0", "m1", "m2", "m4", "m30", "Vi", "Ib", "p2u", "ki", "ka1",
    "ka2", "kd", "ksc", "Vg", "u2ss", "CR", "CF", "sec_K", "sec_alpha", "sec_beta",
    "sec_gamma", "sec_Sb", "sec_h",
)  # fmt: skip
(
    BW, KABS, KMAX, KMIN, B, D, F, KP1, KP2, KP3, FSNC, KE1, KE2, K1, K2, VM0, VMX, KM0, M1,
    M2, M4, M30, VI, IB, P2U, KI, KA1, KA2, KD, KSC, VG, U2SS, CR, CF, SEC_K, SEC_ALPHA,
    SEC_BETA, SEC_GAMMA, SEC_SB, SEC_H,
) = range(len(COLUMNS))  # fmt: skip
NPARAM = len(COLUMNS)
_QUEST = ("CR", "CF")
_SECRETION = COLUMNS[SEC_K:]

#: Groups of the patient table, as written in patient names (``adult#001``).
GROUPS: tuple[str, ...] = ("adolescent", "adult", "child")


@dataclass(frozen=True)
class Cohort:
    """Virtual patients as arrays: ``params[i, COLUMN]`` and basal initial state ``x0[i, 0:13]``."""

    names: tuple[str, ...]
    params: np.ndarray
    x0: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def take(self, index: np.ndarray | list[int]) -> Cohort:
        """The sub-cohort at ``index`` (rows may repeat: resampled virtual populations)."""
        idx = np.asarray(index, dtype=np.intp)
        return Cohort(
            tuple(self.names[i] for i in idx), self.params[idx].copy(), self.x0[idx].copy()
        )

    def with_params(self, params: np.ndarray) -> Cohort:
        return replace(self, params=params)

    def column(self, name: str) -> np.ndarray:
        return self.params[:, COLUMNS.index(name)]


@cache
def _table() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    with (DATA / "vpatient_params.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (DATA / "Quest.csv").open(encoding="utf-8") as fh:
        quest = {row["Name"]: row for row in csv.DictReader(fh)}
    names = tuple(row["Name"] for row in rows)
    params = np.zeros((len(rows), NPARAM))
    x0 = np.zeros((len(rows), 13))
    for i, row in enumerate(rows):
        for j, col in enumerate(COLUMNS):
            if col in _QUEST:
                params[i, j] = float(quest[row["Name"]][col])
            elif col not in _SECRETION:
                params[i, j] = float(row[col])
        x0[i] = [float(row[f"x0_{k:2d}"]) for k in range(1, 14)]
    params.setflags(write=False)
    x0.setflags(write=False)
    return names, params, x0


def patient_names() -> tuple[str, ...]:
    """The 30 patient names in table order (adolescents, adults, children)."""
    return _table()[0]


#: Groups named in the plural as English writes it ("children" was refused where "adults" was
#: taken); others take an s.
_PLURALS = {"children": "child"}


def resolve_names(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Turn ``all``, a group (``adult``/``adults``), a name or a comma list into patient names.

    Raises ``InputError`` naming the unknown patient and what is accepted.
    """
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    known = patient_names()
    out: list[str] = []
    for item in items:
        group = _PLURALS.get(item.lower(), re.sub(r"s$", "", item.lower()))
        if item.lower() == "all":
            out.extend(known)
        elif group in GROUPS:
            out.extend(n for n in known if n.startswith(group + "#"))
        elif item.lower() in known:  # the names are lower case: ADULT#001 is adult#001
            out.append(item.lower())
        else:
            raise InputError(
                f"patient {item!r} is not one of the 30 virtual patients "
                "(adolescent#001–010, adult#001–010, child#001–010, a group — adolescents, "
                "adults, children — or 'all')"
            )
    if not out:
        raise InputError("patients: no patient named")
    return out


def load_cohort(spec: str | list[str] | tuple[str, ...] = "all") -> Cohort:
    """The named patients (see ``resolve_names``) with their parameters and basal state."""
    names, params, x0 = _table()
    wanted = resolve_names(spec)
    idx = [names.index(n) for n in wanted]
    return Cohort(tuple(wanted), params[idx].copy(), x0[idx].copy())
