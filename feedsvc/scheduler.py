"""Runs refreshes on a schedule: one APScheduler job per section. The only importer of apscheduler.

The schedule is a function of the section's stored state (`due_at`: last attempt + interval, backed
off after failures), not of timers kept in memory. APScheduler is the timer: each section has one
one-shot job, placed at its due time plus jitter and placed again after every run. When the job
fires it reads the stored state once more, so a refresh done meanwhile by another process (`feedsvc
refresh`, later another replica) moves the section's next run instead of doubling it.

- each section runs every `refresh` interval with jitter; runs of one section never overlap (the next
  job is placed only when a run ends) and missed runs coalesce into one (there is only one job);
- at start-up only sections that are due, or have never succeeded, run, spread out over the first seconds;
- a failing section backs off exponentially (capped) and returns to its interval on success;
- a section the site asked to wait (Retry-After, stored as `deferred_until`) runs no earlier than that,
  whatever the plan above says, at start-up and after every run;
- `run_now(keys)` (the admin API) moves a section's one job to now: a run already queued or running is
  not doubled, and a deferred section waits unless forced;
- with `leases` (replicas on one store, feedsvc/site_leases.py) a run first takes its site's lease and
  only then reads the stored state, so a section another replica has just refreshed is not run again;
  a site another replica holds is tried again after `leases.retry` seconds (an admin's request waits
  for it too), and a site this replica gives up (its lease lost) has its runs here cancelled;
- a store that cannot be read when a job fires moves the job on by the same retry, never drops it;
- `follow(refs, ...)` (a config reload) gives every section its new settings from its next run on: a
  removed section's job goes (a run in progress ends but is not placed again), an added one is planned
  as at start-up, one whose interval changed is placed again by its stored state; other jobs keep their time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from feedsvc.clock import Clock, utcnow
from feedsvc.config import SectionRef
from feedsvc.deferral import deferred_until
from feedsvc.errors import StoreError
from feedsvc.model import RefreshReport, SectionState
from feedsvc.schedule import due_at, first_runs, jitter_for, next_delay
from feedsvc.site_leases import SiteLeases

log = logging.getLogger("feedsvc.scheduler")

RefreshFn = Callable[[SectionRef], Awaitable[RefreshReport]]

class RefreshScheduler:
    """One self-rescheduling job per section; `on_done(report)`, a plain call, hears every report."""

    def __init__(
        self, refs: Sequence[SectionRef], refresh: RefreshFn, *,
        on_done: Callable[[RefreshReport], object] | None = None,
        section_state: Callable[[str, str], Awaitable[SectionState]],
        clock: Clock = utcnow, spread: timedelta = timedelta(seconds=1),
        on_lag: Callable[[float], object] | None = None, leases: SiteLeases | None = None,
    ):
        """`on_lag(seconds)` hears how late each job started after the time it was placed at (metrics);
        `leases`, when given, decide which replica runs a site's sections (its `on_lost` is set here)."""
        self.on_lag = on_lag
        self.leases = leases
        if leases is not None:
            leases.on_lost = self._site_lost
        # Runs in progress by section, and those cancelled because their site's lease was lost.
        self.runs: dict[str, asyncio.Task[None]] = {}
        self.abandoned: set[str] = set()
        self.planned: dict[str, datetime] = {}
        self.refs = {ref.key: ref for ref in refs}
        self.refresh = refresh
        self.section_state = section_state
        self.running: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.on_done = on_done
        self.clock = clock
        self.spread = spread
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # Each section's last attempt as this scheduler last saw it in the store: a newer one when its
        # job fires means another process refreshed it meanwhile.
        self.seen: dict[str, datetime | None] = {}
        # Sections inside a run now, and those queued by run_now (with its force flag) not yet started.
        self.active: set[str] = set()
        self.asked: dict[str, bool] = {}

    def start(self, states: dict[tuple[str, str], SectionState]) -> None:
        plan = first_runs(list(self.refs.values()), states, self.clock(), self.spread)
        for ref in self.refs.values():
            state = states.get((ref.site_name, ref.name))
            self.seen[ref.key] = state.last_attempt if state else None
        for key, when in plan.items():
            self._schedule(key, when)
        self.scheduler.start()
        log.info("scheduled %d sections (%d due now)", len(plan),
                 sum(1 for when in plan.values() if when <= self.clock() + self.spread * len(plan)))

    def follow(self, refs: Sequence[SectionRef], states: dict[tuple[str, str], SectionState], *,
               removed: Sequence[str] = (), added: Sequence[str] = (), rescheduled: Sequence[str] = ()) -> None:
        """A reloaded config: `refs` are every section from now on; `states` the stored states of the
        added and rescheduled ones (a missing one counts as never tried)."""
        self.refs = {ref.key: ref for ref in refs}
        for key in removed:
            for kept in (self.planned, self.seen, self.asked):
                kept.pop(key, None)
            if self.scheduler.get_job(key) is not None:
                self.scheduler.remove_job(key)
        now = self.clock()
        fresh = [self.refs[key] for key in added]
        for ref in fresh:
            state = states.get((ref.site_name, ref.name))
            self.seen[ref.key] = state.last_attempt if state else None
        for key, when in first_runs(fresh, states, now, self.spread).items():
            self._schedule(key, when)
        for key in rescheduled:
            if key in self.active or key in self.asked:
                continue  # running or about to: its next run is placed by the new interval when it ends
            ref = self.refs[key]
            due = due_at(ref, states.get((ref.site_name, ref.name)))
            self._schedule(key, self._jittered(ref, max(due or now, now)))

    def _schedule(self, key: str, when: datetime) -> None:
        """The section's one job, (re)placed to run once at `when`; nothing for a section no longer configured.

        misfire_grace_time=None: a job that fires late (a busy loop, a suspended machine) still runs;
        with APScheduler's default of one second it would be dropped, and the section never run again.
        """
        if key not in self.refs:
            return
        self.planned[key] = when
        self.scheduler.add_job(
            self._run, DateTrigger(run_date=when), args=[key], id=key, name=key,
            misfire_grace_time=None, replace_existing=True,
        )

    def _jittered(self, ref: SectionRef, when: datetime) -> datetime:
        # Jitter keeps many sections of one site from polling it in lockstep.
        return when + timedelta(seconds=random.uniform(0, jitter_for(ref)))

    async def _run(self, key: str) -> None:
        if key not in self.refs:  # removed by a reload just as its job fired
            return
        task = asyncio.current_task()
        assert task is not None
        if self.on_lag is not None and key in self.planned:
            self.on_lag(max(0.0, (self.clock() - self.planned[key]).total_seconds()))
        self.running.add(task)
        self.active.add(key)
        self.runs[key] = task
        asked, force = key in self.asked, self.asked.pop(key, False)
        try:
            await self._run_leased(key, asked=asked, force=force)
        except asyncio.CancelledError:
            if self.stopping:
                # Shutdown cancelled this refresh; its transaction rolled back. Nothing to report.
                log.info("%s: refresh cancelled by shutdown", key)
            elif key in self.abandoned:
                task.uncancel()  # cancelled by _site_lost, not by whoever awaits this task
                log.warning("%s: refresh abandoned: this replica lost the site's lease", key)
                self._retry_later(key)
            else:
                raise
        except StoreError as exc:
            if asked:
                self.asked[key] = self.asked.get(key, False) or force  # an admin's request is kept
            log.warning("%s: the store cannot be read (%s); tried again in a while", key, exc)
            self._retry_later(key)
        finally:
            self.abandoned.discard(key)
            self.runs.pop(key, None)
            self.active.discard(key)
            self.running.discard(task)

    def _retry_later(self, key: str, *, soon: bool = False) -> None:
        """Try the section again a little later (`soon`: within a second, for a run an admin asked for)."""
        if self.scheduler.running:
            retry = self.leases.retry if self.leases is not None else 5.0
            retry = min(retry, 1.0) if soon else retry
            self._schedule(key, self.clock() + timedelta(seconds=retry * random.uniform(0.8, 1.2)))

    def _site_lost(self, site: str) -> None:
        """The site's lease is gone (another replica holds it, or it could not be renewed): stop its runs."""
        for key, task in list(self.runs.items()):
            ref = self.refs.get(key)
            if ref is not None and ref.site_name == site:
                self.abandoned.add(key)
                task.cancel()

    async def _run_leased(self, key: str, *, asked: bool, force: bool) -> None:
        """The run under its site's lease; a site another replica holds is tried again later."""
        site = self.refs[key].site_name
        if self.leases is None:
            await self._run_once(key, asked=asked, force=force)
            return
        if not await self.leases.acquire(site):
            if asked:
                self.asked[key] = self.asked.get(key, False) or force  # the admin's request waits for the site
            log.debug("%s: another replica holds the site; tried again later", key)
            self._retry_later(key, soon=asked)
            return
        try:
            await self._run_once(key, asked=asked, force=force)
        finally:
            await self.leases.release(site)

    async def _run_once(self, key: str, *, asked: bool = False, force: bool = False) -> None:
        ref = self.refs[key]
        state = await self.section_state(ref.site_name, ref.name)
        deferred = deferred_until(state, self.clock())
        if deferred is not None and not force:
            # The site asked for a pause (Retry-After), maybe heard by another process meanwhile.
            self.seen[key] = state.last_attempt
            if self.scheduler.running:
                self._schedule(key, self._jittered(ref, deferred))
            log.info("%s: deferred by the site until %s", key, deferred.isoformat(timespec="seconds"))
            return
        due = due_at(ref, state)
        if not asked and state.last_attempt != self.seen.get(key) and due is not None and due > self.clock():
            # Refreshed meanwhile by another process: not due yet, so no request is sent now.
            self.seen[key] = state.last_attempt
            if self.scheduler.running:
                self._schedule(key, self._jittered(ref, due))
            log.debug("%s: refreshed elsewhere, next at %s", key, due.isoformat(timespec="seconds"))
            return
        report = await self.refresh(ref)
        state = await self.section_state(ref.site_name, ref.name)
        self.seen[key] = state.last_attempt
        failures = 0 if report.ok else state.consecutive_failures
        ref = self.refs.get(key, ref)  # a reload during the run: the next one is placed by the new interval
        delay = next_delay(ref, failures)
        deferred = deferred_until(state, self.clock())
        if deferred is not None:
            delay = max(delay, deferred - self.clock())
        when = self._jittered(ref, self.clock() + delay)
        if self.scheduler.running:
            self._schedule(key, when)
        # The run's one log line, with its figures and next due time, is the refresher's (refresh.log_refresh).
        if self.on_done is not None:
            self.on_done(report)

    async def run_now(self, keys: Sequence[str], *, force: bool = False) -> dict[str, str]:
        """Queue an immediate run of each section; per key what happened: "queued", "already queued",
        "already running" or "deferred by the site until <time>" (not run unless `force`).

        The section's one job is moved to now, so a run asked for coalesces with the scheduled one and
        the schedule carries on from its end as after any run.
        """
        outcomes: dict[str, str] = {}
        for key in keys:
            ref = self.refs.get(key)
            if ref is None:  # configured by a reload this scheduler has not followed yet
                outcomes[key] = "not scheduled yet (the config is being reloaded)"
                continue
            if key in self.active:
                outcomes[key] = "already running"
                continue
            if key in self.asked:
                self.asked[key] = self.asked[key] or force
                outcomes[key] = "already queued"
                continue
            if not force:
                deferred = deferred_until(await self.section_state(ref.site_name, ref.name), self.clock())
                if deferred is not None:
                    outcomes[key] = f"deferred by the site until {deferred.isoformat(timespec='seconds')}"
                    continue
            if key in self.active or key in self.asked:  # started or asked for while the store was read
                outcomes[key] = "already running" if key in self.active else "already queued"
                continue
            self.asked[key] = force
            self._schedule(key, self.clock())
            outcomes[key] = "queued"
        return outcomes

    def next_run(self, key: str) -> datetime | None:
        job = self.scheduler.get_job(key)
        return job.next_run_time if job else None

    async def shutdown(self) -> None:
        """Stop scheduling; running refreshes are cancelled and their transactions roll back."""
        self.stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self.running):
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
