"""One module per CLI command (check, schema, serve, demo, refresh, preview, discover, status): each takes
parsed values, does its work, prints, and returns an exit code. cli.py parses arguments into them.

This package's own module imports nothing heavy, so `feedsvc check` and `feedsvc schema` import only
the config room: each command module is imported by cli.py when its command runs.
"""

from __future__ import annotations

from typing import TextIO

from feedsvc.commands.terminal import error_line
from feedsvc.errors import ConfigError

EXIT_OK = 0
EXIT_ERROR = 1  # the work failed: a section's refresh, a page that could not be read
EXIT_CONFIG = 2  # usage or config error: an unusable config, bad arguments, an unknown site or section
EXIT_USAGE = EXIT_CONFIG
EXIT_INTERRUPTED = 130


def print_issues(error: ConfigError, stream: TextIO) -> None:
    """Every config problem on its own error line (`feedsvc: error: file:line: key: message`)."""
    for issue in error.issues:
        print(error_line(str(issue)), file=stream)
