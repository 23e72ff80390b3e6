"""Three `feedsvc serve` replicas on one PostgreSQL database sharing the refresh work of a mock network
(tests/support/news_network.py: 300 sections on 30 hosts, one loopback address per host, 127.0.0.2-31,
served by this process). Prints figures, asserts nothing:

    python bench/replicas.py [--replicas 3] [--sections 300] [--hosts 30] [--interval 30] [--watch 2] [--lease 20]
                             [--pg-server postgresql://postgres@127.0.0.1:5432/postgres]

- refreshes per section per interval while `--watch` intervals pass (must be 1: a "double" is a list
  page asked again sooner than half an interval), peak requests in flight per host across replicas (the
  limit is fetch.per_host_concurrency) and the shortest gap between two request starts at one host
  (fetch.min_delay);
- the time for every replica to serve a change (a new article, refreshed through POST /admin/refresh on
  one replica) as feeds, from the request to the last replica serving it;
- serving throughput: wrk -t1 -c16 on one feed per replica, the three at once, beside one replica alone;
- resident memory of each replica after every feed was asked for in every format;
- takeover: the replica refreshing a section is killed (kill -9) while its list page hangs; the time until
  another replica asks for that page (cluster.lease, 20s by default, plus up to a quarter lease of retry).

A throwaway database (feedsvc_bench_*) is created on --pg-server and dropped. Needs wrk for throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedsvc.model import RefreshReport  # noqa: E402
from feedsvc.store import open_store  # noqa: E402
from tests.support.news_network import NewsNetwork, article_path, host_name, section_path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOKEN = secrets.token_hex(16)
RULES = {
    "link_pattern": r"/system/\d{4}/\d{2}/\d{2}/\d+\.s?html", "title": "div.heading h1",
    "published": "div.source span.left", "body": "div#Zoom", "remove": ["div.dayin", "div.box24"],
}


def address(h: int) -> str:
    return f"127.0.0.{h + 2}"


class Network(NewsNetwork):
    """The mock network with host h at 127.0.0.(h+2); a list page in `hang` waits for its client to go."""

    def __init__(self, sections: int, hosts: int):
        super().__init__(sections, hosts)
        rename = {host_name(h): address(h) for h in range(hosts)}
        self.lists = {(rename[host], path): listed for (host, path), listed in self.lists.items()}
        self.articles = {rename[host]: ids for host, ids in self.articles.items()}
        self.hang: set[tuple[str, str]] = set()
        self.hung = asyncio.Event()

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        key = (request.host.split(":")[0], request.path)
        if key in self.hang:
            self.hang.discard(key)
            self.hung.set()
            await asyncio.sleep(300)  # cancelled when the killed replica's connection closes
        return await super().list_page(request)

    def add_article(self, h: int, k: int) -> str:
        listed = self.lists[(address(h), section_path(k))]
        ident = (h + 1) * 10_000_000 + 9_500_000 + listed.version
        listed.idents = [ident, *listed.idents][:20]
        listed.version += 1
        self.articles[address(h)].add(ident)
        return f"http://{address(h)}:{self.upstream.port}{article_path(ident)}"


def config(args: argparse.Namespace, port: int, store_url: str) -> dict[str, Any]:
    sites: dict[str, Any] = {}
    for g in range(args.sections):
        h, k = g % args.hosts, g // args.hosts
        origin = f"http://{address(h)}:{port}"
        site = sites.setdefault(f"site{h}", {"title": f"模拟新闻网{h}", "home": f"{origin}/", "rules": RULES,
                                             "sections": {}})
        site["sections"][f"col{1000 + k}"] = {"title": f"栏目{1000 + k}", "url": f"{origin}{section_path(k)}"}
    return {
        "server": {"host": "127.0.0.1", "admin_token": TOKEN},
        "store": {"url": store_url, "max_age_days": 36500},
        "cluster": {"lease": f"{args.lease}s"},
        "fetch": {"min_delay": f"{args.min_delay}s", "per_host_concurrency": 2, "retries": 0,
                  "read_timeout": "600s", "total_timeout": "600s"},
        "defaults": {"refresh": f"{args.interval}s", "max_new": args.max_new},
        "sites": sites,
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_for(check: Any, what: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def wrk(url: str, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "5s", url],
                            stdout=subprocess.PIPE, text=True)


def requests_per_second(proc: subprocess.Popen[str]) -> float:
    out, _ = proc.communicate(timeout=120)
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return float("nan")


async def run(args: argparse.Namespace, store_url: str, tmp: Path) -> None:
    network = Network(args.sections, args.hosts)
    runner = web.AppRunner(network.upstream.app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address(0), 0).start()
    port = network.upstream.port = runner.addresses[0][1]
    for h in range(1, args.hosts):
        await web.TCPSite(runner, address(h), port).start()
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config(args, port, store_url)), encoding="utf-8")
    store = open_store(store_url)
    await store.open()
    # Every section refreshed once already, at moments spread over the last interval: the replicas start
    # in the steady state (at start-up a due section waits its turn a second apart, 300 s for 300).
    now = datetime.now(UTC)
    for g in range(args.sections):
        at = now - timedelta(seconds=args.interval * (g + 1) / args.sections)
        await store.record_attempt(RefreshReport(site=f"site{g % args.hosts}", section=f"col{1000 + g // args.hosts}",
                                                 started=at, finished=at, ok=True, replica="seed"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")} | {"PYTHONPATH": str(REPO)}
    names = [f"r{i + 1}" for i in range(args.replicas)]
    ports = {name: free_port() for name in names}
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--config", str(path), "--port", str(ports[name]),
         "--replica-id", name], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
        stderr=(tmp / f"{name}.log").open("wb")) for name in names}
    refs = [(f"site{g % args.hosts}", f"col{1000 + g // args.hosts}") for g in range(args.sections)]
    try:
        async with aiohttp.ClientSession() as http:
            async def all_ready() -> bool:
                for p in ports.values():
                    try:
                        async with http.get(f"http://127.0.0.1:{p}/readyz") as resp:
                            if resp.status != 200:
                                return False
                    except aiohttp.ClientError:
                        return False
                return True
            started = await wait_for(all_ready, "the replicas to start", 120)

            print(f"{args.replicas} replicas ready in {started:.1f}s (every section last refreshed within the last interval)",
                  flush=True)

            # -- sharing ------------------------------------------------------------------------------
            network.upstream.hits.clear()
            network.upstream.max_in_flight.clear()
            window = args.watch * args.interval
            await asyncio.sleep(window)
            lists: dict[tuple[str, str], list[float]] = defaultdict(list)
            starts: dict[str, list[float]] = defaultdict(list)
            for hit in list(network.upstream.hits):
                starts[hit.host].append(hit.at)
                if hit.path.startswith("/col/"):
                    lists[(hit.host, hit.path)].append(hit.at)
            doubles = sum(1 for times in lists.values() for a, b in zip(times, times[1:], strict=False)
                          if b - a < args.interval / 2)
            # each refresh comes an interval plus jitter (up to a tenth, 5% on average) after the last one ended
            per_interval = sum(len(t) for t in lists.values()) / args.sections / (window / (args.interval * 1.05))
            host_gaps = sorted(b - a for t in starts.values() for a, b in zip(sorted(t), sorted(t)[1:], strict=False))
            short = sum(1 for gap in host_gaps if gap < args.min_delay * 0.9)
            by = defaultdict(int)
            for state in await store.section_states():
                by[state.refreshed_by] += 1
            print(f"\nwatched {args.watch} intervals of {args.interval}s ({window}s):")
            print(f"  refreshes per section per interval   {per_interval:.2f} (list pages asked: "
                  f"{sum(len(t) for t in lists.values())}; sections never asked: {args.sections - len(lists)})")
            print(f"  double refreshes (gap < interval/2)  {doubles}")
            print(f"  peak requests in flight at one host  {max(network.upstream.max_in_flight.values(), default=0)} "
                  "(limit per_host_concurrency 2)")
            print(f"  gaps between request starts at a host under min_delay ({args.min_delay * 1000:.0f} ms): "
                  f"{short} of {len(host_gaps)}; shortest {host_gaps[0] * 1000:.0f} ms, 1st percentile "
                  f"{host_gaps[len(host_gaps) // 100] * 1000:.0f} ms (arrival times here, in a process sharing "
                  "the CPU: requests queued while it waits are stamped back to back)")
            print(f"  last refresh by                      {dict(sorted(by.items(), key=str))}")

            # -- a change served by every replica -----------------------------------------------------
            site, section = refs[0]
            new_url = network.add_article(0, 0)
            asked = time.monotonic()
            async with http.post(f"http://127.0.0.1:{ports['r1']}/admin/refresh/{site}/{section}",
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                assert resp.status == 202, await resp.text()
            seen: dict[str, float] = {}

            async def everywhere() -> bool:
                for name, p in ports.items():
                    if name not in seen:
                        async with http.get(f"http://127.0.0.1:{p}/{site}/{section}.json") as resp:
                            if new_url in await resp.text():
                                seen[name] = time.monotonic() - asked
                return len(seen) == len(ports)
            await wait_for(everywhere, "every replica serving the change", 60)
            print("\na change (POST /admin/refresh to r1) served by each replica after: "
                  + ", ".join(f"{n} {seen[n]:.2f}s" for n in names))

            # -- memory after every feed in every format, then throughput ------------------------------
            sem = asyncio.Semaphore(16)

            async def ask(url: str) -> None:
                async with sem, http.get(url) as resp:
                    await resp.read()
            await asyncio.gather(*(ask(f"http://127.0.0.1:{p}/{s}/{c}.{fmt}") for p in ports.values()
                                   for s, c in refs for fmt in ("rss", "atom", "json")))
            memory = ", ".join(f"{n} {rss_mb(procs[n].pid):.0f} MB" for n in names)
            print(f"resident memory after all {args.sections} feeds x 3 formats: {memory}")
            if shutil.which("wrk"):
                feed = f"/{site}/{section}.rss"
                alone = requests_per_second(wrk(f"http://127.0.0.1:{ports['r1']}{feed}", args.wrk_seconds))
                together = [wrk(f"http://127.0.0.1:{ports[n]}{feed}", args.wrk_seconds) for n in names]
                rates = [requests_per_second(p) for p in together]
                print(f"serving {feed} (wrk -t1 -c16, {args.wrk_seconds}s): one replica alone {alone:.0f} req/s; "
                      f"{len(rates)} at once {sum(rates):.0f} req/s ({', '.join(f'{r:.0f}' for r in rates)})")
            else:
                print("serving throughput: wrk not installed, skipped")

            # -- takeover after kill -9 ---------------------------------------------------------------
            if len(names) < 2:
                return
            victim_host, victim_path = address(1), section_path(0)
            network.hang.add((victim_host, victim_path))
            await asyncio.wait_for(network.hung.wait(), timeout=args.interval * 3)
            holder = (await store.lease_holders())["site1"][0]
            before = len([h for h in network.upstream.hits if (h.host, h.path) == (victim_host, victim_path)])
            procs[holder].send_signal(signal.SIGKILL)

            async def taken_over() -> bool:
                return len([h for h in network.upstream.hits
                            if (h.host, h.path) == (victim_host, victim_path)]) > before
            took = await wait_for(taken_over, "another replica taking the section over", args.lease * 3 + 30)
            print(f"takeover after kill -9 of {holder} mid-refresh: {took:.1f}s (cluster.lease {args.lease}s)")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        await store.close()
        await runner.cleanup()


async def main(args: argparse.Namespace) -> None:
    name = f"feedsvc_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.pg_server, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    print(f"{args.sections} sections on {args.hosts} hosts, refresh every {args.interval}s, {args.replicas} replicas, "
          f"PostgreSQL {urlsplit(args.pg_server).netloc}, {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="feedsvc-bench-replicas-") as tmp:
            await run(args, urlsplit(args.pg_server)._replace(path=f"/{name}").geturl(), Path(tmp))
    finally:
        admin = await asyncpg.connect(args.pg_server, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--replicas", type=int, default=3, help="replicas (default 3; 1 gives the reference figures)")
    parser.add_argument("--sections", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--interval", type=int, default=30, help="refresh interval, seconds (default 30)")
    parser.add_argument("--watch", type=int, default=2, help="intervals watched for double refreshes (default 2)")
    parser.add_argument("--lease", type=int, default=20, help="cluster.lease, seconds (default 20, the default)")
    parser.add_argument("--min-delay", type=float, default=0.1, help="fetch.min_delay, seconds (default 0.1)")
    parser.add_argument("--max-new", type=int, default=3, help="articles fetched per section per run (default 3)")
    parser.add_argument("--wrk-seconds", type=int, default=5)
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
