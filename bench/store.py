"""Store timings, SQLite beside PostgreSQL: upsert of 20 realistic Chinese entries (new / unchanged /
one changed) and the reads the service makes, the same operations on each store.

    python bench/store.py [--rounds 200] [--pg-server postgresql://postgres@127.0.0.1:5432/postgres]
    python bench/store.py --url sqlite:///:memory:      # one store only

Prints the median and p95 in milliseconds per operation for each store side by side. SQLite is a file
database in a temporary directory (WAL, synchronous=NORMAL, as the service runs it); PostgreSQL is a
throwaway database created on the server (through its maintenance database) and dropped at the end.
Without a server answering, only SQLite is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

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


Figures = dict[str, tuple[float, float]]  # operation -> (median ms, p95 ms)


def summary(times: list[float]) -> tuple[float, float]:
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return statistics.median(times), p95


async def measure(url: str, rounds: int) -> Figures:
    body = SEED.read_text(encoding="utf-8")
    store = open_store(url)
    await store.open()
    out: Figures = {}
    try:
        def upsert(entries: list[Entry], at: datetime) -> Awaitable[object]:
            return store.upsert("cxnews", "cixi", entries, now=at, max_entries=100, max_age_days=30,
                                section_title="慈溪新闻")

        # Fill a second section too, so categories and the window work on a realistic table.
        await store.upsert("cxnews", "local", batch(0, body), now=NOW, max_entries=100, max_age_days=30)
        out["upsert 20 new (window 100, trimming)"] = summary(
            await timed(rounds, lambda i: upsert(batch(1000 + 20 * i, body), NOW + timedelta(seconds=i))))
        steady = batch(1000 + 20 * (rounds - 1), body)
        out["upsert 20 unchanged"] = summary(await timed(rounds, lambda i: upsert(steady, NOW + timedelta(hours=1))))

        def one_changed(i: int) -> Awaitable[object]:
            entries = list(steady)
            entries[0] = replace(entries[0], title=f"更正 {i}")
            return upsert(entries, NOW + timedelta(hours=2, seconds=i))

        out["upsert 20, one changed"] = summary(await timed(rounds, one_changed))
        out["entries() 100 (the whole section)"] = summary(
            await timed(rounds, lambda i: store.entries("cxnews", "cixi")))
        out["entries(limit=20)"] = summary(await timed(rounds, lambda i: store.entries("cxnews", "cixi", limit=20)))
        urls = [e.url for e in steady]
        out["known_urls(20)"] = summary(await timed(rounds, lambda i: store.known_urls("cxnews", urls)))
        out["section_states() + revisions()"] = summary(
            await timed(rounds, lambda i: asyncio.gather(store.section_states(), store.revisions())))
    finally:
        await store.close()
    return out


async def admin(server: str, sql: str) -> None:
    db = await asyncpg.connect(server, timeout=5)
    try:
        await db.execute(sql)
    finally:
        await db.close()


async def with_postgres(server: str, rounds: int) -> Figures | str:
    """The figures on a throwaway database of `server`, or why there are none."""
    name = f"feedsvc_bench_{secrets.token_hex(4)}"
    try:
        await admin(server, f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"no PostgreSQL at {server}: {exc}"
    try:
        return await measure(urlsplit(server)._replace(path=f"/{name}").geturl(), rounds)
    finally:
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table(columns: dict[str, Figures]) -> None:
    names = list(columns)
    print(f"{'operation (ms per call)':<38}" + "".join(f"{n + ' median':>20}{'p95':>8}" for n in names)
          + (f"{'pg/sqlite':>11}" if len(names) == 2 else ""))
    for op in next(iter(columns.values())):
        row = f"{op:<38}" + "".join(f"{columns[n][op][0]:>20.2f}{columns[n][op][1]:>8.2f}" for n in names)
        if len(names) == 2:
            row += f"{columns[names[1]][op][0] / columns[names[0]][op][0]:>10.1f}x"
        print(row)


async def main(args: argparse.Namespace) -> None:
    if args.url:
        table({args.url.split(":", 1)[0]: await measure(args.url, args.rounds)})
        return
    with tempfile.TemporaryDirectory() as tmp:
        columns = {"SQLite": await measure(f"sqlite:///{tmp}/bench.db", args.rounds)}
    postgres = await with_postgres(args.pg_server, args.rounds)
    if isinstance(postgres, str):
        print(postgres + "; SQLite only")
    else:
        columns["PostgreSQL"] = postgres
    table(columns)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--url", help="measure this one store URL only")
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server to create the throwaway database on (its maintenance database URL)")
    asyncio.run(main(parser.parse_args()))
