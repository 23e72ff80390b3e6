"""Extraction speed: ms per page for our article extraction and link discovery, beside trafilatura.

    python bench/extract.py DIR [--rounds 3]

Pages are the files gold.jsonl or labels.jsonl names when DIR has one, else every *.html / *.shtml
under DIR (decoded as the service decodes them: feedsvc.fetch.charset.decode_html). Each page is timed `--rounds` times and its best time
kept (the machine is shared and noisy), each extractor in turn on the same page before the next page;
the table shows mean and median over pages. trafilatura
runs as bench/quality.py runs it (metadata on, minute-precision dates).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from feedsvc.config import Rules
from feedsvc.errors import ExtractError, FeedsvcError
from feedsvc.extract.article import extract_article
from feedsvc.fetch.charset import decode_html

TZ = "Asia/Shanghai"
NOW = datetime.now(ZoneInfo(TZ))
RULES = Rules()


def pages(folder: Path) -> list[tuple[str, str]]:
    gold = next((p for p in (folder / "gold.jsonl", folder / "labels.jsonl") if p.exists()), None)
    if gold is not None:
        files = [folder / json.loads(line)["file"] for line in gold.read_text("utf-8").splitlines() if line.strip()]
    else:
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".html", ".shtml", ".htm"))
    out = []
    for path in files:
        raw = path.read_bytes()
        try:
            text = decode_html(raw, None)[0]
        except FeedsvcError:
            text = raw.decode("utf-8", errors="replace")
        out.append((f"http://bench.invalid/{path.relative_to(folder)}", text))
    return out


def ours_article(html: str, url: str) -> None:
    try:
        extract_article(html, url, RULES, timezone=TZ, now=NOW)
    except ExtractError:
        pass


def ours_links() -> Callable[[str, str], None] | None:
    try:
        from feedsvc.extract.links import find_links
    except ImportError:
        return None

    def run(html: str, url: str) -> None:
        find_links(html, url, RULES, timezone=TZ, now=NOW)

    return run


def trafilatura_fn() -> Callable[[str, str], None] | None:
    try:
        import trafilatura
    except Exception as exc:  # missing, or its lxml_html_clean dependency is
        print(f"(trafilatura unavailable: {exc})", file=sys.stderr)
        return None

    def run(html: str, url: str) -> None:
        trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False,
            date_extraction_params={"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d %H:%M"},
        )

    return run


def best_ms(fn: Callable[[str, str], None], html: str, url: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn(html, url)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    docs = pages(args.dir)
    if not docs:
        print(f"no pages under {args.dir}", file=sys.stderr)
        return 1
    runners: dict[str, Callable[[str, str], None]] = {"feedsvc article": ours_article}
    links = ours_links()
    if links:
        runners["feedsvc links"] = links
    traf = trafilatura_fn()
    if traf:
        runners["trafilatura"] = traf
    for fn in runners.values():  # warm-up: imports, regex compilation, caches
        fn(docs[0][1], docs[0][0])
    # Page by page, every extractor in turn: on a shared machine the load drifts over a run, and timing
    # one extractor over all pages before the next would charge that drift to whichever ran later.
    times: dict[str, list[float]] = {name: [] for name in runners}
    for url, html in docs:
        for name, fn in runners.items():
            times[name].append(best_ms(fn, html, url, args.rounds))
    kb = sum(len(html.encode("utf-8")) for _, html in docs) / 1024 / len(docs)
    print(f"{len(docs)} pages in {args.dir} (mean {kb:.0f} KB), best of {args.rounds} rounds per page")
    print(f"{'':18}{'mean ms':>10}{'median ms':>11}{'max ms':>9}")
    for name, ms in times.items():
        print(f"{name:18}{statistics.mean(ms):10.1f}{statistics.median(ms):11.1f}{max(ms):9.1f}")
    if "trafilatura" in times:
        theirs = statistics.mean(times["trafilatura"])
        article = statistics.mean(times["feedsvc article"])
        print(f"feedsvc article / trafilatura: {article / theirs:.2f}  (target <= 0.25)")
        if "feedsvc links" in times:
            both = article + statistics.mean(times["feedsvc links"])
            print(f"feedsvc article + links / trafilatura: {both / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
