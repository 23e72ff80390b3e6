"""A site's `Retry-After` beyond one run: when a section may be asked again.

The fetcher waits out a short Retry-After within a run (up to `fetch.max_retry_after`) and raises
with the seconds asked for when it is longer. That wait becomes a time stored on the section
(`SectionState.deferred_until`), and on the site's other sections read from the same host; the
scheduler plans no run before it and `feedsvc refresh` skips those sections until then (`--force`
aside). Plain functions: pipeline, refresher, scheduler and commands all read the same rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from feedsvc.config import SectionRef
from feedsvc.errors import FetchError, HTTPStatusError
from feedsvc.model import SectionState

# The longest a site's Retry-After keeps a section waiting: a site asking for a week (or a year, or
# whose clock is wrong) still gets polled daily, and a typo upstream cannot silence a feed for good.
MAX_DEFERRAL = timedelta(hours=24)


def retry_after_of(exc: BaseException) -> float | None:
    """The seconds a 429/503 answer asked us to wait (None when it asked nothing)."""
    if isinstance(exc, HTTPStatusError) and exc.retry_after:
        return exc.retry_after
    return None


def host_of(exc: BaseException) -> str | None:
    """The host of the URL a fetch error is about."""
    return (urlsplit(exc.url).hostname or None) if isinstance(exc, FetchError) else None


def sections_on_host(ref: SectionRef, host: str) -> list[str]:
    """The other sections of `ref`'s site read from `host`: by their list page, or for a nav label by
    the home page it is looked up on. A Retry-After from that host defers them too."""
    site = ref.site
    return [name for name, section in site.sections.items()
            if name != ref.name and (urlsplit(section.url or site.home).hostname or "").lower() == host.lower()]


def deferral_after(retry_after: float | None, now: datetime) -> datetime | None:
    """The time a Retry-After of `retry_after` seconds, received about `now`, defers to (capped)."""
    if not retry_after or retry_after <= 0:
        return None
    return now + min(timedelta(seconds=retry_after), MAX_DEFERRAL)


def deferred_until(state: SectionState | None, now: datetime) -> datetime | None:
    """When the section's deferral ends, if it has not yet; None when it may run now."""
    if state is None or state.deferred_until is None or state.deferred_until <= now:
        return None
    return state.deferred_until
