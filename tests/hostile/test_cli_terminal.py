"""Page text never reaches the operator's terminal raw: `feedsvc preview` and `feedsvc discover`
escape control characters (ANSI escapes, 8-bit CSI, bidi overrides) in everything they print."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from feedsvc.cli import main
from tests.support.upstream import RawUpstream, http_response

# A screen clear and a window title (as character references: lxml keeps them), the 8-bit CSI and a
# right-to-left override (raw UTF-8: both are characters HTML and XML allow). They sit in titles,
# labels and the source line, not in the body: control characters in a body are another item's.
HOSTILE = "&#27;[2J&#27;]0;owned&#7;\u009b31m\u202e"
RAW = ("\x1b", "\x07", "\u009b", "\u202e")
TEXT = "慈溪市今天举行了一场活动，很多市民参加，现场气氛热烈。"
# Enough ordinary text that a few control characters are not taken for a binary file.
FOOTER = f"<div class='footer'><p>{TEXT * 40}</p></div>"
ARTICLE = (f"<html><head><title>新闻{HOSTILE}</title></head><body><div class='heading'><h1>标题{HOSTILE}</h1></div>"
           f"<div class='source'>2024-01-08 10:00 来源：{HOSTILE}慈溪日报</div><div id='Zoom'><p>{TEXT * 12}</p>"
           f"</div>{FOOTER}</body></html>")


def config_for(tmp_path: Path, origin: str) -> Path:
    file = tmp_path / "c.yaml"
    file.write_text(
        f"fetch: {{min_delay: 0.01s, retries: 0}}\n"
        f"sites:\n  h:\n    title: H\n    home: {origin}/\n    robots: false\n"
        f"    sections:\n      a: {{title: A, url: '{origin}/list/'}}\n", encoding="utf-8")
    return file


@contextmanager
def serving(routes: dict[str, bytes]) -> Iterator[RawUpstream]:
    """The raw upstream on its own loop in a thread, so the CLI (which runs its own loop) runs in-process."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    up = RawUpstream(routes=dict(routes))
    asyncio.run_coroutine_threadsafe(up.__aenter__(), loop).result(5)
    try:
        yield up
    finally:
        asyncio.run_coroutine_threadsafe(up.__aexit__(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_preview_of_an_article_escapes_control_characters_from_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving({"/system/2024/01/08/1.shtml": http_response(200, ARTICLE)}) as up:
        code = main(["preview", f"{up.origin}/system/2024/01/08/1.shtml", "--config", str(config_for(tmp_path, up.origin))])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "标题" in out and "\\x9b31m\\u202e" in out, out
    assert not any(ch in out + err for ch in RAW), ascii(out)


def test_discover_escapes_control_characters_in_labels_and_reads_them_back(capsys: pytest.CaptureFixture[str]) -> None:
    label = "要闻\u009b2J\u202e"
    links = "".join(f"<li><a href='/system/2024/01/0{i}/{i}.shtml'>慈溪新闻稿件标题第{i}条</a> 2024-01-0{i}</li>"
                    for i in range(1, 6))
    home = (f"<html><head><title>新闻网{HOSTILE}</title></head><body><nav><ul>"
            f"<li><a href='/yw/'>{label}</a></li><li><a href='/sh/'>社会&#27;[2J</a></li></ul></nav>{FOOTER}</body></html>")
    listing = http_response(200, f"<html><body><ul class='list'>{links}</ul>{FOOTER}</body></html>")
    with serving({"/": http_response(200, home), "/yw/": listing, "/sh/": listing}) as up:
        code = main(["discover", f"{up.origin}/"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert not any(ch in out + err for ch in RAW), ascii(out + err)
    # The escapes are YAML escapes in a double-quoted scalar: the label reads back as the page wrote it.
    site = next(iter(yaml.safe_load(f"sites:\n{out}")["sites"].values()))
    assert label in {section["title"] for section in site["sections"].values()}
