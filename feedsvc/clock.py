"""The one clock: timezone-aware UTC "now", injectable as a `Clock` wherever the code reads the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
