"""The access log: one compact line per request, written to the "aiohttp.access" logger cheaply.

Every request is logged at INFO (on by default: `feedsvc serve` logs INFO) with the line

    127.0.0.1 "GET /cxnews/cixi.rss HTTP/1.1" 200 33270 0.4ms "curl/8.0"

remote address, the request line as the common log format quotes it, status, body bytes, how long the
answer took (milliseconds) and the User-Agent: aiohttp's `%a "%r" %s %b %Tf "%{User-Agent}i"` with the
time in ms. The log record's own time stamps the line (so no second time field), and the referer is left
out (feed readers send none); structured formatters still get it as a field (below). Written
through aiohttp's public `AbstractAccessLogger` (`make_runner` passes `AccessLog` as the runner's
`access_log_class`). Handing each line to `logging` as a record costs more than the rest of answering a
cached feed beyond aiohttp's own work (a LogRecord, a Formatter with strftime, a locked write and flush
per request: bench/serve.py --instructions). So there are two paths, chosen per connection from how
logging is set up, giving the same text either way:

- **direct**: when the line would reach exactly one handler, a plain `logging.StreamHandler` or feedsvc's
  own (feedsvc/logs.py: stderr, as `feedsvc serve --log-format text` sets logging up) with no filters,
  whose formatter writes `prefix + asctime + middle + message + suffix` with the message as given or with
  control characters escaped as feedsvc's text format does (checked by formatting probe records;
  `%(asctime)s %(levelname)s %(name)s: %(message)s` is that), the line is formatted here with the same
  prefix and time text (and escaping) and buffered;
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
from typing import Any

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger

from feedsvc.commands.terminal import printable
from feedsvc.logs import LogHandler

ACCESS_LINE = '%s "%s %s HTTP/%d.%d" %d %d %.1fms "%s"'
FLUSH_DELAY = 0.1  # seconds a line may wait in the direct path's buffer
FLUSH_LINES = 256  # lines that make the buffer written at once
# Probe messages for the direct path's check: quotes, a backslash, a line break, non-ASCII and a %, so
# a formatter that escapes or rewrites the message (JSON, for one) shows it.
_PROBES = ((1_000_000_000.123, '"GET / HTTP/1.1" \\ é\n%', "GET"),
           (1_700_000_001.789, "'HEAD /x' 302 \u2028 ü%s\x1b", "HEAD"),
           (1_600_000_002.456, '"GET /ü?a=%s" 304 0 "x\\"', "GET"))
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
    prefix + asctime + middle + message + suffix, or prefix + message + suffix (`middle` None); a
    message with a control character escaped first when the formatter escapes (`escape`)."""

    def __init__(self, handler: logging.StreamHandler[Any], prefix: str, middle: str | None, suffix: str,
                 escape: bool = False) -> None:
        self.handler = handler
        self.timed = middle is not None
        self.escape = escape
        tail = _escaped(suffix + handler.terminator)
        head = _escaped(prefix) + ("%s" + _escaped(middle) if middle is not None else "")
        self._text = head + "%s" + tail  # for write(): any message
        self._line = head + ACCESS_LINE + tail  # for add(): an access line's parts, formatted in one go
        self.lines: list[str] = []
        self.asctime = _LocalTime()
        self._timer: asyncio.TimerHandle | None = None

    def write(self, created: float, message: str) -> None:
        """Buffer `message` as logged at `created` (Unix seconds)."""
        if self.escape and not message.isprintable():
            message = printable(message)
        self.lines.append(self._text % ((self.asctime(created), message) if self.timed else (message,)))
        self._added()

    def add(self, created: float, parts: tuple[Any, ...]) -> None:
        """Buffer the access line of `parts` (the values of ACCESS_LINE, in order)."""
        if self.escape and not (parts[0].isprintable() and parts[2].isprintable() and parts[8].isprintable()):
            self.write(created, ACCESS_LINE % parts)  # escaped as the formatter escapes the whole message
            return
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
# Handlers whose emit is StreamHandler's own: feedsvc's LogHandler only names it (logs.py).
_PLAIN_HANDLERS = (logging.StreamHandler, LogHandler)


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
    message + suffix (or prefix + message + suffix), the same for any message, time and request, the
    message as given or escaped as `printable` escapes it (the same for every probe)."""
    formatter = handler.formatter or logging.Formatter()
    asctime = _LocalTime()
    frames: set[tuple[str, str | None, str]] = set()
    escapes: set[bool] = set()
    for created, message, method in _PROBES:
        record = logger.makeRecord(logger.name, logging.INFO, "(access log)", 0, "%s", (message,), None,
                                   extra=fields("-", method, message, (1, 1), 200, 0, "-", "-", created / 1e9))
        # Every time-dependent attribute of a record from these probe times, as if logged then.
        record.created, record.msecs, record.relativeCreated = created, int(created * 1000) % 1000, created * 7
        try:
            text = formatter.format(record)
        except Exception:
            return None
        escaped = printable(message)
        for shown in (message, escaped) if escaped != message else (message,):
            before, found, after = text.partition(shown)
            if found and shown not in after:
                if escaped != message:
                    escapes.add(shown is escaped)  # a printable probe tells nothing about escaping
                break
        else:
            return None
        stamp = asctime(created)
        if before.count(stamp) == 1:
            head, _, tail = before.partition(stamp)
            frames.add((head, tail, after))
        else:
            frames.add((before, None, after))
    if len(frames) != 1 or len(escapes) != 1:  # one frame, and control characters either kept or escaped
        return None
    prefix, middle, suffix = frames.pop()
    return DirectWriter(handler, prefix, middle, suffix, escape=True in escapes)


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
    handler = handlers[0] if len(handlers) == 1 else None
    if (isinstance(handler, logging.StreamHandler) and type(handler) in _PLAIN_HANDLERS and not handler.filters
            and handler.level <= logging.INFO and not logger.filters):
        writer = _frame(logger, handler)
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

    __slots__ = ("_direct",)

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        # aiohttp makes one AccessLog per connection: the path is looked up once per connection.
        self._direct = direct_writer(logger) if self.enabled else None

    @property
    def enabled(self) -> bool:
        # Read by aiohttp per connection: with INFO off, requests are not even timed.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # `time` is how long the request took (seconds). Once per request: the attribute reads, the
        # tuple and one %-format are all it costs.
        headers = request.headers
        version = request.version
        parts = (request.remote or "-", request.method, request.path_qs, version.major, version.minor,
                 response.status, response.body_length, time * 1000, headers.get(hdrs.USER_AGENT, "-"))
        direct = self._direct
        if direct is not None:
            direct.add(_now(), parts)
            return
        logger = self.logger
        # What Logger.info does, less findCaller: makeRecord and handle are Logger's public API.
        logger.handle(logger.makeRecord(
            logger.name, logging.INFO, "(access log)", 0, ACCESS_LINE, parts, None,
            extra=fields(parts[0], parts[1], parts[2], version, parts[5], parts[6], headers.get(hdrs.REFERER, "-"),
                         parts[8], time)))
