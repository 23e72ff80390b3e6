"""What every test shares: the repository root and the one test clock.

The fixture-site toolkit lives beside this: `upstream` (scripted HTTP servers on 127.0.0.1),
`news_site` (a small misbehaving news site built on it) and `news_network` (many such sites on one
port, for bench/refresh.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The one test clock: the evening of 2021-12-08 UTC (early 2021-12-09 in Shanghai), just after the
# replica of www.cxnews.cn in seeds/ was saved; every fixture article is dated before it.
NOW = datetime(2021, 12, 8, 20, 0, tzinfo=UTC)


async def until(condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    """Wait (bounded) for `condition`, a plain or async check; AssertionError naming `what` on time-out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
