"""`Store.upsert`'s one algorithm, shared by every backend: each passes its own write statements
(sqlite_writes, postgres_writes: modules with the same functions) and its open transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from feedsvc.errors import StoreError
from feedsvc.model import Entry, RefreshReport, UpsertResult, Validators
from feedsvc.store.sqlite_rows import distinct_entries, entry_values, utc_text


class WriteSteps(Protocol):
    """The statements of one write (a module such as feedsvc.store.sqlite_writes), on connection `db`."""

    async def ensure_section(self, db: Any, site: str, section: str, title: str | None = None) -> None: ...

    async def listed_ids(self, db: Any, site: str, section: str) -> set[int]: ...

    async def stored_entries(self, db: Any, site: str, urls: list[str]) -> dict[str, tuple[int, str, bool]]: ...

    async def insert_entry(
        self, db: Any, site: str, entry: Entry, digest: str, values: tuple[Any, ...], now_s: str) -> int: ...

    async def update_entry(self, db: Any, entry_id: int, digest: str, values: tuple[Any, ...], now_s: str) -> None: ...

    async def count_failed_fetches(self, db: Any, entry_ids: list[int]) -> None: ...

    async def list_entries(self, db: Any, site: str, section: str, ids: list[int], now_s: str) -> None: ...

    async def trim_section(self, db: Any, site: str, section: str, max_entries: int, cutoff: str) -> set[int]: ...

    async def delete_orphans(self, db: Any, site: str) -> None: ...

    async def bump_revisions(self, db: Any, site: str, section: str, own: bool, changed: set[int]) -> None: ...

    async def write_validators(self, db: Any, url: str, found: Validators) -> None: ...

    async def record_report(self, db: Any, report: RefreshReport) -> None: ...


class PreparedUpsert:
    """An upsert's input, checked and converted before any transaction begins (bad input opens none)."""

    def __init__(
        self, site: str, section: str, entries: Sequence[Entry], *, now: datetime, max_entries: int,
        max_age_days: int, section_title: str | None, validators: dict[str, Validators] | None,
        report: RefreshReport | None, also_list: Sequence[str],
    ):
        if report is not None and (report.site, report.section) != (site, section):
            raise StoreError(f"report for {report.site}/{report.section} given to upsert of {site}/{section}")
        self.site, self.section, self.title = site, section, section_title
        self.now_s = utc_text(now)
        try:
            self.cutoff = utc_text(now - timedelta(days=max_age_days))
        except OverflowError:
            self.cutoff = ""  # a window reaching past year 1: no age limit
        self.max_entries = max_entries
        self.batch = [(entry, entry.hash, entry_values(entry)) for entry in distinct_entries(entries)]
        self.validators = validators or {}
        self.report = report
        self.also_list = also_list

    async def run(self, steps: WriteSteps, db: Any) -> UpsertResult:
        """The writes, in the caller's transaction.

        Counts are from the section's point of view: `inserted` entries are new in its feed (even if
        another section listed them first), `updated` ones changed content, `removed` ones left it by
        the window; entries the window drops on arrival count as unchanged."""
        site, section, now_s = self.site, self.section, self.now_s
        await steps.ensure_section(db, site, section, self.title)
        before = await steps.listed_ids(db, site, section)
        stored = await steps.stored_entries(db, site, [entry.url for entry, _, _ in self.batch])
        listed: list[int] = []
        changed: set[int] = set()
        failed: list[int] = []  # partial entries whose article failed (again) in this refresh
        for entry, digest, values in self.batch:
            row = stored.get(entry.url)
            if row is None:
                listed.append(await steps.insert_entry(db, site, entry, digest, values, now_s))
                if entry.partial:
                    failed.append(listed[-1])
                continue
            entry_id, old_digest, old_partial = row
            listed.append(entry_id)
            if entry.partial and old_partial:
                failed.append(entry_id)
            # A partial entry (list link only) never overwrites a complete article.
            if digest == old_digest or (entry.partial and not old_partial):
                continue
            await steps.update_entry(db, entry_id, digest, values, now_s)
            changed.add(entry_id)
        await steps.count_failed_fetches(db, failed)
        if self.also_list:
            known = await steps.stored_entries(db, site, [url for url in self.also_list if url not in stored])
            listed.extend(entry_id for entry_id, _, _ in known.values())
        await steps.list_entries(db, site, section, listed, now_s)
        after = await steps.trim_section(db, site, section, self.max_entries, self.cutoff)
        await steps.delete_orphans(db, site)
        await steps.bump_revisions(db, site, section, before != after or bool(changed & after), changed)
        for url, found in self.validators.items():
            await steps.write_validators(db, url, found)
        if self.report is not None:
            await steps.record_report(db, self.report)

        newly = after - before
        updated = len(changed - newly)
        return UpsertResult(
            inserted=len(newly), updated=updated, unchanged=len(self.batch) - len(newly) - updated,
            removed=len(before - after),
        )
