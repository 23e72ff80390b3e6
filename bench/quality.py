"""Extraction accuracy with no site rules against a gold file, beside trafilatura and gne.

    python bench/quality.py DIR [-v]

DIR holds gold.jsonl (one labelled page per line: file, title, published, author, source, body_first,
body_last, must_not) and the pages it names. Scoring (whitespace removed before comparing): title
exact; published equal to the minute where the label has a time, to the day otherwise (a null label
wants no date); body correct when it contains body_first and body_last and none of must_not. Author
and source are scored exact (null label wants nothing) and shown for information.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html

from feedsvc.config import Rules
from feedsvc.errors import ExtractError
from feedsvc.extract.article import extract_article
from feedsvc.extract.dates import parse_date

TZ = "Asia/Shanghai"
NOW = datetime.now(ZoneInfo(TZ))
_WS = re.compile(r"\s+")


@dataclass
class Result:
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    source: str | None = None
    body: str = ""


def squash(text: str | None) -> str:
    return _WS.sub("", text or "")


def html_text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter("p", "br", "li", "h2", "h3", "h4", "tr", "div"):
        el.tail = (el.tail or "") + "\n"
    return root.text_content()


def ours(html: str, url: str) -> Result:
    try:
        e = extract_article(html, url, Rules(), timezone=TZ, now=NOW)
    except ExtractError:
        return Result()
    return Result(e.title, e.published, e.author, e.source, html_text(e.content_html))


def trafilatura_result(html: str, url: str) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False,
        date_extraction_params={"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d %H:%M"},
    )
    if doc is None:
        return Result()
    get = (lambda k: doc.get(k)) if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    date = parse_date(get("date"), timezone=TZ, now=NOW) if get("date") else None
    return Result(get("title"), date, get("author"), get("sitename"), get("text") or "")


def gne_result(html: str, url: str) -> Result:
    from gne import GeneralNewsExtractor

    r = GeneralNewsExtractor().extract(html)
    date = parse_date(r.get("publish_time"), timezone=TZ, now=NOW) if r.get("publish_time") else None
    return Result(r.get("title"), date, r.get("author"), None, r.get("content") or "")


def date_ok(gold: str | None, got: datetime | None) -> bool:
    if gold is None:
        return got is None
    if got is None:
        return False
    if "T" in gold:
        want = datetime.fromisoformat(gold)
        return got.astimezone(want.tzinfo).strftime("%Y-%m-%d %H:%M") == want.strftime("%Y-%m-%d %H:%M")
    return got.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d") == gold


def body_ok(gold: dict, body: str) -> tuple[bool, str]:
    text = squash(body)
    if squash(gold["body_first"]) not in text:
        return False, "first"
    if squash(gold["body_last"]) not in text:
        return False, "last"
    for noise in gold.get("must_not") or []:
        if squash(noise) in text:
            return False, f"noise {noise[:20]}"
    return True, ""


def score(gold: dict, r: Result) -> dict[str, bool]:
    return {
        "title": squash(r.title) == squash(gold["title"]) and bool(r.title),
        "published": date_ok(gold.get("published"), r.published),
        "body": body_ok(gold, r.body)[0],
        "author": squash(r.author) == squash(gold.get("author")),
        "source": squash(r.source) == squash(gold.get("source")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="show our misses page by page")
    args = parser.parse_args(argv)
    golds = [json.loads(line) for line in (args.dir / "gold.jsonl").read_text("utf-8").splitlines() if line.strip()]
    extractors: dict[str, Callable[[str, str], Result]] = {"feedsvc": ours}
    for name, fn, module in (("trafilatura", trafilatura_result, "trafilatura"), ("gne", gne_result, "gne")):
        try:
            __import__(module)
            extractors[name] = fn
        except Exception as exc:  # not installed, or broken (trafilatura needs lxml_html_clean)
            print(f"({name} unavailable: {exc.__class__.__name__}: {str(exc)[:80]})", file=sys.stderr)
    fields = ("title", "published", "body", "author", "source")
    totals = {name: dict.fromkeys(fields, 0) for name in extractors}
    warnings.simplefilter("ignore")
    for gold in golds:
        html = (args.dir / gold["file"]).read_bytes().decode("utf-8", errors="replace")
        url = f"https://corpus.invalid/{gold['file']}"
        for name, fn in extractors.items():
            try:
                r = fn(html, url)
            except Exception as exc:  # a competitor crashing on a page scores zero there
                print(f"{name} failed on {gold['file']}: {exc}", file=sys.stderr)
                r = Result()
            marks = score(gold, r)
            for f in fields:
                totals[name][f] += marks[f]
            if args.verbose and name == "feedsvc" and not all(marks[f] for f in ("title", "published", "body")):
                print(f"-- {gold['file']}")
                if not marks["title"]:
                    print(f"   title: {r.title!r}  want {gold['title']!r}")
                if not marks["published"]:
                    print(f"   published: {r.published}  want {gold.get('published')}")
                if not marks["body"]:
                    print(f"   body: {body_ok(gold, r.body)[1]}: {squash(r.body)[:60]!r} … {squash(r.body)[-60:]!r}")
    n = len(golds)
    print(f"{n} pages in {args.dir}  (no site rules; author/source for information)")
    print(f"{'':12}" + "".join(f"{name:>14}" for name in extractors))
    for f in fields:
        row = "".join(f"{100 * totals[name][f] / n:13.0f}%" for name in extractors)
        target = {"title": "  target >= 95%", "published": "  target >= 90%", "body": "  target >= 90%"}.get(f, "")
        print(f"{f:12}{row}{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
