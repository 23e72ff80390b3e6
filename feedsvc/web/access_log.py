"""The access log: aiohttp's default line, written to the "aiohttp.access" logger at a fraction of the cost.

Every request is logged with the line aiohttp's default format writes

    127.0.0.1 [30/Nov/2026:04:43:12 +0000] "GET /cxnews/cixi.rss HTTP/1.1" 200 33270 "-" "curl/8.0"

through aiohttp's public `AbstractAccessLogger` (`make_runner` passes `AccessLog` as the runner's
`access_log_class`). Handing each line to `logging` as a record costs more than the rest of answering a
cached feed beyond aiohttp's own work (a LogRecord, a Formatter with strftime, a locked write and flush
per request: bench/serve.py --instructions). So there are two paths, chosen per connection from how
logging is set up, giving the same text either way:

- **direct**: when the line would reach exactly one handler, a plain `logging.StreamHandler` (stderr, as
  `feedsvc serve` sets logging up) with no filters, whose formatter writes `prefix + asctime + middle +
  message + suffix` (checked by formatting two probe records; `%(asctime)s %(levelname)s %(name)s:
  %(message)s` is that), the line is formatted here with the same prefix and time text and buffered;
  the buffer is written to the handler's stream, under its lock, in one write every `FLUSH_DELAY`
  seconds, at `FLUSH_LINES` lines, when `serve` stops (`flush()`) and at exit. A line may so appear up
  to 0.1 s after log lines written at once (each carries its own time).
- **logging**: anything else (a JSON or other formatter, a filter, more handlers, a test's log capture)
  gets one record per request, at once, as `logger.info` would make it (without its search of the call
  stack), with the line's parts as record attributes for structured formatters: `remote`, `method`,
  `path`, `http_version`, `status`, `bytes`, `referer`, `user_agent`, `duration` (seconds).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
from datetime import datetime
from typing import Any

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger

_LINE = '%s [%s] "%s %s HTTP/%d.%d" %d %d "%s" "%s"'
FLUSH_DELAY = 0.1  # seconds a line may wait in the direct path's buffer
FLUSH_LINES = 256  # lines that make the buffer written at once
# Probe messages for the direct path's check: quotes, a backslash, a line break, non-ASCII and a %, so
# a formatter that escapes or rewrites the message (JSON, for one) shows it.
_PROBES = ((1_000_000_000.123, '"GET / HTTP/1.1" \\ é\n%', "GET"),
           (1_700_000_001.789, "'HEAD /x' 302 \u2028 ü%s", "HEAD"))
_now = time.time  # `time` is also the name of AccessLog.log's parameter, as aiohttp calls it


def fields(remote: str, method: str, path: str, version: tuple[int, int], status: int, length: int,
           referer: str, user_agent: str, duration: float) -> dict[str, Any]:
    """One request's line, as record attributes for structured formatters."""
    return {"remote": remote, "method": method, "path": path, "http_version": f"{version[0]}.{version[1]}",
            "status": status, "bytes": length, "referer": referer, "user_agent": user_agent,
            "duration": duration}


class _LocalTime:
    """`logging.Formatter`'s default asctime ("2026-11-30 07:20:19,123", local time): made once per
    millisecond, its second's text once per second."""

    __slots__ = ("_milli", "_second", "_text", "_stamp")

    def __init__(self) -> None:
        self._milli = self._second = -1
        self._text = self._stamp = ""

    def __call__(self, created: float) -> str:
        milli = int(created * 1000)
        if milli != self._milli:
            self._milli = milli
            second = milli // 1000
            if second != self._second:
                self._second = second
                self._text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._stamp = f"{self._text},{milli % 1000:03d}"
        return self._stamp


def _escaped(text: str) -> str:
    return text.replace("%", "%%")


class DirectWriter:
    """Buffered access lines for one StreamHandler, framed as its formatter frames a message:
    prefix + asctime + middle + message + suffix, or prefix + message + suffix (`middle` None)."""

    def __init__(self, handler: logging.StreamHandler[Any], prefix: str, middle: str | None, suffix: str) -> None:
        self.handler = handler
        self.timed = middle is not None
        tail = _escaped(suffix + handler.terminator)
        head = _escaped(prefix) + ("%s" + _escaped(middle) if middle is not None else "")
        self._text = head + "%s" + tail  # for write(): any message
        self._line = head + _LINE + tail  # for add(): an access line's parts, formatted in one go
        self.lines: list[str] = []
        self.asctime = _LocalTime()
        self._timer: asyncio.TimerHandle | None = None

    def write(self, created: float, message: str) -> None:
        """Buffer `message` as logged at `created` (Unix seconds)."""
        self.lines.append(self._text % ((self.asctime(created), message) if self.timed else (message,)))
        self._added()

    def add(self, created: float, parts: tuple[Any, ...]) -> None:
        """Buffer the access line of `parts` (the values of aiohttp's default format, in order)."""
        self.lines.append(self._line % ((self.asctime(created), *parts) if self.timed else parts))
        self._added()

    def _added(self) -> None:
        if self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)
            except RuntimeError:  # no running loop: nothing would flush later
                self.flush()
        elif len(self.lines) >= FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.lines:
            return
        lines = self.lines[:]
        self.lines.clear()
        handler = self.handler
        handler.acquire()
        try:
            try:
                handler.stream.write("".join(lines))
            except Exception:  # one line the stream cannot take (its encoding) must not cost the others
                for line in lines:
                    try:
                        handler.stream.write(line)
                    except Exception:
                        # What logging does when a write fails: report it (logging.raiseExceptions), go on.
                        handler.handleError(logging.makeLogRecord({"msg": line.rstrip(), "levelno": logging.INFO}))
            handler.flush()
        finally:
            handler.release()


