"""HTTP dates (RFC 9110 §5.6.7) and entity-tag matching, shared by the fetcher, the web room and the replica."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache


def format_http_date(timestamp: float) -> str:
    """IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(timestamp, usegmt=True)


@lru_cache(maxsize=256)
def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime) as an aware UTC datetime; None when unparseable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        if parsed.tzinfo is None:  # asctime has no zone; HTTP dates are always GMT
            parsed = parsed.replace(tzinfo=UTC)
        parsed.timestamp()  # out-of-range years fail here rather than later
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return parsed


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2, §13.1.2) of an If-None-Match list against an entity tag."""
    if if_none_match == etag:
        return True
    bare = etag.removeprefix("W/")
    for member in if_none_match.split(","):
        tag = member.strip()
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False
