"""CLI shell: `python -m feedsvc check|schema|serve|...` run as real subprocesses, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from feedsvc.cli import main
from tests.support import REPO

GOOD = """\
server: {host: 127.0.0.1, port: 8080}
store: {url: "sqlite:///feedsvc.db"}
sites:
  cxnews:
    title: 慈溪新闻网
    home: http://www.cxnews.cn/
    sections:
      cixi: {title: 慈溪新闻, url: "http://www.cxnews.cn/cx/"}
      toutiao: {title: 头条, nav: 头条}
"""

BAD = """\
server:
  port: eighty
sites:
  cxnews:
    title: 慈溪新闻网
    home: http://www.cxnews.cn/
    sections:
      cixi: {title: 慈溪新闻, url: "http://www.cxnews.cn/cx/", refesh: 10m}
"""
BAD_LINES = [
    "feedsvc: error: config.yaml:2: server.port: expected a whole number, got 'eighty'",
    "feedsvc: error: config.yaml:8: sites.cxnews.sections.cixi: 'refesh' is not a known key (did you mean 'refresh'?); "
    "known keys: title, url, nav, description, refresh, section_deadline, max_new, max_entries, max_age_days, rules",
]


def feedsvc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m feedsvc ARGS` in `cwd` with no FEEDSVC_* settings but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    # The subprocess must import this checkout even if the package is not installed.
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "feedsvc", *args], cwd=cwd, env={**clean, **(env or {})},
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_check_ok(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(GOOD, encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "config.yaml: OK — 1 site, 2 sections\n", "")


def test_check_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(BAD, encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [*BAD_LINES, "config.yaml: 2 problems"]
    no_traceback(result)


def test_check_config_option_and_env(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD, encoding="utf-8")
    by_option = feedsvc(tmp_path, "check", "--config", "mine.yaml")
    by_env = feedsvc(tmp_path, "check", env={"FEEDSVC_CONFIG": "mine.yaml"})
    assert by_option.stdout == by_env.stdout == "mine.yaml: OK — 1 site, 2 sections\n"


def test_check_missing_file_exits_2(tmp_path: Path) -> None:
    result = feedsvc(tmp_path, "check", "--config", "absent.yaml")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"feedsvc: error: absent.yaml: file not found (looked for {tmp_path / 'absent.yaml'})"
    no_traceback(result)


def test_check_yaml_syntax_error_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("sites:\n  a: [1,\n", encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr.startswith("feedsvc: error: config.yaml:3: YAML syntax error: ")
    no_traceback(result)


def test_serve_refuses_a_bad_config_with_the_check_text(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(BAD, encoding="utf-8")
    result = feedsvc(tmp_path, "serve", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.splitlines() == BAD_LINES
    assert result.stdout == ""
    no_traceback(result)


@pytest.mark.parametrize("command", ["refresh", "preview cxnews/cixi"])
def test_other_config_commands_refuse_a_bad_config(tmp_path: Path, command: str) -> None:
    (tmp_path / "config.yaml").write_text(BAD, encoding="utf-8")
    result = feedsvc(tmp_path, *command.split())
    assert (result.returncode, result.stderr.splitlines()) == (2, BAD_LINES)


def test_schema_prints_indented_json(tmp_path: Path) -> None:
    result = feedsvc(tmp_path, "schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('{\n  "$schema"')
    schema = json.loads(result.stdout)
    assert "sections" in schema["$defs"]["Site"]["properties"]
    assert "rules" in schema["$defs"]["Section"]["properties"]
    assert "source_file" not in result.stdout


def test_schema_accepts_a_valid_config_and_rejects_an_unknown_key(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    schema = json.loads(feedsvc(tmp_path, "schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load(GOOD)
    assert list(validator.iter_errors(good)) == []

    typo = yaml.safe_load(GOOD.replace("url: \"http://www.cxnews.cn/cx/\"", "url: \"http://www.cxnews.cn/cx/\", refesh: 10m"))
    (error,) = validator.iter_errors(typo)
    assert "refesh" in error.message and list(error.absolute_path) == ["sites", "cxnews", "sections", "cixi"]

    bad_name = yaml.safe_load(GOOD.replace("  cxnews:", "  CX News:"))
    assert not validator.is_valid(bad_name)
    bad_duration = yaml.safe_load(GOOD.replace("{title: 头条, nav: 头条}", "{title: 头条, nav: 头条, refresh: 10x}"))
    assert not validator.is_valid(bad_duration)


def test_no_command_prints_usage_and_exits_2(tmp_path: Path) -> None:
    result = feedsvc(tmp_path)
    assert result.returncode == 2 and "usage: feedsvc" in result.stderr
    no_traceback(result)


def test_bad_arguments_exit_2_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "99999"]) == 2
    assert "99999 is not a port number (0-65535)" in capsys.readouterr().err
    assert main(["nosuch"]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("feedsvc ")


def test_check_in_process_returns_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["check", "--config", str(tmp_path / "c.yaml")]) == 0
    (tmp_path / "c.yaml").write_text(BAD, encoding="utf-8")
    assert main(["check", "--config", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'c.yaml'}:2: server.port: expected a whole number, got 'eighty'" in err


def test_refresh_of_an_unknown_site_is_a_one_line_usage_error_exit_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(GOOD, encoding="utf-8")
    result = feedsvc(tmp_path, "refresh", "nosuchsite")
    assert result.returncode == 2
    assert result.stderr.startswith("feedsvc: error: ") and len(result.stderr.splitlines()) == 1
    assert "nosuchsite" in result.stderr
    no_traceback(result)


def test_demo_without_a_replica_names_the_folder_on_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.yaml").write_text(GOOD, encoding="utf-8")
    missing = tmp_path / "no-seeds"
    assert main(["demo", "--config", str(tmp_path / "c.yaml"), "--seeds", str(missing)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"feedsvc: error: {missing}: no replica site here")


def test_preview_against_the_replica_shows_links_and_the_first_article(
    capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", "cxnews/cixi", "--config", str(REPO / "config.yaml"), "--seeds", str(REPO / "seeds")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "nav label '慈溪新闻' → http://www.cxnews.cn/cixi/" in out
    assert "article http://www.cxnews.cn/system/" in out and "  title      " in out


@pytest.mark.parametrize("command", ["check", "schema"])
def test_check_and_schema_stay_light(tmp_path: Path, command: str) -> None:
    # Each command's module is imported when it runs: validating a config never loads the service.
    (tmp_path / "config.yaml").write_text(GOOD, encoding="utf-8")
    code = ("import contextlib, io, sys\nfrom feedsvc.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main([{command!r}]) == 0\n"
            "heavy = sorted(m for m in ('aiohttp', 'feedsvc.app', 'feedsvc.store', 'feedsvc.fetch')"
            " if m in sys.modules)\nassert not heavy, heavy\n")
    repo = str(Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": repo}, timeout=60)
    assert result.returncode == 0, result.stderr


def test_preview_of_an_unknown_section_names_what_exists_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    repo = Path(__file__).resolve().parents[1]
    assert main(["preview", "cxnews/nosuch", "--config", str(repo / "config.yaml")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("feedsvc: error: unknown section 'nosuch' of site 'cxnews'; sections: ")
