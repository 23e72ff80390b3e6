"""The config's value types: durations, time zones, regexes, CSS selectors, URLs and names, each with
the check that turns a bad value into an operator's message (see messages.py for where it is shown)."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from feedsvc.config.messages import describe
from feedsvc.model import SLUG_RE
from feedsvc.public_suffix import is_address, is_public_suffix

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest duration any setting takes. Durations are added to datetimes and multiplied by backoff
# factors; bounding them here keeps every sum a datetime can hold (and no wait outlives an operator).
MAX_DURATION = timedelta(days=30)


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
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"{describe(value)} is not a positive duration (use 30s, 15m, 2h)")
    if seconds > MAX_DURATION.total_seconds():  # also inf, and numbers timedelta cannot hold
        raise ValueError(f"{describe(value)} is too long (at most {format_duration(MAX_DURATION)})")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """timedelta → the shortest `30s`/`15m`/`2h`/`1d` text that `parse_duration` reads back."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_SIZE_HINT = "use 64MiB, 512KiB, 1GiB or a number of bytes"


def parse_byte_size(value: Any) -> int:
    """`64MiB`, `500MB`, `1GiB` (KB/MB/GB count 1000s, KiB/MiB/GiB 1024s) or a number of bytes → bytes."""
    if isinstance(value, bool) or value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{describe(value)} is not a size ({_SIZE_HINT})")
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE_RE.match(str(value))
    if not m:
        raise ValueError(f"{describe(value)} is not a size ({_SIZE_HINT})")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2) or "B"])


def format_byte_size(value: int) -> str:
    """Bytes → the shortest `64MiB`/`512KiB` text that `parse_byte_size` reads back."""
    for unit in ("GiB", "MiB", "KiB"):
        if value >= _SIZE_UNITS[unit] and value % _SIZE_UNITS[unit] == 0:
            return f"{value // _SIZE_UNITS[unit]}{unit}"
    return str(value)


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
    # Imported here, not at the top: `feedsvc check`/`schema` of a config without rules never load lxml.
    from feedsvc.extract.html import compile_selector

    try:
        compile_selector(value)
    except ValueError as exc:
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


# A host name (letters of any script, digits, hyphens, dots), an IPv4 address or a bracketed IPv6
# address, optionally followed by :port.
_HOST_PORT_RE = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|(?:[^\W_][\w-]*\.)*[^\W_][\w-]*\.?)(?::(?P<port>\d{1,5}))?$")


def split_host_port(entry: str) -> tuple[str, int | None]:
    """`www.example.cn` → (`www.example.cn`, None); `127.0.0.1:8080` → (`127.0.0.1`, 8080); the host
    lower-cased and without IPv6 brackets, as `urlsplit(url).hostname` gives it. ValueError when
    `entry` is neither form."""
    m = _HOST_PORT_RE.match(entry)
    port = int(m.group("port")) if m and m.group("port") else None
    if not m or (port is not None and not 1 <= port <= 65535):
        raise ValueError(f"{entry!r} is not a host, host:port or *.domain (e.g. www.example.cn, 127.0.0.1:8080 "
                         "or *.example.cn; no scheme, no path)")
    return m.group("host").strip("[]").rstrip(".").lower(), port


def split_allowed_host(entry: str) -> tuple[str, int | None, bool]:
    """An allowed_hosts entry → (host, port or None, wildcard): `*.example.com.cn` → (`example.com.cn`,
    None, True), meaning that domain's subdomains (not the domain itself). A wildcard must name a
    registrable domain or a subdomain of one: never a bare `*` nor a public suffix (`*.com.cn`), which
    would let any site in. ValueError saying what is wrong otherwise."""
    if not entry.startswith("*"):
        return (*split_host_port(entry), False)
    if not entry.startswith("*.") or entry[2:].startswith("*"):
        raise ValueError(f"{entry!r}: a wildcard is `*.` and a domain (e.g. *.example.com.cn), not a bare `*`")
    try:
        host, port = split_host_port(entry[2:])
    except ValueError:
        split_host_port(entry)  # says what is wrong, naming the whole entry
        raise
    if is_address(host) or ":" in host:
        raise ValueError(f"{entry!r}: a wildcard takes a domain name, not an address")
    if is_public_suffix(host):
        raise ValueError(f"{entry!r}: {host} is a public suffix (anyone can register under it), so this would "
                         f"allow every site there; name the site's own domain (e.g. *.example.{host})")
    return host, port, True


