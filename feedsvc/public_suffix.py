"""The one Public Suffix List lookup: which part of a host name anyone can register under (`com.cn`),
and so which hosts are one site (`news.cnnb.com.cn` and `www.cnnb.com.cn`: `cnnb.com.cn`).

The list is the snapshot publicsuffixlist ships inside its package: read from there on first use, never
downloaded, so a lookup costs no request and gives the same answer offline.
"""

from __future__ import annotations

import re
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

_ADDRESS_RE = re.compile(r"[\d.]+|\[?[0-9a-f:]+\]?")


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # No argument: the list file bundled with the package (about 10 ms to read, once per process).
    return PublicSuffixList()


@lru_cache(maxsize=1024)
def registrable_domain(host: str) -> str:
    """`www.cxnews.cn` → `cxnews.cn`; `news.cnnb.com.cn` → `cnnb.com.cn`. An IP address, a public
    suffix itself (`com.cn`) or a single label (`localhost`) comes back as it is."""
    host = host.lower().rstrip(".")
    if not host or is_address(host):
        return host
    return _suffixes().privatesuffix(host) or host


def is_public_suffix(domain: str) -> bool:
    """Whether `domain` is a public suffix (`cn`, `com.cn`, `github.io`): a name anyone may register
    under, so never one site. Unknown top-level names count as suffixes, as the list's `*` rule says."""
    return bool(_suffixes().is_public(domain.lower().rstrip(".")))


def is_address(host: str) -> bool:
    """An IPv4 or IPv6 address rather than a name."""
    return _ADDRESS_RE.fullmatch(host.lower()) is not None
