"""`feedsvc refresh` counts every request sent and every byte read, those of fetches that failed
included (issue 7 #24): a body read up to the size cap is bytes read, not "KB 0"."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.cli_site import LIST_PATH, SECTION, SITE, news_site, refresh_cli, write_config
from tests.support.upstream import RawUpstream

ARTICLE = "/news/2024/01/08/1.html"
LIST_HTML = f"<html><body><ul class='list'><li><a href='{ARTICLE}'>本地新闻一则，标题足够长</a></li></ul></body></html>"
CAP = 64 * 1024
# No Content-Length: the body is read until it passes the cap, then the fetch fails.
OVERSIZED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
             + b"<p>" + b"x" * (4 * CAP) + b"</p>")


def table_row(out: str) -> dict[str, str]:
    """The section's row of the refresh table, by column name."""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("section ")).split()  # after the log lines
    row = next(line for line in lines if line.startswith(f"{SITE}/{SECTION} "))
    return dict(zip(header, row.split(), strict=True))


async def test_an_article_over_the_size_cap_counts_its_request_and_the_bytes_read(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes.update(news_site(LIST_HTML, {ARTICLE: OVERSIZED}))
        config = write_config(tmp_path, site.origin, site_extra="robots: false", fetch_extra=f"max_bytes: {CAP}")
        code, out = await refresh_cli(config)
    assert code == 0, out
    row = table_row(out)
    assert (row["status"], row["fetched"], row["failed"], row["requests"]) == ("ok", "0", "1", "2"), out
    assert int(row["KB"]) >= CAP // 1024, out


async def test_a_failed_list_page_counts_its_request_and_the_bytes_read(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes[LIST_PATH] = OVERSIZED
        config = write_config(tmp_path, site.origin, site_extra="robots: false", fetch_extra=f"max_bytes: {CAP}")
        code, out = await refresh_cli(config)
    assert code == 1, out
    row = table_row(out)
    assert (row["status"], row["requests"]) == ("FAILED", "1"), out
    assert int(row["KB"]) >= CAP // 1024, out
