"""Which printed date is an article's publication time.

In order: the configured selector; the first date printed between headline and body (the page's meta
date supplies the year of a year-less date, and its seconds when both agree to the minute); the
meta/JSON-LD date; a `<time>` element or a short element classed as a date, nearest the body; a
labelled line (发布时间：…); the date in the URL; the list page's date. Away from the headline a date
must show its year, so related-news lists and footers (`Copyright 2005-2024`) never supply one, and a
bare relative day (昨天, 3天前) is never used: it only restates the crawl clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feedsvc.extract.dates import date_from_url, find_dates, parse_date, parse_iso
from feedsvc.extract.html import Node, class_and_id, hint_pattern, select, text_of
from feedsvc.extract.page import Line, Page, as_text
from feedsvc.model import ListedLink, Rules

__all__ = ["find_published"]

_DATE_LABEL = re.compile(r"(发布|发表|更新|上传|录入|创建|出版)?(时间|日期)\s*[：:]|发布于|发表于")
_META_DATE_KEYS = ("article:published_time", "og:article:published_time", "og:published_time", "datepublished",
                   "publishdate", "publish_date", "pubdate", "pubtime", "publishtime", "dc.date.issued",
                   "dc.date", "date", "sailthru.date", "article:modified_time", "dateupdate", "datemodified")
_URL_SLACK = timedelta(hours=36)  # the URL names a day at midnight; zones and late-night posts shift it
_DATE_HINT = hint_pattern(r"time|date|publish|pubtime|riqi|shijian")


def _meta_date(page: Page, tz: ZoneInfo, now: datetime) -> datetime | None:
    values = [page.meta.get(k, [None])[0] for k in _META_DATE_KEYS]
    values.append(as_text(page.jsonld_first("datePublished", "dateCreated", "dateModified")))
    for value in values:
        if value:
            parsed = parse_iso(value, timezone=tz) or parse_date(value, timezone=tz, now=now)
            if parsed is not None:
                return parsed.astimezone(tz)
    return None


def find_published(page: Page, rules: Rules, header: list[Line], lines: list[Line], body_el: Node | None,
                   url: str, tz: ZoneInfo, now: datetime, listed: ListedLink | None,
                   opening: list[str] | None = None) -> datetime | None:
    """The publication time (aware, in the site's zone), or None: never the crawl time."""
    meta = _meta_date(page, tz, now)
    # The URL's date path gives a year-less date its year first: a guessed year never contradicts the URL.
    from_url = date_from_url(url, timezone=tz)
    for el in select(page.root, rules.published):
        raw = el.get("datetime") or el.get("content") or text_of(el)
        value = _first_date([raw], tz, now, meta, from_url) or parse_iso(raw, timezone=tz)
        if value is not None:
            return value.astimezone(tz)
    value = _first_date([ln.text for ln in header], tz, now, meta, from_url)
    if value is None and meta is not None:
        return _not_against_url(meta, from_url)
    if value is None:
        value = _first_date(_time_elements(page) + _date_classed(page, body_el), tz, now, meta, from_url,
                            need_year=True)
    if value is None:
        labelled = [ln.text for ln in lines if _DATE_LABEL.search(ln.text) and len(ln.text) < 80]
        value = _first_date(labelled, tz, now, meta, from_url, need_year=True)
    if value is None and opening:
        value = _first_date(opening, tz, now, meta, from_url, need_year=True)
    if value is not None:
        return _not_against_url(value.astimezone(tz), from_url)
    if from_url is not None:
        return from_url
    return listed.published if listed else None


def _not_against_url(value: datetime, from_url: datetime | None) -> datetime:
    """A found date more than a day and a half off the day the URL names (a related story's date, a
    modified time) loses to the URL's day: a page's date never contradicts its URL."""
    if from_url is not None and abs(value - from_url) > _URL_SLACK:
        return from_url
    return value


def _in_list(el: Node) -> bool:
    # Items of related-news lists carry dates (and date classes) too.
    return any(a.tag in ("li", "a") for a in el.iterancestors())


def _time_elements(page: Page) -> list[str]:
    """`<time datetime="…">` values outside lists."""
    return [el.get("datetime") or text_of(el) for el in page.root.iter("time") if not _in_list(el)]


def _date_classed(page: Page, body_el: Node | None) -> list[str]:
    """Texts of short elements classed as a date (`<span class="time">`) outside lists, nearest the body first."""
    body_pos = page.order.get(body_el, 0) if body_el is not None else 0
    found = []
    for el in page.root.iter("span", "div", "p", "em", "i", "font", "td", "small", "strong"):
        if not _DATE_HINT.search(class_and_id(el)):
            continue
        text = text_of(el)
        if not text or len(text) > 60 or _in_list(el):
            continue
        found.append((abs(page.order.get(el, 0) - body_pos), text))
    return [text for _, text in sorted(found, key=lambda f: f[0])]


def _first_date(texts: list[str], tz: ZoneInfo, now: datetime, meta: datetime | None,
                from_url: datetime | None = None, *, need_year: bool = False) -> datetime | None:
    """The first printed date; away from the headline (`need_year`) a date must show its year. A year-less
    one takes its year from the URL's date, else from the meta date, else the most recent past one."""
    relative = None
    for text in texts:
        for found in find_dates(text, timezone=tz, now=now, reference=meta, anchor=from_url):
            if need_year and not found.has_year:
                continue
            if found.relative:
                # A bare 昨天/3天前 names a day only relative to the crawl clock: not a publication time.
                if found.has_time:
                    relative = relative or found.value
                continue
            return _agree(found.value, meta, has_time=found.has_time)
    # "3小时前" is only as good as the crawl clock; a meta date from the page itself is better.
    if relative is not None:
        return meta or relative
    return None


def _agree(visible: datetime, meta: datetime | None, *, has_time: bool) -> datetime:
    """The printed date wins; meta adds the time or seconds the page left out when both name the same day."""
    if meta is None:
        return visible
    meta_local = meta.astimezone(visible.tzinfo)
    if meta_local.date() != visible.date():
        return visible
    if not has_time:
        return meta_local
    if (meta_local.hour, meta_local.minute) == (visible.hour, visible.minute):
        return meta_local
    return visible
