"""PURE `Feed -> FeedDocument` renderers in a registry keyed by URL extension: rss, atom, json.

    doc = render("atom", feed)          # FeedDocument(format, media_type, body, updated)
    FORMATS["rss"].media_type           # "application/rss+xml" (the web layer adds charset=utf-8)

The same Feed always gives the same bytes: no renderer reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feedsvc.errors import NotFound
from feedsvc.model import Feed, FeedDocument
from feedsvc.render import atom, jsonfeed, rss


@dataclass(frozen=True)
class Renderer:
    """One feed format: its URL extension, media type and `Feed -> bytes` function."""

    format: str
    media_type: str
    to_bytes: Callable[[Feed], bytes]

    def render(self, feed: Feed) -> FeedDocument:
        return FeedDocument(
            format=self.format, media_type=self.media_type, body=self.to_bytes(feed), updated=feed.updated
        )


FORMATS: dict[str, Renderer] = {
    "rss": Renderer("rss", rss.MEDIA_TYPE, rss.render_rss),
    "atom": Renderer("atom", atom.MEDIA_TYPE, atom.render_atom),
    "json": Renderer("json", jsonfeed.MEDIA_TYPE, jsonfeed.render_json),
}


def render(fmt: str, feed: Feed) -> FeedDocument:
    """Render `feed` as `fmt` ("rss", "atom" or "json"); an unknown format raises NotFound."""
    renderer = FORMATS.get(fmt)
    if renderer is None:
        raise NotFound(f"unknown feed format {fmt!r} (use {', '.join(FORMATS)})")
    return renderer.render(feed)


__all__ = ["FORMATS", "Renderer", "render"]
