"""All network I/O of the refresh pipeline: `Fetcher.get(url) → FetchResult` with decoded text.

`StaticResolver` points hostnames at fixed addresses (tests, demo); `decode_html` turns page
bytes into `str` and is pure; `url_allowed` is the origin check every request and redirect passes.
"""

from feedsvc.fetch.charset import decode_html
from feedsvc.fetch.fetcher import Fetcher
from feedsvc.fetch.origins import origin_allowed, url_allowed
from feedsvc.fetch.resolver import StaticResolver

__all__ = ["Fetcher", "StaticResolver", "decode_html", "origin_allowed", "url_allowed"]
