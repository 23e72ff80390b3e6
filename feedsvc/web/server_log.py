"""aiohttp's server log, with a client's malformed request said in one line instead of an ERROR traceback.

aiohttp reports a request it cannot parse (raw UTF-8 in the request line, a header without a colon,
TLS sent to the HTTP port) through its server logger's `exception()`: an ERROR with the parser's
traceback, for what is a scanner's or a broken client's fault. `make_runner` passes `ServerLog` as the
runner's documented `logger` argument; everything else aiohttp logs there (a handler's crash, a
500: our fault) keeps its traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

MAX_REASON = 200
# What the client sent ends up in the parser's message: no control character may reach a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}" if ord(match.group()) < 0x100 else f"\\u{ord(match.group()):04x}"


def reason(exc: HttpProcessingError) -> str:
    """The parser's complaint as one short line, client bytes escaped."""
    text = " ".join(str(exc.message or type(exc).__name__).split())
    text = _CONTROL.sub(_escape, text)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


class ServerLog(logging.LoggerAdapter):
    """aiohttp's "aiohttp.server" logger; a malformed request becomes one INFO line, no traceback."""

    def __init__(self, logger: logging.Logger = server_logger) -> None:
        super().__init__(logger, {})

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs  # no `extra` of our own to merge

    def _bad_request(self, args: tuple[Any, ...], exc: HttpProcessingError) -> None:
        # aiohttp logs these as ("Error handling request from %s", request.remote, exc_info=exc).
        remote = args[0] if args else "-"
        self.logger.info("bad request from %s: %s (%s)", remote, reason(exc), exc.code or 400)

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self._bad_request(args, exc_info)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        # aiohttp keeps a first request that is not HTTP at all (TLS, a port scan) at DEBUG, with a
        # traceback: the same one line, at the same level as every other bad request.
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            self._bad_request(args, exc)
            return
        super().debug(msg, *args, **kwargs)
