"""`feedsvc check`: validate the config file and print every problem."""

from __future__ import annotations

import sys

from feedsvc.commands import EXIT_CONFIG, EXIT_OK, print_issues
from feedsvc.config import config_path, load_config
from feedsvc.errors import ConfigError


def run(path: str | None) -> int:
    file = config_path(path)
    try:
        config = load_config(file)
    except ConfigError as exc:
        # stderr, like `serve` refusing to start: operators see the same text in both places.
        print_issues(exc, sys.stderr)
        count = len(exc.issues)
        print(f"{file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_CONFIG
    sections = sum(len(site.sections) for site in config.sites.values())
    print(f"{file}: OK — {plural(len(config.sites), 'site')}, {plural(sections, 'section')}")
    return EXIT_OK


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
