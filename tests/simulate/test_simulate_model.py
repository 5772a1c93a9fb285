"""Behaviour of the model, sensor and graft that does not need simglucose."""

from __future__ import annotations

import numpy as np

from isletbase.simulate.engine import CohortState, advance_day
from isletbase.simulate.graft import GraftCourse, GraftSpec, insulin_scale, with_secretion
from isletbase.simulate.params import VG, load_cohort
from isletbase.simulate.scenario import parse_scenario
from isletbase.simulate.sensor import SensorNoise


def test_fasting_patient_on_basal_insulin_stays_at_the_tables_basal_glucose() -> None:
    cohort = load_cohort("all")
    state = CohortState(cohort)
    trace = advance_day(state, np.zeros(1440))
    basal = cohort.x0[:, 12] / cohort.params[:, VG]
    assert np.max(np.abs(trace.bg - basal[:, None])) < 1.0  # table precision, pump rounding


def test_no_insulin_and_no_graft_lets_glucose_rise() -> None:
    state = CohortState(load_cohort("adults"), scale=0.0)
    trace = advance_day(state, np.zeros(1440), scale=np.zeros(10))
    assert np.all(trace.bg[:, -1] > trace.bg[:, 0] + 20)


def test_a_graft_lowers_glucose_off_insulin_in_proportion_to_its_mass() -> None:
    cohort = with_secretion(load_cohort("adults"))
    meals = parse_scenario({"meals": [{"time": "08:00", "carbs_g": 50}]}).meals_per_minute()
    means = []
    for mass in (0.0, 0.5, 1.0):
        state = CohortState(cohort, scale=0.0)
        trace = advance_day(state, meals, graft=np.full(10, mass), scale=np.zeros(10))
        means.append(trace.bg.mean(axis=1))
    assert np.all(means[1] < means[0]) and np.all(means[2] < means[1])


def test_sensor_noise_is_reproducible_and_matches_simglucose_statistics() -> None:
    from simglucose.sensor.cgm import CGMSensor

    ours = SensorNoise(400, np.random.default_rng(5)).next_day()
    again = SensorNoise(400, np.random.default_rng(5)).next_day()
    np.testing.assert_array_equal(ours, again)
    sensor = CGMSensor.withName("Dexcom", seed=5)
    theirs = np.array([next(sensor._noise_generator) for _ in range(400 * 480)])
    assert abs(ours.mean() - theirs.mean()) < 0.6
    assert abs(ours.std() - theirs.std()) / theirs.std() < 0.1


def test_noise_of_consecutive_days_joins_without_a_jump() -> None:
    noise = SensorNoise(2000, np.random.default_rng(2))
    first, second = noise.next_day(), noise.next_day()
    within = np.abs(np.diff(first, axis=1)).mean()
    across = np.abs(second[:, 0] - first[:, -1]).mean()
    assert across < 1.5 * within


def _streams(n: int) -> list[np.random.Generator]:
    return [np.random.default_rng([0, i]) for i in range(n)]


def test_graft_mass_matures_then_declines_faster_without_immunosuppression() -> None:
    # GraftCourse.draw takes one generator per patient (each patient seeded on its own)
    cohort = with_secretion(load_cohort("adults"))
    standard = GraftCourse.draw(GraftSpec.build(regimen="standard"), cohort, _streams(10))
    none = GraftCourse.draw(GraftSpec.build(regimen="none"), cohort, _streams(10))
    assert np.all(standard.fraction(180) > standard.fraction(10))
    assert np.all(none.fraction(180) < 0.05 * standard.fraction(180))
    np.testing.assert_array_equal(insulin_scale(np.array([0.0, 2.0])), [1.0, 0.0])


def test_a_patients_graft_draw_does_not_depend_on_the_other_patients() -> None:
    cohort = with_secretion(load_cohort("adults"))
    spec = GraftSpec.build(regimen="encapsulation")
    all_ten = GraftCourse.draw(spec, cohort, _streams(10))
    last_five = GraftCourse.draw(spec, cohort.take(np.arange(5, 10)), _streams(10)[5:])
    np.testing.assert_array_equal(all_ten.engrafted[5:], last_five.engrafted)


def test_per_patient_sensor_noise_does_not_depend_on_the_other_patients() -> None:
    streams = [np.random.default_rng([9, i]) for i in range(6)]
    together = SensorNoise(6, streams)
    alone = SensorNoise(2, [np.random.default_rng([9, i]) for i in (4, 5)])
    for _ in range(3):
        np.testing.assert_array_equal(together.next_day()[4:], alone.next_day())
