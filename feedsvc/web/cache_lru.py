"""A least-recently-used map bounded by the bytes its values hold (each value's size is given when it
is stored), and optionally by a count; keys are tuples that start with (site, section), so one
section's values can be dropped together without a scan.

A lookup is a dict lookup and `move_to_end`; sizes are only counted when a value is stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

V = TypeVar("V")
Key = tuple[Any, ...]  # (site, section, ...)
SectionKey = tuple[str, str]


class ByteLRU(Generic[V]):
    """Values within `max_bytes` (and `max_items`, when given): storing past either evicts the least
    recently used first. A value larger than the whole budget is not kept. `on_evict(n)` hears evictions."""

    def __init__(self, max_bytes: int, *, max_items: int | None = None,
                 on_evict: Callable[[int], object] | None = None):
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.on_evict = on_evict
        self.bytes = 0
        self.evictions = 0
        self._items: OrderedDict[Key, tuple[V, int]] = OrderedDict()
        self._sections: dict[SectionKey, set[Key]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Key) -> V | None:
        """The value, now the most recently used; None when absent."""
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: Key, value: V, size: int) -> bool:
        """Store `value` (replacing the key's old one) as `size` bytes; False when it is larger than
        the whole budget and so not kept."""
        self.discard(key)
        if size > self.max_bytes:
            return False
        self._items[key] = (value, size)
        self.bytes += size
        self._sections.setdefault((key[0], key[1]), set()).add(key)
        evicted = 0
        while self.bytes > self.max_bytes or (self.max_items is not None and len(self._items) > self.max_items):
            oldest, (_, oldest_size) = self._items.popitem(last=False)
            self._forget(oldest, oldest_size)
            evicted += 1
        if evicted:
            self.evictions += evicted
            if self.on_evict is not None:
                self.on_evict(evicted)
        return True

    def discard(self, key: Key) -> None:
        found = self._items.pop(key, None)
        if found is not None:
            self._forget(key, found[1])

    def drop_section(self, site: str, section: str) -> None:
        """Forget every value whose key starts with (site, section)."""
        for key in self._sections.pop((site, section), ()):
            found = self._items.pop(key)
            self.bytes -= found[1]

    def sections(self) -> list[SectionKey]:
        """The sections holding at least one value."""
        return list(self._sections)

    def items(self) -> Iterator[tuple[Key, V]]:
        """Every (key, value), least recently used first (a copy: the caller may change the map meanwhile)."""
        return iter([(key, value) for key, (value, _) in self._items.items()])

    def _forget(self, key: Key, size: int) -> None:
        self.bytes -= size
        section = (key[0], key[1])
        keys = self._sections.get(section)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._sections[section]
