"""The one origin check: is this URL on one of a site's allowed origins? Used for every request,
every redirect hop (robots.txt's included) and every link the pipeline would follow."""

from __future__ import annotations

from yarl import URL

from feedsvc.model import DEFAULT_PORTS, Origins


def origin_allowed(url: URL, origins: Origins) -> bool:
    """Whether `url` (as aiohttp would request it) is on one of `origins`: http(s), host and port."""
    if url.scheme not in DEFAULT_PORTS or url.port is None:
        return False
    # yarl gives an IDN host decoded (`host`) and as sent (`raw_host`): the config may spell either.
    names = {url.host or "", url.raw_host or ""} - {""}
    return any(origins.allows(url.scheme, name, url.port) for name in names)


def url_allowed(url: str, origins: Origins) -> bool:
    """`origin_allowed` for a URL string; one that does not parse is not allowed."""
    try:
        return origin_allowed(URL(url), origins)
    except (ValueError, TypeError):
        return False


def origin_text(url: URL) -> str:
    """`scheme://host:port` of a URL, for messages (the port always shown: it is part of the check)."""
    host = url.raw_host or ""
    return f"{url.scheme}://{f'[{host}]' if ':' in host else host}:{url.port}"
