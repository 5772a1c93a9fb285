"""The UVA/Padova 2008 T1D model with a graft secretion term, and its one-minute integrator.

State (15 rows): the 13 states of simglucose's ``T1DPatient`` (stomach solid/liquid, gut, plasma
and tissue glucose, plasma insulin, remote insulin action, two delayed insulin signals, liver
insulin, two subcutaneous insulin depots, subcutaneous glucose) plus the second-phase secretion
``Y`` and portal insulin ``Ipo`` of the Dalla Man 2007 secretion model, which a graft drives.
Inputs are held for each minute (zero-order hold, as simglucose); each minute is one classical
Runge–Kutta 4 step. ``run_day`` advances one day with the meal, sensor and controller logic.

References
----------
Dalla Man C, Rizza RA, Cobelli C. IEEE Trans Biomed Eng 2007;54:1740. doi:10.1109/TBME.2007.893506
Kovatchev BP et al. J Diabetes Sci Technol 2009;3:44. doi:10.1177/193229680900300106
"""

from __future__ import annotations

import numpy as np

from isletbase.simulate.jit import register_jitable
from isletbase.simulate.params import (
    BW,
    CF,
    CR,
    FSNC,
    IB,
    K1,
    K2,
    KA1,
    KA2,
    KABS,
    KD,
    KE1,
    KE2,
    KI,
    KM0,
    KMAX,
    KMIN,
    KP1,
    KP2,
    KP3,
    KSC,
    M1,
    M2,
    M4,
    M30,
    P2U,
    SEC_ALPHA,
    SEC_BETA,
    SEC_GAMMA,
    SEC_H,
    SEC_K,
    SEC_SB,
    U2SS,
    VG,
    VI,
    VM0,
    VMX,
    B,
    D,
    F,
)  # fmt: skip

# state rows
Q1, Q2, QGUT, GP, GT, IP, X, I1, ID, IL, ISC1, ISC2, GS, Y, IPO = range(15)
NX = 15
# auxiliary rows: meal bookkeeping, held CGM, insulin rate applied now (U/min), minutes since
# the patient last ate for a low
PLANNED, LAST_EAT, LAST_QSTO, FOODTAKEN, CGM_HOLD, RATE, SINCE_TREAT = range(7)
NAUX = 7
# device constants (see devices.yaml) in the order ``run_day`` reads them, then how the patient
# treats a low (``isletbase.simulate.dosing.hypo_treatment``; a threshold of 0 treats none)
(
    DEV_TARGET, DEV_CORRECT_ABOVE, DEV_INC, DEV_MAX_BOLUS, DEV_MAX_BASAL, DEV_CGM_MIN,
    DEV_CGM_MAX, DEV_EAT_RATE, DEV_TREAT_BELOW, DEV_TREAT_G_PER_KG, DEV_TREAT_G_MAX,
    DEV_TREAT_EVERY,
) = range(12)  # fmt: skip
NDEV = 12

U_TO_PMOL = 6000.0


