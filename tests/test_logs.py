"""Logs and progress, through the real CLI: `--log-format text|json` (and $FEEDSVC_LOG_FORMAT), one log
line per refresh with its figures, the access log of `feedsvc serve`, and `feedsvc refresh`'s progress:
a bar on a terminal (a pty here), plain log lines otherwise. The news fixture site runs on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import pty
import re
import signal
import socket
import struct
import sys
import termios
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from feedsvc.logs import JsonFormatter, TextFormatter
from tests.support import until
from tests.support.command import command_env, feedsvc, write_config
from tests.support.news_site import FixtureSite

RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
TEXT_LINE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (INFO|WARNING|ERROR) [\w.]+: .*")
REFRESH_FIELDS = {"site", "section", "outcome", "new", "updated", "links", "articles_fetched", "articles_failed",
                  "requests", "bytes", "duration_seconds", "next_due", "consecutive_failures"}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as one JSON object (fails on any line that is not one)."""
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def refresh_lines(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_section: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line["logger"] == "feedsvc.refresh" and "outcome" in line:
            by_section.setdefault(f"{line['site']}/{line['section']}", []).append(line)
    return by_section


# -- feedsvc refresh, not on a terminal: one log line per section --------------------------------------

async def test_refresh_logs_one_json_line_per_section_with_its_figures(site, tmp_path):
    fixture, port = site
    write_config(tmp_path, port)
    code, out, err = await feedsvc(tmp_path, "--log-format", "json", "refresh")
    assert code == 0, err
    lines = json_lines(err)
    for line in lines:
        assert RFC3339_UTC.fullmatch(line["time"]), line
        assert line["level"] in {"INFO", "WARNING"} and line["logger"] and line["message"], line
    refreshes = refresh_lines(lines)
    assert sorted(refreshes) == ["news/a", "news/b"] and all(len(v) == 1 for v in refreshes.values()), refreshes
    a, b = refreshes["news/a"][0], refreshes["news/b"][0]
    assert REFRESH_FIELDS <= set(a), sorted(a)
    assert (a["outcome"], a["new"], a["articles_fetched"], a["articles_failed"], a["links"]) == ("ok", 4, 4, 0, 4)
    assert (b["outcome"], b["new"], b["articles_fetched"]) == ("ok", 3, 3)
    # robots.txt, the list and four articles; every body byte counted; due again in one default interval.
    assert a["requests"] == 6 and a["bytes"] > 1000 and a["duration_seconds"] >= 0, a
    assert a["consecutive_failures"] == 0 and a["level"] == "INFO"
    assert a["next_due"] and a["next_due"].endswith("+00:00") and "error" not in a
    assert a["message"].startswith("news/a: ok, 4 new, 0 updated, 4 links; articles 4 fetched, 0 failed; 6 requests")
    # The summary table still goes to stdout, and nothing else did.
    assert out.splitlines()[0].split() == ["section", "status", "links", "new", "fetched", "failed", "requests",
                                           "KB", "seconds"]
    assert out.splitlines()[-1].startswith("2 sections, 0 failed")

    # Again: both lists answer 304, and a broken list page of b fails it: one line each, b a WARNING.
    fixture.modes["b"] = "5xx"
    code, out, err = await feedsvc(tmp_path, "refresh", "--log-format", "json")  # the option after the command
    assert code == 1
    refreshes = refresh_lines(json_lines(err))
    assert all(len(v) == 1 for v in refreshes.values()) and len(refreshes) == 2
    a, b = refreshes["news/a"][0], refreshes["news/b"][0]
    # A new process reads robots.txt again, then the list page answers 304.
    assert (a["outcome"], a["new"], a["articles_fetched"], a["requests"]) == ("not_modified", 0, 0, 2)
    assert (b["outcome"], b["level"], b["consecutive_failures"]) == ("failed", "WARNING", 1)
    assert b["error"].startswith("HTTP 502") and b["message"].startswith("news/b: failed (1 in a row): HTTP 502")


async def test_refresh_logs_text_lines_by_default_and_json_by_the_environment(site, tmp_path):
    fixture, port = site
    write_config(tmp_path, port)
    code, out, err = await feedsvc(tmp_path, "refresh")
    assert code == 0, err
    lines = err.splitlines()
    assert lines and all(TEXT_LINE.fullmatch(line) for line in lines), lines
    refresh = [line for line in lines if " INFO feedsvc.refresh: news/" in line]
    assert len(refresh) == 2, lines
    assert "news/a: ok, 4 new, 0 updated, 4 links; articles 4 fetched, 0 failed; 6 requests" in refresh[0] + refresh[1]
    assert all("; next due 20" in line for line in refresh)

    code, out, err = await feedsvc(tmp_path, "refresh", env=command_env(FEEDSVC_LOG_FORMAT="json"))
    assert code == 0 and sorted(refresh_lines(json_lines(err))) == ["news/a", "news/b"]
    # The option wins over the variable.
    code, out, err = await feedsvc(tmp_path, "--log-format", "text", "refresh",
                                   env=command_env(FEEDSVC_LOG_FORMAT="json"))
    assert code == 0 and all(TEXT_LINE.fullmatch(line) for line in err.splitlines())


async def test_an_unknown_log_format_is_a_one_line_usage_error(tmp_path):
    (tmp_path / "config.yaml").write_text("sites: {}\n", encoding="utf-8")
    code, out, err = await feedsvc(tmp_path, "--log-format", "xml", "refresh")
    assert code == 2 and "feedsvc: error: argument --log-format: invalid choice: 'xml'" in err
    code, out, err = await feedsvc(tmp_path, "refresh", env=command_env(FEEDSVC_LOG_FORMAT="yaml"))
    assert (code, out) == (2, "")
    assert err == "feedsvc: error: $FEEDSVC_LOG_FORMAT: 'yaml' is not a log format (choose from text, json)\n"


# -- feedsvc refresh on a terminal: a progress bar ------------------------------------------------------

def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side of the pty is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("columns", [100, 0])  # 0: a terminal that does not say its size
async def test_refresh_shows_a_progress_bar_on_a_terminal_and_the_table_on_stdout(site, tmp_path, columns):
    fixture, port = site
    write_config(tmp_path, port)
    fixture.modes["b"] = "5xx"
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24 if columns else 0, columns, 0, 0))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "feedsvc", "refresh", cwd=tmp_path, env=command_env(),
            stdout=asyncio.subprocess.PIPE, stderr=terminal)
        os.close(terminal)
        shown, (out, _) = await asyncio.gather(
            asyncio.get_running_loop().run_in_executor(None, read_all, master),
            asyncio.wait_for(proc.communicate(), 120))
    finally:
        os.close(master)
    screen = shown.decode()
    assert proc.returncode == 1, screen
    # tqdm's bar, redrawn in place: the sections done of two, and the failures so far.
    assert "\r" in screen and "refreshing" in screen and "2/2" in screen and "1 failed" in screen, screen
    # Only warnings reach a terminal as log lines (b's failure, above the bar); no INFO line of a's figures.
    assert "WARNING feedsvc.refresh: news/b: failed (1 in a row): HTTP 502" in screen
    assert "INFO" not in screen and "news/a: ok" not in screen
    table = out.decode().splitlines()
    assert table[0].startswith("section") and "news/a" in table[1] and "FAILED" in table[2]
    assert "\r" not in out.decode() and "refreshing" not in out.decode()


