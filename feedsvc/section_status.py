"""The truthful status of every configured section, read from the store's refresh state.

One reading for `/status.json` and `feedsvc status`, so the page and the command never disagree.

A section is `pending` before its first attempt, `failing` while its last attempt failed, `stale`
when its last success is older than STALE_AFTER of its refresh intervals (nothing refreshed it:
the service is down, a long Retry-After, a stuck scheduler), else `ok`. Overall:

- `ok` while nothing was tried yet (start-up), or every tried section is ok;
- `failing` when no tried section has succeeded recently, or every tried one is failing;
- `degraded` otherwise (some sections failing or stale).

Pending sections never count against the service before their first attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from feedsvc.config import SectionRef
from feedsvc.model import SectionState
from feedsvc.schedule import due_at
from feedsvc.store import Store

STALE_AFTER = 3  # refresh intervals without a success before a section counts as stale

SectionStatus = Literal["pending", "ok", "stale", "failing"]
Overall = Literal["ok", "degraded", "failing"]


@dataclass(frozen=True)
class SectionReport:
    """What an operator needs to know about one section, now."""

    site: str
    section: str
    status: SectionStatus
    last_attempt: datetime | None
    last_success: datetime | None
    next_due: datetime | None
    consecutive_failures: int
    entries_stored: int
    last_error: str | None
    last_duration: timedelta | None
    deferred_until: datetime | None  # the site's Retry-After, while it lasts
    recent_success: bool  # succeeded within STALE_AFTER refresh intervals
    refreshed_by: str | None = None  # the replica that made the last attempt

    @property
    def key(self) -> str:
        return f"{self.site}/{self.section}"


@dataclass(frozen=True)
class StatusReport:
    status: Overall
    sections: list[SectionReport]
    now: datetime

    def counts(self) -> dict[str, int]:
        """Sections per status, every status named (0 when none)."""
        found = dict.fromkeys(("ok", "pending", "stale", "failing"), 0)
        for report in self.sections:
            found[report.status] += 1
        return found


def section_report(ref: SectionRef, state: SectionState | None, entries: int, now: datetime) -> SectionReport:
    """One section's report from its stored state (None: the store has never heard of it)."""
    state = state or SectionState(site=ref.site_name, section=ref.name)
    recent = state.last_success is not None and now - state.last_success <= ref.refresh * STALE_AFTER
    status: SectionStatus
    if state.last_attempt is None:
        status = "pending"
    elif state.consecutive_failures:
        status = "failing"
    elif not recent:
        status = "stale"
    else:
        status = "ok"
    deferred = state.deferred_until if state.deferred_until and state.deferred_until > now else None
    return SectionReport(
        site=ref.site_name, section=ref.name, status=status, last_attempt=state.last_attempt,
        last_success=state.last_success, next_due=due_at(ref, state), consecutive_failures=state.consecutive_failures,
        entries_stored=entries, last_error=state.last_error, last_duration=state.last_duration,
        deferred_until=deferred, recent_success=recent, refreshed_by=state.refreshed_by,
    )


def overall_status(sections: Sequence[SectionReport]) -> Overall:
    """The service's one word (see the module docstring)."""
    tried = [s for s in sections if s.status != "pending"]
    if not tried:
        return "ok"
    if not any(s.recent_success for s in tried) or all(s.status == "failing" for s in tried):
        return "failing"
    if any(s.status != "ok" for s in tried):
        return "degraded"
    return "ok"


def status_report(
    refs: Sequence[SectionRef], states: Sequence[SectionState], entry_counts: dict[tuple[str, str], int],
    now: datetime,
) -> StatusReport:
    """Every configured section's report, in config order, and the overall status."""
    by_key = {(s.site, s.section): s for s in states}
    sections = [
        section_report(ref, by_key.get((ref.site_name, ref.name)), entry_counts.get((ref.site_name, ref.name), 0), now)
        for ref in refs
    ]
    return StatusReport(status=overall_status(sections), sections=sections, now=now)


async def read_status(refs: Sequence[SectionRef], store: Store, now: datetime) -> StatusReport:
    """The status of these sections as the store has it (raises StoreError when it cannot answer)."""
    states = await store.section_states()
    counts = await store.entry_counts()
    return status_report(refs, states, counts, now)
