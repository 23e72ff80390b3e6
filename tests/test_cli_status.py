"""`feedsvc status` through feedsvc.cli.main over a real SQLite store: the table's every column, the
overall line, exit 1 when failing, an unusable store as one error line, and agreement with /status.json.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.cli import main
from feedsvc.config import load_config
from feedsvc.model import Entry, RefreshReport
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.test_cli import feedsvc

CONFIG = """\
store: {{url: "sqlite:///{db}"}}
sites:
  news:
    title: 新闻网
    home: http://news.example.cn/
    sections:
      a: {{title: 要闻, url: "http://news.example.cn/a/", refresh: 10m}}
      b: {{title: 本地, url: "http://news.example.cn/b/", refresh: 1h}}
      c: {{title: 评论, url: "http://news.example.cn/c/"}}
"""


def report(section: str, at: datetime, *, error: str | None = None, took: float = 2.0) -> RefreshReport:
    return RefreshReport(site="news", section=section, started=at - timedelta(seconds=took), finished=at,
                         ok=error is None, error=error)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "feeds.db"), encoding="utf-8")
    return path


async def record(config_path: Path, *reports: RefreshReport, entries: dict[str, int] | None = None) -> None:
    """Store these reports (and `entries[section]` articles in each section) through the Store API."""
    store = open_store(load_config(str(config_path)).store.url)
    await store.open()
    try:
        for section, n in (entries or {}).items():
            articles = [Entry(url=f"http://news.example.cn/{section}/{i}.html", title=f"第{i}篇") for i in range(n)]
            await store.upsert("news", section, articles, now=datetime.now(UTC), max_entries=100, max_age_days=30)
        for r in reports:
            await store.record_attempt(r)
    finally:
        await store.close()


def status(config_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["status", "--config", str(config_path)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def rows(lines: list[str]) -> dict[str, list[str]]:
    """The table's rows by section (cells hold no spaces: times are ISO, absent values `-`)."""
    start = next(i for i, line in enumerate(lines) if line.startswith("SECTION"))
    return {line.split()[0]: line.split() for line in lines[start + 1:start + 4]}


def test_every_column_of_an_ok_a_failing_and_a_pending_section(config_path, capsys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ok_at, failed_at, until = now - timedelta(minutes=2), now - timedelta(minutes=1), now + timedelta(hours=5)
    asyncio.run(record(
        config_path, replace(report("a", ok_at, took=3.25), replica="web-1:4242"),
        replace(report("b", failed_at, error="HTTP 503", took=0.5), deferred_until=until), entries={"a": 4}))
    code, lines, err = status(config_path, capsys)
    assert (code, err) == (0, "")
    assert lines[0].startswith("status: degraded (1 ok, 1 pending, 0 stale, 1 failing) at ")
    assert lines[1].split() == ["SECTION", "STATUS", "LAST", "ATTEMPT", "LAST", "SUCCESS", "NEXT", "DUE",
                                "FAILURES", "ENTRIES", "TOOK", "DEFERRED", "UNTIL", "BY"]
    table = rows(lines)
    assert table["news/a"] == ["news/a", "ok", ok_at.isoformat(), ok_at.isoformat(),
                               (ok_at + timedelta(minutes=10)).isoformat(), "0", "4", "3.2s", "-", "web-1:4242"]
    # next due: the 5-hour Retry-After beats the hourly interval
    assert table["news/b"] == ["news/b", "failing", failed_at.isoformat(), "-", until.isoformat(), "1", "0",
                               "0.5s", until.isoformat(), "-"]
    assert table["news/c"] == ["news/c", "pending", "-", "-", "-", "0", "0", "-", "-", "-"]
    assert lines[5:] == ["news/b: HTTP 503"]


def test_exit_1_when_failing(config_path, capsys) -> None:
    now = datetime.now(UTC)
    asyncio.run(record(config_path, report("a", now - timedelta(minutes=1), error="timed out"),
                       report("b", now - timedelta(minutes=1), error="HTTP 502")))
    code, lines, _ = status(config_path, capsys)
    assert code == 1
    assert lines[0].startswith("status: failing (0 ok, 1 pending, 0 stale, 2 failing)")


def test_exit_1_when_nothing_succeeded_for_three_intervals(config_path, capsys) -> None:
    # The service has been down: nothing failed, nothing refreshed either.
    asyncio.run(record(config_path, report("a", datetime.now(UTC) - timedelta(minutes=31))))
    code, lines, _ = status(config_path, capsys)
    assert (code, rows(lines)["news/a"][1]) == (1, "stale")
    assert lines[0].startswith("status: failing")


def test_ok_before_anything_was_tried(config_path, capsys) -> None:
    code, lines, _ = status(config_path, capsys)
    assert code == 0 and lines[0].startswith("status: ok (0 ok, 3 pending, 0 stale, 0 failing)")
    assert {row[1] for row in rows(lines).values()} == {"pending"}


def test_a_control_character_in_an_error_is_shown_escaped(config_path, capsys) -> None:
    asyncio.run(record(config_path, report("a", datetime.now(UTC), error="title \x1b]0;pwned\x07 bad")))
    _, lines, _ = status(config_path, capsys)
    assert "news/a: title \\x1b]0;pwned\\x07 bad" in lines
    assert not any("\x1b" in line for line in lines)


def test_a_store_that_cannot_open_is_one_error_line(tmp_path) -> None:
    # In a subprocess, as an operator runs it: one line, no thread traceback after it (aiosqlite's
    # worker thread for a failed connection used to outlive the command's event loop).
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "missing-dir" / "feeds.db"), encoding="utf-8")
    result = feedsvc(tmp_path, "status", "--config", str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("feedsvc: error: SQLite store ")
    assert result.stderr.endswith(": unable to open database file\n") and result.stderr.count("\n") == 1


async def served_status(config_path: Path) -> dict:
    """/status.json from the real app over the same store."""
    config = load_config(str(config_path))
    store = open_store(config.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as client:
            return await (await client.get("/status.json")).json()
    finally:
        await store.close()


def test_the_command_and_status_json_agree(config_path, capsys) -> None:
    now = datetime.now(UTC)
    asyncio.run(record(config_path, report("a", now - timedelta(minutes=1)),
                       report("b", now - timedelta(minutes=1), error="HTTP 500")))
    code, lines, _ = status(config_path, capsys)
    doc = asyncio.run(served_status(config_path))
    assert (code, doc["status"]) == (0, "degraded") and lines[0].startswith("status: degraded")
    assert {key: section["status"] for key, section in doc["sections"].items()} == {
        key: row[1] for key, row in rows(lines).items()}
