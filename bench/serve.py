"""Feed serving throughput with wrk: feedsvc beside plain aiohttp and nginx serving the same bytes.

    python bench/serve.py [--duration 5] [--rounds 1] [--connections 32] [--servers A,B] [--behind-nginx]
    python bench/serve.py --instructions [--requests 1000] [--servers A,B]

Fills a temporary SQLite store with two sections of realistic Chinese entries (the replica site's
articles from seeds/articles.yaml, written through the store API): a 12 KB feed (6 entries) and a
33 KB one (20 entries), both RSS. Starts each server in a subprocess on a loopback port (SERVERS):
the real app the way `feedsvc serve` runs it (serve_until_signal: aiohttp's AppRunner, access log
on, logged at INFO to a file) on asyncio's loop ("aiohttp"), the same with the access log off
("aiohttp nolog") and on uvloop's loop when uvloop is installed ("aiohttp+uvloop"); and a hello-world
aiohttp app answering the same prebuilt bytes and headers with no middleware and no access log
("plain aiohttp": the framework's floor). nginx serves feedsvc's own bytes as static files
(`gzip_static on`, `etag on`, one worker process, as feedsvc is one process; every request
access-logged, as by feedsvc). Each gets `wrk -t1 -c32` per feed for a full GET (identity), a gzip GET
and a 304 (If-None-Match with the ETag). Prints median requests/s over --rounds (servers taken in
rotating order) and each server's ratio to nginx: the median of its per-round ratios, and their range.

--instructions: instead, CPU instructions per request of each aiohttp server, run under valgrind's
callgrind: after a warm-up the counters are zeroed, exactly --requests requests are sent (8 keep-alive
connections) and the counters dumped. User space only (not the kernel's socket work), every thread of
the server; steady on a busy machine, where req/s are not. Under valgrind's slowness what depends on
time costs more per request than at full speed: the access log's time text (made once per
millisecond) is made for every line, and its buffer is written every 0.1 s in batches of tens of
lines, not hundreds (about 10k of the access line's ~30k instructions).

--behind-nginx: instead, the same feeds through deploy/nginx.conf (proxy_cache in front of feedsvc;
only its ports and paths changed) beside nginx static. The feeds' max-age is --max-age seconds (2 by
default), so nginx revalidates during the runs; the requests feedsvc sees meanwhile are counted
from its access log and printed with their statuses.

Every run is bounded (--duration seconds) and every server is stopped at the end.
Needs wrk and nginx (`apt-get install wrk nginx`); --instructions needs valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from feedsvc.config import Config  # noqa: E402
from feedsvc.model import Entry  # noqa: E402
from tests.nginx_site import Nginx, free_port, nginx_binary, proxy_site  # noqa: E402

ARTICLES = REPO / "seeds" / "articles.yaml"  # the replica site's 18 articles (one is the real seed)
CST = timezone(timedelta(hours=8))
NOW = datetime(2021, 12, 8, 20, 0, tzinfo=UTC)
FALLBACK = ["昨天上午,市委、市政府召开全市疫情防控工作视频会议,部署全市疫情防控工作,要求各地各部门守土有责。"] * 6


def articles() -> list[dict[str, Any]]:
    try:
        found = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))
    except OSError:
        found = None
    if not found:
        return [{"title": f"慈溪新闻 第{n}篇", "paragraphs": FALLBACK} for n in range(20)]
    return found


def entries() -> list[Entry]:
    """20 articles as extraction leaves them: the replica's texts (cycled to 20), +08:00 times."""
    out = []
    source = articles()
    for n in range(20):
        article = source[n % len(source)]
        parts = []
        for p in article.get("paragraphs") or FALLBACK:
            if isinstance(p, str):
                parts.append(f"<p>{p}</p>")
            elif isinstance(p, dict) and p.get("img"):
                parts.append(f'<figure><img src="http://www.cxnews.cn/{p["img"]}"><figcaption>'
                             f'{p.get("caption") or ""}</figcaption></figure>')
        text = [p for p in article.get("paragraphs") or FALLBACK if isinstance(p, str)]
        title = article["title"] if n < len(source) else f"{article['title']}(续)"
        out.append(Entry(
            url=f"http://www.cxnews.cn/system/2021/12/08/{10_000_000 + n:09d}.shtml",
            title=title, subtitle=article.get("subtitle"),
            author=article.get("author") or article.get("byline"), source=article.get("source"),
            editor=article.get("editor"),
            published=datetime(2021, 12, 8, 16, 40, tzinfo=CST) - timedelta(hours=3 * n),
            summary=(text[0] if text else title)[:120], content_html="".join(parts),
        ))
    return out


