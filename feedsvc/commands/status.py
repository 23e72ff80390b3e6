"""`feedsvc status`: every section's refresh state and the overall status as a table, read from the
store (no running service needed); the same reading as `/status.json`. Exit 1 when failing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from feedsvc.clock import utcnow
from feedsvc.commands import EXIT_ERROR, EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.config import Config
from feedsvc.section_status import StatusReport, read_status
from feedsvc.store import open_store

HEADER = ("SECTION", "STATUS", "LAST ATTEMPT", "LAST SUCCESS", "NEXT DUE", "FAILURES", "ENTRIES", "TOOK",
          "DEFERRED UNTIL", "BY")
NONE = "-"


async def read(config: Config) -> StatusReport:
    store = open_store(config.store.url)
    await store.open()
    try:
        return await read_status(config.section_refs(), store, utcnow())
    finally:
        await store.close()


def when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else NONE


def took(span: timedelta | None) -> str:
    return f"{span.total_seconds():.1f}s" if span is not None else NONE


def format_status(report: StatusReport) -> list[str]:
    """The overall line, one table row per section, then each failing section's last error."""
    counts = ", ".join(f"{n} {name}" for name, n in report.counts().items())
    rows = [HEADER]
    for s in report.sections:
        rows.append((s.key, s.status, when(s.last_attempt), when(s.last_success), when(s.next_due),
                     str(s.consecutive_failures), str(s.entries_stored), took(s.last_duration),
                     when(s.deferred_until), s.refreshed_by or NONE))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [f"status: {report.status} ({counts}) at {when(report.now)}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += [f"{s.key}: {s.last_error}" for s in report.sections if s.last_error]
    return lines


def run(config: Config) -> int:
    report = asyncio.run(read(config))
    for line in format_status(report):  # errors quote pages and URLs: say() escapes them
        say(line)
    return EXIT_ERROR if report.status == "failing" else EXIT_OK
