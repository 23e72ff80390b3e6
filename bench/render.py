"""Rendering speed: ms per format for a section of 20 realistic Chinese entries with ~3 KB HTML bodies.

    python bench/render.py [--entries 20] [--rounds 200]

Prints the median and best time of one full render (Feed -> FeedDocument) and the body size per format.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from feedsvc.model import Entry, Feed
from feedsvc.render import FORMATS, render

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "tests" / "fixtures" / "seed_article.txt"  # the real seed article, kept in the repository


def seed_paragraphs() -> list[str]:
    """Body paragraphs of the seed article: its long lines that are not menus."""
    paras = [ln.strip() for ln in SEED.read_text("utf-8").splitlines() if len(ln.strip()) > 40 and "|" not in ln]
    assert paras, f"{SEED}: no body paragraphs"
    return paras


def body_html(paras: list[str], n: int, target_bytes: int = 3000) -> str:
    """~3 KB of HTML: rotated seed paragraphs, an image and a link with an escaped ampersand."""
    parts = [f'<p><img src="http://www.cxnews.cn/pic/2021-12/08/{n}.jpg" alt="配图{n}"></p>']
    i = n
    while sum(len(p.encode()) for p in parts) < target_bytes:
        parts.append(f"<p>{paras[i % len(paras)]}</p>")
        i += 1
    parts.append(f'<p>相关链接:<a href="http://www.cxnews.cn/cx/{n}.htm?a=1&amp;b=2">延伸阅读</a></p>')
    return "".join(parts)


def make_feed(count: int) -> Feed:
    sh = ZoneInfo("Asia/Shanghai")
    paras = seed_paragraphs()
    start = datetime(2021, 12, 8, 18, 0, tzinfo=sh)
    entries = []
    for n in range(count):
        published = start - timedelta(hours=3 * n)
        entries.append(
            Entry(
                url=f"http://www.cxnews.cn/cx/2021-12/{8 - n // 8:02d}/content_{5000 - n}.htm",
                title=f"林坚在全市疫情防控工作视频会议上强调 守土有责 “快准严细” 第{n + 1}条",
                subtitle="章程作工作部署" if n % 3 == 0 else None,
                author="全媒体记者 熊洲",
                source="慈溪新闻网-慈溪日报",
                editor="胡兴家",
                published=None if n % 7 == 6 else published,
                first_seen=published + timedelta(minutes=7),
                summary=paras[n % len(paras)][:120],
                content_html=body_html(paras, n),
                image=f"http://www.cxnews.cn/pic/2021-12/08/{n}.jpg",
                categories=("慈溪新闻",),
            )
        )
    return Feed(
        site="cxnews", section="cixi", title="慈溪新闻", link="http://www.cxnews.cn/cx/",
        feed_url_base="http://127.0.0.1:8080/cxnews/cixi", description="慈溪新闻网 · 慈溪新闻",
        site_title="慈溪新闻网", site_home="http://www.cxnews.cn/", entries=tuple(entries),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    feed = make_feed(args.entries)
    avg_body = statistics.mean(len(e.content_html.encode()) for e in feed.entries)
    print(f"{args.entries} entries, mean HTML body {avg_body / 1024:.1f} KiB, {args.rounds} rounds each")
    for fmt in FORMATS:
        for _ in range(10):  # warm-up: imports, regex and zone caches
            render(fmt, feed)
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            doc = render(fmt, feed)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{fmt:5s} median {statistics.median(times):6.2f} ms   best {min(times):6.2f} ms   "
            f"body {len(doc.body) / 1024:6.1f} KiB"
        )


if __name__ == "__main__":
    main()