# The feeds measured: path → number of entries (12 KB and 33 KB of RSS).
FEEDS = {"/cxnews/brief.rss": 6, "/cxnews/cixi.rss": 20}


def bench_config(db: Path, port: int, max_age: int) -> Config:
    sections = {
        "cixi": {"title": "慈溪新闻", "url": "http://www.cxnews.cn/cxnews/", "refresh": f"{max_age}s"},
        "brief": {"title": "慈溪要闻", "url": "http://www.cxnews.cn/brief/", "refresh": f"{max_age}s"},
    }
    return Config.model_validate({
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"url": f"sqlite:///{db}"},
        "sites": {"cxnews": {"title": "慈溪新闻网", "home": "http://www.cxnews.cn/", "sections": sections}},
    })


async def fill(db: Path) -> None:
    from feedsvc.store import open_store

    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        for path, count in FEEDS.items():
            section = path.rsplit("/", 1)[1].removesuffix(".rss")
            await store.upsert("cxnews", section, entries()[:count], now=NOW, max_entries=100,
                               max_age_days=36500, section_title=section)
    finally:
        await store.close()


def serve(db: Path, port: int, loop: str, max_age: int, access_log: bool) -> None:
    """The server process: the real app over the filled store, served as `feedsvc serve` serves it
    (serve_until_signal, access log on unless told), until SIGTERM."""
    from feedsvc.store import open_store
    from feedsvc.web import make_app, serve_until_signal
    from feedsvc.web.server import event_loop_factory

    # As `feedsvc serve` sets logging up: INFO, so every request makes an access-log line (to stderr,
    # which the parent sends to a file).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not access_log:  # what the access log costs: with INFO off for it, aiohttp skips it entirely
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def main() -> None:
        config = bench_config(db, port, max_age)
        store = open_store(config.store.url)
        await store.open()
        try:
            await serve_until_signal(make_app(config, store), host="127.0.0.1", port=port)
        finally:
            await store.close()

    factory = event_loop_factory() if loop == "uvloop" else None
    if loop == "uvloop" and factory is None:
        raise SystemExit("uvloop is not installed (pip install 'feedsvc[fast]')")
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


def serve_plain(db: Path, port: int, max_age: int) -> None:
    """The framework's floor: a hello-world aiohttp app (one route, no middleware, no access log, the
    runner's defaults) answering the same prebuilt bytes and headers as feedsvc, until SIGTERM."""
    from aiohttp import web

    from feedsvc.store import open_store
    from feedsvc.web import FeedCache

    async def main() -> None:
        config = bench_config(db, port, max_age)
        store = open_store(config.store.url)
        await store.open()
        cache = FeedCache(config, store)
        feeds = {path: await cache.feed("cxnews", path.rsplit("/", 1)[1].removesuffix(".rss"), "rss")
                 for path in FEEDS}
        await store.close()

        async def feed(request: web.Request) -> web.Response:
            cached = feeds[request.path]
            rep = cached.gzip if "gzip" in request.headers.get("Accept-Encoding", "") else cached.plain
            if request.headers.get("If-None-Match") == rep.etag:
                return web.Response(status=304, headers=rep.headers_304)
            return web.Response(body=rep.body, headers=rep.headers)

        async def index(request: web.Request) -> web.Response:
            return web.Response(text="plain aiohttp\n")

        app = web.Application()
        app.router.add_get("/", index)
        for path in FEEDS:
            app.router.add_get(path, feed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


def http(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:  # 304 arrives as an "error"
        return exc.code, dict(exc.headers), b""


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited early with status {proc.returncode}")
        try:
            if http(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not answer within {timeout:.0f}s")


@dataclass
class Target:
    name: str
    base: str  # http://127.0.0.1:port
    etags: dict[str, str] = field(default_factory=dict)  # feed path → identity ETag


def wrk(url: str, duration: int, connections: int, headers: dict[str, str]) -> float:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=duration + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise SystemExit(f"could not read wrk output:\n{out}")
    return float(found.group(1))


SCENARIOS = ("full GET", "gzip GET", "304")


def scenario_headers(scenario: str, etag: str) -> dict[str, str]:
    return {"full GET": {}, "gzip GET": {"Accept-Encoding": "gzip"}, "304": {"If-None-Match": etag}}[scenario]


def probe(t: Target) -> None:
    """Fetch the validators, and check each scenario answers as intended before timing it."""
    for path in FEEDS:
        status, headers, _ = http(t.base + path)
        assert status == 200 and "Content-Encoding" not in headers, (t.name, status, headers)
        t.etags[path] = headers["ETag"]
        status, headers, _ = http(t.base + path, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip", (t.name, status, headers)
        status, _, _ = http(t.base + path, **{"If-None-Match": t.etags[path]})
        assert status == 304, (t.name, status)


def start_static(bodies: dict[str, tuple[bytes, bytes]], max_age: int) -> Nginx:
    """nginx serving each feed's identity and gzip bytes as files, with ETag and gzip_static."""
    nginx = Nginx()
    www = nginx.root / "www"
    for path, (plain, gz) in bodies.items():
        target = www / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(plain)
        target.with_name(target.name + ".gz").write_bytes(gz)
    for folder in [www, *www.rglob("*")]:
        folder.chmod(0o755)  # nginx's worker runs as an unprivileged user and must read the files
    port = free_port()
    nginx.start(f"""
    types {{ application/rss+xml rss; }}
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        etag on;
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age={max_age}";
    }}
""", port)
    return nginx


# The servers measured: name → (kind, access log on). "plain aiohttp" is the framework's floor (serve_plain).
SERVERS = {
    "aiohttp": ("asyncio", True),
    "aiohttp nolog": ("asyncio", False),
    "aiohttp+uvloop": ("uvloop", True),
    "plain aiohttp": ("plain", False),
}


def start_feedsvc(root: Path, db: Path, name: str, max_age: int,
                  under: list[str] | None = None) -> tuple[subprocess.Popen[bytes], Target, Path]:
    """The server `name` (SERVERS) in a subprocess, `under` a wrapper command (valgrind) when given."""
    kind, access_log = SERVERS[name]
    port = free_port()
    log = root / f"feedsvc-{name.replace(' ', '-')}.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [*(under or []), sys.executable, __file__, "--serve", str(db), str(port), kind, str(max_age),
             str(int(access_log))],
            stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wait_ready(f"http://127.0.0.1:{port}/", proc, timeout=600 if under else 20)
    return proc, Target(name, f"http://127.0.0.1:{port}"), log


def access_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if "aiohttp.access" in line]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(targets: list[Target], args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    """wrk on every (feed, scenario, target), --rounds times: each one's rates, round by round."""
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s on {os.cpu_count()} cores", flush=True)
    runs: dict[tuple[str, str], list[float]] = {}
    for round_no in range(args.rounds):
        for path in FEEDS:
            for scenario in SCENARIOS:
                # Rotate the order each round: a neighbour's burst on this shared machine then
                # does not always land on the same server.
                shift = round_no % len(targets)
                for t in targets[shift:] + targets[:shift]:
                    rate = wrk(t.base + path, args.duration, args.connections,
                               scenario_headers(scenario, t.etags[path]))
                    row = f"{path} {scenario}"
                    runs.setdefault((row, t.name), []).append(rate)
                    print(f"  round {round_no + 1}: {row:28} {t.name:16} {rate:>9.0f} req/s", flush=True)
    return runs


async def drive(port: int, path: str, headers: dict[str, str], requests: int, connections: int) -> None:
    """Exactly `requests` GETs of `path` over `connections` keep-alive connections, each answer read
    whole (by its Content-Length) before the next request on its connection."""
    raw = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode()

    async def one(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(count):
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                if head.split(b" ", 2)[1] not in (b"200", b"304"):
                    raise SystemExit(f"unexpected answer to {path}: {head[:200]!r}")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
        finally:
            writer.close()

    await asyncio.gather(*(one(requests // connections) for _ in range(connections)))


def count_instructions(root: Path, db: Path, name: str, max_age: int, requests: int) -> dict[str, float]:
    """CPU instructions per request (user space, the server process's every thread) for each feed and
    scenario: the server runs under valgrind's callgrind, its counters zeroed after a warm-up and
    dumped after exactly `requests` requests. Unlike req/s, the same on a busy machine as on a quiet one."""
    out = root / f"callgrind-{name.replace(' ', '-')}"
    proc, target, _ = start_feedsvc(root, db, name, max_age,
                                    under=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p"])
    port = int(target.base.rsplit(":", 1)[1])
    labels = {}
    try:
        probe(target)
        for path in FEEDS:
            for scenario in SCENARIOS:
                headers = scenario_headers(scenario, target.etags[path])
                asyncio.run(drive(port, path, headers, 200, 8))  # warm-up: caches, code paths
                subprocess.run(["callgrind_control", "--zero", str(proc.pid)], capture_output=True, check=True)
                asyncio.run(drive(port, path, headers, requests, 8))
                label = f"d{len(labels)}"
                subprocess.run(["callgrind_control", f"--dump={label}", str(proc.pid)], capture_output=True,
                               check=True)
                labels[label] = f"{path} {scenario}"
    finally:
        stop(proc)
    counts = {}
    for dump in root.glob(f"{out.name}.{proc.pid}.*"):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (\S+)|^desc: Trigger: dump (\S+)", text, re.M)
        total = re.search(r"^summary: (\d+)", text, re.M)
        if label and total and (label.group(1) or label.group(2)) in labels:
            counts[labels[label.group(1) or label.group(2)]] = int(total.group(1)) / (requests // 8 * 8)
    if len(counts) != len(labels):
        raise SystemExit(f"callgrind dumps missing for {name}: got {sorted(counts)}")
    return {row: counts[row] for row in labels.values()}


def instructions(root: Path, db: Path, names: list[str], requests: int) -> None:
    print(f"instructions per request (callgrind, {requests} requests per scenario over 8 connections; "
          "a few minutes: the servers run under valgrind)", flush=True)
    results = {}
    for name in names:
        for row, count in count_instructions(root, db, name, 900, requests).items():
            results[(row, name)] = count
            print(f"  {row:28} {name:16} {count:>9.0f}", flush=True)
    reference = "plain aiohttp" if "plain aiohttp" in names else names[-1]
    header = ["feed and scenario"] + [f"{n} instr/req" for n in names] + [
        f"{n}/{reference}" for n in names if n != reference]
    rows = [header]
    for row in dict.fromkeys(r for r, _ in results):
        rows.append([row] + [f"{results[(row, n)] / 1000:.0f}k" for n in names]
                    + [f"{results[(row, n)] / results[(row, reference)]:.2f}x" for n in names if n != reference])
    print_rows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat each run, servers in rotating order; medians and per-round ratios are reported")
    parser.add_argument("--behind-nginx", action="store_true",
                        help="feedsvc through deploy/nginx.conf's proxy_cache, beside nginx static")
    parser.add_argument("--max-age", type=int, default=None,
                        help="the feeds' max-age in seconds (default 900; 2 with --behind-nginx)")
    parser.add_argument("--instructions", action="store_true",
                        help="instead, count CPU instructions per request of each aiohttp server under valgrind")
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario for --instructions")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"which aiohttp servers to run, comma-separated (default: all of {', '.join(SERVERS)})")
    parser.add_argument("--serve", nargs=5, metavar=("DB", "PORT", "LOOP", "MAX_AGE", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        if args.serve[2] == "plain":
            serve_plain(Path(args.serve[0]), int(args.serve[1]), int(args.serve[3]))
        else:
            serve(Path(args.serve[0]), int(args.serve[1]), args.serve[2], int(args.serve[3]), args.serve[4] == "1")
        return 0
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown or not names:
        parser.error(f"--servers: unknown {', '.join(unknown) or 'nothing given'}; known: {', '.join(SERVERS)}")
    if not _has_uvloop() and "aiohttp+uvloop" in names:
        print("uvloop not installed (pip install 'feedsvc[fast]'): no aiohttp+uvloop", file=sys.stderr)
        names.remove("aiohttp+uvloop")
    tools = ("valgrind", "callgrind_control") if args.instructions else ("wrk", "nginx")
    missing = [tool for tool in tools if not (nginx_binary() if tool == "nginx" else shutil.which(tool))]
    if missing:
        print(f"{' and '.join(missing)} not installed (apt-get install {' '.join(missing)}); nothing to measure",
              file=sys.stderr)
        return 1
    max_age = args.max_age or (2 if args.behind_nginx else 900)
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmp:
        root = Path(tmp)
        db = root / "bench.db"
        asyncio.run(fill(db))
        if args.instructions:
            instructions(root, db, names, args.requests)
            return 0
        if args.behind_nginx:  # what `feedsvc serve` would use
            names = ["aiohttp+uvloop" if _has_uvloop() else "aiohttp"]
        procs: list[subprocess.Popen[bytes]] = []
        servers: list[Nginx] = []
        try:
            services: list[tuple[Target, Path]] = []
            for name in names:
                proc, target, log = start_feedsvc(root, db, name, max_age)
                procs.append(proc)
                probe(target)
                services.append((target, log))
            bodies = {}
            for path in FEEDS:
                plain = http(services[0][0].base + path)[2]
                gz = http(services[0][0].base + path, **{"Accept-Encoding": "gzip"})[2]
                bodies[path] = (plain, gz)
                print(f"feed {path}: {len(plain)} bytes, gzip {len(gz)} bytes")
            servers.append(start_static(bodies, max_age))
            static = Target("nginx", f"http://127.0.0.1:{servers[-1].port}")
            probe(static)
            if args.behind_nginx:
                service, log = services[0]
                servers.append(proxy_site(upstream_port=int(service.base.rsplit(":", 1)[1])))
                proxied = Target("nginx→feedsvc", f"http://127.0.0.1:{servers[-1].port}")
                probe(proxied)
                seen_before = len(access_lines(log))
                started = time.monotonic()
                results = measure([proxied, static], args)
                elapsed = time.monotonic() - started
                seen = access_lines(log)[seen_before:]
                print_table(results, [proxied.name, static.name])
                print_seen(seen, elapsed, max_age, service.name)
            else:
                targets = [s for s, _ in services] + [static]
                print_table(measure(targets, args), [t.name for t in targets])
        finally:
            for proc in procs:
                stop(proc)
            for server in servers:
                server.stop()
    return 0


def _has_uvloop() -> bool:
    from feedsvc.web.server import event_loop_factory

    return event_loop_factory() is not None


def print_seen(lines: list[str], elapsed: float, max_age: int, name: str) -> None:
    """What feedsvc was asked while nginx served the runs: by request line and status."""
    counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for line in lines:
        found = re.search(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3})', line)
        counts[(found.group(1), found.group(2), found.group(3)) if found else ("?", line[:60], "?")] += 1
    print(f"\nfeedsvc ({name}) saw {len(lines)} requests in {elapsed:.0f} s of runs (max-age {max_age} s):")
    for (method, path, status), n in sorted(counts.items()):
        print(f"  {n:5}  {method} {path} -> {status}")


def print_table(runs: dict[tuple[str, str], list[float]], names: list[str]) -> None:
    """Median req/s of each server, and each one's ratio to the last (nginx): the median of its
    per-round ratios (each against the reference's run of the same round, moments apart), with
    the lowest and highest in brackets when there were several rounds."""
    reference = names[-1]
    header = ["feed and scenario"] + [f"{n} req/s" for n in names] + [f"{n}/{reference}" for n in names[:-1]]
    rows = [header]
    for row in dict.fromkeys(r for r, _ in runs):
        cells = [row] + [f"{statistics.median(runs[(row, n)]):.0f}" for n in names]
        for n in names[:-1]:
            ratios = [a / b for a, b in zip(runs[(row, n)], runs[(row, reference)], strict=True)]
            cell = f"{statistics.median(ratios):.2f}x"
            if len(ratios) > 1:
                cell += f" ({min(ratios):.2f}-{max(ratios):.2f})"
            cells.append(cell)
        rows.append(cells)
    print_rows(rows)


def print_rows(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


if __name__ == "__main__":
    sys.exit(main())
