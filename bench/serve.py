"""Feed serving throughput: feedsvc beside nginx serving the same bytes as static files, with wrk.

    python bench/serve.py [--duration 10] [--rounds 1] [--connections 32] [--no-nginx] [--no-plain]

Fills a temporary SQLite store with one section of 20 realistic Chinese entries (the replica
site's articles from seeds/articles.yaml, written through the store API). Starts the real app in a
subprocess on a loopback port, twice: with FeedAppRunner (fast path on; column "feedsvc") and
with a plain aiohttp AppRunner (column "aiohttp path"). Runs `wrk -t1 -c32` against each for a
full GET (identity), a gzip GET and a 304 (If-None-Match with the ETag). When nginx is installed
it serves feedsvc's own bytes as static files (`gzip_static on`, `etag on`, one worker process, as
feedsvc is one process) and gets the same three runs. Prints requests/s and the ratios to nginx:
medians over --rounds, servers taken in rotating order. Every run is bounded (--duration seconds)
and every server is stopped at the end. Needs wrk (`apt-get install wrk nginx`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from feedsvc.config import Config  # noqa: E402
from feedsvc.model import Entry  # noqa: E402

ARTICLES = REPO / "seeds" / "articles.yaml"  # the replica site's 18 articles (one is the real seed)
CST = timezone(timedelta(hours=8))
NOW = datetime(2021, 12, 8, 20, 0, tzinfo=UTC)
PATH = "/cxnews/cixi.rss"
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


def bench_config(db: Path, port: int) -> Config:
    return Config.model_validate({
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"url": f"sqlite:///{db}"},
        "sites": {"cxnews": {"title": "慈溪新闻网", "home": "http://www.cxnews.cn/", "sections": {
            "cixi": {"title": "慈溪新闻", "url": "http://www.cxnews.cn/cxnews/", "refresh": "15m"}}}},
    })


async def fill(db: Path) -> None:
    from feedsvc.store import open_store

    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        await store.upsert("cxnews", "cixi", entries(), now=NOW, max_entries=100, max_age_days=36500,
                           section_title="慈溪新闻")
    finally:
        await store.close()


def serve(db: Path, port: int, fast: bool) -> None:
    """The server process: the real app over the filled store, until killed."""
    from aiohttp import web

    from feedsvc.store import open_store
    from feedsvc.web import FeedAppRunner, make_app

    async def main() -> None:
        config = bench_config(db, port)
        store = open_store(config.store.url)
        await store.open()
        app = make_app(config, store)
        runner = FeedAppRunner(app) if fast else web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:  # 304 arrives as an "error"
        return exc.code, dict(exc.headers), b""


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited early with status {proc.returncode}")
        try:
            if http(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not answer within 20s")


@dataclass
class Target:
    name: str
    base: str  # http://127.0.0.1:port
    etag: str = ""
    gz_etag: str = ""


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


def scenarios(t: Target) -> dict[str, dict[str, str]]:
    return {
        "full GET": {},
        "gzip GET": {"Accept-Encoding": "gzip"},
        "304": {"If-None-Match": t.etag},
    }


def probe(t: Target) -> None:
    """Fetch the validators, and check each scenario answers as intended before timing it."""
    status, headers, body = http(t.base + PATH)
    assert status == 200 and "Content-Encoding" not in headers, (t.name, status, headers)
    t.etag = headers["ETag"]
    status, headers, _ = http(t.base + PATH, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip", (t.name, status, headers)
    t.gz_etag = headers["ETag"]
    status, _, _ = http(t.base + PATH, **{"If-None-Match": t.etag})
    assert status == 304, (t.name, status)


def start_nginx(root: Path, plain: bytes, gz: bytes, port: int) -> subprocess.Popen[bytes]:
    www = root / "www" / "cxnews"
    www.mkdir(parents=True)
    root.chmod(0o755)  # nginx's worker runs as an unprivileged user and must read the files
    (www / "cixi.rss").write_bytes(plain)
    (www / "cixi.rss.gz").write_bytes(gz)
    conf = root / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp-body;
    proxy_temp_path {root}/tmp-proxy;
    fastcgi_temp_path {root}/tmp-fastcgi;
    uwsgi_temp_path {root}/tmp-uwsgi;
    scgi_temp_path {root}/tmp-scgi;
    types {{ application/rss+xml rss; }}
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        etag on;
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age=900";
    }}
}}
""")
    return subprocess.Popen([shutil.which("nginx") or "nginx", "-c", str(conf), "-e", str(root / "nginx-error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="repeat each run; the median is reported")
    parser.add_argument("--no-nginx", action="store_true", help="skip the nginx columns")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain aiohttp AppRunner column")
    parser.add_argument("--serve", nargs=3, metavar=("DB", "PORT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.serve[2] == "fast")
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk); nothing to measure", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmp:
        root = Path(tmp)
        db = root / "bench.db"
        asyncio.run(fill(db))
        modes = [("feedsvc", "fast")] + ([] if args.no_plain else [("aiohttp path", "plain")])
        procs: list[subprocess.Popen[bytes]] = []
        targets: list[Target] = []
        try:
            for name, mode in modes:
                port = free_port()
                proc = subprocess.Popen([sys.executable, __file__, "--serve", str(db), str(port), mode],
                                        stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
                procs.append(proc)
                wait_ready(f"http://127.0.0.1:{port}/", proc)
                targets.append(Target(name, f"http://127.0.0.1:{port}"))
                probe(targets[-1])
            _, _, plain = http(targets[0].base + PATH)
            _, _, gz = http(targets[0].base + PATH, **{"Accept-Encoding": "gzip"})
            if args.no_nginx or not shutil.which("nginx"):
                print("nginx not installed (or --no-nginx): nginx columns skipped", file=sys.stderr)
            else:
                port = free_port()
                procs.append(start_nginx(root, plain, gz, port))
                wait_ready(f"http://127.0.0.1:{port}{PATH}", procs[-1])
                targets.append(Target("nginx", f"http://127.0.0.1:{port}"))
                probe(targets[-1])
            print(f"feed {PATH}: {len(plain)} bytes, gzip {len(gz)} bytes; "
                  f"wrk -t1 -c{args.connections} -d{args.duration}s on {os.cpu_count()} cores", flush=True)
            runs: dict[tuple[str, str], list[float]] = {}
            for round_no in range(args.rounds):
                for scenario in scenarios(targets[0]):
                    # Rotate the order each round: a neighbour's burst on this shared machine then
                    # does not always land on the same server.
                    shift = round_no % len(targets)
                    for t in targets[shift:] + targets[:shift]:
                        rate = wrk(t.base + PATH, args.duration, args.connections, scenarios(t)[scenario])
                        runs.setdefault((scenario, t.name), []).append(rate)
                        print(f"  round {round_no + 1}: {scenario:9} {t.name:13} {rate:>10.0f} req/s", flush=True)
            results = {key: statistics.median(rates) for key, rates in runs.items()}
        finally:
            for proc in procs:
                stop(proc)
        print_table(results, [t.name for t in targets])
    return 0


def print_table(results: dict[tuple[str, str], float], names: list[str]) -> None:
    has_nginx = "nginx" in names
    header = ["scenario"] + [f"{n} req/s" for n in names]
    if has_nginx:
        header += [f"{n}/nginx" for n in names if n != "nginx"]
    rows = [header]
    for scenario in dict.fromkeys(s for s, _ in results):
        row = [scenario] + [f"{results[(scenario, n)]:.0f}" for n in names]
        if has_nginx:
            row += [f"{results[(scenario, n)] / results[(scenario, 'nginx')]:.2f}x" for n in names if n != "nginx"]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


if __name__ == "__main__":
    sys.exit(main())
