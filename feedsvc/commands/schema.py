"""`feedsvc schema`: print the config's JSON Schema (for editor completion and checking)."""

from __future__ import annotations

import json

from feedsvc.commands import EXIT_OK
from feedsvc.config import config_json_schema


def run() -> int:
    print(json.dumps(config_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK
