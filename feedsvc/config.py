"""YAML config → validated, frozen `Config`. Errors name file, line and YAML path (see `load_config`).

The pydantic models below are the single source of truth for the config's shape: validation,
defaults and the JSON Schema printed by `feedsvc schema` all come from them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, SkipJsonSchema

from feedsvc.config_issues import describe, issues_from_validation, unknown_key_issue
from feedsvc.config_yaml import read_yaml
from feedsvc.errors import ConfigError, ConfigIssue

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_PATH = "config.yaml"


def parse_duration(value: Any) -> timedelta:
    """`30s`, `15m`, `2h`, `1d` (or a number of seconds) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{describe(value)} is not a duration (use 30s, 15m, 2h)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{describe(value)} is not a duration (use 30s, 15m, 2h)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{describe(value)} is not a positive duration (use 30s, 15m, 2h)")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """timedelta → the shortest `30s`/`15m`/`2h`/`1d` text that `parse_duration` reads back."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai, UTC)") from None
    return value


def _check_css(value: str | None) -> str | None:
    """A selector lxml can use; a typo here would otherwise fall back to the heuristics silently."""
    if value is None:
        return None
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(f"{value!r} is not a valid CSS selector: {exc}") from None
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
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://www.cxnews.cn/)")
    return value


def _check_store_url(value: str) -> str:
    if not re.match(r"^(sqlite|postgres|postgresql)://", value):
        raise ValueError(f"{value!r} is not a store URL (use sqlite:///path/to/feedsvc.db)")
    return value


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a URL-safe name (use lower-case a-z, 0-9, - and _, starting with a letter or digit)"
        )
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({
        "anyOf": [{"type": "string", "pattern": _DURATION_RE.pattern}, {"type": "number", "exclusiveMinimum": 0}],
        "description": "A duration: 30s, 15m, 2h, 1d (or a number of seconds)",
        "examples": ["30s", "15m", "2h"],
    }),
]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Regex = Annotated[str | None, AfterValidator(_check_regex)]
Css = Annotated[str | None, AfterValidator(_check_css)]
HttpUrl = Annotated[str, AfterValidator(_check_url), WithJsonSchema({"type": "string", "pattern": "^https?://"})]
# Site and section names become URL path segments (/{site}/{section}.rss), hence the slug rule on dict keys.
Slug = Annotated[str, AfterValidator(_check_slug), WithJsonSchema({"type": "string", "pattern": SLUG_RE.pattern})]
_SLUG_MAP = {"additionalProperties": False}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: HttpUrl | None = Field(None, description="Base URL feeds are reached at; default http://host:port")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class StoreConfig(_Strict):
    url: Annotated[str, AfterValidator(_check_store_url)] = Field(
        "sqlite:///feedsvc.db", description="sqlite:///path.db (relative to the working directory; postgresql:// later)"
    )
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
    article_attempts: int = Field(
        5, ge=1, description="Refreshes that try an article that fails to load before it stays a list link")


class Rules(_Strict):
    """CSS selectors (and a regex) that beat the heuristics when given. All optional."""

    links: Css = Field(None, description="CSS selector for article links on a list page")
    link_pattern: Regex = Field(None, description="Regex an article URL must match (search, not fullmatch)")
    next_page: Css = Field(None, description="CSS selector of the list page's next-page link")
    max_pages: int = Field(1, ge=1, le=50)
    title: Css = None
    subtitle: Css = None
    published: Css = None
    author: Css = None
    source: Css = None
    editor: Css = None
    body: Css = None
    image: Css = None
    remove: tuple[Annotated[str, AfterValidator(_check_css)], ...] = Field(
        (), description="CSS selectors of nodes dropped before extraction")

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
    refresh: Duration | None = Field(None, description="Refresh interval of this site's sections (default: defaults.refresh)")
    allowed_hosts: tuple[str, ...] = ()
    robots: bool = Field(True, description="Honour robots.txt (set false only with the site's consent)")
    rules: Rules = Rules()
    sections: dict[Slug, Section] = Field(json_schema_extra=_SLUG_MAP)


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
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
            refresh=section.refresh or site.refresh or d.refresh,
            timezone=site.timezone or d.timezone,
            language=site.language or d.language,
            max_new=section.max_new or d.max_new,
            article_attempts=d.article_attempts,
            max_entries=section.max_entries or config.store.max_entries,
            max_age_days=section.max_age_days or config.store.max_age_days,
            rules=site.rules.merged(section.rules),
        )


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: the argument, else $FEEDSVC_CONFIG, else ./config.yaml."""
    return Path(path if path else os.environ.get("FEEDSVC_CONFIG") or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, validate and return the config; raise ConfigError listing every problem (file:line: path: what).

    $FEEDSVC_STORE_URL, when set, replaces store.url.
    """
    file = config_path(path)
    display = str(file)
    doc = read_yaml(file, display)
    issues = list(doc.issues)
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else repr(data)
        issues.append(ConfigIssue(display, doc.line_of(()), "",
                                  f"expected a mapping with server, store, fetch, defaults, sites; got {kind}"))
        raise ConfigError(sorted(issues, key=_issue_order))
    data = dict(data)
    if "source_file" in data:
        issues.append(unknown_key_issue(Config, (), "source_file", doc, display))
        del data["source_file"]
    store_url = os.environ.get("FEEDSVC_STORE_URL")
    if store_url:
        store = data.get("store")
        if store is None:
            data["store"] = {"url": store_url}
        elif isinstance(store, dict):
            data["store"] = {**store, "url": store_url}
    try:
        config = Config.model_validate({**data, "source_file": str(file.resolve())})
    except ValidationError as exc:
        for issue in issues_from_validation(exc, Config, doc, display):
            if store_url and issue.path == "store.url":
                issue = replace(issue, message=f"{issue.message} (from $FEEDSVC_STORE_URL)")
            issues.append(issue)
    if issues:
        raise ConfigError(sorted(issues, key=_issue_order))
    return config


def _issue_order(issue: ConfigIssue) -> tuple[int, str]:
    return (issue.line or 0, issue.path)


class _ConfigSchema(GenerateJsonSchema):
    # pydantic writes timedelta defaults as ISO 8601 ("PT15M"), which the config's own duration pattern rejects.
    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of config.yaml (for editors): pydantic's, with a title and the draft named."""
    schema = Config.model_json_schema(mode="validation", schema_generator=_ConfigSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "feedsvc config"}
