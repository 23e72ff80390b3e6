"""All network I/O of the refresh pipeline: `Fetcher.get(url) → FetchResult` with decoded text.

`StaticResolver` points hostnames at fixed addresses (tests, demo); `decode_html` turns page
bytes into `str` and is pure.
"""

from feedsvc.fetch.charset import decode_html
from feedsvc.fetch.fetcher import Fetcher
from feedsvc.fetch.resolver import StaticResolver

__all__ = ["Fetcher", "StaticResolver", "decode_html"]