@register_jitable
def derivatives(x, p, cho_mg, insulin_pmol_kg, dbar, graft, out):  # noqa: ANN001 - jitted
    """Write dx/dt into ``out`` for meal input (mg/min), sc insulin (pmol/kg/min), graft mass.

    ``dbar`` is the size (mg) of the meal being digested, which sets the nonlinear gastric
    emptying; ``graft`` is functional beta-cell mass relative to a healthy pancreas.
    """
    fed = dbar > 0.0
    dsafe = dbar + (1.0 - fed)
    qsto = x[Q1] + x[Q2]
    emptying = p[KMIN] + 0.5 * (p[KMAX] - p[KMIN]) * (
        np.tanh(2.5 / (dsafe * (1.0 - p[B])) * (qsto - p[B] * dsafe))
        - np.tanh(2.5 / (dsafe * p[D]) * (qsto - p[D] * dsafe))
        + 2.0
    )
    kempt = fed * emptying + (1.0 - fed) * p[KMAX]
    out[Q1] = -p[KMAX] * x[Q1] + cho_mg
    out[Q2] = p[KMAX] * x[Q1] - kempt * x[Q2]
    out[QGUT] = kempt * x[Q2] - p[KABS] * x[QGUT]

    appearance = p[F] * p[KABS] * x[QGUT] / p[BW]
    production = np.maximum(p[KP1] - p[KP2] * x[GP] - p[KP3] * x[ID], 0.0)
    renal = p[KE1] * np.maximum(x[GP] - p[KE2], 0.0)
    dgp = (production + appearance - p[FSNC] - renal - p[K1] * x[GP] + p[K2] * x[GT]) * (
        x[GP] >= 0.0
    )
    out[GP] = dgp
    uptake = (p[VM0] + p[VMX] * x[X]) * x[GT] / (p[KM0] + x[GT])
    out[GT] = (-uptake + p[K1] * x[GP] - p[K2] * x[GT]) * (x[GT] >= 0.0)

    # graft: Dalla Man 2007 secretion (second phase Y, first phase K·dG/dt+, basal Sb) × mass
    glucose = x[GP] / p[VG]
    out[Y] = -p[SEC_ALPHA] * (x[Y] - np.maximum(p[SEC_BETA] * (glucose - p[SEC_H]), -p[SEC_SB]))
    secretion = graft * np.maximum(x[Y] + p[SEC_K] * np.maximum(dgp / p[VG], 0.0) + p[SEC_SB], 0.0)
    out[IPO] = -p[SEC_GAMMA] * x[IPO] + secretion

    out[IP] = (-(p[M2] + p[M4]) * x[IP] + p[M1] * x[IL] + p[KA1] * x[ISC1] + p[KA2] * x[ISC2]) * (
        x[IP] >= 0.0
    )
    insulin = x[IP] / p[VI]
    out[X] = -p[P2U] * x[X] + p[P2U] * (insulin - p[IB])
    out[I1] = -p[KI] * (x[I1] - insulin)
    out[ID] = -p[KI] * (x[ID] - x[I1])
    out[IL] = (-(p[M1] + p[M30]) * x[IL] + p[M2] * x[IP] + p[SEC_GAMMA] * x[IPO]) * (x[IL] >= 0.0)
    out[ISC1] = (insulin_pmol_kg - (p[KA1] + p[KD]) * x[ISC1]) * (x[ISC1] >= 0.0)
    out[ISC2] = (p[KD] * x[ISC1] - p[KA2] * x[ISC2]) * (x[ISC2] >= 0.0)
    out[GS] = (-p[KSC] * x[GS] + p[KSC] * x[GP]) * (x[GS] >= 0.0)