def _check_host_port(value: str) -> str:
    split_allowed_host(value)
    return value


def _check_header_value(value: str) -> str:
    # A line break in a header value would end the header: aiohttp refuses to send it, so every fetch fails.
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError(f"{value!r} cannot be sent in an HTTP header (no line breaks or control characters)")
    return value


_PG_URL_HINT = "use postgresql://user@host:5432/dbname"


def _check_store_url(value: str) -> str:
    if not re.match(r"^(sqlite|postgres|postgresql)://", value):
        raise ValueError(f"{value!r} is not a store URL (use sqlite:///path/to/feedsvc.db or "
                         "postgresql://user@host:5432/dbname)")
    if value.startswith("postgres"):
        _check_postgres_url(value)
    return value


def _check_postgres_url(value: str) -> None:
    """What can be known of a PostgreSQL URL without connecting: a database name, a port number."""
    parts = urlsplit(value)
    shown = value.replace(f":{parts.password}@", ":***@") if parts.password else value
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ValueError(f"{shown!r} is not a PostgreSQL URL: spaces or control characters ({_PG_URL_HINT})")
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in 0-65535)
    except ValueError:
        raise ValueError(f"{shown!r} is not a PostgreSQL URL: bad port ({_PG_URL_HINT})") from None
    if not parts.path.strip("/"):
        raise ValueError(f"{shown!r} is not a PostgreSQL URL: no database name ({_PG_URL_HINT})")


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
        "anyOf": [{"type": "string", "pattern": _DURATION_RE.pattern},
                  {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION.total_seconds()}],
        "description": "A duration: 30s, 15m, 2h, 1d (or a number of seconds); at most 30d",
        "examples": ["30s", "15m", "2h"],
    }),
]
ByteSize = Annotated[
    int,
    BeforeValidator(parse_byte_size),
    PlainSerializer(format_byte_size, return_type=str, when_used="json"),
    WithJsonSchema({
        "anyOf": [{"type": "string", "pattern": _SIZE_RE.pattern}, {"type": "integer", "minimum": 0}],
        "description": "A size in bytes: 64MiB, 512KiB, 1GiB, 500MB (or a number of bytes)",
        "examples": ["64MiB", "1GiB"],
    }),
]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Regex = Annotated[str | None, AfterValidator(_check_regex)]
Css = Annotated[str | None, AfterValidator(_check_css)]
CssList = tuple[Annotated[str, AfterValidator(_check_css)], ...]
HttpUrl = Annotated[str, AfterValidator(_check_url), WithJsonSchema({"type": "string", "pattern": "^https?://"})]
StoreUrl = Annotated[str, AfterValidator(_check_store_url), WithJsonSchema({
    "type": "string", "pattern": "^(sqlite|postgres|postgresql)://",
    "examples": ["sqlite:///feedsvc.db", "postgresql://feedsvc@127.0.0.1:5432/feedsvc"]})]
HeaderValue = Annotated[str, AfterValidator(_check_header_value)]
HostPort = Annotated[str, AfterValidator(_check_host_port), WithJsonSchema({
    "type": "string",
    "description": "A host the site may be fetched from, or host:port, or *.domain for that domain's subdomains",
    "examples": ["cxnews.cn", "*.cnnb.com.cn"]})]
# Site and section names become URL path segments (/{site}/{section}.rss), hence the slug rule on dict keys.
Slug = Annotated[str, AfterValidator(_check_slug), WithJsonSchema({"type": "string", "pattern": SLUG_RE.pattern})]
