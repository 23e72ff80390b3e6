"""Config reload timings: how long reading a changed file and applying it takes, by config size.

    python bench/reload.py [--rounds 20] [--sections 10,100,500] [--latency-rounds 5]

For each size (sites of 10 sections each) it times, median and max in milliseconds:
- `load_config`: read and validate the file (run in a thread by the service: the loop keeps serving);
- `plan_change`: which sections were added, removed, changed (on the event loop);
- `reload`: LiveConfig.reload as `feedsvc serve` runs it, with the web app's listeners (render cache,
  metrics): one section added and one removed each round;
- `loop held`: the longest the event loop was kept from other work during each reload (what a feed
  request arriving meanwhile waits at most);
and, once, the time from writing the file to the change being applied through the 1 s file watch,
beside the 5 s the service promises.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from feedsvc.config import load_config
from feedsvc.reload import POLL_INTERVAL, LiveConfig, plan_change
from feedsvc.store import open_store
from feedsvc.web import make_app


def config_text(db: Path, sections: int, extra: int) -> str:
    """`sections` sections in sites of ten, plus section `extra` (a different one each round)."""
    lines = ["store:", f"  url: sqlite:///{db}", "sites:"]
    names = [f"s{n}" for n in range(sections - 1)] + [f"x{extra}"]
    for site in range(0, len(names), 10):
        lines += [f"  site{site // 10}:", "    title: 测试新闻网", f"    home: http://news{site // 10}.example/",
                  "    rules: {body: 'div#Zoom', title: 'div.heading h1'}", "    sections:"]
        lines += [f'      {name}: {{title: 栏目{name}, url: "http://news{site // 10}.example/{name}/"}}'
                  for name in names[site:site + 10]]
    return "\n".join(lines) + "\n"


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.2f} {max(samples) * 1000:8.2f}"


async def timed(rounds: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for n in range(rounds):
        started = time.perf_counter()
        await step(n)
        out.append(time.perf_counter() - started)
    return out


async def bench_size(folder: Path, sections: int, rounds: int) -> None:
    path, db = folder / f"config-{sections}.yaml", folder / "bench.db"
    path.write_text(config_text(db, sections, 0), encoding="utf-8")
    first = load_config(path)
    store = open_store(first.store.url)
    await store.open()
    live = LiveConfig(first)
    make_app(first, store, live=live)  # its render cache and metrics follow every reload

    async def load(n: int) -> None:
        await asyncio.to_thread(load_config, path)

    changed = folder / f"changed-{sections}.yaml"
    changed.write_text(config_text(db, sections, 1), encoding="utf-8")
    other = load_config(changed)

    async def plan(n: int) -> None:
        plan_change(first, first, other)

    async def reload(n: int) -> None:
        path.write_text(config_text(db, sections, n + 1), encoding="utf-8")
        result = await live.reload("bench")
        assert result.change is not None and len(result.change.added) == 1, result

    held: list[float] = []

    async def reload_watched(n: int) -> None:
        gaps = [0.0]

        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last - 0.001)
                last = now

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        await reload(n)
        task.cancel()
        held.append(max(gaps))

    rows = [("load_config", await timed(rounds, load)), ("plan_change", await timed(rounds, plan)),
            ("reload", await timed(rounds, reload))]
    await timed(rounds, reload_watched)
    rows.append(("loop held", held))
    for name, samples in rows:
        print(f"{sections:8d}  {name:12s} {summary(samples)}")
    await store.close()


async def latency(folder: Path, rounds: int) -> list[float]:
    """Seconds from writing the file to the change applied, through LiveConfig.watch."""
    path, db = folder / "watched.yaml", folder / "bench.db"
    path.write_text(config_text(db, 10, 0), encoding="utf-8")
    live = LiveConfig(load_config(path))
    applied = asyncio.Event()
    live.listeners.append(lambda change: applied.set())
    watcher = asyncio.create_task(live.watch(POLL_INTERVAL))
    out = []
    try:
        for n in range(rounds):
            await asyncio.sleep(0.37)  # not in step with the poll
            applied.clear()
            started = time.perf_counter()
            path.write_text(config_text(db, 10, n + 1), encoding="utf-8")
            await asyncio.wait_for(applied.wait(), 10)
            out.append(time.perf_counter() - started)
    finally:
        watcher.cancel()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--sections", default="10,100,500")
    parser.add_argument("--latency-rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-reload-") as tmp:
        folder = Path(tmp)
        print(f"{'sections':>8s}  {'step':12s} {'p50 ms':>8s} {'max ms':>8s}")
        for size in (int(s) for s in args.sections.split(",")):
            await bench_size(folder, size, args.rounds)
        seconds = await latency(folder, args.latency_rounds)
        print(f"file written → applied through the {POLL_INTERVAL:g} s watch: median {statistics.median(seconds):.2f} s, "
              f"max {max(seconds):.2f} s (promised: within 5 s)")


if __name__ == "__main__":
    asyncio.run(main())
