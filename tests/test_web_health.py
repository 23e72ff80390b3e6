"""The health routes through HTTP on the real app over a real SQLite store: `/healthz` (alive),
`/readyz` (store answering) and `/status.json` (every field of every section, every overall status).

The app's clock is injected (`NOW`), so ages, staleness and next-due times are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.app import build_app
from feedsvc.config import Config
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.model import RefreshReport
from feedsvc.store import Store, open_store
from tests.support.news_site import HOST, make_config, running_site
from tests.web_fixtures import (
    NOW,
    SITE,
    Web,
    start_web,
    store_fixture,  # noqa: F401 (fixture `store`: cixi holds the five fixture entries)
)


def report(section: str, at: datetime, *, error: str | None = None, took: float = 2.0) -> RefreshReport:
    """A refresh of `section` that ended at `at` after `took` seconds (failed when `error` is given)."""
    return RefreshReport(site=SITE, section=section, started=at - timedelta(seconds=took), finished=at,
                         ok=error is None, error=error)


@pytest.fixture(name="web")
async def web_fixture(store: Store, tmp_path: Path) -> AsyncIterator[Web]:
    w = await start_web(store, tmp_path, clock=lambda: NOW)
    try:
        yield w
    finally:
        await w.client.close()


async def get(w: Web, path: str) -> tuple[int, dict[str, str], Any]:
    async with w.client.get(path) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def status_of(w: Web) -> tuple[str, dict[str, dict[str, Any]]]:
    status, headers, doc = await get(w, "/status.json")
    assert status == 200, doc
    assert headers["Cache-Control"] == "no-store"
    return doc["status"], doc["sections"]


# -- /healthz and /readyz ---------------------------------------------------------------------------

async def test_healthz_says_alive_and_is_never_cached(web: Web) -> None:
    status, headers, doc = await get(web, "/healthz")
    assert (status, doc, headers["Cache-Control"]) == (200, {"status": "alive"}, "no-store")


async def test_healthz_stays_alive_while_the_store_cannot_answer(web: Web) -> None:
    await web.store.close()
    status, _, doc = await get(web, "/healthz")
    assert (status, doc) == (200, {"status": "alive"})


async def test_readyz_is_ready_when_the_store_answers(web: Web) -> None:
    status, headers, doc = await get(web, "/readyz")
    assert (status, doc, headers["Cache-Control"]) == (200, {"status": "ready"}, "no-store")


async def test_readyz_is_503_with_the_reason_when_the_store_is_closed(web: Web) -> None:
    await web.store.close()
    status, headers, doc = await get(web, "/readyz")
    assert (status, doc["status"], headers["Cache-Control"]) == (503, "unready", "no-store")
    assert doc["reason"].startswith("store not answering: ") and "is not open" in doc["reason"]


async def test_readyz_is_503_before_the_store_is_opened(tmp_path: Path) -> None:
    # Starting up: the app exists (the config is loaded) but its store has not been opened yet.
    store = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    w = await start_web(store, tmp_path)
    try:
        status, _, doc = await get(w, "/readyz")
        assert (status, doc["status"]) == (503, "unready")
        await store.open()
        status, _, doc = await get(w, "/readyz")
        assert (status, doc) == (200, {"status": "ready"})
    finally:
        await w.client.close()
        await store.close()


# -- /status.json: every field -----------------------------------------------------------------------

async def test_every_field_of_an_ok_a_failing_and_a_pending_section(web: Web) -> None:
    ok_at, failed_at = NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)
    deferred = NOW + timedelta(minutes=30)
    await web.store.record_attempt(replace(report("cixi", ok_at, took=3.25), replica="web-2:17"))
    await web.store.record_attempt(report("empty", failed_at - timedelta(minutes=20), error="HTTP 500"))
    await web.store.record_attempt(replace(report("empty", failed_at, error="HTTP 503", took=0.5),
                                           deferred_until=deferred))

    overall, sections = await status_of(web)
    assert list(sections) == ["cxnews/cixi", "cxnews/mintong", "cxnews/empty"]  # config order
    assert sections["cxnews/cixi"] == {
        "site": SITE, "section": "cixi", "status": "ok",
        "last_attempt": ok_at.isoformat(), "last_success": ok_at.isoformat(), "age_seconds": 120,
        "next_due": (ok_at + timedelta(minutes=10)).isoformat(),  # cixi refreshes every 10 minutes
        "consecutive_failures": 0, "entries_stored": 5, "last_error": None,
        "last_duration_seconds": 3.25, "deferred_until": None, "refreshed_by": "web-2:17",
    }
    assert sections["cxnews/empty"] == {
        "site": SITE, "section": "empty", "status": "failing",
        "last_attempt": failed_at.isoformat(), "last_success": None, "age_seconds": None,
        # hourly, backed off to two hours after the second failure in a row (later than the deferral)
        "next_due": (failed_at + timedelta(hours=2)).isoformat(),
        "consecutive_failures": 2, "entries_stored": 0, "last_error": "HTTP 503",
        "last_duration_seconds": 0.5, "deferred_until": deferred.isoformat(), "refreshed_by": None,
    }
    assert sections["cxnews/mintong"] == {
        "site": SITE, "section": "mintong", "status": "pending",
        "last_attempt": None, "last_success": None, "age_seconds": None, "next_due": None,
        "consecutive_failures": 0, "entries_stored": 0, "last_error": None,
        "last_duration_seconds": None, "deferred_until": None, "refreshed_by": None,
    }
    assert overall == "degraded"


async def test_times_carry_their_zone(web: Web) -> None:
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=2)))
    status, _, doc = await get(web, "/status.json")
    assert datetime.fromisoformat(doc["now"]) == NOW
    cixi = doc["sections"]["cxnews/cixi"]
    for field in ("last_attempt", "last_success", "next_due"):
        assert datetime.fromisoformat(cixi[field]).utcoffset() == timedelta(0), field


async def test_a_deferral_longer_than_the_backoff_decides_next_due(web: Web) -> None:
    failed_at = NOW - timedelta(minutes=1)
    until = NOW + timedelta(hours=5)
    await web.store.record_attempt(replace(report("cixi", failed_at, error="HTTP 429"), deferred_until=until))
    _, sections = await status_of(web)
    assert (sections["cxnews/cixi"]["next_due"], sections["cxnews/cixi"]["deferred_until"]) == (
        until.isoformat(), until.isoformat())


async def test_a_deferral_that_has_passed_is_not_shown(web: Web) -> None:
    await web.store.record_attempt(replace(report("cixi", NOW - timedelta(hours=1), error="HTTP 429"),
                                           deferred_until=NOW - timedelta(minutes=1)))
    _, sections = await status_of(web)
    assert sections["cxnews/cixi"]["deferred_until"] is None


# -- /status.json: the overall status ----------------------------------------------------------------

async def test_ok_at_start_up_before_any_attempt(web: Web) -> None:
    overall, sections = await status_of(web)
    assert overall == "ok"
    assert {s["status"] for s in sections.values()} == {"pending"}


async def test_ok_when_every_tried_section_succeeded_recently(web: Web) -> None:
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=29)))  # within 3 × 10 minutes
    await web.store.record_attempt(report("empty", NOW - timedelta(hours=2)))  # within 3 × 1 hour
    overall, sections = await status_of(web)
    assert overall == "ok"
    assert [s["status"] for s in sections.values()] == ["ok", "pending", "ok"]
    _, _, doc = await get(web, "/status.json")
    assert doc["counts"] == {"ok": 2, "pending": 1, "stale": 0, "failing": 0}


async def test_degraded_when_one_section_fails(web: Web) -> None:
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=3)))
    await web.store.record_attempt(report("empty", NOW - timedelta(minutes=3), error="timed out"))
    assert (await status_of(web))[0] == "degraded"


async def test_degraded_when_one_section_has_gone_stale(web: Web) -> None:
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=3)))
    await web.store.record_attempt(report("empty", NOW - timedelta(hours=3, minutes=1)))  # past 3 × 1 hour
    overall, sections = await status_of(web)
    assert (overall, sections["cxnews/empty"]["status"]) == ("degraded", "stale")


async def test_failing_when_every_tried_section_fails(web: Web) -> None:
    # cixi succeeded two minutes before its last attempt failed: recent, but failing now all the same.
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=3)))
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=1), error="HTTP 502"))
    await web.store.record_attempt(report("empty", NOW - timedelta(minutes=1), error="HTTP 502"))
    overall, sections = await status_of(web)
    assert overall == "failing"
    assert sections["cxnews/cixi"]["last_success"] == (NOW - timedelta(minutes=3)).isoformat()


async def test_failing_when_nothing_succeeded_recently(web: Web) -> None:
    # Nothing failed, but nothing has refreshed for over three intervals: the feeds are old news.
    await web.store.record_attempt(report("cixi", NOW - timedelta(minutes=31)))
    await web.store.record_attempt(report("empty", NOW - timedelta(hours=4)))
    overall, sections = await status_of(web)
    assert overall == "failing"
    assert [s["status"] for s in sections.values()] == ["stale", "pending", "stale"]


async def test_status_json_is_503_failing_when_the_store_cannot_answer(web: Web) -> None:
    await web.store.close()
    status, headers, doc = await get(web, "/status.json")
    assert (status, doc["status"], headers["Cache-Control"]) == (503, "failing", "no-store")
    assert "is not open" in doc["error"]


# -- the whole service: scheduler, fetcher and store behind the same routes ------------------------

async def test_the_running_service_reports_its_own_refreshes(tmp_path: Path) -> None:
    async with running_site() as (site, port):
        site.modes["b"] = "5xx"
        data = make_config(port, str(tmp_path / "live.db"), retries=0).model_dump(exclude={"source_file"})
        data["store"]["max_age_days"] = 36500  # the fixture articles are from 2021; the clock is real
        config = Config.model_validate(data)
        app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), spread=timedelta(seconds=0.05))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            assert (await client.get("/readyz")).status == 200
            for _ in range(100):  # bounded wait for the scheduler's first runs
                doc = await (await client.get("/status.json")).json()
                if all(s["status"] != "pending" for s in doc["sections"].values()):
                    break
                await asyncio.sleep(0.1)
            assert (await (await client.get("/healthz")).json()) == {"status": "alive"}
    a, b = doc["sections"]["news/a"], doc["sections"]["news/b"]
    assert doc["status"] == "degraded"
    assert (a["status"], a["entries_stored"], a["consecutive_failures"], a["last_error"]) == ("ok", 4, 0, None)
    assert (b["status"], b["entries_stored"], b["consecutive_failures"]) == ("failing", 0, 1)
    assert "502" in b["last_error"]
    for section in (a, b):
        attempted = datetime.fromisoformat(section["last_attempt"])
        # the default interval, no backoff after one failure
        assert datetime.fromisoformat(section["next_due"]) == attempted + timedelta(minutes=15)
        assert 0 < section["last_duration_seconds"] < 10
