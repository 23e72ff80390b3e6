"""RSS 2.0 rendering of a Feed with feedgen (content:encoded for full HTML, dc:creator for authors).

Deterministic: feedgen's clock-based defaults (lastBuildDate, generator version) are always overridden.
"""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.model import Entry, Feed
from feedsvc.render import fields

MEDIA_TYPE = "application/rss+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"  # feedgen maps it to the `atom` prefix in every RSS feed


def render_rss(feed: Feed) -> bytes:
    fg = FeedGenerator()
    # RSS <author> must be an e-mail address; Chinese news bylines are names, which dc:creator carries.
    fg.load_extension("dc", atom=False, rss=True)
    fg.title(fields.clean(feed.title).strip() or feed.section)
    # feedgen uses the *last* link as the channel <link>, so the self link goes first.
    fg.link(href=fields.clean(feed.feed_url("rss")), rel="self", type=MEDIA_TYPE)
    fg.link(href=fields.feed_link(feed), rel="alternate")
    if feed.hub:
        # feedgen writes only the rel="self" atom:link into RSS; an extension adds the hub's.
        fg.register_extension("websub", _WebSubHub, atom=False, rss=True)
        fg.websub.hub = fields.clean(feed.hub)
    fg.description(fields.feed_description(feed))
    if feed.language:
        fg.language(feed.language)
    fg.lastBuildDate(fields.feed_updated(feed))
    fg.generator(fields.GENERATOR)
    fg.ttl(feed.ttl_minutes)
    for entry in feed.entries:
        _add_item(fg, entry, feed)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


class _WebSubHub(BaseExtension):
    """WebSub in RSS: `<atom:link rel="hub" href="..."/>` in the channel, beside feedgen's rel="self" one."""

    hub = ""

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        link = etree.SubElement(channel, f"{{{ATOM_NS}}}link")
        link.set("href", self.hub)
        link.set("rel", "hub")
        return feed


def _add_item(fg: FeedGenerator, entry: Entry, feed: Feed) -> None:
    fe = fg.add_entry(order="append")  # keep the given (newest-first) order
    url = fields.entry_link(entry)
    entry_id = fields.clean(entry.id)
    fe.title(fields.entry_title(entry))
    if url:
        fe.link(href=url, rel="alternate")
    # isPermaLink promises readers the guid is a URL they can open: true only when it *is* the (web) URL.
    fe.guid(entry_id, permalink=entry_id == url)
    summary = fields.clean(entry.summary).strip()
    if summary:
        fe.summary(summary)
    content = fields.entry_content(entry)
    if content:
        fe.content(content)
    published = fields.entry_published(entry, feed)
    if published:
        fe.pubDate(published)
    # feedgen stamps every entry with updated=now(); RSS does not print it, set it anyway for safety.
    fe.updated(fields.entry_updated(entry, feed))
    author = fields.clean(entry.author).strip()
    if author:
        fe.dc.dc_creator(author)
    for category in entry.categories:
        term = fields.clean(category).strip()
        if term:
            fe.category(term=term)
    image = fields.entry_image(entry)
    if image:
        # Length is unknown without fetching the image; the RSS board says to use 0 then.
        fe.enclosure(url=image, length=0, type=fields.image_type(image))
