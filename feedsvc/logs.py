"""The process's log lines: `text` (one readable line per record) or `json` (one JSON object per line,
for log shippers), chosen by `--log-format` / $FEEDSVC_LOG_FORMAT, on stderr.

A JSON line holds `time` (RFC 3339, UTC), `level`, `logger` and `message`, then every structured field
the record carries (`logger.info(..., extra={...})`: a refresh's figures, an access line's request),
then `exc_info` (the traceback as text) when there is one. What a page, a URL or a client sent often
ends up in a message, so neither format lets a control character through raw: text shows it escaped
(`\\x1b`, as commands print), JSON as a `\\u001b` escape (C1 and bidirectional controls included, which
`json.dumps` would otherwise pass through).

The standard library's `logging.Formatter` is all this needs (a few dozen lines; python-json-logger
would add a dependency to save about as many, and still need the escaping and the access-line fields).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from feedsvc.commands.terminal import printable

FORMATS = ("text", "json")
DEFAULT_FORMAT = "text"
ENV_VARIABLE = "FEEDSVC_LOG_FORMAT"
TEXT_LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The attributes every LogRecord has: anything else on a record came from `extra=` (or a library's own).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# What json.dumps(ensure_ascii=False) leaves raw that a terminal would still act on (it escapes C0 itself).
_JSON_RAW_CONTROL = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, the message with control characters escaped (one line a record;
    a traceback, ours, follows on its own lines)."""

    def __init__(self) -> None:
        super().__init__(TEXT_LINE)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        # isprintable() is false for every character printable() escapes: the common line skips the regex
        # (an access line is written per request).
        if not record.message.isprintable():
            record.message = printable(record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module's docstring for its keys)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in record.__dict__.items()
                    if key not in _STANDARD and key not in line)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        text = json.dumps(line, ensure_ascii=False, default=str)
        return _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class LogHandler(logging.StreamHandler[TextIO]):
    """The one handler feedsvc puts on the root logger (told apart from a test's or a host's handlers)."""


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {log_format!r} (known: {', '.join(FORMATS)})")


def configure_logging(log_format: str | None = None, *, level: int = logging.INFO,
                      stream: TextIO | None = None) -> None:
    """Log records of `level` and above to `stream` (stderr) in `log_format`.

    Without a format, a configuration already made (by the command line, before the command ran) is
    kept as it is, like `logging.basicConfig`; otherwise it is replaced, never doubled."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, LogHandler)]
    if log_format is None and ours:
        return
    handler = LogHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format or DEFAULT_FORMAT))
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every job start and re-add at INFO; the refresher logs each run instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@contextmanager
def logging_configured(log_format: str | None = None, *, level: int = logging.INFO,
                       stream: TextIO | None = None) -> Iterator[None]:
    """`configure_logging` for the block (a command), then logging as it was: `feedsvc.cli.main` run
    in-process (tests, embedding) leaves no handler behind on a stream it no longer owns."""
    root, scheduler_log = logging.getLogger(), logging.getLogger("apscheduler")
    handlers, root_level, scheduler_level = list(root.handlers), root.level, scheduler_log.level
    configure_logging(log_format, level=level, stream=stream)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        scheduler_log.setLevel(scheduler_level)
