"""Refresh pipeline cost on a mock news network: a first refresh, one with nothing new, one with a little new.

    python bench/refresh.py [--sections 500] [--hosts 5] [--min-delay 0.001] [--concurrency 2]

The mock network (tests/support/news_network.py, on the tests' fixture-site toolkit) runs in a
subprocess on a loopback port, so its CPU stays out of ours; StaticResolver points its hostnames there. One Fetcher, one SectionRefresher and one
temporary SQLite store live across all runs, as in the service (feedsvc.app.build_app); sections of a
site run one after another and sites in parallel, by `feedsvc refresh`'s own feedsvc.refresh.refresh_by_site.
The clock is the tests' fixed NOW (2021-12-08) so the mock's December 2021 articles stay in the 30-day window.

Runs: 1 first refresh (everything new); 2 nothing new; 3 after the mock puts one new article on 10%
of the sections; 4 nothing new again. Prints per run: wall seconds, upstream requests by kind as the
mock counted them, bytes, our process's CPU ms per section, entries stored. Checks (PASS/FAIL; exit 1
on any FAIL): run 2 fetches no article and sends only conditional list requests, all answered 304;
run 3 fetches exactly the new articles, once each; run 1 fetches every article once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from feedsvc.config import Config, SectionRef  # noqa: E402
from feedsvc.fetch import Fetcher, StaticResolver  # noqa: E402
from feedsvc.model import RefreshReport  # noqa: E402
from feedsvc.refresh import SectionRefresher, refresh_by_site  # noqa: E402
from feedsvc.store import open_store  # noqa: E402
from tests.support import NOW  # noqa: E402
from tests.support.news_network import host_name  # noqa: E402

# The shipped cxnews rules (config.yaml): the cnnb templates' selectors and article URL pattern.
RULES = {
    "link_pattern": r"/system/\d{4}/\d{2}/\d{2}/\d+\.s?html",
    "title": "div.heading h1, td.title",
    "published": "div.source span.left, td.info",
    "source": "div.source span.left, td.info",
    "editor": "div.bianji, td.editor",
    "body": "div#Zoom, td#content",
    "remove": ["div.dayin", "td.tools", "td.xiangguan", "div.box24"],
}


def build_config(sections: int, hosts: int, db: str, min_delay: float, concurrency: int) -> Config:
    sites: dict[str, Any] = {}
    for g in range(sections):
        h, k = g % hosts, g // hosts
        site = sites.setdefault(f"site{h}", {
            "title": f"模拟新闻网{h}", "home": f"http://{host_name(h)}/", "rules": RULES, "sections": {}})
        site["sections"][f"col{1000 + k}"] = {
            "title": f"栏目{1000 + k}", "url": f"http://{host_name(h)}/col/col{1000 + k}/index.html"}
    return Config.model_validate({
        "store": {"url": f"sqlite:///{db}", "max_entries": 100, "max_age_days": 30},
        "fetch": {"min_delay": min_delay, "per_host_concurrency": concurrency, "backoff": 0.05},
        "sites": sites,
    })


class Mock:
    """The mock network's subprocess: started on enter, stopped (stdin closed, then terminated) on exit."""

    def __init__(self, sections: int, hosts: int):
        self.args = [sys.executable, "-m", "tests.support.news_network",
                     "--sections", str(sections), "--hosts", str(hosts)]

    def __enter__(self) -> Mock:
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.__exit__()
            raise SystemExit(f"mock server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def call(self, path: str, *, post: bool = False) -> Any:
        # Plain urllib, straight to the port: control calls never pass through the Fetcher or its counts.
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method="POST" if post else "GET")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)


@dataclass
class Run:
    name: str
    wall_s: float
    cpu_s: float
    sections: int
    reports: list[RefreshReport]
    mock: dict[str, Any]
    stored: int
    partial: int
    expected_articles: set[str] = field(default_factory=set)

    def count(self, kind: str) -> int:
        return int(self.mock["counts"].get(kind, 0))

    @property
    def upstream(self) -> int:
        return sum(v for k, v in self.mock["counts"].items() if k != "list_conditional")

    @property
    def bytes_sent(self) -> int:
        return sum(self.mock["bytes"].values())


def stored_entries(db: str) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        total, partial = conn.execute("SELECT count(*), coalesce(sum(partial), 0) FROM entries").fetchone()
    return int(total), int(partial)


async def timed_run(name: str, refresher: SectionRefresher, refs: list[SectionRef], mock: Mock,
                    db: str) -> Run:
    mock.call("/__bench/stats?reset=1")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    reports = await refresh_by_site(refresher, refs)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stats = mock.call("/__bench/stats?reset=1")
    return Run(name, wall, cpu, len(refs), reports, stats, *stored_entries(db))


