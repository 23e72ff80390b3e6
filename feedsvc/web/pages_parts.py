"""The pieces both pages are built from: the HTML document, times with their zone, a section's status,
and the block of its three feed URLs. Every text that comes from a config or a page is escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from feedsvc.config import SectionRef
from feedsvc.model import SectionState
from feedsvc.render import FORMATS
from feedsvc.web.pages_style import SCRIPT, STYLE

FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}

# Web feed readers that subscribe from a link carrying the feed URL (the Atom one: every reader takes it).
SUBSCRIBE_LINKS = {
    "Feedly": "https://feedly.com/i/subscription/feed/{}",
    "Inoreader": "https://www.inoreader.com/?add_feed={}",
    "NewsBlur": "https://www.newsblur.com/?url={}",
}


def document(lang: str, title: str, head: list[str], body: list[str]) -> bytes:
    """A whole HTML page: the inline stylesheet, `head` extras, `body`, and the copy-button script."""
    return "\n".join([
        "<!doctype html>", f'<html lang="{escape(lang)}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">', '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", *head, "</head>", "<body>",
        *body, f"<script>{SCRIPT}</script>", "</body>", "</html>", "",
    ]).encode("utf-8")


def zone_label(offset: timedelta | None) -> str:
    """`UTC+8`, `UTC+5:30`, `UTC-3`, `UTC` for an offset from UTC."""
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def when(dt: datetime, zone: ZoneInfo) -> str:
    """A `<time>` in the section's zone, its offset written out (`2021-12-08 09:58 UTC+8`)."""
    local = dt.astimezone(zone)
    return (f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M} '
            f"{zone_label(local.utcoffset())}</time>")


@dataclass(frozen=True)
class Status:
    """A section's refresh status as the pages show it: `ok`, `failing`, `pending` or `deferred`."""

    name: str
    detail: str  # HTML: what the status rests on (last refresh time, failure count, deferral)
    error: str | None  # the last error (plain text) while failing


def section_status(state: SectionState | None, zone: ZoneInfo, now: datetime) -> Status:
    """What the store says of a section's refreshes; a failing section carries its error."""
    deferred = state is not None and state.deferred_until is not None and state.deferred_until > now
    until = (f"; deferred until {when(state.deferred_until, zone)} (the site's Retry-After)"
             if deferred and state is not None and state.deferred_until is not None else "")
    if state is None or state.last_attempt is None:
        return Status("deferred" if deferred else "pending", "not refreshed yet" + until, None)
    if state.consecutive_failures:
        good = f", last success {when(state.last_success, zone)}" if state.last_success else ", never succeeded"
        times = "once" if state.consecutive_failures == 1 else f"{state.consecutive_failures} times in a row"
        return Status("failing", f"failed {times}; last attempt {when(state.last_attempt, zone)}{good}{until}",
                      state.last_error or "unknown error")
    return Status("deferred" if deferred else "ok", f"last refresh {when(state.last_attempt, zone)}{until}", None)


def status_badge(status: Status) -> str:
    return f'<span class="badge {status.name}">{status.name}</span>'


def error_block(status: Status) -> str:
    return f'<p class="error">{escape(status.error)}</p>' if status.error else ""


def link(url: str | None, text: str, **attrs: str) -> str:
    """`<a href>` around escaped `text` for an http(s) URL; anything else (a `javascript:` URL a page
    slipped in, no URL at all) is the text alone, never a link."""
    extra = "".join(f' {name}="{escape(value)}"' for name, value in attrs.items())
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return f'<a href="{escape(url.strip())}"{extra}>{escape(text)}</a>'
    return f"<span{extra}>{escape(text)}</span>"


def feed_path(ref: SectionRef, fmt: str) -> str:
    return f"/{ref.site_name}/{ref.name}.{fmt}"


def alternates(ref: SectionRef, title: str) -> list[str]:
    """Autodiscovery: `<link rel="alternate">` for each format, relative to the page's own origin."""
    return [
        f'<link rel="alternate" type="{escape(r.media_type)}" '
        f'title="{escape(title)} ({FORMAT_LABELS.get(fmt, fmt)})" href="{feed_path(ref, fmt)}">'
        for fmt, r in FORMATS.items()
    ]


def feed_urls(ref: SectionRef, base: str) -> str:
    """The section's feed URLs as visible, selectable text, each with a copy button (shown by the script)."""
    rows = []
    for fmt in FORMATS:
        url = escape(base + feed_path(ref, fmt))
        ident = f"url-{ref.site_name}-{ref.name}-{fmt}"
        rows.append(
            f'<div class="feed-url"><a class="fmt" href="{feed_path(ref, fmt)}">{FORMAT_LABELS.get(fmt, fmt)}</a>'
            # A narrow screen breaks the URL before its file name rather than inside it.
            f'<code id="{ident}">{escape(base + f"/{ref.site_name}/")}<wbr>{escape(f"{ref.name}.{fmt}")}</code>'
            f'<button type="button" hidden data-copy="{url}" aria-controls="{ident}">Copy</button></div>')
    return '<div class="feeds">' + "".join(rows) + "</div>"


def subscribe_links(ref: SectionRef, base: str) -> str:
    """Links that open a web feed reader's subscribe dialog for the section's Atom feed."""
    target = quote(base + feed_path(ref, "atom"), safe="")
    links = " · ".join(f'<a href="{escape(pattern.format(target))}" rel="noopener">{escape(name)}</a>'
                       for name, pattern in SUBSCRIBE_LINKS.items())
    return f'<p class="subscribe">Subscribe with {links}</p>'
