"""When each section is due: pure functions of its stored state, shared by the scheduler (which runs
them), the status report and `feedsvc status` (which show them) without importing apscheduler.

- a section runs every `refresh` interval; a failing one backs off exponentially (capped), the first
  failure costing nothing;
- at start-up, sections that are due or have never succeeded run at once, spread out;
- nothing runs before the site's Retry-After (`deferred_until`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from feedsvc.config import SectionRef
from feedsvc.deferral import deferred_until
from feedsvc.model import SectionState

MAX_BACKOFF = timedelta(hours=6)


def next_delay(ref: SectionRef, consecutive_failures: int) -> timedelta:
    """Interval to the next run: the section's refresh interval, doubled for each consecutive failure
    after the first (one blip costs nothing), capped at MAX_BACKOFF (or the interval, if longer)."""
    if consecutive_failures <= 1:
        return ref.refresh
    cap = max(ref.refresh, MAX_BACKOFF)
    return min(ref.refresh * (2 ** min(consecutive_failures - 1, 20)), cap)


def jitter_for(ref: SectionRef) -> float:
    """Seconds of random jitter: a tenth of the interval, at most five minutes."""
    return min(ref.refresh.total_seconds() / 10, 300.0)


def due_at(ref: SectionRef, state: SectionState | None) -> datetime | None:
    """When the section is next due by its stored state (never before a deferral by the site's
    Retry-After); None when it has never been tried and nothing defers it."""
    if state is None:
        return None
    due = state.last_attempt + next_delay(ref, state.consecutive_failures) if state.last_attempt else None
    return later(due, state.deferred_until)


def later(when: datetime | None, deferred: datetime | None) -> datetime | None:
    """`when`, moved to `deferred` if that is later (None counts as no time at all)."""
    if deferred is None:
        return when
    return deferred if when is None or deferred > when else when


def first_runs(
    refs: Sequence[SectionRef], states: dict[tuple[str, str], SectionState], now: datetime,
    spread: timedelta = timedelta(seconds=1),
) -> dict[str, datetime]:
    """When each section first runs: due ones now, spread `spread` apart; others when they fall due."""
    plan: dict[str, datetime] = {}
    due_index = 0
    for ref in refs:
        state = states.get((ref.site_name, ref.name))
        due = due_at(ref, state)
        # A section that has never succeeded serves an empty feed: at start-up (after an outage, a
        # fixed config) it is tried at once rather than waiting out the backoff of earlier failures.
        deferred = deferred_until(state, now)
        if deferred is not None:
            plan[ref.key] = deferred  # the site's Retry-After beats everything, even a never-successful section
        elif due is None or due <= now or state is None or state.last_success is None:
            plan[ref.key] = now + spread * due_index
            due_index += 1
        else:
            plan[ref.key] = due
    return plan
