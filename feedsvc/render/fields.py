"""What every feed format derives the same way from a Feed: XML-safe text, web-only URLs, times, authors,
image types.

Keeping these rules in one place is what makes an entry carry the same id, links, dates and text in
RSS, Atom and JSON Feed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from feedsvc.model import Entry, Feed
from feedsvc.render.safe_urls import safe_content_html, web_url

# The feed time of an empty feed that says nothing of when it was checked (a preview of nothing):
# fixed, so its bytes never change. A served feed carries `Feed.checked` instead.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

GENERATOR = "feedsvc"

# Characters XML 1.0 forbids (C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
# lxml refuses such strings outright, and scraped pages do contain stray \x08 or \x1b bytes.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# A fixed table, not `mimetypes`: that module reads /etc/mime.types, so output would vary by machine.
_IMAGE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml", ".bmp": "image/bmp", ".avif": "image/avif",
}


def clean(text: str | None) -> str:
    """Text that is safe in any XML document (and valid UTF-8 in JSON): forbidden characters dropped."""
    if not text:
        return ""
    return _INVALID_XML.sub("", text)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(dt: datetime, feed: Feed) -> datetime:
    """`dt` in the feed's time zone, whole seconds (RSS cannot carry fractions; all formats agree)."""
    if dt.tzinfo is None:  # the model promises aware times; treat a stray naive one as UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(zone(feed.timezone)).replace(microsecond=0)


def entry_published(entry: Entry, feed: Feed) -> datetime | None:
    """The date the page printed, or None: the time we first saw a page is no publication date."""
    return local(entry.published, feed) if entry.published else None


def entry_modified(entry: Entry, feed: Feed) -> datetime | None:
    """For formats where a modification time is optional (JSON Feed): when the content changed, else
    the published time; None for an undated entry."""
    dt = entry.updated or entry.published
    return local(dt, feed) if dt else None


def entry_updated(entry: Entry, feed: Feed) -> datetime:
    """For Atom, which requires one: `entry_modified`, else when the entry was first seen (the only
    place the first-seen time appears), else the feed's time."""
    dt = entry.updated or entry.published or entry.first_seen
    return local(dt, feed) if dt else feed_updated(feed)


def feed_updated(feed: Feed) -> datetime:
    """The feed's updated/lastBuildDate: newest entry time; when empty, when its section was last
    checked (`Feed.checked`), else EPOCH. Never the request time."""
    return local(feed.updated or feed.checked or EPOCH, feed)


def entry_title(entry: Entry) -> str:
    # Atom and feedgen need a non-empty title; the URL is the one thing every entry has.
    return clean(entry.title).strip() or clean(entry.url)


def feed_author(feed: Feed) -> str:
    """The feed-level author (RFC 4287: entries without an author inherit it): the site's name."""
    return clean(feed.site_title).strip() or clean(feed.title).strip() or feed.site


def feed_description(feed: Feed) -> str:
    return clean(feed.description).strip() or clean(feed.title).strip() or feed.section


def feed_link(feed: Feed) -> str:
    return web_url(clean(feed.link)) or web_url(clean(feed.site_home)) or feed.feed_url_base


def entry_link(entry: Entry) -> str | None:
    """The page a reader opens: the entry's URL when it is absolute http(s), else no link at all."""
    return web_url(clean(entry.url))


def entry_image(entry: Entry) -> str | None:
    """The lead image (enclosure, JSON `image`) when it is absolute http(s); a `javascript:` or `DATA:` one goes."""
    return web_url(clean(entry.image))


def entry_content(entry: Entry) -> str:
    """The content HTML, XML-safe, with every link and image absolute http(s) (others dropped)."""
    content = clean(entry.content_html)
    return safe_content_html(content) if content else ""


def image_type(url: str) -> str:
    """Media type of an image URL judged by its extension; JPEG, the news-site norm, when unknown."""
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    dot = path.rfind(".")
    return _IMAGE_TYPES.get(path[dot:], "image/jpeg") if dot > path.rfind("/") else "image/jpeg"
