"""How synthetic requests age: when the city closes them, when they were last touched, and which
ones a feed delivers twice (a first snapshot, then the final state).

Pure numpy over whole arrays of int64 microseconds since the epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.requests.events import US_PER_HOUR, shift

# Hours to close: lognormal around a per-category share of the SLA, with a long tail of
# forgotten requests and some never closed by the end of the window.
_CLOSE_SIGMA = 1.0
_CLOSE_MEDIAN_SHARE = (0.3, 0.55)
_FORGOTTEN_SHARE = 0.04
_ABANDONED_SHARE = 0.12


@dataclass
class Lifecycle:
    """Final state of each request (event)."""

    closed: np.ndarray
    is_closed: np.ndarray
    updated: np.ndarray
    quirk: np.ndarray  # closed before requested: a real export quirk, kept on purpose


@dataclass
class Rows:
    """Feed rows in arrival order: each event once, plus a later version of the `resent` ones."""

    event: np.ndarray
    is_closed: np.ndarray
    updated: np.ndarray
    is_resend: np.ndarray
    resent: np.ndarray


def lifecycle(
    rng: np.random.Generator,
    requested: np.ndarray,
    category: np.ndarray,
    sla_days: np.ndarray,
    n_categories: int,
    quirk_share: float,
    end_us: int,
) -> Lifecycle:
    """Close times around each category's SLA; `updated` follows the last event, never `end_us`."""
    n = len(requested)
    share = rng.uniform(*_CLOSE_MEDIAN_SHARE, size=n_categories)[category]
    hours = rng.lognormal(np.log(sla_days * 24 * share), _CLOSE_SIGMA)
    hours *= np.where(rng.random(n) < _FORGOTTEN_SHARE, rng.uniform(3, 12, n), 1.0)
    closed = shift(requested, np.maximum(hours, 0.25))
    is_closed = (closed <= end_us) & (rng.random(n) >= _ABANDONED_SHARE)
    quirk = rng.random(n) < quirk_share
    closed = np.where(quirk, shift(requested, -rng.uniform(0.02, 48, n)), closed)
    is_closed |= quirk
    touched = np.where(
        is_closed,
        shift(np.maximum(closed, requested), rng.uniform(0, 3, n)),
        shift(requested, rng.uniform(0.02, 6, n)),
    )
    return Lifecycle(closed, is_closed, np.clip(touched, requested, end_us), quirk)


def versions(
    rng: np.random.Generator, life: Lifecycle, requested: np.ndarray, n_resend: int, end_us: int
) -> Rows:
    """Re-sent requests: the first version becomes an earlier snapshot (still open, if the
    request closed), the re-sent row carries the final state with a newer `updated`.

    Rows arrive in filing order; a re-sent version arrives when it was updated.
    """
    n = len(requested)
    resent = np.sort(rng.choice(np.flatnonzero(~life.quirk), size=n_resend, replace=False))
    final_closed, final_updated = life.is_closed[resent], life.updated[resent]
    open_for = (life.closed[resent] - requested[resent]) / US_PER_HOUR
    snapshot = shift(requested[resent], open_for * rng.uniform(0.1, 0.9, n_resend))
    remaining = (end_us - final_updated) / US_PER_HOUR
    later = shift(final_updated, remaining * rng.uniform(0.05, 1.0, n_resend))
    is_closed, updated = life.is_closed.copy(), life.updated.copy()
    updated[resent] = np.where(final_closed, snapshot, updated[resent])
    is_closed[resent] = False
    resend_updated = np.where(final_closed, final_updated, later)
    resend_updated = np.maximum(resend_updated, updated[resent] + 1_000_000)
    order = np.argsort(np.concatenate([requested, resend_updated]), kind="stable")
    return Rows(
        event=np.concatenate([np.arange(n), resent])[order],
        is_closed=np.concatenate([is_closed, final_closed])[order],
        updated=np.concatenate([updated, resend_updated])[order],
        is_resend=order >= n,
        resent=resent,
    )
