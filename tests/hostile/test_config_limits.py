"""Hostile config files: `feedsvc check` answers every one with exit 2 and file:line, fast, and
every value it passes can be run (the extremes go through the date arithmetic refresh and the
scheduler do)."""

from __future__ import annotations

import resource
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.config import load_config
from feedsvc.schedule import next_delay
from tests.test_cli import feedsvc, no_traceback

SITE = """\
sites:
  s:
    title: S
    home: http://s.example/
    sections:
      a: {title: A, url: "http://s.example/a/"}
"""


def billion_laughs() -> str:
    """~340 bytes that expand to 9**9 values: each of 8 lists repeats the one before it 9 times."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    return text


def _limit_memory() -> None:
    # Before the fix the bomb grows without bound: let it fail fast instead of swapping the machine.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_check_refuses_a_yaml_alias_bomb_at_its_line_in_a_moment(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(billion_laughs(), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "feedsvc", "check"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=10, preexec_fn=_limit_memory)
    assert result.returncode == 2, result.stderr[-500:]
    first = result.stderr.splitlines()[0]
    assert first.startswith("feedsvc: error: config.yaml:9: i: aliases (*name) expand this to "), first
    no_traceback(result)


def test_check_refuses_500_levels_of_nesting_without_a_recursion_error(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("server: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "feedsvc: error: config.yaml:1: nested too deeply (at most 32 levels of lists and mappings)")
    no_traceback(result)


def test_check_refuses_a_recursive_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text("sites: &s {x: *s}\n", encoding="utf-8")
    assert main(["check", "--config", str(tmp_path / "c.yaml")]) == 2
    assert f"{tmp_path / 'c.yaml'}:1: sites.x: an alias refers to a value that contains it" in capsys.readouterr().err


@pytest.mark.parametrize(("setting", "message"), [
    ("defaults: {refresh: 999999999999d}\n", "1: defaults.refresh: '999999999999d' is too long (at most 30d)"),
    ("defaults: {refresh: 99999999d}\n", "1: defaults.refresh: '99999999d' is too long (at most 30d)"),
    ("defaults: {refresh: .inf}\n", "1: defaults.refresh: inf is too long (at most 30d)"),
    ("defaults: {refresh: .nan}\n", "1: defaults.refresh: nan is not a positive duration (use 30s, 15m, 2h)"),
    ("fetch: {total_timeout: 31d}\n", "1: fetch.total_timeout: '31d' is too long (at most 30d)"),
    ("store: {max_age_days: 3000000}\n", "1: store.max_age_days: must be at most 36500, got 3000000"),
    ("store: {max_entries: 99999999999999999999999}\n",
     "1: store.max_entries: must be at most 100000, got 99999999999999999999999"),
    ('fetch: {user_agent: "bot\\nX-Evil: 1"}\n',
     "1: fetch.user_agent: 'bot\\nX-Evil: 1' cannot be sent in an HTTP header (no line breaks or control characters)"),
    ('sites: {s: {title: "S\\x01"}}\n', "1: sites.s.title: control character U+0001 in the text 'S\\x01'"),
    ("defaults: {language: zh\x01}\n", "1: character U+0001 is not allowed in a YAML file (a control character: remove it)"),
    ("store: {max_entries: " + "9" * 5000 + "}\n",
     "1: store.max_entries: a number of 5000 digits is not a usable setting"),
])
def test_check_refuses_values_no_refresh_could_run_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(setting + SITE, encoding="utf-8")
    assert main(["check", "--config", str(file)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == f"feedsvc: error: {file}:{message}"


def test_the_extremes_check_passes_work_in_date_arithmetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "c.yaml"
    for beyond in ("store: {max_age_days: 36501}\n", "defaults: {refresh: 2592001s}\n"):  # one past each bound
        file.write_text(beyond + SITE, encoding="utf-8")
        assert main(["check", "--config", str(file)]) == 2, beyond
    file.write_text("store: {max_age_days: 36500, max_entries: 100000}\n"
                    "defaults: {refresh: 30d, max_new: 1000, article_attempts: 100}\n"
                    "fetch: {total_timeout: 30d, backoff: 30d, max_retry_after: 30d, min_delay: 30d}\n"
                    + SITE.replace("{title: A,", "{title: A, max_age_days: 36500, refresh: 30d,"), encoding="utf-8")
    assert main(["check", "--config", str(file)]) == 0, capsys.readouterr().err
    (ref,) = load_config(file).section_refs()
    for now in (datetime.now(UTC), datetime(2100, 1, 1, tzinfo=UTC)):
        assert now - timedelta(days=ref.max_age_days) < now  # the rolling window's cutoff
        for failures in (0, 1, 30, 10**6):  # the scheduler's backoff, uncapped and capped
            assert now + next_delay(ref, failures) > now
