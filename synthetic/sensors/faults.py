"""Planted sensor faults, with their answer key.

Every series (station x parameter) is cut into 72-hour slots; a fault takes one whole slot and
stays at least an hour from its edges, so faults never touch each other and a spike always has
two clean neighbours. Kinds (`FAULT_KINDS`), sized to trip UrbanPulse's QC rules
(`models.sensors.quality.DEFAULT_RULES`):

* gap: hours with no observation, either a run of 1-48 hours or 7-18 random hours of one local
  day (that day's coverage is then below 75 %);
* spike: one hour 1.2-1.6 spike thresholds above (or below) both neighbours;
* flatline: the same value for the parameter's flatline hours (at least 6) plus 0-5;
* duplicate: a second row of the same station, parameter and hour right after the first, with
  a re-measured value (a feed's correction);
* late: the observation arrives out of order, at the end of the frame;
* negative: a value below zero (only parameters that cannot be negative);
* out_of_range: a value 10-50 % of the physical range beyond its upper limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.sensors.quality import DEFAULT_RULES

SLOT_HOURS = 72
GAP, GAP_DAY, SPIKE, FLATLINE, DUPLICATE, LATE, NEGATIVE, OUT_OF_RANGE = range(8)
FAULT_KINDS = ("gap", "gap", "spike", "flatline", "duplicate", "late", "negative", "out_of_range")
# share of all slots taken by each kind (in the order above)
SHARES = (0.02, 0.01, 0.01, 0.006, 0.01, 0.01, 0.004, 0.004)


@dataclass
class Faults:
    """What was planted, as flat indices into the (stations, parameters, hours) value array."""

    present: np.ndarray  # bool (S, P, H): False where a gap removed the hour
    duplicate_index: np.ndarray
    duplicate_value: np.ndarray
    late_index: np.ndarray
    truth_index: np.ndarray
    truth_kind: np.ndarray  # index into FAULT_KINDS
    truth_value: np.ndarray  # the value in the data (NaN for gaps)


def plant(values: np.ndarray, parameters: tuple[str, ...], local_hour: np.ndarray,
          rng: np.random.Generator) -> Faults:
    """Plant faults into `values` (S, P, H; changed in place) and return where they are."""
    stations, params, hours = values.shape
    slots = _slots(stations * params, params, hours, parameters, rng)
    flat = values.reshape(-1)
    present = np.ones(flat.shape, dtype=bool)
    truth: dict[int, np.ndarray] = {}
    for kind, (series, start) in slots.items():
        base = series * hours + start
        if kind == GAP_DAY:
            index = _day_hours(base, start, local_hour, rng)
        elif kind in (GAP, FLATLINE):
            lengths = rng.integers(1, 49, len(base))
            if kind == FLATLINE:
                rule = np.array([_flat_hours(name) for name in parameters], int)[series % params]
                lengths = rule + lengths % 6
            index = _run(base, lengths)
            if kind == FLATLINE:
                first = np.repeat(flat[base + 1], lengths)
                flat[index] = first + (first == 0.0)  # 0 may repeat (calm, dry): stick elsewhere
        else:
            index = base + 1 + rng.integers(0, SLOT_HOURS - 2, len(base))
            if kind in (SPIKE, NEGATIVE, OUT_OF_RANGE):
                flat[index] = _bad_values(kind, flat, index, series % params, parameters, rng)
        if kind in (GAP, GAP_DAY):
            present[index] = False
        truth[kind] = index
    dup_index = truth[DUPLICATE]
    dup_value = np.round(flat[dup_index] * rng.normal(1.0, 0.05, len(dup_index)), 2)
    index = np.concatenate(list(truth.values()))
    kinds = np.concatenate([np.full(len(i), k) for k, i in truth.items()])
    shown = np.where(present[index], flat[index], np.nan)
    shown[kinds == DUPLICATE] = dup_value
    return Faults(present.reshape(values.shape), dup_index, dup_value, truth[LATE],
                  index, kinds, shown)


def _slots(series_count: int, params: int, hours: int, parameters: tuple[str, ...],
           rng: np.random.Generator) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per kind: (series, slot start hour) of its faults, sorted, no slot used twice."""
    per_series = hours // SLOT_HOURS
    total = series_count * per_series
    if not total:
        return {kind: (np.empty(0, int), np.empty(0, int)) for kind in range(len(SHARES))}
    order = rng.permutation(total)
    used = np.zeros(total, dtype=bool)
    out = {}
    for kind, share in enumerate(SHARES):
        ok = np.array([_allowed(kind, name) for name in parameters])
        free = order[~used[order] & ok[(order // per_series) % params]]
        take = np.sort(free[: max(1, round(share * total))])
        used[take] = True
        out[kind] = (take // per_series, (take % per_series) * SLOT_HOURS)
    return out


def _allowed(kind: int, parameter: str) -> bool:
    rule = DEFAULT_RULES[parameter]
    if kind == NEGATIVE:
        return not rule.negative_allowed
    if kind == SPIKE:
        return rule.spike is not None
    return not (kind == FLATLINE and rule.flatline_hours is None)


def _flat_hours(parameter: str) -> int:
    return max(6, DEFAULT_RULES[parameter].flatline_hours or 6)


def _run(base: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat indices of runs of `lengths` hours starting one hour into the slots at `base`."""
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(base + 1, lengths) + offsets


def _day_hours(base: np.ndarray, start: np.ndarray, local_hour: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """7-18 random hours of the first local day that starts inside each slot."""
    midnights = np.flatnonzero(local_hour == 0)
    first = midnights[np.searchsorted(midnights, start + 1)]
    order = rng.random((len(base), 24)).argsort(axis=1)
    dropped = order < rng.integers(7, 19, len(base))[:, None]
    index = (base - start + first)[:, None] + np.arange(24)[None, :]
    return index[dropped]


def _bad_values(kind: int, flat: np.ndarray, index: np.ndarray, param: np.ndarray,
                parameters: tuple[str, ...], rng: np.random.Generator) -> np.ndarray:
    rules = [DEFAULT_RULES[name] for name in parameters]
    lo = np.array([r.lo for r in rules])[param]
    hi = np.array([r.hi for r in rules])[param]
    spike = np.array([r.spike or 0.0 for r in rules])[param]
    if kind == OUT_OF_RANGE:
        return np.round(hi + rng.uniform(0.1, 0.5, len(index)) * (hi - lo), 2)
    if kind == NEGATIVE:
        return -np.round(np.maximum(rng.uniform(0.01, 0.1, len(index)) * spike, 0.1), 2)
    around = np.stack([flat[index - 1], flat[index], flat[index + 1]])
    jump = spike * rng.uniform(1.2, 1.6, len(index))
    up, down = around.max(axis=0) + jump, around.min(axis=0) - jump
    floor = np.where(lo > 0, lo, 0.0)
    return np.round(np.where((up <= hi) | (down < floor), up, down), 2)
