"""Hot reload: `LiveConfig` holds the config the service runs on now and reads its file again when the
file changes (polled), on SIGHUP and on POST /admin/reload.

A valid file is applied at once: `plan_change` says which sections were added, removed or changed, and
each listener (render cache, metrics, scheduler, fetcher; wired in app.py) applies its part. An invalid
file changes nothing: the old config keeps running and the file's errors are kept here, for `/`,
`/status.json` and the log (once per change of the file), until a valid file replaces it.

What a running process cannot take over (the `server:` and `cluster:` blocks, `store.url`) keeps its old value until a
restart: `needs_restart` names those keys, and the log says so once per reload.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config, SectionRef, load_config
from feedsvc.errors import ConfigError

log = logging.getLogger("feedsvc.reload")

# How often the config file's stat is compared with the last one seen: a change is applied within this
# and the time to read and validate the file (well under the 5 s an operator waits for).
POLL_INTERVAL = 1.0
OUTCOMES = ("ok", "invalid")

ConfigListener = Callable[["ConfigChange"], Awaitable[None] | None]


@dataclass(frozen=True)
class ConfigChange:
    """What a valid reload changes. `new` is the config from now on: the file's, with the values of
    `needs_restart` kept from the running config."""

    old: Config
    new: Config
    refs: tuple[SectionRef, ...] = ()  # every section of `new`, in config order
    added: tuple[SectionRef, ...] = ()
    removed: tuple[SectionRef, ...] = ()  # as they were configured
    changed: tuple[SectionRef, ...] = ()  # any setting of the section (its site's included) changed
    rescheduled: tuple[str, ...] = ()  # keys among `changed` whose refresh interval changed
    fetch_changed: bool = False
    needs_restart: tuple[str, ...] = ()  # config keys whose new value waits for a restart

    def summary(self) -> dict[str, list[str]]:
        return {"added": [ref.key for ref in self.added], "removed": [ref.key for ref in self.removed],
                "changed": [ref.key for ref in self.changed], "needs_restart": list(self.needs_restart)}

    def describe(self) -> str:
        parts = [f"{name} {', '.join(keys)}" for name, keys in self.summary().items() if keys and name != "needs_restart"]
        if self.fetch_changed:
            parts.append("fetch settings changed")
        return "; ".join(parts) or "no section changed"


def _settings(ref: SectionRef) -> SectionRef:
    """The section's own settings: its site without the site's other sections, whose changes are theirs."""
    return replace(ref, site=ref.site.model_copy(update={"sections": {}}))


def restart_keys(old: Config, new: Config) -> tuple[str, ...]:
    """Keys whose value differs between two files and that a running process cannot take over."""
    keys = [f"server.{name}" for name in type(old.server).model_fields
            if getattr(old.server, name) != getattr(new.server, name)]
    if old.store.url != new.store.url:
        keys.append("store.url")
    keys += [f"cluster.{name}" for name in type(old.cluster).model_fields
             if getattr(old.cluster, name) != getattr(new.cluster, name)]
    return tuple(keys)


def plan_change(running: Config, old_file: Config, new_file: Config) -> ConfigChange:
    """The change from the running config to the file just read. `old_file` is the file as read
    at start-up (before command-line overrides such as `serve --port`), so only what the file changed counts."""
    needs_restart = restart_keys(old_file, new_file)
    new = new_file.model_copy(update={
        "server": running.server, "store": new_file.store.model_copy(update={"url": running.store.url}),
        "cluster": running.cluster})
    before = {ref.key: ref for ref in running.section_refs()}
    after = {ref.key: ref for ref in new.section_refs()}
    changed = tuple(ref for key, ref in after.items() if key in before and _settings(before[key]) != _settings(ref))
    return ConfigChange(
        old=running, new=new, refs=tuple(after.values()),
        added=tuple(ref for key, ref in after.items() if key not in before),
        removed=tuple(ref for key, ref in before.items() if key not in after),
        changed=changed,
        rescheduled=tuple(ref.key for ref in changed if ref.refresh != before[ref.key].refresh),
        fetch_changed=running.fetch != new.fetch,
        needs_restart=needs_restart,
    )


@dataclass(frozen=True)
class ReloadResult:
    outcome: str  # "ok" (applied, maybe with nothing to change) or "invalid" (nothing changed)
    change: ConfigChange | None = None
    errors: tuple[str, ...] = ()  # file:line: key: message, one per problem


@dataclass
class _FileStamp:
    """What the watcher last saw of the file: its stat (cheap, every poll) and its bytes' digest."""

    stat: tuple[int, int, int, int] | None = None
    digest: str | None = None


