"""Text bound for an operator's terminal: every line a command prints goes through `printable`, and
every error is one `feedsvc: error: …` line.

What a command prints often comes from a page or a config file (titles, labels, bylines, URLs, error
texts that quote them). A title holding `ESC ]0;…` or `ESC [2J` must not retitle the window, clear
the screen or recolour what follows, so control characters are shown escaped, never sent.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

# C0 and C1 controls and DEL (ANSI escapes start with ESC or the 8-bit CSI U+009B), the line and
# paragraph separators, and the bidirectional marks and overrides that reorder what a line shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

ERROR_PREFIX = "feedsvc: error: "


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character written as a Python-style escape (`\\x1b`, `\\u202e`)."""
    return _CONTROL.sub(_escape, text)


def say(line: str, stream: TextIO | None = None) -> None:
    """Print one line of output (stdout unless `stream`), control characters escaped."""
    print(printable(line), file=stream or sys.stdout)


def error_line(message: str) -> str:
    """The one error format of every command: `feedsvc: error: MESSAGE`, on one line."""
    return ERROR_PREFIX + printable(message)


def print_error(message: str) -> None:
    """One error line on stderr."""
    print(error_line(message), file=sys.stderr)