def table(runs: list[Run]) -> str:
    rows: list[tuple[str, ...]] = [("", *(r.name for r in runs))]

    def row(label: str, fmt: str, values: list[float]) -> None:
        rows.append((label, *(format(v, fmt) for v in values)))

    row("wall seconds", ".2f", [r.wall_s for r in runs])
    row("CPU ms per section (ours)", ".2f", [r.cpu_s * 1000 / r.sections for r in runs])
    row("CPU seconds total (ours)", ".2f", [r.cpu_s for r in runs])
    row("upstream requests (mock)", "d", [r.upstream for r in runs])
    row("  list pages 200", "d", [r.count("list_200") for r in runs])
    row("  conditional lists sent", "d", [r.count("list_conditional") for r in runs])
    row("  conditional lists → 304", "d", [r.count("list_304") for r in runs])
    row("  articles", "d", [r.count("article") for r in runs])
    row("  robots.txt", "d", [r.count("robots") for r in runs])
    row("  other (404)", "d", [r.count("not_found") for r in runs])
    row("requests (our reports)", "d", [sum(x.requests for x in r.reports) for r in runs])
    row("article fetches (our reports)", "d", [sum(x.articles_fetched for x in r.reports) for r in runs])
    row("bytes received (our reports)", ",d", [sum(x.bytes_read for x in r.reports) for r in runs])
    row("bytes sent (mock, bodies)", ",d", [r.bytes_sent for r in runs])
    row("entries new to a section feed", "d", [sum(x.inserted for x in r.reports) for r in runs])
    row("entries updated", "d", [sum(x.updated for x in r.reports) for r in runs])
    row("entries stored (total)", "d", [r.stored for r in runs])
    row("  of them partial", "d", [r.partial for r in runs])
    row("sections failed", "d", [sum(not x.ok for x in r.reports) for r in runs])
    row("mock server CPU seconds", ".2f", [r.mock["cpu_delta"] for r in runs])
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        for cells in rows)


def checks(runs: list[Run]) -> list[tuple[bool, str]]:
    first, quiet, some_new, quiet_again = runs
    out: list[tuple[bool, str]] = []
    hits = first.mock["article_hits"]
    out.append((len(hits) == first.mock["unique_articles"] and max(hits.values(), default=0) == 1
                and first.partial == 0 and first.stored == first.mock["unique_articles"],
                f"run 1: every one of the mock's {first.mock['unique_articles']} articles fetched once and stored "
                f"(distinct fetched {len(hits)}, most fetches of one {max(hits.values(), default=0)}, "
                f"stored {first.stored}, partial {first.partial})"))

    def only_conditional(run: Run) -> tuple[bool, str]:
        ok = (run.count("article") == 0 and run.upstream == run.sections
              and run.count("list_conditional") == run.sections == run.count("list_304"))
        return ok, (f"{run.name}: nothing new → no article fetched, only conditional list requests, all 304 "
                    f"(articles {run.count('article')}, requests {run.upstream}, conditional "
                    f"{run.count('list_conditional')}, 304 {run.count('list_304')}, sections {run.sections})")

    out.append(only_conditional(quiet))
    got = some_new.mock["article_hits"]
    exact = set(got) == some_new.expected_articles and all(n == 1 for n in got.values())
    out.append((exact, f"{some_new.name}: fetched articles are exactly the {len(some_new.expected_articles)} "
                       f"new article(s), once each (fetched {sum(got.values())} requests for {len(got)} URLs; "
                       f"missing {len(some_new.expected_articles - set(got))}, "
                       f"unexpected {len(set(got) - some_new.expected_articles)})"))
    out.append(only_conditional(quiet_again))
    out.append((all(r.ok for run in runs for r in run.reports), "every section refreshed ok in every run"))
    return out


async def bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmp, Mock(args.sections, args.hosts) as mock:
        db = f"{tmp}/bench.db"
        config = build_config(args.sections, args.hosts, db, args.min_delay, args.concurrency)
        refs = config.section_refs()
        f = config.fetch
        print(f"sections {len(refs)} on {args.hosts} hosts ({len(refs) // args.hosts}+ each), 20 links per "
              f"list, 4 shared with the next section; mock on 127.0.0.1:{mock.port} (subprocess)")
        print(f"fetch: per_host_concurrency {f.per_host_concurrency}, min_delay {f.min_delay.total_seconds():g}s, "
              f"retries {f.retries}, robots on; max_new {refs[0].max_new}; store {db} (SQLite); "
              f"clock fixed at {NOW.isoformat()}; one Fetcher/SectionRefresher across runs")
        resolver = StaticResolver({host_name(h): ("127.0.0.1", mock.port) for h in range(args.hosts)})
        store = open_store(config.store.url)
        await store.open()
        fetcher = Fetcher(config.fetch, resolver=resolver)
        refresher = SectionRefresher(fetcher, store, clock=lambda: NOW)
        runs: list[Run] = []
        cpu_mark = mock.call("/__bench/stats")["cpu_s"]
        try:
            for name in ("run 1 first", "run 2 nothing new", "run 3 10% new", "run 4 nothing new"):
                expected: set[str] = set()
                if name.startswith("run 3"):
                    expected = set(mock.call("/__bench/add?every=10", post=True))
                run = await timed_run(name, refresher, refs, mock, db)
                run.expected_articles = expected
                run.mock["cpu_delta"], cpu_mark = run.mock["cpu_s"] - cpu_mark, run.mock["cpu_s"]
                runs.append(run)
                print(f"  {name}: {run.wall_s:.1f}s", flush=True)
        finally:
            await fetcher.close()
            await store.close()
    print()
    print(table(runs))
    print()
    results = checks(runs)
    for ok, text in results:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    for run in runs:
        for r in run.reports:
            if not r.ok:
                print(f"  {run.name}: {r.site}/{r.section}: {r.error}")
                break
    return 0 if all(ok for ok, _ in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--min-delay", type=float, default=0.001, help="seconds between requests to one host")
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight per host")
    args = parser.parse_args(argv)
    if args.sections < 1 or args.hosts < 1:
        parser.error("--sections and --hosts must be at least 1")
    args.hosts = min(args.hosts, args.sections)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