_writers: dict[tuple[Any, ...], DirectWriter | None] = {}


def _chain(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of `logger` reaches, in the order `Logger.callHandlers` visits them."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers.extend(current.handlers)
        current = current.parent if current.propagate else None
    return handlers


def _frame(logger: logging.Logger, handler: logging.StreamHandler[Any]) -> DirectWriter | None:
    """A DirectWriter when `handler`'s formatter frames a message as prefix + asctime + middle +
    message + suffix (or prefix + message + suffix), the same for any message, time and request."""
    formatter = handler.formatter or logging.Formatter()
    asctime = _LocalTime()
    frames: set[tuple[str, str | None, str]] = set()
    for created, message, method in _PROBES:
        record = logger.makeRecord(logger.name, logging.INFO, "(access log)", 0, "%s", (message,), None,
                                   extra=fields("-", method, message, (1, 1), 200, 0, "-", "-", created / 1e9))
        # Every time-dependent attribute of a record from these probe times, as if logged then.
        record.created, record.msecs, record.relativeCreated = created, int(created * 1000) % 1000, created * 7
        try:
            text = formatter.format(record)
        except Exception:
            return None
        before, found, after = text.partition(message)
        if not found or message in after:
            return None
        stamp = asctime(created)
        if before.count(stamp) == 1:
            head, _, tail = before.partition(stamp)
            frames.add((head, tail, after))
        else:
            frames.add((before, None, after))
    if len(frames) != 1:
        return None
    prefix, middle, suffix = frames.pop()
    return DirectWriter(handler, prefix, middle, suffix)


def direct_writer(logger: logging.Logger) -> DirectWriter | None:
    """The direct path for `logger`'s access lines, or None when they must go through `logging`."""
    handlers = _chain(logger)
    # The probe ran in this thread: a formatter showing the thread must not see another's lines framed so.
    key = (logger, tuple(logger.filters), logger.disabled, threading.get_ident(),
           *((h, h.formatter, h.level, tuple(h.filters), getattr(h, "stream", None)) for h in handlers))
    try:
        return _writers[key]
    except KeyError:
        pass
    writer = None
    if (len(handlers) == 1 and type(handlers[0]) is logging.StreamHandler and not handlers[0].filters
            and handlers[0].level <= logging.INFO and not logger.filters):
        writer = _frame(logger, handlers[0])
    if len(_writers) >= 16:  # logging set up again and again (tests): forget the old setups
        flush()
        _writers.clear()
    _writers[key] = writer
    return writer


def flush() -> None:
    """Write every buffered access line now (`serve` calls this when it stops; so does exit)."""
    for writer in _writers.values():
        if writer is not None:
            writer.flush()


atexit.register(flush)


class AccessLog(AbstractAccessLogger):
    """Pass as `access_log_class` to aiohttp's runner; the line's format is fixed (see module)."""

    __slots__ = ("_second", "_stamp", "_direct")

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._second = -1
        self._stamp = ""
        # aiohttp makes one AccessLog per connection: the path is looked up once per connection.
        self._direct = direct_writer(logger) if self.enabled else None

    @property
    def enabled(self) -> bool:
        # Read by aiohttp per connection: with INFO off, requests are not even timed.
        return self.logger.isEnabledFor(logging.INFO)

    def _stamp_of(self, second: int) -> str:
        """Local time `second` as the line shows it: made again only when the second changes."""
        self._second = second
        self._stamp = datetime.fromtimestamp(second).astimezone().strftime("%d/%b/%Y:%H:%M:%S %z")
        return self._stamp

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # `time` is how long the request took: the stamp is when it started, as in aiohttp's line.
        # Once per request: the attribute reads, the tuple and one %-format are all it costs.
        now = _now()
        start = int(now - time)
        stamp = self._stamp if start == self._second else self._stamp_of(start)
        headers = request.headers
        version = request.version
        parts = (request.remote or "-", stamp, request.method, request.path_qs, version.major, version.minor,
                 response.status, response.body_length, headers.get(hdrs.REFERER, "-"), headers.get(hdrs.USER_AGENT, "-"))
        direct = self._direct
        if direct is not None:
            direct.add(now, parts)
            return
        logger = self.logger
        # What Logger.info does, less findCaller: makeRecord and handle are Logger's public API.
        logger.handle(logger.makeRecord(
            logger.name, logging.INFO, "(access log)", 0, _LINE, parts, None,
            extra=fields(parts[0], parts[2], parts[3], version, parts[6], parts[7], parts[8], parts[9], time)))
