"""The whole path for hostile-page tests: a scripted site on a RawUpstream, refreshed by the real
`feedsvc refresh` command, its feeds read back over HTTP from the real web app.

    async with RawUpstream() as up:
        up.routes.update(news_site(list_html, {"/a/2021/12/08/1.html": article_html}))
        config = write_config(tmp_path, up.origin)
        code, out = await refresh_cli(config)
        feeds = await read_feeds(config)      # {"rss": bytes, "atom": bytes, "json": bytes, ...}
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from feedsvc.cli import main
from feedsvc.config import load_config
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.support.upstream import RawAnswer, http_response

SITE, SECTION = "hostile", "news"
LIST_PATH = "/list/"


def news_site(list_html: str, articles: dict[str, RawAnswer | str]) -> dict[str, RawAnswer]:
    """Routes of a one-section site: the list page and its articles (str bodies are served as UTF-8 HTML)."""
    routes: dict[str, RawAnswer] = {LIST_PATH: http_response(200, list_html)}
    for path, answer in articles.items():
        routes[path] = http_response(200, answer) if isinstance(answer, str) else answer
    return routes


def write_config(tmp_path: Path, origin: str, *, max_age_days: int = 3650, sections: dict[str, str] | None = None,
                 site_extra: str = "", fetch_extra: str = "") -> Path:
    """A config with one site at `origin`, SQLite in tmp_path. Its sections are `sections` (name → YAML
    flow mapping), by default one, SECTION, with its list page at LIST_PATH; `site_extra` holds more
    of the site's keys, one per line (e.g. "robots: false"); `fetch_extra` more fetch settings
    (e.g. "max_bytes: 65536")."""
    sections = sections or {SECTION: f'{{title: 要闻, url: "{origin}{LIST_PATH}"}}'}
    lines = "".join(f"      {name}: {spec}\n" for name, spec in sections.items())
    extra = "".join(f"    {line}\n" for line in site_extra.splitlines())
    path = tmp_path / "config.yaml"
    path.write_text(f"""
store: {{url: "sqlite:///{tmp_path / 'feeds.db'}", max_entries: 50, max_age_days: {max_age_days}}}
fetch: {{connect_timeout: 1s, read_timeout: 1s, total_timeout: 3s, min_delay: 0.001s, retries: 0, backoff: 0.01s{", " + fetch_extra if fetch_extra else ""}}}
sites:
  {SITE}:
    title: 测试站
    home: {origin}/
{extra}    sections:
{lines}""", encoding="utf-8")
    return path


async def run_cli(*argv: str) -> tuple[int, str]:
    """`feedsvc ARGV` in a worker thread (it runs its own event loop): exit code and output (both streams)."""

    def run() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(list(argv))
        return code, out.getvalue()

    return await asyncio.to_thread(run)


async def refresh_cli(config: Path) -> tuple[int, str]:
    """`feedsvc refresh --config CONFIG`: exit code and output."""
    return await run_cli("refresh", "--config", str(config))


async def read_feeds(config: Path) -> dict[str, bytes | str]:
    """The section's feed in every format, as served; "last-modified" holds the RSS answer's header."""
    cfg = load_config(str(config))
    store = open_store(cfg.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(cfg, store), host="127.0.0.1")) as client:
            feeds: dict[str, bytes | str] = {}
            for fmt in ("rss", "atom", "json"):
                resp = await client.get(f"/{SITE}/{SECTION}.{fmt}")
                assert resp.status == 200, (fmt, resp.status)
                feeds[fmt] = await resp.read()
                feeds["last-modified"] = resp.headers["Last-Modified"]
            return feeds
    finally:
        await store.close()
