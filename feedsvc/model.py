"""Plain frozen records that flow between the rooms: entries, fetch results, feeds, section state.

Only the standard library is imported here, so every other module may depend on this one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

# Site and section names become URL path segments (/{site}/{section}.rss): lower-case, URL-safe.
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def content_hash(*parts: str | None) -> str:
    """Stable hash of the fields a reader sees; unchanged content keeps its hash (and its feed ETag)."""
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    """One article. `url` is the canonical URL and also the entry id in every feed format.

    Times are timezone-aware datetimes. `published` may be None when the page shows no date;
    `updated` is set by the store when the content of a known URL changes; `first_seen` by the store
    when the URL is first inserted (values passed in on insert are kept if given).
    """

    url: str
    title: str
    subtitle: str | None = None
    author: str | None = None
    source: str | None = None
    editor: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    first_seen: datetime | None = None
    summary: str = ""
    content_html: str = ""
    image: str | None = None
    # Section titles the entry is listed in (filled by the store when reading a section).
    categories: tuple[str, ...] = ()
    # True when the article page could not be fetched or parsed: the entry carries only the list
    # link's text and date and is fetched again on a later refresh.
    partial: bool = False

    @property
    def id(self) -> str:
        return self.url

    @property
    def hash(self) -> str:
        return content_hash(
            self.title, self.subtitle, self.author, self.source, self.editor,
            self.published.isoformat() if self.published else None,
            self.summary, self.content_html, self.image, "partial" if self.partial else "",
        )


@dataclass(frozen=True)
class Rules:
    """A section's extraction rules as extract/ reads them: CSS selectors (and a regex) that beat the
    heuristics when given. Plain data resolved from the config (site rules under section rules)."""

    links: str | None = None  # CSS: article links on a list page
    link_pattern: str | None = None  # regex an article URL must match (search, not fullmatch)
    next_page: str | None = None  # CSS: the list page's next-page link
    max_pages: int = 1
    title: str | None = None
    subtitle: str | None = None
    published: str | None = None
    author: str | None = None
    source: str | None = None
    editor: str | None = None
    body: str | None = None
    image: str | None = None
    remove: tuple[str, ...] = ()  # CSS: nodes dropped before extraction


@dataclass(frozen=True)
class FetchSettings:
    """How fetch/ talks to upstream sites: identity, timeouts, politeness, limits and retries.

    Plain data from the config's `fetch:` block; these defaults are the config's defaults.
    """

    user_agent: str = "feedsvc/0.1 (+https://github.com/feedsvc/feedsvc)"
    connect_timeout: timedelta = timedelta(seconds=10)
    read_timeout: timedelta = timedelta(seconds=20)
    total_timeout: timedelta = timedelta(seconds=45)
    per_host_concurrency: int = 2
    min_delay: timedelta = timedelta(seconds=0.5)  # the shortest gap between two requests to one host
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2
    backoff: timedelta = timedelta(seconds=1)
    max_retry_after: timedelta = timedelta(minutes=5)  # the longest Retry-After honoured within one run


DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Origins:
    """The origins (scheme, host, port) one site may be fetched from; nothing else ever is.

    An allowed host (the home page's, a section URL's, a bare `allowed_hosts` entry) is allowed on its
    scheme's default port, http and https alike; a configured URL also allows its exact origin (a home
    page on :8080); a `host:port` entry allows that port, under either scheme. A subdomain wildcard
    (`*.example.cn`, from allowed_hosts) allows every host under that domain (not the domain itself) the
    same way: on the default ports, or on its port when it names one. Checking a URL against these is
    the fetcher's job (`feedsvc.fetch.url_allowed`).
    """

    allowed: frozenset[tuple[str, str, int]] = frozenset()
    # (domain, port): hosts under `domain` on that port, or on their scheme's default port when None.
    subdomains: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def of(cls, hosts: Iterable[str] = (), *, urls: Iterable[str] = (),
           host_ports: Iterable[tuple[str, int]] = (),
           subdomains_of: Iterable[tuple[str, int | None]] = ()) -> Origins:
        """Origins from allowed hosts, configured URLs (their host, and their exact origin), host:port
        pairs and subdomain wildcards (domain, port or None)."""
        allowed: set[tuple[str, str, int]] = set()
        hosts = list(hosts)
        for url in urls:
            parts = urlsplit(url)
            try:
                port = parts.port
            except ValueError:  # not a URL the config would pass: it allows nothing
                continue
            if parts.scheme in DEFAULT_PORTS and parts.hostname:
                hosts.append(parts.hostname)
                allowed.add((parts.scheme, _host_key(parts.hostname), port or DEFAULT_PORTS[parts.scheme]))
        allowed.update((scheme, _host_key(host), port) for host in hosts for scheme, port in DEFAULT_PORTS.items())
        allowed.update((scheme, _host_key(host), port) for host, port in host_ports for scheme in DEFAULT_PORTS)
        wild = frozenset((_host_key(domain), port) for domain, port in subdomains_of if _host_key(domain))
        return cls(frozenset(a for a in allowed if a[1]), wild)

    def allows(self, scheme: str, host: str, port: int) -> bool:
        scheme, host = scheme.lower(), _host_key(host)
        if (scheme, host, port) in self.allowed:
            return True
        return scheme in DEFAULT_PORTS and any(
            host.endswith(f".{domain}") and port == (DEFAULT_PORTS[scheme] if wild_port is None else wild_port)
            for domain, wild_port in self.subdomains)

    def covers_host(self, host: str) -> bool:
        """Whether some port of `host` is allowed: the site is (partly) on that host."""
        host = _host_key(host)
        return any(h == host for _, h, _ in self.allowed) or any(
            host.endswith(f".{domain}") for domain, _ in self.subdomains)

    def __str__(self) -> str:
        """For messages: `host` (on both default ports), `host:port` (http and https), `scheme://host:port`."""
        by_host: dict[str, dict[int, set[str]]] = {}
        for scheme, host, port in self.allowed:
            by_host.setdefault(host, {}).setdefault(port, set()).add(scheme)
        shown = []
        for host, ports in sorted(by_host.items()):
            name = f"[{host}]" if ":" in host else host
            if all(scheme in ports.get(port, ()) for scheme, port in DEFAULT_PORTS.items()):
                shown.append(name)
                for scheme, port in DEFAULT_PORTS.items():
                    ports[port].discard(scheme)
            for port, schemes in sorted(ports.items()):
                if len(schemes) == len(DEFAULT_PORTS):
                    shown.append(f"{name}:{port}")
                else:
                    shown.extend(f"{scheme}://{name}:{port}" for scheme in sorted(schemes))
        shown += [f"*.{domain}" + ("" if port is None else f":{port}") for domain, port in sorted(
            self.subdomains, key=lambda w: (w[0], w[1] or 0))]
        return ", ".join(shown)


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered per fetched URL, for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What the fetcher returns for one URL. `text` is always decoded `str` (None on 304)."""

    url: str  # final URL after redirects
    status: int
    text: str | None
    content_type: str = ""
    charset: str | None = None
    validators: Validators = field(default_factory=Validators)
    not_modified: bool = False
    bytes_read: int = 0
    requests: int = 1  # HTTP requests sent for this result, retries and robots.txt included


