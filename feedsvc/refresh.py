"""Joins fetch → extract → store for one section: runs the section pipeline with the store as its
memory and stores what it found. The only room that knows all three.

`SectionRefresher.refresh` never raises for a section's own failure: the error becomes data on the
section (store.record_attempt) and the section keeps serving its last good entries. Every refresh ends
with one line on the "feedsvc.refresh" logger holding its figures, as text and as fields (`log_refresh`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from feedsvc.clock import Clock, utcnow
from feedsvc.config import SectionRef
from feedsvc.deferral import sections_on_host
from feedsvc.errors import FeedsvcError, one_line
from feedsvc.fetch import Fetcher
from feedsvc.metrics import refresh_outcome
from feedsvc.model import RefreshReport, SectionState
from feedsvc.pipeline import SectionPipeline, SectionRun
from feedsvc.schedule import due_at
from feedsvc.site_leases import SiteLeases
from feedsvc.store import Store

log = logging.getLogger("feedsvc.refresh")


class SectionRefresher:
    """Refreshes sections with one shared fetcher and store; `clock` is injectable for tests;
    `on_report(report)` hears every finished refresh (metrics); `replica` names who runs them (stored
    with each attempt as the section's `refreshed_by`)."""

    def __init__(self, fetcher: Fetcher, store: Store, *, clock: Clock = utcnow,
                 on_report: Callable[[RefreshReport], object] | None = None, replica: str | None = None):
        self.on_report = on_report
        self.replica = replica
        self.leases: SiteLeases | None = None  # set for one-off runs (refresh_by_site); the scheduler has its own
        self.fetcher = fetcher
        self.store = store
        self.clock = clock
        self.pipeline = SectionPipeline(fetcher, store, clock=clock)

    async def refresh(self, ref: SectionRef) -> RefreshReport:
        report = await self._refresh(ref)
        if self.on_report is not None:
            self.on_report(report)
        others = sections_on_host(ref, report.deferred_by) if report.deferred_by else []
        if report.deferred_until is not None and others:
            # The host asked for a pause: the site's other sections on it wait as well, instead of
            # each asking once more to hear the same answer.
            try:
                await self.store.defer_sections(ref.site_name, others, report.deferred_until)
            except FeedsvcError as exc:
                log.error("%s: could not defer %s: %s", ref.key, ", ".join(others), exc)
        try:
            state: SectionState | None = await self.store.section_state(ref.site_name, ref.name)
        except FeedsvcError:
            state = None  # the store's trouble is logged where it happened; the line says "unknown"
        if state is None:
            log_refresh(report, None)
        else:
            log_refresh(report, due_at(ref, state), state.consecutive_failures)
        return report

    async def _refresh(self, ref: SectionRef) -> RefreshReport:
        run = SectionRun(ref, started=self.clock())
        try:
            await self.pipeline.run(run)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one section's failure must never escape: it is stored as data
            if not isinstance(exc, FeedsvcError):
                log.exception("unexpected error refreshing %s", ref.key)
            self._log_problems(run)
            run.heard(exc)
            report = replace(run.report(self.clock(), error=one_line(exc)), replica=self.replica)
            try:
                await self._remember_resolved_url(run)
                await self.store.record_attempt(report)
            except FeedsvcError as store_exc:
                log.error("%s: could not record failure: %s", ref.key, store_exc)
            return report
        self._log_problems(run)
        await self._remember_resolved_url(run)
        report = replace(run.report(self.clock()), replica=self.replica)
        if run.not_modified:  # 304: nothing new, nothing parsed
            await self.store.record_attempt(report)
            return report
        result = await self.store.upsert(
            ref.site_name, ref.name, run.entries, now=self.clock(),
            max_entries=ref.max_entries, max_age_days=ref.max_age_days,
            section_title=ref.section.title, validators=run.validators,
            also_list=[link.url for link in run.links if link.url in run.known], report=report,
        )
        return replace(report, inserted=result.inserted, updated=result.updated)

    async def _remember_resolved_url(self, run: SectionRun) -> None:
        # Remembered even when the list page then fails: the next run need not read the home page again.
        if run.resolved_url is not None:
            await self.store.set_resolved_url(run.ref.site_name, run.ref.name, run.resolved_url)

    @staticmethod
    def _log_problems(run: SectionRun) -> None:
        for problem in run.problems:
            log.warning("%s: %s", run.ref.key, problem)


def refresh_fields(report: RefreshReport, next_due: datetime | None, failures: int | None = None) -> dict[str, Any]:
    """A refresh's figures as the fields of its log line (see README, "Logs"). `next_due` is when the
    section is next due by its stored state, as /status.json shows it (the scheduler adds jitter);
    `failures`, its failures in a row; None for either when the store could not say."""
    fields: dict[str, Any] = {
        "site": report.site, "section": report.section, "outcome": refresh_outcome(report),
        "new": report.inserted, "updated": report.updated, "links": report.links_found,
        "articles_fetched": report.articles_fetched, "articles_failed": report.articles_failed,
        "requests": report.requests, "bytes": report.bytes_read,
        "duration_seconds": round(max(0.0, (report.finished - report.started).total_seconds()), 3),
        "next_due": _time(next_due), "consecutive_failures": failures,
    }
    if report.error is not None:
        fields["error"] = report.error
    if report.deadline_left:
        fields["deadline_left"] = report.deadline_left
    if report.deferred_until is not None:
        fields["deferred_until"] = _time(report.deferred_until)
    if report.replica is not None:
        fields["replica"] = report.replica
    return fields


def log_refresh(report: RefreshReport, next_due: datetime | None, failures: int | None = None) -> None:
    """The one log line of a finished refresh: INFO, or WARNING when it failed."""
    f = refresh_fields(report, next_due, failures)
    head = f"{report.site}/{report.section}: "
    if f["outcome"] == "failed":
        head += f"failed ({failures or '?'} in a row): {report.error}"
    elif f["outcome"] == "not_modified":
        head += "not modified"
    else:
        head += (f"ok, {f['new']} new, {f['updated']} updated, {f['links']} links; articles "
                 f"{f['articles_fetched']} fetched, {f['articles_failed']} failed")
    tail = f"; {f['requests']} request{'s' * (f['requests'] != 1)}, {f['bytes'] / 1024:.0f} KB, {f['duration_seconds']:.1f}s"
    if report.deadline_left:
        tail += f"; section deadline reached, {report.deadline_left} articles left for the next run"
    if report.deferred_until is not None:
        tail += f"; deferred by the site until {f['deferred_until']}"
    tail += f"; next due {f['next_due'] or 'unknown'}"
    if report.replica is not None:
        tail += f"; by {report.replica}"
    log.log(logging.WARNING if not report.ok else logging.INFO, "%s", head + tail, extra=f)


def _time(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None


async def refresh_by_site(
    refresher: SectionRefresher, refs: Sequence[SectionRef],
    on_report: Callable[[RefreshReport], object] | None = None,
) -> list[RefreshReport]:
    """Sites in parallel, one site's sections one after another; reports grouped by site.
    `on_report(report)` hears each one as it finishes (progress). With the refresher's `leases`
    (`feedsvc refresh` beside replicas on one store) a site is refreshed under its lease, after waiting
    for a replica that holds it, so the one-off run keeps the site's limits too."""
    leases = refresher.leases
    by_site: dict[str, list[SectionRef]] = {}
    for ref in refs:
        by_site.setdefault(ref.site_name, []).append(ref)

    async def run_site(site_refs: list[SectionRef]) -> list[RefreshReport]:
        site = site_refs[0].site_name
        if leases is not None and not await leases.acquire(site):
            log.info("%s: a replica is refreshing this site; waiting for it to finish", site)
            while not await leases.acquire(site):
                await asyncio.sleep(leases.retry)
        try:
            reports = []
            for ref in site_refs:
                reports.append(await refresher.refresh(ref))
                if on_report is not None:
                    on_report(reports[-1])
            return reports
        finally:
            if leases is not None:
                await leases.release(site)

    results = await asyncio.gather(*(run_site(r) for r in by_site.values()))
    return [report for site_reports in results for report in site_reports]
