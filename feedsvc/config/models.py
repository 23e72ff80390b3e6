"""The config's shape as pydantic models, and `SectionRef`: one section with every setting resolved.

These models are the single source of truth for the config's shape: validation, defaults and the
JSON Schema printed by `feedsvc schema` all come from them. What the rooms below config receive is
plain data (`feedsvc.model.Rules`, `feedsvc.model.FetchSettings`), never these models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from feedsvc import model
from feedsvc.config.fields import (
    ByteSize,
    Css,
    CssList,
    Duration,
    HeaderValue,
    HostPort,
    HttpUrl,
    Regex,
    Slug,
    StoreUrl,
    TimeZone,
    format_byte_size,
    format_duration,
    split_allowed_host,
)
from feedsvc.errors import NotFound

# The plain records' defaults are the config's defaults: one value, written once.
_FETCH = model.FetchSettings()
_RULES = model.Rules()
_SLUG_MAP: dict[str, Any] = {"additionalProperties": False}

# Upper bounds: every value `feedsvc check` passes must run. `now - max_age_days` must stay a datetime
# (36500 days, a century, is what the demo keeps), and counts stay within what SQLite and memory hold.
MAX_AGE_DAYS = 36_500
MAX_ENTRIES = 100_000
MAX_NEW = 1_000
MAX_ARTICLE_ATTEMPTS = 100
MAX_BYTES = 1 << 30
# A section run's deadline: long enough for a slow site's list page and an article, short enough that
# one slow-dripping site cannot hold its refreshes (and everything queued behind them) for hours.
MIN_SECTION_DEADLINE = timedelta(seconds=1)
MAX_SECTION_DEADLINE = timedelta(hours=6)


def _deadline_in_bounds(value: timedelta) -> timedelta:
    if not MIN_SECTION_DEADLINE <= value <= MAX_SECTION_DEADLINE:
        raise ValueError(f"{format_duration(value)} is not a section deadline (use 1s to "
                         f"{format_duration(MAX_SECTION_DEADLINE)})")
    return value


SectionDeadline = Annotated[Duration, AfterValidator(_deadline_in_bounds)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Connections: an idle one (no complete request head yet, or between keep-alive requests) is closed
# after idle_timeout; past max_connections the longest idle one is closed to make room for a new one.
MAX_IDLE_TIMEOUT = timedelta(hours=1)
MAX_CONNECTIONS = 100_000
MIN_ADMIN_TOKEN = 16
# The feed cache's budget: 64 MiB holds about 280 sections' three feeds of 33 KB and their entries.
DEFAULT_FEED_CACHE_BYTES = 64 * 1024**2
MIN_FEED_CACHE_BYTES = 1024**2
MAX_FEED_CACHE_BYTES = 64 * 1024**3


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: HttpUrl | None = Field(None, description="Base URL feeds are reached at; default http://host:port")
    idle_timeout: Duration = Field(
        timedelta(seconds=15), description="A connection with no request in flight (one that has not sent a "
        "complete request head, or is idle between keep-alive requests) is closed after this long; at most 1h")
    max_connections: int = Field(
        512, ge=8, le=MAX_CONNECTIONS, description="Open client connections at most (lowered to fit the open-file "
        "limit); past it a new connection closes the longest idle one")
    feed_cache_bytes: ByteSize = Field(
        DEFAULT_FEED_CACHE_BYTES,
        description="Memory for rendered feeds and the entries they came from (64MiB, 1GiB…; at least 1MiB): "
        "the least recently requested are dropped past it and rendered again from the store when asked")
    websub_hub: HttpUrl | None = Field(
        None, description="WebSub hub: every feed advertises it (and itself), and each section that changed "
        "in a refresh is published to it")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token of the admin API (POST /admin/refresh/...), at least 16 "
        "characters; without it the admin routes do not exist. $FEEDSVC_ADMIN_TOKEN overrides it")

    @field_validator("admin_token")
    @classmethod
    def _admin_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # The message never repeats the value: it is a secret.
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_TOKEN:
            raise ValueError(f"is too short (at least {MIN_ADMIN_TOKEN} characters; a guessable token guards nothing)")
        return value

    @field_validator("feed_cache_bytes")
    @classmethod
    def _feed_cache_bytes_bound(cls, value: int) -> int:
        if not MIN_FEED_CACHE_BYTES <= value <= MAX_FEED_CACHE_BYTES:
            raise ValueError(f"{format_byte_size(value)} is out of range (between "
                             f"{format_byte_size(MIN_FEED_CACHE_BYTES)} and {format_byte_size(MAX_FEED_CACHE_BYTES)})")
        return value

    @field_validator("idle_timeout")
    @classmethod
    def _idle_timeout_bound(cls, value: timedelta) -> timedelta:
        if value > MAX_IDLE_TIMEOUT:
            raise ValueError("is too long (at most 1h: an idle connection holds a file descriptor)")
        return value

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class StoreConfig(_Strict):
    url: StoreUrl = Field(
        "sqlite:///feedsvc.db",
        description="sqlite:///path.db (relative to the working directory) or postgresql://user@host:5432/dbname",
    )
    max_entries: int = Field(100, ge=1, le=MAX_ENTRIES, description="Rolling window: newest N entries per section")
    max_age_days: int = Field(30, ge=1, le=MAX_AGE_DAYS, description="Rolling window: nothing older than this")


# Replicas sharing one PostgreSQL store (see feedsvc/site_leases.py): a replica that stops renewing its
# site leases (killed, cut off) loses them after `lease`; another takes its sites over.
MIN_LEASE = timedelta(seconds=2)
MAX_LEASE = timedelta(minutes=10)
REPLICA_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")


def _check_replica_id(value: str) -> str:
    if not REPLICA_ID_RE.match(value):
        raise ValueError(f"{value!r} is not a replica id (1-64 of A-Z, a-z, 0-9, '.', '_', ':', '@', '-', "
                         "starting with a letter or digit)")
    return value


class ClusterConfig(_Strict):
    replica_id: Annotated[str, AfterValidator(_check_replica_id)] | None = Field(
        None, description="This replica's name in the store, /status.json, logs and metrics; default "
        "hostname:pid. $FEEDSVC_REPLICA_ID and `serve --replica-id` override it")
    lease: Duration = Field(
        timedelta(seconds=20), description="How long a replica's hold on a site lasts unless renewed (every "
        "third of it while the replica refreshes the site): another replica takes over a killed one's sites "
        "within about this long plus a quarter of it. 2s to 10m")

    @field_validator("lease")
    @classmethod
    def _lease_bounds(cls, value: timedelta) -> timedelta:
        if not MIN_LEASE <= value <= MAX_LEASE:
            raise ValueError(f"{format_duration(value)} is not a lease length (use 2s to 10m: shorter, a busy "
                             "replica could miss its renewal; longer, a killed one's sites wait as long)")
        return value


def _plain(source: BaseModel, record: type[Any]) -> Any:
    return record(**{f.name: getattr(source, f.name) for f in fields(record)})


class FetchConfig(_Strict):
    user_agent: HeaderValue = _FETCH.user_agent
    connect_timeout: Duration = _FETCH.connect_timeout
    read_timeout: Duration = _FETCH.read_timeout
    total_timeout: Duration = _FETCH.total_timeout
    per_host_concurrency: int = Field(_FETCH.per_host_concurrency, ge=1, le=32)
    min_delay: Duration = Field(_FETCH.min_delay, description="Minimum gap between two requests to one host")
    max_bytes: int = Field(_FETCH.max_bytes, ge=1024, le=MAX_BYTES)
    max_redirects: int = Field(_FETCH.max_redirects, ge=0, le=20)
    retries: int = Field(_FETCH.retries, ge=0, le=10)
    backoff: Duration = _FETCH.backoff
    max_retry_after: Duration = Field(_FETCH.max_retry_after, description="Longest Retry-After honoured within one run")

    def plain(self) -> model.FetchSettings:
        """These settings as the plain record fetch/ reads."""
        settings: model.FetchSettings = _plain(self, model.FetchSettings)
        return settings


class Defaults(_Strict):
    refresh: Duration = timedelta(minutes=15)
    timezone: TimeZone = "Asia/Shanghai"
    language: str = "zh-CN"
    max_new: int = Field(30, ge=1, le=MAX_NEW, description="Most new articles fetched per section per run")
    article_attempts: int = Field(
        5, ge=1, le=MAX_ARTICLE_ATTEMPTS, description="Refreshes that try an article that fails to load before it stays a list link")
    section_deadline: SectionDeadline = Field(
        timedelta(minutes=5),
        description="Longest one refresh of a section takes; articles not fetched by then are fetched next run")


class Rules(_Strict):
    """CSS selectors (and a regex) that beat the heuristics when given. All optional."""

    links: Css = Field(None, description="CSS selector for article links on a list page")
    link_pattern: Regex = Field(None, description="Regex an article URL must match (search, not fullmatch)")
    next_page: Css = Field(None, description="CSS selector of the list page's next-page link")
    max_pages: int = Field(_RULES.max_pages, ge=1, le=50)
    title: Css = None
    subtitle: Css = None
    published: Css = None
    author: Css = None
    source: Css = None
    editor: Css = None
    body: Css = None
    image: Css = None
    remove: CssList = Field(_RULES.remove, description="CSS selectors of nodes dropped before extraction")

    def merged(self, override: Rules | None) -> Rules:
        """Section rules over site rules: fields the section sets win; `remove` lists add up."""
        if override is None:
            return self
        data = self.model_dump()
        for key in override.model_fields_set:
            value = getattr(override, key)
            data[key] = tuple(self.remove) + tuple(value) if key == "remove" else value
        return Rules(**data)

    def plain(self) -> model.Rules:
        """These rules as the plain record extract/ reads."""
        rules: model.Rules = _plain(self, model.Rules)
        return rules


class Section(_Strict):
    title: str
    url: HttpUrl | None = Field(None, description="The section's list page")
    nav: str | None = Field(None, description="Navigation label on the home page; its link is the list page")
    description: str | None = None
    refresh: Duration | None = None
    section_deadline: SectionDeadline | None = Field(None, description="Longest one refresh of this section takes")
    max_new: int | None = Field(None, ge=1, le=MAX_NEW)
    max_entries: int | None = Field(None, ge=1, le=MAX_ENTRIES)
    max_age_days: int | None = Field(None, ge=1, le=MAX_AGE_DAYS)
    rules: Rules | None = None

    @model_validator(mode="after")
    def _url_or_nav(self) -> Section:
        if not self.url and not self.nav:
            raise ValueError("a section needs `url` or `nav` (its navigation label on the home page)")
        if self.url and self.nav:
            # Which would win is a guess the operator should not have to make: one list page, one way.
            raise ValueError("a section takes `url` or `nav`, not both (nav: the label whose link on the home "
                             "page is the list page; url: the list page itself)")
        return self


class Site(_Strict):
    title: str
    home: HttpUrl
    timezone: TimeZone | None = None
    language: str | None = None
    refresh: Duration | None = Field(None, description="Refresh interval of this site's sections (default: defaults.refresh)")
    section_deadline: SectionDeadline | None = Field(
        None,
        description="Longest one refresh of a section of this site takes (default: defaults.section_deadline)")
    allowed_hosts: tuple[HostPort, ...] = Field(
        (), description="Hosts besides the home page's that the site is fetched from (host, host:port, "
                        "or *.domain for every subdomain of that domain)")
    robots: bool = Field(True, description="Honour robots.txt (set false only with the site's consent)")
    rules: Rules = Rules()
    sections: dict[Slug, Section] = Field(json_schema_extra=_SLUG_MAP)

    def hosts(self) -> frozenset[str]:
        """Hosts that belong to the site: its home's, its section URLs' and its allowed_hosts'. They
        say which site a URL is on (`feedsvc preview URL`); what is fetched is `origins()`."""
        hosts = {urlsplit(self.home).hostname or ""}
        hosts.update(host for host, _, wild in map(split_allowed_host, self.allowed_hosts) if not wild)
        for section in self.sections.values():
            if section.url:
                hosts.add(urlsplit(section.url).hostname or "")
        hosts.discard("")
        return frozenset(h.lower() for h in hosts)

    def origins(self) -> model.Origins:
        """The origins the site is fetched from, and nothing else: its hosts (home page's, section
        URLs', bare allowed_hosts entries) on their scheme's default port, http or https; the exact
        origins of its home and section URLs; each `host:port` entry of allowed_hosts; and the subdomains
        of each `*.domain` entry."""
        hosts: list[str] = []
        host_ports: list[tuple[str, int]] = []
        wildcards: list[tuple[str, int | None]] = []
        for entry in self.allowed_hosts:
            host, port, wild = split_allowed_host(entry)
            if wild:
                wildcards.append((host, port))
            elif port is None:
                hosts.append(host)
            else:
                host_ports.append((host, port))
        urls = [self.home, *(section.url for section in self.sections.values() if section.url)]
        return model.Origins.of(hosts, urls=urls, host_ports=host_ports, subdomains_of=wildcards)

    def offsite_sections(self) -> list[tuple[str, str]]:
        """(section name, host) of each section whose `url:` is on no host the site allows (its home
        page's host, its allowed_hosts and their `*.domain` subdomains): `feedsvc check` refuses them,
        nothing is fetched there."""
        allowed = {(urlsplit(self.home).hostname or "").lower()}
        domains = []
        for entry_host, _, wild in map(split_allowed_host, self.allowed_hosts):
            if wild:
                domains.append(entry_host)
            else:
                allowed.add(entry_host)
        out = []
        for name, section in self.sections.items():
            host = (urlsplit(section.url).hostname or "").lower() if section.url else None
            if host is not None and host not in allowed and not any(host.endswith(f".{d}") for d in domains):
                out.append((name, host))
        return out


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    cluster: ClusterConfig = ClusterConfig()
    fetch: FetchConfig = FetchConfig()
    defaults: Defaults = Defaults()
    sites: dict[Slug, Site] = Field(default_factory=dict, json_schema_extra=_SLUG_MAP)

    # Where this config was read from; set by load_config, never by the YAML (the loader rejects the key).
    source_file: SkipJsonSchema[str] = Field("", exclude=True)

    def section_refs(self) -> list[SectionRef]:
        """Every configured section with its effective settings (section over site over defaults)."""
        refs = []
        for site_name, site in self.sites.items():
            for section_name in site.sections:
                refs.append(SectionRef.build(self, site_name, section_name))
        return refs

    def section_ref(self, site: str, section: str) -> SectionRef:
        return SectionRef.build(self, site, section)

    def lookup(self, site: str, section: str | None = None) -> list[SectionRef]:
        """The sections a name picks: `site` → all of its sections, `site` + `section` → that one.

        NotFound names what does exist; the CLI prints it and the web room answers 404 with it.
        """
        if site not in self.sites:
            raise NotFound(f"unknown site {site!r}; sites: {', '.join(self.sites) or '(none)'}")
        sections = self.sites[site].sections
        if section is None:
            return [SectionRef.build(self, site, name) for name in sections]
        if section not in sections:
            raise NotFound(f"unknown section {section!r} of site {site!r}; sections: {', '.join(sections)}")
        return [SectionRef.build(self, site, section)]


@dataclass(frozen=True)
class SectionRef:
    """A section with every setting resolved; what refresh, scheduler and web work from."""

    site_name: str
    name: str
    site: Site
    section: Section
    url: str | None  # None until a nav label is resolved
    refresh: timedelta
    timezone: str
    language: str
    max_new: int
    article_attempts: int
    deadline: timedelta  # the longest one run of the section takes (articles left are fetched next run)
    max_entries: int
    max_age_days: int
    rules: model.Rules

    @property
    def key(self) -> str:
        return f"{self.site_name}/{self.name}"

    @classmethod
    def build(cls, config: Config, site_name: str, section_name: str) -> SectionRef:
        site = config.sites[site_name]
        section = site.sections[section_name]
        d = config.defaults
        return cls(
            site_name=site_name,
            name=section_name,
            site=site,
            section=section,
            url=section.url,
            refresh=section.refresh or site.refresh or d.refresh,
            timezone=site.timezone or d.timezone,
            language=site.language or d.language,
            max_new=section.max_new or d.max_new,
            article_attempts=d.article_attempts,
            deadline=section.section_deadline or site.section_deadline or d.section_deadline,
            max_entries=section.max_entries or config.store.max_entries,
            max_age_days=section.max_age_days or config.store.max_age_days,
            rules=site.rules.merged(section.rules).plain(),
        )