def _stat(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)  # follows symlinks: a swapped link (a Kubernetes ConfigMap) is a change too
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class LiveConfig:
    """The config the service runs on now (`current`), and the state of its file.

    `file_config` is the file as read at start-up (before command-line overrides such as `serve --port`):
    the running `server:` and `store.url` came from it, and `needs_restart` names the keys where the file
    now says otherwise. `errors` are the problems of the file as it is now, while it is invalid (since
    `errors_at`). `path` is None for a config not read from a file (tests, `feedsvc demo`): it cannot
    be reloaded."""

    current: Config
    file_config: Config | None = None
    clock: Clock = utcnow
    listeners: list[ConfigListener] = field(default_factory=list)
    on_outcome: Callable[[str, datetime], object] | None = None  # metrics: every reload's outcome and time
    loaded_at: datetime | None = None
    errors: tuple[str, ...] = ()
    errors_at: datetime | None = None
    needs_restart: tuple[str, ...] = ()
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _seen: _FileStamp = field(default_factory=_FileStamp, init=False)

    def __post_init__(self) -> None:
        if self.file_config is None:
            self.file_config = self.current
        if self.loaded_at is None:
            self.loaded_at = self.clock()
        if self.path is not None:
            self._seen = _FileStamp(_stat(self.path), _digest(self.path))

    @property
    def path(self) -> Path | None:
        source = self.current.source_file
        return Path(source) if source else None

    async def reload(self, trigger: str) -> ReloadResult:
        """Read the file again and apply it if valid; `trigger` (e.g. "SIGHUP") is named in the log."""
        path = self.path
        if path is None:
            raise ConfigError("this service's config was not read from a file: there is nothing to reload")
        async with self._lock:  # one reload at a time: a SIGHUP during a file-change reload waits
            self._seen = _FileStamp(_stat(path), _digest(path))
            try:
                # In a thread: reading, validating and comparing a large config takes a while (bench/reload.py).
                change = await asyncio.to_thread(self._read, path)
            except ConfigError as exc:
                return self._invalid(trigger, tuple(str(issue) for issue in exc.issues))
            self.current = change.new
            for listener in self.listeners:
                try:
                    result = listener(change)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:  # noqa: BLE001 - one part failing must not stop the others
                    log.error("config reload (%s): applying it failed in part: %s: %s", trigger,
                              type(exc).__name__, exc)
            now = self.clock()
            self.loaded_at, self.errors, self.errors_at = now, (), None
            self._restart_note(change.needs_restart, trigger)
            log.info("config reloaded (%s) from %s: %s", trigger, path, change.describe())
            if self.on_outcome is not None:
                self.on_outcome("ok", now)
            return ReloadResult("ok", change)

    def _read(self, path: Path) -> ConfigChange:
        assert self.file_config is not None
        return plan_change(self.current, self.file_config, load_config(path))

    def _invalid(self, trigger: str, errors: tuple[str, ...]) -> ReloadResult:
        now = self.clock()
        # Logged once per new set of errors (a file saved twice with the same mistake says nothing new),
        # and again when an operator asks (SIGHUP, POST /admin/reload) so that their action is answered.
        if errors != self.errors or trigger != "file changed":
            log.error("config reload (%s): %s is invalid; the running config is kept:\n  %s", trigger,
                      self.path, "\n  ".join(errors))
        if errors != self.errors or self.errors_at is None:
            self.errors_at = now
        self.errors = errors
        if self.on_outcome is not None:
            self.on_outcome("invalid", now)
        return ReloadResult("invalid", errors=errors)

    def _restart_note(self, keys: tuple[str, ...], trigger: str) -> None:
        if keys and keys != self.needs_restart:
            log.warning("config reload (%s): %s changed; the running values are kept until a restart",
                        trigger, ", ".join(keys))
        self.needs_restart = keys

    async def watch(self, interval: float = POLL_INTERVAL) -> None:
        """Poll the file's stat every `interval` seconds; reload when its contents changed (a `touch`
        alone, or a save with the same bytes, reads it once and changes nothing)."""
        path = self.path
        if path is None:
            return
        while True:
            await asyncio.sleep(interval)
            stat = _stat(path)
            if stat == self._seen.stat:
                continue
            digest = _digest(path)
            if digest == self._seen.digest and digest is not None:
                self._seen.stat = stat
                continue
            try:
                await self.reload("file changed")
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one reload
                log.error("config reload (file changed) failed: %s: %s", type(exc).__name__, exc)
