"""Feed variants asked for in the query string: `?limit=N`, `?q=word`, `?exclude=word`.

Unknown parameters are ignored on purpose: readers and proxies append cache-busters and
tracking tags, and those must neither break a subscription nor create a new variant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from feedsvc.model import Entry

MAX_LIMIT = 1000
_WHOLE_NUMBER = re.compile(r"[0-9]{1,7}")
KNOWN = ("limit", "q", "exclude")


class BadQuery(ValueError):
    """A query parameter with an unusable value; str() is the one-line reason sent with the 400."""


@dataclass(frozen=True, slots=True)
class FeedQuery:
    limit: int | None = None
    q: str | None = None  # casefolded
    exclude: str | None = None  # casefolded

    @property
    def is_default(self) -> bool:
        return self.limit is None and self.q is None and self.exclude is None

    def select(self, texts: Sequence[str]) -> tuple[int, ...]:
        """Indices of the entries kept, given each entry's `searchable` text (newest first): those
        with q and without exclude (case-insensitive, title or summary), at most limit of them."""
        kept: list[int] = []
        q, exclude, limit = self.q, self.exclude, self.limit
        for index, text in enumerate(texts):
            if limit is not None and len(kept) >= limit:
                break
            if (q is None or q in text) and (exclude is None or exclude not in text):
                kept.append(index)
        return tuple(kept)

    def apply(self, entries: Sequence[Entry]) -> tuple[Entry, ...]:
        """The entries kept (see `select`)."""
        return tuple(entries[i] for i in self.select([searchable(e) for e in entries]))


def searchable(entry: Entry) -> str:
    """What q and exclude look in: title and summary, casefolded."""
    return f"{entry.title}\n{entry.summary}".casefold()


DEFAULT = FeedQuery()


def parse_query(params: Mapping[str, str] | None) -> FeedQuery:
    """`request.query` (a MultiDict) → FeedQuery; raises BadQuery with the reason."""
    if not params:
        return DEFAULT
    values: dict[str, str] = {}
    for name in KNOWN:
        found = params.getall(name, [])  # type: ignore[attr-defined]
        if len(found) > 1:
            raise BadQuery(f"bad query: {name} given {len(found)} times; give it once")
        if found:
            values[name] = found[0]
    if not values:
        return DEFAULT
    limit = None
    if "limit" in values:
        raw = values["limit"].strip()
        if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadQuery(f"bad limit {values['limit']!r}: use a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw)
    words: dict[str, str | None] = {}
    for name in ("q", "exclude"):
        if name in values:
            word = values[name].strip()
            if not word:
                raise BadQuery(f"bad {name}: empty; give a word, e.g. ?{name}=慈溪")
            if len(word) > 200:
                raise BadQuery(f"bad {name}: longer than 200 characters")
            words[name] = word.casefold()
    return FeedQuery(limit=limit, q=words.get("q"), exclude=words.get("exclude"))