@register_jitable
def rk4_step(x, p, cho_mg, insulin_pmol_kg, dbar, graft, h, work):  # noqa: ANN001 - jitted
    """Advance ``x`` in place by ``h`` minutes with inputs held (classical Runge–Kutta 4)."""
    k1, k2, k3, k4, xt = work[0], work[1], work[2], work[3], work[4]
    derivatives(x, p, cho_mg, insulin_pmol_kg, dbar, graft, k1)
    for i in range(NX):
        xt[i] = x[i] + 0.5 * h * k1[i]
    derivatives(xt, p, cho_mg, insulin_pmol_kg, dbar, graft, k2)
    for i in range(NX):
        xt[i] = x[i] + 0.5 * h * k2[i]
    derivatives(xt, p, cho_mg, insulin_pmol_kg, dbar, graft, k3)
    for i in range(NX):
        xt[i] = x[i] + h * k3[i]
    derivatives(xt, p, cho_mg, insulin_pmol_kg, dbar, graft, k4)
    for i in range(NX):
        x[i] = x[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@register_jitable
def pump(rate, increment, maximum):  # noqa: ANN001 - jitted
    """What the pump delivers for a requested rate (U/min): rounded on its pmol/min grid."""
    steps = np.rint(rate * U_TO_PMOL / increment)
    return np.minimum(np.maximum(steps * increment / U_TO_PMOL, 0.0), maximum)


@register_jitable
def run_day(x, a, p, meals, carbs, noise, graft, scale, dev, sample, bg, cgm, ins, work):  # noqa: ANN001
    """Advance one day (one-minute steps) and write per-sensor-sample BG, CGM and insulin.

    ``meals[m]``: grams eaten from minute m on (at most ``eat rate`` g/min); ``carbs[k]``: grams
    the patient doses a meal bolus for after sample k (the meals of that sample where dosing is
    exact, see ``isletbase.simulate.dosing``); ``noise[k]``: sensor error of sample k;
    ``scale``: fraction of the usual insulin the patient takes (0 = off insulin, also used for
    controller ``none``); ``bg[k]``/``cgm[k]``: mean over the minutes of sample k, as
    simglucose reports them; ``ins[k]``: rate applied during sample k (U/min).
    The basal–bolus decision after each sample is simglucose's ``BBController``. A sensor
    reading below ``dev[DEV_TREAT_BELOW]`` is eaten for, unbolused — ``dev[DEV_TREAT_G_PER_KG]``
    grams a kilogram of body weight, at most ``dev[DEV_TREAT_G_MAX]`` — at most once every
    ``dev[DEV_TREAT_EVERY]`` minutes (0, simglucose's, treats no low).
    """
    basal = pump(p[U2SS] * p[BW] / U_TO_PMOL * scale, dev[DEV_INC], dev[DEV_MAX_BASAL])
    treat = np.minimum(dev[DEV_TREAT_G_PER_KG] * p[BW], dev[DEV_TREAT_G_MAX])  # grams for a low
    for k in range(meals.shape[0] // sample):
        bg_sum = 0.0 * x[GS]
        for i in range(sample):
            m = k * sample + i
            planned = a[PLANNED] + meals[m]
            eat = np.minimum(dev[DEV_EAT_RATE], planned)
            a[PLANNED] = planned - eat
            start = (eat > 0.0) * (a[LAST_EAT] <= 0.0)
            a[LAST_QSTO] = start * (x[Q1] + x[Q2]) + (1.0 - start) * a[LAST_QSTO]
            a[FOODTAKEN] = (1.0 - start) * a[FOODTAKEN] + eat
            a[LAST_EAT] = eat
            dbar = a[LAST_QSTO] + a[FOODTAKEN] * 1000.0
            insulin = a[RATE] * U_TO_PMOL / p[BW]
            rk4_step(x, p, eat * 1000.0, insulin, dbar, graft, 1.0, work)
            bg_sum = bg_sum + x[GS] / p[VG]
        # the sensor reads at the sample's last minute and holds the value in between
        reading = x[GS] / p[VG] + noise[k]
        held = a[CGM_HOLD] * 1.0  # a copy: numpy rows are views
        a[CGM_HOLD] = np.minimum(np.maximum(reading, dev[DEV_CGM_MIN]), dev[DEV_CGM_MAX])
        bg[k] = bg_sum / sample
        cgm[k] = ((sample - 1.0) * held + a[CGM_HOLD]) / sample
        ins[k] = a[RATE]
        # a low on the sensor is eaten for (not bolused), again if it lasts to the recheck
        a[SINCE_TREAT] = a[SINCE_TREAT] + sample
        low = (a[CGM_HOLD] < dev[DEV_TREAT_BELOW]) * (a[SINCE_TREAT] >= dev[DEV_TREAT_EVERY])
        a[PLANNED] = a[PLANNED] + low * treat
        a[SINCE_TREAT] = (1.0 - low) * a[SINCE_TREAT]
        level = cgm[k]
        correction = (level > dev[DEV_CORRECT_ABOVE]) * (level - dev[DEV_TARGET]) / p[CF]
        bolus = (carbs[k] > 0.0) * (carbs[k] / p[CR] + correction) * scale / sample
        a[RATE] = basal + pump(bolus, dev[DEV_INC], dev[DEV_MAX_BOLUS])
