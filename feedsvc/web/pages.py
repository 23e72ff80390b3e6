"""The small HTML pages people (not feed readers) look at: the feed list at `/` and a section page.

Both carry `<link rel="alternate">` tags, so a reader given the page URL discovers the feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from zoneinfo import ZoneInfo

from feedsvc.config import Config, SectionRef
from feedsvc.model import Feed, SectionState
from feedsvc.render import FORMATS

FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
_STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"


def _alternates(ref: SectionRef, title: str) -> list[str]:
    return [
        f'<link rel="alternate" type="{escape(r.media_type)}" '
        f'title="{escape(title)} ({FORMAT_LABELS.get(fmt, fmt)})" href="/{ref.site_name}/{ref.name}.{fmt}">'
        for fmt, r in FORMATS.items()
    ]


def _feed_links(ref: SectionRef) -> str:
    return " · ".join(
        f'<a href="/{ref.site_name}/{ref.name}.{fmt}">{FORMAT_LABELS.get(fmt, fmt)}</a>' for fmt in FORMATS
    )


def _page(lang: str, title: str, head: list[str], body: list[str]) -> bytes:
    return "\n".join([
        "<!doctype html>", f'<html lang="{escape(lang)}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style>", *head, "</head>", "<body>",
        *body, "</body>", "</html>", "",
    ]).encode("utf-8")


def _status(state: SectionState | None, zone: ZoneInfo) -> str:
    """A section's last refresh as a short phrase; a failing section shows its error."""
    # The next run, due once the deferral ends, replaces it: a past one is seen only until then.
    deferred = (f" — deferred until {state.deferred_until.astimezone(zone):%Y-%m-%d %H:%M} (the site's Retry-After)"
                if state is not None and state.deferred_until else "")
    if state is None or state.last_attempt is None:
        return f"<small>not refreshed yet{deferred}</small>"
    if state.consecutive_failures:
        since = f" (last good {state.last_success.astimezone(zone):%Y-%m-%d %H:%M})" if state.last_success else ""
        return (f'<small style="color:#b00">failing ×{state.consecutive_failures}: '
                f"{escape(state.last_error or 'unknown error')}{since}{deferred}</small>")
    return f"<small>ok, refreshed {state.last_attempt.astimezone(zone):%Y-%m-%d %H:%M}{deferred}</small>"


def index_page(config: Config, states: Mapping[tuple[str, str], SectionState] | None = None) -> bytes:
    """Every configured feed, grouped by site, with each section's refresh status."""
    refs = config.section_refs()
    head: list[str] = []
    body = ["<h1>feedsvc</h1>"]
    if not refs:
        body.append("<p>No sites are configured.</p>")
    for site_name, site in config.sites.items():
        body.append(f'<h2><a href="{escape(site.home)}">{escape(site.title)}</a></h2>')
        body.append("<ul>")
        for ref in refs:
            if ref.site_name != site_name:
                continue
            title = f"{site.title} · {ref.section.title}"
            head.extend(_alternates(ref, title))
            status = _status((states or {}).get((ref.site_name, ref.name)), ZoneInfo(ref.timezone))
            body.append(
                f'<li><a href="/{ref.site_name}/{ref.name}">{escape(ref.section.title)}</a> '
                f"— {_feed_links(ref)} {status}</li>")
        body.append("</ul>")
    body.append('<p><a href="/feeds.opml">all feeds as OPML</a> · <a href="/healthz">health</a></p>')
    language = refs[0].language if refs else "en"
    return _page(language, "feedsvc", head, body)


def section_page(ref: SectionRef, feed: Feed) -> bytes:
    """A section's entries as a plain list of links, newest first."""
    body = [
        f'<p><a href="/">feedsvc</a> › <a href="{escape(feed.link)}">{escape(ref.site.title)}</a></p>',
        f"<h1>{escape(feed.title)}</h1>",
        f"<p>{_feed_links(ref)}</p>",
        "<ul>",
    ]
    zone = ZoneInfo(ref.timezone)
    for entry in feed.entries:
        when = entry.published or entry.first_seen
        stamp = f" <small>{when.astimezone(zone):%Y-%m-%d %H:%M}</small>" if when else ""
        body.append(f'<li><a href="{escape(entry.url)}">{escape(entry.title)}</a>{stamp}</li>')
    body.append("</ul>")
    if not feed.entries:
        body.append("<p>No entries yet.</p>")
    return _page(ref.language, feed.title, _alternates(ref, feed.title), body)
