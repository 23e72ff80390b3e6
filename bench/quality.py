"""Extraction accuracy with no site rules on labelled corpora, feedsvc beside trafilatura and gne.

    python bench/quality.py DIR [DIR ...] [-v] [--only feedsvc]

Each DIR is a corpus in one of two formats (the shared corpora's READMEs describe them):
- `gold.jsonl` (zh-news): title, published, author, body_first / body_last / must_not per page;
- `labels.jsonl` (zh-wide): `labelled` fields only, with the full gold body text.

Metrics, each over the pages that label the field (whitespace removed before comparing; no output
counts as wrong):
- body F1: character-bigram multiset F1 of the extracted text (tags stripped) against the gold body;
  mean, and the share of pages at F1 >= 0.9 (labels.jsonl only);
- strict body: first and last paragraph present and no trailing boilerplate, as issue 9 defines it
  (the zh-wide README defines no strict score; labels.jsonl: the gold body's first and last prose
  lines, and at most 10 characters after the last beyond the credit lines the gold keeps there);
  gold.jsonl: body_first and body_last present and none of must_not, as the zh-news README scores it;
- published: equal to the minute where the label has a time, to the day otherwise (gold.jsonl: a null
  label wants no date); `bad dates` counts dates within a day of the crawl clock or off the day the
  page's URL names (never acceptable);
- author: extracted and labelled author contain one another after dropping whitespace and list
  separators (gold.jsonl: over the pages with an author); `editor as author` counts pages where the
  author given is a name the page prints after 编辑/责任编辑;
- title: equal to the label.
Pages are decoded the way the service decodes them (feedsvc.fetch.charset.decode_html, no HTTP header);
trafilatura gets the bytes (it detects the charset itself), gne the decoded text.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html

from feedsvc.config import Rules
from feedsvc.errors import FeedsvcError
from feedsvc.extract.article import extract_article
from feedsvc.extract.dates import date_from_url, parse_date
from feedsvc.fetch.charset import decode_html

TZ = "Asia/Shanghai"
NOW = datetime.now(ZoneInfo(TZ))
_WS = re.compile(r"\s+")
_SENTENCE = re.compile(r"[，。！？；]")
_SEPARATORS = re.compile(r"[\s、，,;；/|·]+")
_EDITOR_NAMES = re.compile(r"(?:责任编辑|责编|编辑)\s*[：:]\s*([\u4e00-\u9fa5]{2,4})")
METRICS = ("body F1 mean", "body F1>=0.9", "strict body", "published", "author", "title")
TARGETS = {"body F1 mean": ">= 0.94", "body F1>=0.9": ">= 92%", "strict body": ">= 90%", "published": ">= 92%",
           "author": ">= 70%", "title": ">= 95%"}


@dataclass
class Result:
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    body: str = ""


@dataclass
class Page:
    label: dict[str, Any]
    source: str
    url: str
    raw: bytes
    text: str
    fields: set[str] = field(default_factory=set)


def squash(text: str | None) -> str:
    return _WS.sub("", text or "")


def html_text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter("script", "style"):
        el.drop_tree()
    for el in root.iter("p", "br", "li", "h2", "h3", "h4", "tr", "div"):
        el.tail = (el.tail or "") + "\n"
    return root.text_content()


# --- extractors ---------------------------------------------------------------------------------


def ours(page: Page) -> Result:
    try:
        e = extract_article(page.text, page.url, Rules(), timezone=TZ, now=NOW)
    except FeedsvcError:
        return Result()
    return Result(e.title, e.published, e.author, html_text(e.content_html))


def trafilatura_result(page: Page) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(
        page.raw, url=page.url, with_metadata=True, include_comments=False,
        date_extraction_params={"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d %H:%M"},
    )
    if doc is None:
        return Result()
    get = (lambda k: doc.get(k)) if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    date = parse_date(get("date"), timezone=TZ, now=NOW) if get("date") else None
    return Result(get("title"), date, get("author"), get("text") or "")


def gne_result(page: Page) -> Result:
    from gne import GeneralNewsExtractor

    r = GeneralNewsExtractor().extract(page.text)
    date = parse_date(r.get("publish_time"), timezone=TZ, now=NOW) if r.get("publish_time") else None
    return Result(r.get("title"), date, r.get("author"), r.get("content") or "")


# --- corpora ------------------------------------------------------------------------------------


def load(folder: Path) -> list[Page]:
    pages = []
    gold = folder / "gold.jsonl"
    news = gold.exists()
    path = gold if news else folder / "labels.jsonl"
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        label = json.loads(line)
        raw = (folder / label["file"]).read_bytes()
        try:
            text = decode_html(raw, None)[0]
        except FeedsvcError:
            text = raw.decode("utf-8", errors="replace")
        if news:  # gold.jsonl: every field labelled; the body by its ends
            source = Path(label["file"]).stem.split("-")[0]
            fields = {"strict body", "published", "title"} | ({"author"} if label.get("author") else set())
            url = f"https://corpus.invalid/{label['file']}"
        else:
            source = label["source"]
            fields = set()
            if "body" in label["labelled"]:
                fields |= {"body F1 mean", "body F1>=0.9", "strict body"}
            fields |= {f for f in ("published", "author", "title") if f in label["labelled"]}
            url = label.get("url") or f"https://corpus.invalid/{label['file']}"
        pages.append(Page(label, source, url, raw, text, fields))
    return pages


# --- scoring ------------------------------------------------------------------------------------


def bigrams(text: str) -> Counter[str]:
    return Counter(text[i:i + 2] for i in range(len(text) - 1))


def body_f1(gold: str, got: str) -> float:
    want, have = bigrams(squash(gold)), bigrams(squash(got))
    shared = sum((want & have).values())
    if not shared:
        return 0.0
    precision, recall = shared / sum(have.values()), shared / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _prose(line: str) -> bool:
    return len(line) >= 15 and bool(_SENTENCE.search(line))


def strict_wide(gold: str, got: str) -> tuple[bool, str]:
    """First and last prose paragraph of the gold body present, and no more than 10 characters after the
    last one beyond what the gold body itself keeps there (its credit lines)."""
    lines = [squash(ln) for ln in gold.splitlines()]
    prose = [ln for ln in lines if _prose(ln)] or [ln for ln in lines if ln]
    text = squash(got)
    if not prose or prose[0] not in text:
        return False, "first"
    end = text.rfind(prose[-1])
    if end < 0:
        return False, "last"
    tail = text[end + len(prose[-1]):]
    gold_text = "".join(lines)
    gold_tail = gold_text[gold_text.rfind(prose[-1]) + len(prose[-1]):]
    return (len(tail) <= 10 or tail in gold_tail, f"tail {tail[:40]!r}")


def strict_news(gold: dict[str, Any], got: str) -> tuple[bool, str]:
    text = squash(got)
    if squash(gold["body_first"]) not in text:
        return False, "first"
    if squash(gold["body_last"]) not in text:
        return False, "last"
    for noise in gold.get("must_not") or []:
        if squash(noise) in text:
            return False, f"noise {noise[:20]!r}"
    return True, ""


def date_ok(gold: str | None, got: datetime | None) -> bool:
    if gold is None:
        return got is None
    if got is None:
        return False
    if "T" in gold:
        want = datetime.fromisoformat(gold)
        return got.astimezone(want.tzinfo).strftime("%Y-%m-%d %H:%M") == want.strftime("%Y-%m-%d %H:%M")
    return got.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d") == gold


def bad_date(page: Page, got: datetime | None) -> bool:
    """A crawl time, or a day other than the one the page's URL names (a day's slack for zones)."""
    if got is None:
        return False
    if abs(got - NOW) < timedelta(days=1):
        return True
    from_url = date_from_url(page.url, timezone=TZ)
    return from_url is not None and abs(got - from_url) > timedelta(days=1, hours=12)


def author_ok(gold: str, got: str | None) -> bool:
    want, have = _SEPARATORS.sub("", gold), _SEPARATORS.sub("", got or "")
    return bool(have) and (want in have or have in want)


def editor_as_author(page: Page, got: str | None) -> bool:
    if not got:
        return False
    editors = set(_EDITOR_NAMES.findall(page.text))
    return any(name in editors for name in re.split(r"[\s、，,;；/|·]+", got))


def score(page: Page, r: Result) -> dict[str, float]:
    label, out = page.label, {}
    if "body F1 mean" in page.fields:
        out["body F1 mean"] = body_f1(label["body"], r.body)
        out["body F1>=0.9"] = float(out["body F1 mean"] >= 0.9)
    if "strict body" in page.fields:
        ok = strict_wide(label["body"], r.body) if "body" in label else strict_news(label, r.body)
        out["strict body"] = float(ok[0])
    if "published" in page.fields:
        out["published"] = float(date_ok(label.get("published"), r.published))
    if "author" in page.fields:
        out["author"] = float(author_ok(label["author"], r.author))
    if "title" in page.fields:
        out["title"] = float(bool(r.title) and squash(r.title) == squash(label["title"]))
    return out


# --- report -------------------------------------------------------------------------------------


def cell(metric: str, values: list[float]) -> str:
    if not values:
        return "-"
    if metric == "body F1 mean":
        return f"{statistics.mean(values):.3f}"
    return f"{sum(values):.0f}/{len(values)} {100 * statistics.mean(values):.1f}%"


def report(title: str, scores: dict[str, list[dict[str, float]]], bad: dict[str, list[int]], names: list[str]) -> None:
    print(f"\n{title}")
    print(f"| {'metric':16} | " + " | ".join(f"{n:>13}" for n in names) + " | target |")
    print("|" + "---|" * (len(names) + 2))
    for metric in METRICS:
        row = [cell(metric, [s[metric] for s in scores[n] if metric in s]) for n in names]
        if all(c == "-" for c in row):
            continue
        print(f"| {metric:16} | " + " | ".join(f"{c:>13}" for c in row) + f" | {TARGETS[metric]} |")
    print(f"| {'bad dates':16} | " + " | ".join(f"{bad[n][0]:>13}" for n in names) + " | 0 |")
    print(f"| {'editor as author':16} | " + " | ".join(f"{bad[n][1]:>13}" for n in names) + " | 0 |")


def verbose(page: Page, r: Result, marks: dict[str, float]) -> None:
    label, notes = page.label, []
    if marks.get("body F1 mean", 1) < 0.9 or marks.get("strict body", 1) < 1:
        why = (strict_wide(label["body"], r.body) if "body" in label else strict_news(label, r.body))[1]
        f1 = f"F1 {marks['body F1 mean']:.2f} " if "body F1 mean" in marks else ""
        notes.append(f"body: {f1}{why}: {squash(r.body)[:50]!r} … {squash(r.body)[-50:]!r}")
    if marks.get("published", 1) < 1:
        notes.append(f"published: {r.published}  want {label.get('published')}")
    if marks.get("author", 1) < 1:
        notes.append(f"author: {r.author!r}  want {label.get('author')!r}")
    if marks.get("title", 1) < 1:
        notes.append(f"title: {r.title!r}  want {label.get('title')!r}")
    if notes:
        print(f"-- {page.label['file']} ({page.source})")
        for note in notes:
            print(f"   {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", type=Path, nargs="+")
    parser.add_argument("-v", "--verbose", action="store_true", help="show our misses page by page")
    parser.add_argument("--only", choices=("feedsvc", "trafilatura", "gne"), action="append",
                        help="run only these extractors (repeatable)")
    args = parser.parse_args(argv)
    extractors: dict[str, Callable[[Page], Result]] = {"feedsvc": ours}
    for name, fn, module in (("trafilatura", trafilatura_result, "trafilatura"), ("gne", gne_result, "gne")):
        if args.only and name not in args.only:
            continue
        try:
            __import__(module)
            extractors[name] = fn
        except Exception as exc:  # not installed, or broken (trafilatura needs lxml_html_clean)
            print(f"({name} unavailable: {exc.__class__.__name__}: {str(exc)[:80]})", file=sys.stderr)
    names = list(extractors)
    warnings.simplefilter("ignore")
    for folder in args.dirs:
        pages = load(folder)
        scores: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        by_source: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: {n: [] for n in names})
        bad = {n: [0, 0] for n in names}
        for page in pages:
            for name, fn in extractors.items():
                try:
                    r = fn(page)
                except Exception as exc:  # a competitor crashing on a page scores zero there
                    print(f"{name} failed on {page.label['file']}: {exc}", file=sys.stderr)
                    r = Result()
                marks = score(page, r)
                scores[name].append(marks)
                by_source[page.source][name].append(marks)
                bad[name][0] += bad_date(page, r.published)
                bad[name][1] += editor_as_author(page, r.author)
                if args.verbose and name == "feedsvc":
                    verbose(page, r, marks)
        report(f"{folder}: {len(pages)} pages, no site rules", scores, bad, names)
        for source in sorted(by_source):
            n = len(by_source[source][names[0]])
            print(f"\n{source} ({n} pages)")
            print(f"| {'metric':16} | " + " | ".join(f"{nm:>13}" for nm in names) + " |")
            for metric in METRICS:
                row = [cell(metric, [s[metric] for s in by_source[source][nm] if metric in s]) for nm in names]
                if any(c != "-" for c in row):
                    print(f"| {metric:16} | " + " | ".join(f"{c:>13}" for c in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
