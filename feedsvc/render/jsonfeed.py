"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) rendering of a Feed, by hand: UTF-8, keys in a fixed order.

Fields the spec lacks (source, editor, subtitle) go under the `_feedsvc` extension object.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.model import Entry, Feed
from feedsvc.render import fields

MEDIA_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"


def render_json(feed: Feed) -> bytes:
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": fields.clean(feed.title).strip() or feed.section,
        "home_page_url": fields.feed_link(feed),
        "feed_url": fields.clean(feed.feed_url("json")),
    }
    if feed.description.strip():
        doc["description"] = fields.clean(feed.description).strip()
    if feed.language:
        doc["language"] = feed.language
    # Same feed-level author as the Atom feed; items without one inherit it.
    doc["authors"] = [{"name": fields.feed_author(feed)}]
    if feed.hub:  # JSON Feed 1.1 `hubs`: subscribe at the hub to `feed_url`
        doc["hubs"] = [{"type": "WebSub", "url": fields.clean(feed.hub)}]
    doc["items"] = [_item(entry, feed) for entry in feed.entries]
    # ensure_ascii=False: Chinese text stays readable and half the size of \\uXXXX escapes.
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _item(entry: Entry, feed: Feed) -> dict[str, Any]:
    item: dict[str, Any] = {"id": fields.clean(entry.id)}
    url = fields.entry_link(entry)
    if url:
        item["url"] = url
    item["title"] = fields.entry_title(entry)
    # The spec wants content_html or content_text present; an empty string still says "no body".
    item["content_html"] = fields.entry_content(entry)
    summary = fields.clean(entry.summary).strip()
    if summary:
        item["summary"] = summary
    image = fields.entry_image(entry)
    if image:
        item["image"] = image
    published = fields.entry_published(entry, feed)
    if published:
        item["date_published"] = published.isoformat()
    modified = fields.entry_modified(entry, feed)
    if modified:
        item["date_modified"] = modified.isoformat()
    author = fields.clean(entry.author).strip()
    if author:
        item["authors"] = [{"name": author}]
    tags = [t for t in (fields.clean(c).strip() for c in entry.categories) if t]
    if tags:
        item["tags"] = tags
    extra = {
        key: fields.clean(value).strip()
        for key, value in (("source", entry.source), ("editor", entry.editor), ("subtitle", entry.subtitle))
        if value and value.strip()
    }
    if extra:
        item["_feedsvc"] = extra
    return item
