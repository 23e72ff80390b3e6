"""OPML 2.0 subscription list of every feed, so a reader can subscribe to a whole site in one step. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class Outline:
    title: str
    xml_url: str  # the feed
    html_url: str  # the section's page on the original site
    group: str = ""  # the site's title


def render_opml(title: str, outlines: Sequence[Outline]) -> bytes:
    """Outlines grouped by site, in the given order; deterministic bytes (no dates)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"<head><title>{_text(title)}</title></head>", "<body>"]
    groups: dict[str, list[Outline]] = {}
    for outline in outlines:
        groups.setdefault(outline.group, []).append(outline)
    for group, members in groups.items():
        if group:
            lines.append(f"<outline text={quoteattr(group)} title={quoteattr(group)}>")
        for o in members:
            lines.append(
                f'<outline type="rss" text={quoteattr(o.title)} title={quoteattr(o.title)} '
                f"xmlUrl={quoteattr(o.xml_url)} htmlUrl={quoteattr(o.html_url)}/>")
        if group:
            lines.append("</outline>")
    lines += ["</body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
