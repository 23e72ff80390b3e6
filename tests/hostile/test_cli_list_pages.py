"""A list page given where an article or a home page is expected is called what it is:
`feedsvc preview URL` on a list page says so and shows its links; `feedsvc discover` on a section
page warns that it is not the home page."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.cli import main
from tests.hostile.test_cli_terminal import config_for, serving
from tests.support.upstream import http_response

REPO = Path(__file__).resolve().parents[2]
SEEDS = str(REPO / "seeds")
CONFIG = str(REPO / "config.yaml")


def test_preview_of_a_list_page_says_it_is_one_and_shows_its_links(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "http://www.cxnews.cn/cixi/", "--config", CONFIG, "--seeds", SEEDS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("http://www.cxnews.cn/cixi/ (200, utf-8) looks like a list page, not an article: "
                             "5 article links"), out[0]
    assert "http://www.cxnews.cn/system/2021/12/08/030312345.shtml" in out[2]
    assert any("give a section `url:` this address" in line for line in out)


def test_preview_of_an_article_is_not_taken_for_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://www.cxnews.cn/system/2021/12/06/030312077.shtml"  # it lists related articles below its text
    assert main(["preview", url, "--config", CONFIG, "--seeds", SEEDS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"article {url} (200, utf-8)") and "looks like a list page" not in out


def test_discover_of_a_section_page_warns_it_is_not_the_home_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "http://www.cxnews.cn/cixi/", "--seeds", SEEDS]) == 0
    captured = capsys.readouterr()
    warning = ("http://www.cxnews.cn/cixi/ looks like a section page, not the site's home page: its navigation "
               "links to http://www.cxnews.cn/ (首页); for the whole site run `feedsvc discover http://www.cxnews.cn/`")
    assert f"feedsvc: warning: {warning}" in captured.err.splitlines()
    assert f"  # warning: {warning}" in captured.out.splitlines()


def test_discover_of_the_home_page_gives_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "http://www.cxnews.cn/", "--seeds", SEEDS]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err + captured.out


def test_preview_of_a_bare_list_page_with_no_article_in_it_shows_its_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No title, no text: read as an article it is an error; read as a list it is eight links.
    links = "".join(f"<li><a href='/system/2024/01/0{i}/{i}.shtml'>慈溪新闻稿件标题第{i}条</a></li>" for i in range(1, 9))
    with serving({"/list/": http_response(200, f"<html><body><ul>{links}</ul></body></html>")}) as up:
        code = main(["preview", f"{up.origin}/list/", "--config", str(config_for(tmp_path, up.origin))])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"{up.origin}/list/ (200, utf-8) looks like a list page, not an article: 8 article links and no article text"
    assert [line.split()[-1] for line in out[1:9]] == [f"{up.origin}/system/2024/01/0{i}/{i}.shtml" for i in range(1, 9)]
