"""YAML config → validated, frozen `Config`. Errors name file, line and YAML path (see `load_config`).

The pydantic models below are the single source of truth for the config's shape: validation,
defaults and the JSON Schema printed by `feedsvc schema` all come from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """`30s`, `15m`, `2h`, `1d` (or a number of seconds) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use 30s, 15m, 2h)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use 30s, 15m, 2h)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration (use 30s, 15m, 2h)")
    return timedelta(seconds=seconds)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
    return value


def _check_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value or ""):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), Field(json_schema_extra={"type": "string", "pattern": _DURATION_RE.pattern, "examples": ["30s", "15m", "2h"]})]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Regex = Annotated[str | None, AfterValidator(_check_regex)]
HttpUrl = Annotated[str, AfterValidator(_check_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = Field(None, description="Base URL feeds are reached at; default http://host:port")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class StoreConfig(_Strict):
    url: str = Field("sqlite:///feedsvc.db", description="sqlite:///path.db (postgresql:// later)")
    max_entries: int = Field(100, ge=1, description="Rolling window: newest N entries per section")
    max_age_days: int = Field(30, ge=1, description="Rolling window: nothing older than this")


class FetchConfig(_Strict):
    user_agent: str = "feedsvc/0.1 (+https://github.com/feedsvc/feedsvc)"
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=20)
    total_timeout: Duration = timedelta(seconds=45)
    per_host_concurrency: int = Field(2, ge=1, le=32)
    min_delay: Duration = Field(timedelta(seconds=0.5), description="Minimum gap between two requests to one host")
    max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    retries: int = Field(2, ge=0, le=10)
    backoff: Duration = timedelta(seconds=1)
    max_retry_after: Duration = Field(timedelta(minutes=5), description="Longest Retry-After honoured within one run")


class Defaults(_Strict):
    refresh: Duration = timedelta(minutes=15)
    timezone: TimeZone = "Asia/Shanghai"
    language: str = "zh-CN"
    max_new: int = Field(30, ge=1, description="Most new articles fetched per section per run")


class Rules(_Strict):
    """CSS selectors (and a regex) that beat the heuristics when given. All optional."""

    links: str | None = Field(None, description="CSS selector for article links on a list page")
    link_pattern: Regex = Field(None, description="Regex an article URL must match (search, not fullmatch)")
    next_page: str | None = Field(None, description="CSS selector of the list page's next-page link")
    max_pages: int = Field(1, ge=1, le=50)
    title: str | None = None
    subtitle: str | None = None
    published: str | None = None
    author: str | None = None
    source: str | None = None
    editor: str | None = None
    body: str | None = None
    image: str | None = None
    remove: tuple[str, ...] = Field((), description="CSS selectors of nodes dropped before extraction")

    def merged(self, override: Rules | None) -> Rules:
        """Section rules over site rules: fields the section sets win; `remove` lists add up."""
        if override is None:
            return self
        data = self.model_dump()
        for key in override.model_fields_set:
            value = getattr(override, key)
            data[key] = tuple(self.remove) + tuple(value) if key == "remove" else value
        return Rules(**data)


class Section(_Strict):
    title: str
    url: HttpUrl | None = Field(None, description="The section's list page")
    nav: str | None = Field(None, description="Navigation label on the home page; its link is the list page")
    description: str | None = None
    refresh: Duration | None = None
    max_new: int | None = Field(None, ge=1)
    max_entries: int | None = Field(None, ge=1)
    max_age_days: int | None = Field(None, ge=1)
    rules: Rules | None = None

    @model_validator(mode="after")
    def _url_or_nav(self) -> Section:
        if not self.url and not self.nav:
            raise ValueError("a section needs `url` or `nav` (its navigation label on the home page)")
        return self


class Site(_Strict):
    title: str
    home: HttpUrl
    timezone: TimeZone | None = None
    language: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    robots: bool = Field(True, description="Honour robots.txt (set false only with the site's consent)")
    rules: Rules = Rules()
    sections: dict[str, Section]


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    fetch: FetchConfig = FetchConfig()
    defaults: Defaults = Defaults()
    sites: dict[str, Site] = {}

    # Where this config was read from (not part of the YAML).
    source_file: str = Field("", exclude=True, json_schema_extra={"hidden": True})

    @model_validator(mode="after")
    def _slugs(self) -> Config:
        for site_name, site in self.sites.items():
            if not SLUG_RE.match(site_name):
                raise ValueError(f"site name {site_name!r} is not a URL-safe slug (a-z, 0-9, - and _)")
            for section_name in site.sections:
                if not SLUG_RE.match(section_name):
                    raise ValueError(
                        f"section name {site_name}.{section_name!r} is not a URL-safe slug (a-z, 0-9, - and _)"
                    )
        return self


    def section_refs(self) -> list[SectionRef]:
        """Every configured section with its effective settings (section over site over defaults)."""
        refs = []
        for site_name, site in self.sites.items():
            for section_name, section in site.sections.items():
                refs.append(SectionRef.build(self, site_name, section_name))
        return refs

    def section_ref(self, site: str, section: str) -> SectionRef:
        return SectionRef.build(self, site, section)


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
    max_entries: int
    max_age_days: int
    rules: Rules

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
            refresh=section.refresh or d.refresh,
            timezone=site.timezone or d.timezone,
            language=site.language or d.language,
            max_new=section.max_new or d.max_new,
            max_entries=section.max_entries or config.store.max_entries,
            max_age_days=section.max_age_days or config.store.max_age_days,
            rules=site.rules.merged(section.rules),
        )


def load_config(path: str | None = None) -> Config:  # pragma: no cover - replaced by the config work
    raise NotImplementedError
