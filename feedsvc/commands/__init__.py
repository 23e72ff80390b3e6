"""One module per CLI command (check, schema, serve, demo, refresh, preview, discover): each takes
parsed values, does its work, prints, and returns an exit code. cli.py parses arguments into them.

This package's own module imports nothing heavy, so `feedsvc check` and `feedsvc schema` import only
the config room: each command module is imported by cli.py when its command runs.
"""

from __future__ import annotations

from typing import TextIO

from feedsvc.errors import ConfigError

EXIT_OK = 0
EXIT_ERROR = 1  # a feedsvc error (one line on stderr), or a section that failed
EXIT_CONFIG = 2  # an unusable config or bad arguments
EXIT_INTERRUPTED = 130


def print_issues(error: ConfigError, stream: TextIO) -> None:
    """Every config problem on its own line (file:line: key: message)."""
    for issue in error.issues:
        print(issue, file=stream)
