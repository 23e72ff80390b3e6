"""Plain feed latency while a client floods the server with distinct `?q=` filtered views.

    python bench/filter_flood.py [--duration 5] [--flooders 8]

Fills a temporary store like bench/serve.py (a 20-entry, 33 KB RSS feed) and serves it the way
`feedsvc serve` does, in a subprocess (bench/serve.py --serve, access log on). A reader in this
process fetches /cxnews/cixi.rss one request after another over one keep-alive connection and
times each; meanwhile a flooder process keeps --flooders requests in flight, each with a `?q=`
never asked before:

- "none":    no flood: the reference.
- "nomatch": random words no entry holds (what a cache-buster or a scanner sends);
- "subsets": `q=` one character of the titles and `exclude=` another, so views keep ever different
             sets of entries (the worst case for a render cache keyed by the entries a view keeps).

Prints the reader's p50/p99/max latency in ms per scenario, and what the flood got (requests/s,
statuses: 503 is a view refused while too many wait to be rendered). A figure, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import serve as serve_bench  # noqa: E402  (bench/serve.py: its store filling and server process)

FEED = "/cxnews/cixi.rss"


def flood_queries(kind: str, count: int) -> list[str]:
    """`count` distinct query strings of the scenario's kind."""
    if kind == "nomatch":
        return [f"q=zz{n:07d}" for n in range(count)]
    # q=one character of a title & exclude=another: each keeps a different set of entries, mostly.
    chars = sorted({c for e in serve_bench.entries() for c in e.title if c.strip()})
    pairs = [f"q={quote(a)}&exclude={quote(b)}" for a in chars for b in chars if a != b]
    return [pairs[n % len(pairs)] + ("" if n < len(pairs) else f"&_={n}") for n in range(count)]


def flood(port: int, kind: str, flooders: int, duration: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The flooder process: `flooders` connections, each sending distinct ?q= views for `duration`."""

    async def main() -> Counter[int]:
        queries = flood_queries(kind, 200_000)
        statuses: Counter[int] = Counter()
        deadline = time.monotonic() + duration
        counter = iter(range(len(queries)))

        async def one_connection() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                while time.monotonic() < deadline:
                    writer.write(f"GET {FEED}?{queries[next(counter)]} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    length = next(int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                                  if k.lower() == "content-length")
                    await reader.readexactly(length)
                    statuses[int(lines[0].split()[1])] += 1
            finally:
                writer.close()

        await asyncio.gather(*(one_connection() for _ in range(flooders)))
        return statuses

    out.put(dict(asyncio.run(main())))


def read_plainly(port: int, duration: float) -> list[float]:
    """Sequential plain feed GETs over one keep-alive connection for `duration`: each one's ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times: list[float] = []
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            conn.request("GET", FEED)
            resp = conn.getresponse()
            resp.read()
            times.append((time.perf_counter() - start) * 1000)
            if resp.status != 200:
                raise SystemExit(f"plain feed answered {resp.status}")
    finally:
        conn.close()
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(port: int, kind: str, flooders: int, duration: float) -> None:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    flooder = None
    if kind != "none":
        flooder = multiprocessing.Process(target=flood, args=(port, kind, flooders, duration + 1, queue))
        flooder.start()
        time.sleep(0.5)  # the flood is under way before the reader starts
    times = read_plainly(port, duration)
    statuses: dict[int, int] = {}
    if flooder is not None:
        statuses = queue.get(timeout=duration + 30)
        flooder.join(timeout=30)
    flood_rate = f"{sum(statuses.values()) / (duration + 1):7.0f}/s" if statuses else "      -  "
    shown = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())) or "-"
    print(f"{kind:8} {len(times):6d} {statistics.median(times):7.1f} {percentile(times, 99):7.1f} "
          f"{max(times):7.1f}   {flood_rate}  {shown}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5, help="seconds per scenario (default 5)")
    parser.add_argument("--flooders", type=int, default=8, help="flood requests in flight (default 8)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="feedsvc-flood-") as tmp:
        root = Path(tmp)
        db = root / "bench.db"
        asyncio.run(serve_bench.fill(db))
        proc, target, _ = serve_bench.start_feedsvc(root, db, "asyncio", 3600)
        try:
            port = int(target.base.rsplit(":", 1)[1])
            print(f"plain {FEED} while flooding with distinct ?q= ({args.flooders} in flight), "
                  f"{args.duration:g}s each")
            print("flood     reads  p50 ms  p99 ms  max ms   flood     flood statuses")
            for kind in ("none", "nomatch", "subsets", "none"):
                run(port, kind, args.flooders, args.duration)
        finally:
            serve_bench.stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
