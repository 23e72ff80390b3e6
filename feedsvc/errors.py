"""The one exception tree of feedsvc. Library exceptions are translated into it at one boundary each.

    FeedsvcError
    ├── ConfigError            a config file that cannot be used; .issues lists every problem
    ├── FetchError             a URL that could not be fetched (.url)
    │   ├── FetchTimeout
    │   ├── HTTPStatusError    non-2xx/304 answer (.status, .retry_after seconds or None)
    │   ├── TooLarge           body over the size cap
    │   ├── NotHTML            content type is not HTML
    │   ├── TooManyRedirects
    │   ├── RobotsDisallowed
    │   ├── OffSite            host does not belong to the site
    │   ├── DecodeError        bytes that decode to nothing usable
    │   └── ConnectionFailed   reset, refused, DNS
    ├── ExtractError           a page that yields no usable entry or no links
    ├── StoreError             the store failed (disk, schema, constraint)
    ├── NotFound               unknown site / section / format
    └── UsageError             a command given arguments it cannot use (the CLI exits 2)
"""

from __future__ import annotations

from dataclasses import dataclass


class FeedsvcError(Exception):
    """Base of every error feedsvc raises on purpose. str(err) is a one-line, operator-readable text."""


def one_line(exc: BaseException) -> str:
    """An error as one operator-readable line; an exception not of our tree is named by its type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, FeedsvcError) else f"{type(exc).__name__}: {text}"


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    path: str  # YAML path, e.g. sites.cxnews.sections.cixi.refresh
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return ": ".join(part for part in (where, self.path, self.message) if part)


class ConfigError(FeedsvcError):
    def __init__(self, issues: list[ConfigIssue] | str):
        if isinstance(issues, str):
            issues = [ConfigIssue(file="", line=None, path="", message=issues)]
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class FetchError(FeedsvcError):
    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{message} ({url})")


class FetchTimeout(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, f"HTTP {status}")


class TooLarge(FetchError):
    pass


class NotHTML(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class OffSite(FetchError):
    pass


class DecodeError(FetchError):
    pass


class ConnectionFailed(FetchError):
    pass


class ExtractError(FeedsvcError):
    pass


class StoreError(FeedsvcError):
    pass


class NotFound(FeedsvcError):
    pass


class UsageError(FeedsvcError):
    pass
