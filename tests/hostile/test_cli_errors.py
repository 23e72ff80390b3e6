"""One error format for every command: `feedsvc: error: …` on stderr, control characters escaped,
and the documented exit codes (0 ok, 1 the work failed, 2 usage or config error)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from feedsvc.cli import main
from tests.test_cli import feedsvc, no_traceback

REPO = Path(__file__).resolve().parents[2]


def test_a_bad_argument_to_a_command_uses_the_one_error_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "99999"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "feedsvc: error: argument --port: 99999 is not a port number (0-65535)"


@pytest.mark.parametrize(("args", "message"), [
    (["refresh", "cxnews/nosuch"], "feedsvc: error: unknown section 'nosuch' of site 'cxnews'; sections: "),
    (["refresh", "nosite"], "feedsvc: error: unknown site 'nosite'; sites: cxnews"),
    (["preview", "cxnews"], "feedsvc: error: preview needs SITE/SECTION or an http(s) URL, not 'cxnews'"),
])
def test_an_unknown_site_or_section_is_a_usage_error_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([*args, "--config", str(REPO / "config.yaml")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message)


def test_control_characters_in_an_error_are_escaped(tmp_path: Path) -> None:
    # A config key holding a screen clear and a window title: the error quotes the key, never the bytes.
    (tmp_path / "config.yaml").write_text('"\\e[2J\\e]0;owned\\a\\u202e": 1\n', encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first == ("feedsvc: error: config.yaml:1: \\x1b[2J\\x1b]0;owned\\x07\\u202e: control character U+001B in "
                     "the text '\\x1b[2J\\x1b]0;owned\\x07\\u202e'")
    assert not any(ch in result.stderr for ch in "\x1b\x07\u202e")


def test_a_busy_port_is_one_error_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("sites: {}\n", encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = feedsvc(tmp_path, "serve", "--port", str(busy.getsockname()[1]))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("feedsvc: error: "), result.stderr
    no_traceback(result)

