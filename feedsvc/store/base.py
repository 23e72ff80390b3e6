"""The `Store` protocol: what every store (SQLite, PostgreSQL) promises.

The same contract tests (tests/test_store.py) run against every implementation.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feedsvc.model import Entry, Listing, RefreshReport, SectionState, UpsertResult, Validators
from feedsvc.store.tables import TableReader, TableWriter


@dataclass(frozen=True, slots=True)
class SectionChanged:
    """A write committed (by any process) changed the section's entries: its revision moved."""

    site: str
    section: str


@dataclass(frozen=True, slots=True)
class SignalUp:
    """The change signal is listening (again): changes committed while it was not went unheard."""


@dataclass(frozen=True, slots=True)
class SignalLost:
    """The change signal stopped (connection dropped or refused); it is being re-established."""

    reason: str


StoreChange = SectionChanged | SignalUp | SignalLost


class Store(Protocol):
    # (schema version found, version left) by the last open(); equal when there was nothing to migrate.
    migrated: tuple[int, int] | None

    async def open(self) -> None:
        """Connect and migrate the schema forward to the current version."""

    async def close(self) -> None: ...

    async def upsert(
        self,
        site: str,
        section: str,
        entries: Sequence[Entry],
        *,
        now: datetime,
        max_entries: int,
        max_age_days: int,
        section_title: str | None = None,
        validators: dict[str, Validators] | None = None,
        report: RefreshReport | None = None,
        also_list: Sequence[str] = (),
    ) -> UpsertResult:
        """One transaction: insert new URLs, update changed content (setting `updated`), list them in
        `section` (with the already stored URLs in `also_list`, e.g. found on this section's list page
        after another section stored them), trim the section to its rolling window, delete entries no section lists, store the
        given HTTP validators and (if given) record the refresh report on the section.
        Unchanged content changes nothing (no `updated` bump)."""

    async def record_attempt(self, report: RefreshReport) -> SectionState:
        """Record a refresh outcome (success resets consecutive failures; failure keeps entries)."""

    async def entries(self, site: str, section: str, limit: int | None = None) -> list[Entry]:
        """The section's entries, published desc then first_seen desc, categories filled."""

    async def entry(self, site: str, url: str) -> Entry | None: ...

    async def known_urls(
        self, site: str, urls: Iterable[str], *, give_up_after: int | None = None,
    ) -> set[str]:
        """Which of these URLs are stored as complete (non-partial) entries of the site, or as partial
        ones whose article failed to fetch in `give_up_after` refreshes (so refresh stops trying)."""

    async def section_state(self, site: str, section: str) -> SectionState: ...

    async def section_states(self) -> list[SectionState]: ...

    async def entry_counts(self) -> dict[tuple[str, str], int]:
        """How many entries each section lists now (sections listing none may be absent)."""

    async def listings(self) -> dict[tuple[str, str], Listing]:
        """Each section's listing in brief (count, when its feed last changed), in one query: what a page
        of every section needs without reading every entry (sections listing none may be absent)."""

    async def defer_sections(self, site: str, sections: Sequence[str], until: datetime) -> None:
        """Defer these sections of the site until `until` (a Retry-After heard by a sibling section on
        their host); a section already deferred longer keeps its own deferral."""

    async def set_resolved_url(self, site: str, section: str, url: str | None) -> None:
        """Remember the URL a nav label resolved to."""

    async def revision(self, site: str, section: str) -> int:
        """A number that grows whenever the section's entries change (feed caches key on it)."""

    async def revisions(self) -> dict[tuple[str, str], int]: ...

    def changes(self) -> AsyncGenerator[StoreChange, None] | None:
        """The store's change signal, heard from every process writing it: SignalUp once listening
        (and again after each reconnection), SectionChanged for each committed change, SignalLost
        when it stops. It runs until closed (aclose) and never raises for a lost connection; it
        reconnects on its own. None when the store has no signal (SQLite: readers poll `revisions()`)."""

    async def get_validators(self, url: str) -> Validators | None: ...

    async def schema_version(self) -> int: ...

    # -- site leases (store/leases.py): how replicas on one database share the refresh work ----------

    async def take_lease(self, site: str, holder: str, seconds: float) -> bool:
        """Take the site's lease for `holder` for `seconds` (or renew it, if `holder` has it); False when
        another holder's lease has not expired. SQLite (one process) grants every lease."""

    async def renew_leases(self, sites: Sequence[str], holder: str, seconds: float) -> set[str]:
        """Renew the leases `holder` holds among `sites`; the sites it still holds."""

    async def release_lease(self, site: str, holder: str, linger: float = 0.0) -> None:
        """Let the site's lease go `linger` seconds from now (if `holder` still holds it)."""

    async def lease_holders(self) -> dict[str, tuple[str, datetime]]:
        """site → (holder, expiry) of the leases held now (none on SQLite)."""

    def snapshot(self) -> AbstractAsyncContextManager[TableReader]:
        """Every table (feedsvc.store.tables) as of one moment, for copy-store."""
        ...

    def bulk_load(self) -> AbstractAsyncContextManager[TableWriter]:
        """One write transaction to load whole tables into, for copy-store."""
        ...
