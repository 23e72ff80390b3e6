"""`feedsvc refresh [SITE[/SECTION]]`: refresh sections once, now, and print a report.

While it runs, stderr shows a progress bar when it is a terminal (tqdm, imported only then; warnings
print above the bar), else one log line per section with its figures (the "feedsvc.refresh" line,
text or JSON): what a cron job's mail or a log shipper wants. The summary table goes to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from aiohttp import abc as aiohttp_abc

from feedsvc.app import open_refresher
from feedsvc.clock import Clock, utcnow
from feedsvc.commands import EXIT_ERROR, EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.config import Config, SectionRef
from feedsvc.deferral import deferred_until
from feedsvc.logs import logging_configured
from feedsvc.model import RefreshReport
from feedsvc.refresh import refresh_by_site


def select_sections(config: Config, target: str | None) -> list[SectionRef]:
    """`None` → all; `site` → its sections; `site/section` → that one. Unknown names raise NotFound."""
    if not target:
        return config.section_refs()
    site, _, section = target.partition("/")
    return config.lookup(site, section or None)


async def refresh_once(
    config: Config, refs: Sequence[SectionRef], *, resolver: aiohttp_abc.AbstractResolver | None = None,
    clock: Clock = utcnow,
) -> list[RefreshReport]:
    """Refresh the given sections now (sites in parallel, one site's sections one after another)."""
    async with open_refresher(config, resolver=resolver, clock=clock) as refresher:
        return await refresh_by_site(refresher, refs)


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def done(self, report: RefreshReport) -> None: ...


async def refresh_due(
    config: Config, refs: Sequence[SectionRef], *, force: bool = False,
    resolver: aiohttp_abc.AbstractResolver | None = None, clock: Clock = utcnow, progress: Progress | None = None,
) -> tuple[list[RefreshReport], list[tuple[SectionRef, datetime]]]:
    """Like `refresh_once`, but sections a site's Retry-After still defers are left alone (unless
    `force`): the reports of the sections refreshed, and each skipped section with its deferral's end.
    `progress` hears how many sections will run, then each one's report as it finishes."""
    async with open_refresher(config, resolver=resolver, clock=clock) as refresher:
        skipped: list[tuple[SectionRef, datetime]] = []
        due: list[SectionRef] = []
        for ref in refs:
            until = None if force else deferred_until(
                await refresher.store.section_state(ref.site_name, ref.name), clock())
            if until is None:
                due.append(ref)
            else:
                skipped.append((ref, until))
        if progress is not None:
            progress.start(len(due))
        return await refresh_by_site(refresher, due, on_report=progress.done if progress else None), skipped


def format_reports(reports: Sequence[RefreshReport]) -> str:
    """A summary table for `feedsvc refresh`."""
    header = ("section", "status", "links", "new", "fetched", "failed", "requests", "KB", "seconds")
    rows = [header]
    for r in reports:
        status = "not modified" if r.list_not_modified else ("ok" if r.ok else "FAILED")
        rows.append((
            f"{r.site}/{r.section}", status, str(r.links_found), str(r.inserted), str(r.articles_fetched),
            str(r.articles_failed), str(r.requests), f"{r.bytes_read / 1024:.0f}",
            f"{(r.finished - r.started).total_seconds():.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        if not r.ok:
            lines.append(f"{r.site}/{r.section}: {r.error}")
        if r.deadline_left:
            lines.append(f"{r.site}/{r.section}: section deadline reached; {r.deadline_left} articles left "
                         "for the next run")
    return "\n".join(lines)


class ProgressBar:
    """A tqdm bar on stderr: sections done of those to run, the last one finished and the failures so far."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.failed = 0

    def start(self, total: int) -> None:
        from tqdm import tqdm  # here: only a terminal's `feedsvc refresh` loads it

        # A terminal that does not say its size (0 columns: `script`, some `docker exec -t`) would get
        # an empty bar from tqdm: 80 by 24 then.
        width: dict[str, Any] = {"dynamic_ncols": True} if _columns() else {"ncols": 80, "nrows": 24}
        # Left on screen when done: the last line says how many ran, how long it took, how many failed.
        self.bar = tqdm(total=total, desc="refreshing", unit=" sections", file=sys.stderr, **width)

    def done(self, report: RefreshReport) -> None:
        self.failed += not report.ok
        # Names are config slugs: nothing from a page reaches the terminal through the bar.
        self.bar.set_postfix_str(f"{report.site}/{report.section}, {self.failed} failed", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 0


class NoProgress:
    """Not a terminal: the log lines say it, one per section (refresh.log_refresh)."""

    def start(self, total: int) -> None:
        pass

    def done(self, report: RefreshReport) -> None:
        pass


@contextmanager
def progress_shown(log_format: str | None) -> Iterator[Progress]:
    """A bar and warnings only when stderr is a terminal; else every refresh's log line."""
    if not sys.stderr.isatty():
        with logging_configured(log_format, level=logging.INFO):
            yield NoProgress()
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    bar = ProgressBar()
    try:
        with logging_configured(log_format, level=logging.WARNING), logging_redirect_tqdm():
            yield bar  # log lines print above the bar, not through it
    finally:
        bar.close()


def run(config: Config, target: str | None, *, force: bool = False, log_format: str | None = None) -> int:
    refs = select_sections(config, target)
    started = utcnow()
    with progress_shown(log_format) as progress:
        reports, skipped = asyncio.run(refresh_due(config, refs, force=force, progress=progress))
    for ref, until in skipped:  # not a failure: the site asked for the pause, and nothing was sent
        say(f"{ref.key}: deferred until {until.isoformat(timespec='seconds')} (the site's Retry-After); "
            "not refreshed (--force refreshes it now)")
    if reports:
        for line in format_reports(reports).splitlines():  # errors quote pages and URLs: escaped
            say(line)
    elapsed = (utcnow() - started).total_seconds()
    failed = sum(1 for r in reports if not r.ok)
    deferred = f", {len(skipped)} deferred" if skipped else ""
    say(f"{len(reports)} sections, {failed} failed{deferred}, {elapsed:.1f}s")
    return EXIT_ERROR if failed else EXIT_OK
