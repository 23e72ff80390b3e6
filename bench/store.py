"""Store timings: upsert of 20 realistic Chinese entries (new / unchanged / one changed) and reads.

    python bench/store.py [--rounds 200] [--url sqlite:///:memory:]

Prints the median and p95 in milliseconds per operation. A file database in a temporary directory
is the default (WAL, synchronous=NORMAL, as the service runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedsvc.model import Entry
from feedsvc.store import open_store

SEED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed_article.txt"  # the real seed article
NOW = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def batch(start: int, body: str) -> list[Entry]:
    """20 entries like a cxnews list page after extraction: ~4 KB of HTML each."""
    paragraphs = [p.strip() for p in body.splitlines() if len(p.strip()) > 30] or [body]
    html = "".join(f"<p>{p}</p>" for p in paragraphs)[:4000]
    return [
        Entry(
            url=f"http://www.cxnews.cn/system/2024/03/01/{n:09d}.shtml",
            title=f"守土有责 坚决打好疫情防控阻击战 第{n}篇", subtitle="章程作工作部署",
            author="记者 王某", source="慈溪新闻网-慈溪日报", editor="范田圆 胡兴家",
            published=NOW - timedelta(minutes=n % 600), summary=paragraphs[0][:120], content_html=html,
        )
        for n in range(start, start + 20)
    ]


async def timed(rounds: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        await op(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def show(name: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    print(f"{name:<40} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms   (n={len(times)})")


async def main(url: str, rounds: int) -> None:
    body = SEED.read_text(encoding="utf-8")
    store = open_store(url)
    await store.open()
    try:
        def upsert(entries: list[Entry], at: datetime) -> Awaitable[object]:
            return store.upsert("cxnews", "cixi", entries, now=at, max_entries=100, max_age_days=30,
                                section_title="慈溪新闻")

        # Fill a second section too, so categories and the window work on a realistic table.
        await store.upsert("cxnews", "local", batch(0, body), now=NOW, max_entries=100, max_age_days=30)
        show("upsert 20 new (window 100, trimming)",
             await timed(rounds, lambda i: upsert(batch(1000 + 20 * i, body), NOW + timedelta(seconds=i))))
        steady = batch(1000 + 20 * (rounds - 1), body)
        show("upsert 20 unchanged", await timed(rounds, lambda i: upsert(steady, NOW + timedelta(hours=1))))

        def one_changed(i: int) -> Awaitable[object]:
            entries = list(steady)
            entries[0] = replace(entries[0], title=f"更正 {i}")
            return upsert(entries, NOW + timedelta(hours=2, seconds=i))

        show("upsert 20, one changed", await timed(rounds, one_changed))
        show("entries() 100 (the whole section)", await timed(rounds, lambda i: store.entries("cxnews", "cixi")))
        show("entries(limit=20)", await timed(rounds, lambda i: store.entries("cxnews", "cixi", limit=20)))
        urls = [e.url for e in steady]
        show("known_urls(20)", await timed(rounds, lambda i: store.known_urls("cxnews", urls)))
    finally:
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--url", help="store URL (default: a file database in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.url or f"sqlite:///{tmp}/bench.db", args.rounds))
