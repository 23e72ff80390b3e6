"""Hostile charset labels: a page that names a codec no browser knows is read like one with an unknown label.

Python's codec registry knows names no web page may mean: `undefined` (a codec whose every decode
raises a bare UnicodeError), `unicode_escape`, `utf-7`. Through the real fetcher against a raw server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedsvc.fetch import Fetcher
from feedsvc.model import FetchSettings, Origins
from tests.support.upstream import RawUpstream, http_response

TEXT = "慈溪新闻网记者熊洲报道：守土有责 守土担责。"
SETTINGS = FetchSettings(min_delay=timedelta(0), retries=0)


def page(meta: str = "") -> bytes:
    return f"<html><head>{meta}<title>新闻</title></head><body><p>{TEXT}</p></body></html>".encode()


async def fetch(upstream: RawUpstream, path: str) -> str | None:
    async with Fetcher(SETTINGS) as fetcher:
        allowed = Origins.of(urls=[upstream.origin])
        result = await fetcher.get(f"{upstream.origin}{path}", allowed=allowed, robots=False)
    return result.text


@pytest.mark.parametrize("label", ["undefined", "UNDEFINED", "unicode_escape", "utf-7", "x-no-such-codec"])
async def test_a_header_charset_no_browser_knows_falls_back_to_detection(label: str) -> None:
    async with RawUpstream() as up:
        up.routes["/p"] = http_response(200, page(), headers={"Content-Type": f"text/html; charset={label}"})
        text = await fetch(up, "/p")
    assert text is not None and TEXT in text


@pytest.mark.parametrize("label", ["undefined", "unicode_escape"])
async def test_a_meta_charset_no_browser_knows_falls_back_to_detection(label: str) -> None:
    async with RawUpstream() as up:
        up.routes["/p"] = http_response(200, page(f'<meta charset="{label}">'), headers={"Content-Type": "text/html"})
        text = await fetch(up, "/p")
    assert text is not None and TEXT in text
