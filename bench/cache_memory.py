"""Resident memory of one serving replica after every feed of many sections was requested, with the
feed cache bounded (`server.feed_cache_bytes`, default 64MiB) and, as the reference, practically
unbounded (64GiB: what every version before the budget did).

    python bench/cache_memory.py [--sections 5000] [--sites 50] [--budget 64MiB] [--concurrency 8]

Fills a temporary SQLite store with SECTIONS sections (spread over SITES sites), each listing 20
realistic Chinese entries of its own (bench/serve.py's: the replica site's articles; RSS about 33 KB),
through the store API. Then, for each budget, starts the real app in a subprocess the way `feedsvc serve`
serves it (make_app over the store, serve_until_signal; no scheduler, so nothing is fetched), asks for
every section's feed in all three formats, and prints the process's resident memory (VmRSS) before and
after, its peak (VmHWM), and what GET /metrics says the cache holds. Every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.serve import NOW, entries, stop, wait_ready  # noqa: E402
from feedsvc.config import Config  # noqa: E402
from feedsvc.config.fields import format_byte_size, parse_byte_size  # noqa: E402
from feedsvc.render import FORMATS  # noqa: E402
from tests.nginx_site import free_port  # noqa: E402

UNBOUNDED = 64 * 1024**3  # the largest budget the config takes: nothing is ever evicted here


def sections(count: int, sites: int) -> list[tuple[str, str]]:
    return [(f"site{i % sites}", f"s{i}") for i in range(count)]


def bench_config(db: Path, port: int, keys: list[tuple[str, str]], budget: int) -> Config:
    sites: dict[str, Any] = {}
    for site, section in keys:
        sites.setdefault(site, {"title": f"新闻网 {site}", "home": f"http://www.{site}.cn/", "sections": {}})
        sites[site]["sections"][section] = {"title": f"栏目 {section}", "url": f"http://www.{site}.cn/{section}/"}
    return Config.model_validate({"server": {"host": "127.0.0.1", "port": port, "feed_cache_bytes": budget},
                                  "store": {"url": f"sqlite:///{db}"}, "sites": sites})


async def fill(db: Path, keys: list[tuple[str, str]]) -> None:
    from dataclasses import replace

    from feedsvc.store import open_store

    store = open_store(f"sqlite:///{db}")
    await store.open()
    base = entries()
    try:
        for site, section in keys:
            own = [replace(e, url=e.url.replace("/system/", f"/{section}/")) for e in base]
            await store.upsert(site, section, own, now=NOW, max_entries=100, max_age_days=36500,
                               section_title=section)
    finally:
        await store.close()


def serve(db: Path, port: int, count: int, sites: int, budget: int) -> None:
    """The server process: the app over the filled store, served as `feedsvc serve` serves it."""
    from feedsvc.store import open_store
    from feedsvc.web import make_app, serve_until_signal

    async def main() -> None:
        config = bench_config(db, port, sections(count, sites), budget)
        store = open_store(config.store.url)
        await store.open()
        try:
            await serve_until_signal(make_app(config, store), host="127.0.0.1", port=port)
        finally:
            await store.close()

    asyncio.run(main())


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes (Linux /proc)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(rest.split()[0]) * 1024
    return found


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


async def request_all(base: str, keys: list[tuple[str, str]], concurrency: int) -> int:
    """GET every feed (gzip, as readers ask); the number that did not answer 200."""
    paths = [f"/{site}/{section}.{fmt}" for site, section in keys for fmt in FORMATS]
    failed = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failed
        while not queue.empty():
            path = queue.get_nowait()
            async with session.get(base + path, headers={"Accept-Encoding": "gzip"}) as resp:
                await resp.read()
                failed += resp.status != 200

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return failed


def run(db: Path, args: argparse.Namespace, budget: int, keys: list[tuple[str, str]]) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db), str(port), str(args.sections), str(args.sites), str(budget)],
        stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/healthz", proc)
        before = memory(proc.pid)
        started = time.perf_counter()
        failed = asyncio.run(request_all(base, keys, args.concurrency))
        seconds = time.perf_counter() - started
        after = memory(proc.pid)
        with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
    finally:
        stop(proc)
    return {"budget": budget, "before": before["VmRSS"], "after": after["VmRSS"], "peak": after["VmHWM"],
            "cache": metric(text, "feedsvc_feed_cache_bytes"), "entries": metric(text, "feedsvc_feed_cache_entries"),
            "evictions": metric(text, "feedsvc_feed_cache_evictions_total"), "seconds": seconds, "failed": failed}


def mib(n: float) -> str:
    return f"{n / 1024**2:8.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=5000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--budget", default="64MiB", help="server.feed_cache_bytes of the bounded run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        db, port, count, sites, budget = args.serve
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        serve(Path(db), int(port), int(count), int(sites), int(budget))
        return 0
    budget = parse_byte_size(args.budget)
    keys = sections(args.sections, args.sites)
    with tempfile.TemporaryDirectory(prefix="feedsvc-cache-memory-") as root:
        db = Path(root) / "bench.db"
        started = time.perf_counter()
        asyncio.run(fill(db, keys))
        print(f"{args.sections} sections on {args.sites} sites, 20 entries each, stored in "
              f"{time.perf_counter() - started:.0f}s; every feed asked for in {', '.join(FORMATS)} "
              f"(gzip), {args.concurrency} at a time; {os.cpu_count()} cores", flush=True)
        print(f"{'feed_cache_bytes':>16} {'RSS idle':>9} {'RSS after':>9} {'RSS peak':>9} {'cache MiB':>9} "
              f"{'held':>7} {'evicted':>8} {'req/s':>7}")
        for name, size in (("unbounded (64GiB)", UNBOUNDED), (format_byte_size(budget), budget)):
            r = run(db, args, size, keys)
            rate = args.sections * len(FORMATS) / r["seconds"]
            print(f"{name:>16} {mib(r['before'])} {mib(r['after'])}  {mib(r['peak'])} {mib(r['cache'])} "
                  f"{r['entries']:7.0f} {r['evictions']:8.0f} {rate:7.0f}"
                  + (f"  ({r['failed']} requests failed)" if r["failed"] else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
