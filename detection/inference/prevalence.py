"""A share corrected for a classifier's measured errors (the Rogan–Gladen estimator, known in the
quantification literature as "adjusted classify and count").

A classifier that reads some positives as negatives and some negatives as positives pulls every
share it counts towards the middle. Where its readings of labelled items are known, the share of
positives among the items only it has read is recovered as

    true share = (share read as positive - FPR) / (TPR - FPR)

where TPR is the share of positives it reads as positive and FPR the share of negatives it reads
as positive.

The rates are measured per unit of review (a page): the 95 % interval resamples those units (the
rates' own uncertainty) and the items read (the sample's noise). Labelled items count as they are.
Django-free: the statistics (annotations.search.gender_correction) and bench/heritage_eval.py use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Fewer labelled positives or negatives than this, and no correction is offered.
MEASURED_PER_CLASS_MIN = 20
# A classifier whose positive-read-as-positive rate exceeds its negative-read-as-positive rate by
# less than this separates the classes too little for its readings to be corrected.
SEPARATION_MIN = 0.2
RESAMPLES = 1000
SEED = 0
# Why no correction is offered.
TOO_FEW = "too_few"
POOR_SEPARATION = "poor_separation"


@dataclass(frozen=True)
class ReadingRates:
    """How the classifier read labelled items, per unit of review.

    `per_unit` has one row per unit: positives read as positive, positives read as negative,
    negatives read as positive, negatives read as negative.
    """

    per_unit: np.ndarray

    @classmethod
    def from_units(cls, units: list[tuple[int, int, int, int]]) -> ReadingRates:
        return cls(per_unit=np.array(units, dtype=np.int64).reshape(-1, 4))

    @classmethod
    def from_readings(cls, units: Iterable[Iterable[tuple[Any, Any]]], *, positive, negative) -> ReadingRates:
        """From each unit's (label, reading) pairs; a pair where either is neither class takes no part."""
        column = {(positive, positive): 0, (positive, negative): 1, (negative, positive): 2, (negative, negative): 3}
        rows = []
        for pairs in units:
            counts = [0, 0, 0, 0]
            for pair in pairs:
                if pair in column:
                    counts[column[pair]] += 1
            rows.append(tuple(counts))
        return cls.from_units(rows)

    @property
    def units(self) -> int:
        return int(np.count_nonzero(self.per_unit.sum(axis=1)))

    @property
    def positives(self) -> int:
        return int(self.per_unit[:, 0:2].sum())

    @property
    def negatives(self) -> int:
        return int(self.per_unit[:, 2:4].sum())

    def rates(self, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positives read as positive, negatives read as positive), from summed counts (rows of 4)."""
        counts = self.per_unit.sum(axis=0, keepdims=True) if counts is None else counts
        with np.errstate(divide="ignore", invalid="ignore"):
            return counts[:, 0] / (counts[:, 0] + counts[:, 1]), counts[:, 2] / (counts[:, 2] + counts[:, 3])

    @property
    def point_rates(self) -> tuple[float, float]:
        true_positive, false_positive = self.rates()
        return float(true_positive[0]), float(false_positive[0])

    @property
    def shortfall(self) -> str:
        """Why no correction is offered: TOO_FEW, POOR_SEPARATION, or '' when one is."""
        if self.positives < MEASURED_PER_CLASS_MIN or self.negatives < MEASURED_PER_CLASS_MIN:
            return TOO_FEW
        true_positive, false_positive = self.point_rates
        return POOR_SEPARATION if true_positive - false_positive < SEPARATION_MIN else ""


class ShareCorrector:
    """Corrects shares with one measurement of the rates, resampled once for every share's interval."""

    def __init__(self, rates: ReadingRates, *, resamples: int = RESAMPLES, seed: int = SEED) -> None:
        if rates.shortfall:
            raise ValueError(f"no correction: {rates.shortfall}")
        self.rng = np.random.default_rng(seed)
        self.resamples = resamples
        units = rates.per_unit
        draws = (self.rng.integers(0, len(units), len(units)) for _resample in range(resamples))
        self.true_positive, self.false_positive = rates.rates()
        self.sampled = rates.rates(np.stack([units[drawn].sum(axis=0) for drawn in draws]))

    def share(
        self, *, labelled_positive: int, labelled_negative: int, read_positive: int, read_negative: int
    ) -> tuple[float, float, float] | None:
        """(estimate, low, high) of the positives' share among all items; None without any item."""
        read = read_positive + read_negative
        known = labelled_positive + labelled_negative + read
        if not known:
            return None
        share_read = read_positive / read if read else 0.0
        estimate = _positives(labelled_positive, read, share_read, self.true_positive, self.false_positive)[0] / known
        # The sample's own noise: its items drawn again at the share read.
        read_again = self.rng.binomial(read, share_read, self.resamples) / max(read, 1)
        samples = _positives(labelled_positive, read, read_again, *self.sampled) / known
        low, high = np.nanpercentile(samples, [2.5, 97.5])
        return float(estimate), float(low), float(high)


def _positives(labelled: int, read: int, share_read, true_positive, false_positive) -> np.ndarray:
    """Positives among the items: the labelled ones, plus those read, corrected for the rates."""
    with np.errstate(divide="ignore", invalid="ignore"):
        true_share = (share_read - false_positive) / (true_positive - false_positive)
    return labelled + read * np.clip(true_share, 0.0, 1.0)
