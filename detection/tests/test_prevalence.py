"""A share corrected for a classifier's measured errors (detection/inference/prevalence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from detection.inference.prevalence import (
    MEASURED_PER_CLASS_MIN,
    POOR_SEPARATION,
    TOO_FEW,
    ReadingRates,
    ShareCorrector,
)

# Ten reviewed pages: positives read as positive 0.8, negatives read as positive 0.2.
RATES = ReadingRates.from_units([(8, 2, 2, 8)] * 10)


def share(corrector=None, *, labelled_positive=0, labelled_negative=0, read_positive=0, read_negative=0):
    return (corrector or ShareCorrector(RATES)).share(
        labelled_positive=labelled_positive,
        labelled_negative=labelled_negative,
        read_positive=read_positive,
        read_negative=read_negative,
    )


def test_a_share_the_classifier_pulls_towards_the_middle_is_corrected_back():
    # 100 items, 40 positive: the classifier reads 40 * 0.8 + 60 * 0.2 = 44 as positive.
    estimate, low, high = share(read_positive=44, read_negative=56)
    assert estimate == pytest.approx(0.4)
    assert low < 0.4 < high


def test_labelled_items_count_as_they_are():
    estimate, _low, _high = share(labelled_positive=10, labelled_negative=10, read_positive=44, read_negative=56)
    assert estimate == pytest.approx((10 + 40) / 120)
    assert share(labelled_positive=3, labelled_negative=1) == (0.75, 0.75, 0.75)


def test_a_share_below_the_false_positive_rate_is_clipped_at_zero():
    assert share(read_positive=10, read_negative=90)[0] == 0.0


def test_the_interval_narrows_with_more_units_and_more_items():
    _estimate, few_low, few_high = share(read_positive=44, read_negative=56)
    many = ShareCorrector(ReadingRates.from_units([(8, 2, 2, 8)] * 98 + [(7, 3, 3, 7), (9, 1, 1, 9)]))
    _estimate, many_low, many_high = share(many, read_positive=4400, read_negative=5600)
    assert many_high - many_low < few_high - few_low


def test_the_interval_covers_the_truth_when_the_rates_are_sampled():
    """Simulated studies: rates measured on 30 pages of 10 items, a year of 300 items 30 % positive."""
    rng = np.random.default_rng(1)
    covered = 0
    for study in range(100):
        units = []
        for _page in range(30):
            positives = rng.binomial(10, 0.5)
            read_right = rng.binomial(positives, 0.8)
            negatives_read_positive = rng.binomial(10 - positives, 0.2)
            units.append(
                (read_right, positives - read_right, negatives_read_positive, 10 - positives - negatives_read_positive)
            )
        read_positive = rng.binomial(90, 0.8) + rng.binomial(210, 0.2)
        _estimate, low, high = share(
            ShareCorrector(ReadingRates.from_units(units), resamples=400, seed=study),
            read_positive=read_positive,
            read_negative=300 - read_positive,
        )
        covered += low <= 0.3 <= high
    assert covered >= 88


def test_no_items_no_share():
    assert share() is None


@pytest.mark.parametrize(
    ("units", "shortfall"),
    [
        ([(MEASURED_PER_CLASS_MIN - 2, 1, 0, 40)], TOO_FEW),
        ([(6, 4, 5, 5)] * 3, POOR_SEPARATION),
        ([(8, 2, 2, 8)] * 3, ""),
    ],
)
def test_no_correction_with_too_few_labelled_items_or_a_classifier_that_barely_separates(units, shortfall):
    rates = ReadingRates.from_units(units)
    assert rates.shortfall == shortfall
    if shortfall:
        with pytest.raises(ValueError, match=shortfall):
            ShareCorrector(rates)


def test_counts_per_class_and_units():
    rates = ReadingRates.from_units([(1, 2, 3, 4), (0, 0, 0, 0), (5, 0, 0, 5)])
    assert (rates.positives, rates.negatives, rates.units) == (8, 12, 2)
    assert rates.point_rates == (6 / 8, 3 / 12)


def test_rates_from_each_units_label_and_reading_pairs():
    rates = ReadingRates.from_readings(
        [[("f", "f"), ("f", "m"), ("m", "f"), ("f", "?"), ("?", "m")], [], [("m", "m"), ("m", "m")]],
        positive="f",
        negative="m",
    )
    assert rates.per_unit.tolist() == [[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 2]]