def test_a_pipe_gets_no_progress_bar(tmp_path):
    # The other half of the test above, with no fixture site: a section that cannot be reached.
    (tmp_path / "config.yaml").write_text(
        "fetch: {retries: 0, connect_timeout: 1s, total_timeout: 2s}\n"
        "sites:\n  dead:\n    title: Dead\n    home: http://127.0.0.1:9/\n"
        "    sections:\n      news: {title: News, url: 'http://127.0.0.1:9/news/'}\n", encoding="utf-8")
    code, out, err = asyncio.run(feedsvc(tmp_path, "refresh"))
    assert code == 1
    assert "\r" not in err and "refreshing" not in err
    assert [line for line in err.splitlines() if "feedsvc.refresh" in line] == [
        line for line in err.splitlines() if "WARNING feedsvc.refresh: dead/news: failed (1 in a row): " in line]


# -- feedsvc serve: the access log and the scheduled refreshes' lines ------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_and_get(tmp_path: Path, port: int, log_format: str, fixture: FixtureSite) -> str:
    """`feedsvc serve` until both sections refreshed and one GET of a feed; its stderr."""
    listen = free_port()
    write_config(tmp_path, port, port=listen)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "feedsvc", "serve", "--log-format", log_format, cwd=tmp_path, env=command_env(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await until(lambda: fixture.hits.count("/a/") >= 1 and fixture.hits.count("/b/") >= 1, "both refreshes",
                    timeout=60)

        def get() -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{listen}/news/a.json?limit=2",  # noqa: S310
                                        timeout=5) as resp:
                resp.read()
                return int(resp.status)

        for _ in range(100):
            try:
                assert await asyncio.to_thread(get) == 200
                break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the access line and the second refresh's line are written
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    # serve prints its address once, a line for a person starting it, not a log record (commands/serve.py).
    lines = err.decode().splitlines()
    assert lines.count(f"feedsvc serving http://127.0.0.1:{listen}/") == 1, lines
    return "\n".join(line for line in lines if not line.startswith("feedsvc serving "))