@dataclass
class Tally:
    """What work cost upstream, added up: HTTP requests sent (robots, retries, redirects) and body bytes read."""

    requests: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class ListedLink:
    """An article link found on a section's list page, in page order."""

    url: str  # canonical
    text: str = ""
    published: datetime | None = None  # a date printed beside the link, if any


@dataclass(frozen=True)
class Feed:
    """Everything a renderer needs for one section feed. Entries are newest first."""

    site: str
    section: str
    title: str
    link: str  # the section's page on the original site
    feed_url_base: str  # public URL without extension, e.g. http://host/cxnews/cixi
    description: str = ""
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    site_title: str = ""
    site_home: str = ""
    ttl_minutes: int = 15
    entries: tuple[Entry, ...] = ()
    # When the store last looked at the section (its last refresh), or when a server first served a
    # section never refreshed: the feed's time while it has no entries (else an empty feed says 1970).
    checked: datetime | None = None
    # The WebSub hub the feed advertises (with its own URL as rel="self"); None: no hub, no hub links.
    hub: str | None = None

    @property
    def updated(self) -> datetime | None:
        """When the feed last changed: the newest time one of its entries was stored (`first_seen`) or had
        its content changed (`updated`). It is the feed's Atom updated, RSS lastBuildDate and HTTP
        Last-Modified, so it must move whenever an entry arrives, however old its printed date, and never
        run ahead of the clock, however far ahead a page dates itself. Entries that never went through a
        store (a preview) count with their printed date. Never the request time."""
        times: list[datetime] = []
        for e in self.entries:
            stored = [t for t in (e.updated, e.first_seen) if t]
            times.extend(stored or ([e.published] if e.published else []))
        return max(times) if times else None

    def feed_url(self, ext: str) -> str:
        return f"{self.feed_url_base}.{ext}"


@dataclass(frozen=True)
class FeedDocument:
    """Rendered bytes of one feed in one format."""

    format: str  # "rss" | "atom" | "json"
    media_type: str  # e.g. "application/rss+xml"
    body: bytes
    updated: datetime | None = None


class Listing(NamedTuple):
    """What a section lists now, in brief: how many entries, and when its feed last changed (the newest
    time one of them was stored or had its content changed: `Feed.updated` of those entries)."""

    entries: int
    updated: datetime | None


@dataclass(frozen=True)
class SectionState:
    """What the store remembers about a section's refreshes."""

    site: str
    section: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    resolved_url: str | None = None  # for sections configured by nav label
    # The site asked (Retry-After on a 429/503) not to be asked again before this time: no refresh,
    # scheduled or `feedsvc refresh`, runs before it (`--force` aside).
    deferred_until: datetime | None = None
    last_duration: timedelta | None = None  # how long the last refresh (ok or not) took
    refreshed_by: str | None = None  # the replica (or `feedsvc refresh` process) that made the last attempt


@dataclass(frozen=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # dropped from the section by the rolling window

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.removed)


@dataclass(frozen=True)
class RefreshReport:
    """Outcome of one refresh of one section; stored on the section as data, never only logged."""

    site: str
    section: str
    started: datetime
    finished: datetime
    ok: bool
    error: str | None = None
    list_not_modified: bool = False
    links_found: int = 0
    new_links: int = 0
    articles_fetched: int = 0
    articles_failed: int = 0
    offsite_skipped: int = 0
    inserted: int = 0
    updated: int = 0
    requests: int = 0
    bytes_read: int = 0
    # The site's Retry-After (capped) as a time: the section waits until then. None: no deferral.
    deferred_until: datetime | None = None
    deferred_by: str | None = None  # the host that asked for it (its other sections wait too)
    # Articles the section deadline cut off (not fetched, or cut mid-fetch); fetched next run.
    deadline_left: int = 0
    replica: str | None = None  # who ran it (cluster.replica_id); stored as the section's `refreshed_by`
