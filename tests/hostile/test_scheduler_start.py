"""Hardening #21: after a restart, a section that has never succeeded does not wait out its backoff."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from feedsvc.config import Config
from feedsvc.model import RefreshReport, SectionState
from feedsvc.schedule import first_runs
from feedsvc.scheduler import RefreshScheduler

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def config() -> Config:
    return Config.model_validate({
        "defaults": {"refresh": "10m"},
        "sites": {"s": {"title": "S", "home": "http://s.example/", "sections": {
            "never": {"title": "Never", "url": "http://s.example/1/"},
            "healthy": {"title": "Healthy", "url": "http://s.example/2/"}}}},
    })


def test_a_section_that_never_succeeded_is_due_at_start_up_despite_its_backoff():
    never, healthy = config().section_refs()
    states = {
        # failed 4 times, last 5 minutes ago: its backoff (80 min) would keep the feed empty for over an hour
        ("s", "never"): SectionState("s", "never", last_attempt=T0 - timedelta(minutes=5), consecutive_failures=4),
        ("s", "healthy"): SectionState("s", "healthy", last_attempt=T0 - timedelta(minutes=5),
                                       last_success=T0 - timedelta(minutes=5)),
    }
    plan = first_runs([never, healthy], states, T0)
    assert plan[never.key] == T0
    assert plan[healthy.key] == T0 + timedelta(minutes=5)


async def test_the_running_scheduler_tries_a_never_successful_section_at_once():
    never, healthy = config().section_refs()
    states = {("s", "never"): SectionState("s", "never", last_attempt=datetime.now(UTC), consecutive_failures=4)}
    ran: list[str] = []

    async def refresh(ref):
        ran.append(ref.key)
        now = datetime.now(UTC)
        return RefreshReport(site=ref.site_name, section=ref.name, started=now, finished=now, ok=True)

    async def section_state(site: str, section: str) -> SectionState:  # the store as it stood at start-up
        return states.get((site, section), SectionState(site, section))

    scheduler = RefreshScheduler([never], refresh, section_state=section_state, spread=timedelta(seconds=0.01))
    scheduler.start(states)
    for _ in range(100):
        if ran:
            break
        await asyncio.sleep(0.02)
    await scheduler.shutdown()
    assert ran == ["s/never"]