async def test_serve_logs_json_access_lines_and_one_refresh_line_per_section(site, tmp_path):
    fixture, port = site
    lines = json_lines(await serve_and_get(tmp_path, port, "json", fixture))
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert access, lines
    feed = [line for line in access if line["path"] == "/news/a.json?limit=2"]
    assert len(feed) == 1, access
    assert {k: feed[0][k] for k in ("level", "method", "status", "remote")} == {
        "level": "INFO", "method": "GET", "status": 200, "remote": "127.0.0.1"}
    assert isinstance(feed[0]["bytes"], int) and feed[0]["bytes"] > 0 and RFC3339_UTC.fullmatch(feed[0]["time"])
    refreshes = refresh_lines(lines)
    assert {key: len(v) for key, v in refreshes.items()} == {"news/a": 1, "news/b": 1}, refreshes
    assert refreshes["news/a"][0]["new"] == 4 and refreshes["news/b"][0]["new"] == 3
    # The scheduler no longer says it a second time.
    assert not [line for line in lines if line["logger"] == "feedsvc.scheduler" and "news/a: ok" in line["message"]]


async def test_serve_text_log_keeps_its_lines(site, tmp_path):
    fixture, port = site
    lines = (await serve_and_get(tmp_path, port, "text", fixture)).splitlines()
    assert all(TEXT_LINE.fullmatch(line) for line in lines), lines
    access = [line for line in lines if " INFO aiohttp.access: " in line]
    assert len(access) == 1 and '"GET /news/a.json?limit=2 HTTP/1.1" 200 ' in access[0], access
    assert len([line for line in lines if " feedsvc.refresh: news/a: ok, 4 new" in line]) == 1


# -- what a page may hold never reaches a terminal or a log shipper raw ----------------------------------

HOSTILE = "标题\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe\u2028next\r\nline"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("feedsvc.refresh", logging.WARNING, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


def test_text_lines_escape_control_characters_from_pages():
    line = TextFormatter().format(record("news/a: %s", HOSTILE))
    assert "\n" not in line and "\x1b" not in line and "\x9b" not in line and "\u202e" not in line
    assert line.endswith(r"news/a: 标题\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe\u2028next\x0d\x0aline")


def test_json_lines_escape_control_characters_and_keep_the_text():
    line = JsonFormatter().format(record("news/a: %s", HOSTILE, error=HOSTILE, bytes=12))
    assert "\n" not in line and not re.search("[\x00-\x1f\x7f-\x9f\u202e\u2028]", line), line
    assert "标题" in line  # CJK stays readable, not \\u-escaped
    parsed = json.loads(line)
    assert parsed["message"] == f"news/a: {HOSTILE}" and parsed["error"] == HOSTILE and parsed["bytes"] == 12


def test_json_lines_carry_the_traceback_as_a_field():
    try:
        raise ValueError("bad \x1b[31m value")
    except ValueError:
        rec = logging.LogRecord("feedsvc", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    parsed = json.loads(JsonFormatter().format(rec))
    assert parsed["level"] == "ERROR" and parsed["exc_info"].startswith("Traceback")
    assert "ValueError: bad \x1b[31m value" in parsed["exc_info"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_configure_logging_replaces_its_own_handler_and_keeps_it_when_asked_nothing(fmt):
    from feedsvc.logs import LogHandler, configure_logging

    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging(fmt)
        configure_logging(None)  # a command's own setup_logging() after the command line's
        ours = [h for h in root.handlers if isinstance(h, LogHandler)]
        assert len(ours) == 1
        assert isinstance(ours[0].formatter, JsonFormatter if fmt == "json" else TextFormatter)
        configure_logging("json" if fmt == "text" else "text")
        assert len([h for h in root.handlers if isinstance(h, LogHandler)]) == 1
    finally:
        root.handlers[:] = before
        root.setLevel(level)


def test_the_command_run_in_process_leaves_logging_as_it_found_it(tmp_path, capsys):
    from feedsvc.cli import main
    from feedsvc.logs import LogHandler

    (tmp_path / "c.yaml").write_text(
        "fetch: {retries: 0, connect_timeout: 1s, total_timeout: 2s}\n"
        f"store: {{url: 'sqlite:///{tmp_path / 'x.db'}'}}\n"
        "sites:\n  dead:\n    title: Dead\n    home: http://127.0.0.1:9/\n"
        "    sections:\n      news: {title: News, url: 'http://127.0.0.1:9/news/'}\n", encoding="utf-8")
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    assert main(["--log-format", "json", "refresh", "--config", str(tmp_path / "c.yaml")]) == 1
    assert (root.handlers, root.level) == (before, level)
    assert not [h for h in root.handlers if isinstance(h, LogHandler)]
    err = capsys.readouterr().err
    assert [line["outcome"] for line in json_lines(err) if line["logger"] == "feedsvc.refresh"] == ["failed"]
