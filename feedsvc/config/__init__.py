"""The config room: config.yaml → validated, frozen `Config` → one `SectionRef` per section.

    yaml_lines.py  the file as YAML data, with the line of every key and value; nesting, alias
                   expansion, number length and control characters bounded before anything walks it
    fields.py      value types (durations, time zones, CSS via feedsvc.extract.html, regexes, URLs,
                   hosts, names) and their checks
    models.py      the pydantic models (the config's shape, defaults, upper bounds, JSON Schema) and SectionRef
    messages.py    pydantic errors → operator messages (file:line: key: message)
    loader.py      load_config (with the checks across fields: section URLs on the site's hosts),
                   config_path, config_json_schema

Rooms below config (fetch/, extract/) receive plain records from feedsvc.model (`FetchConfig.plain()`,
`SectionRef.rules`), so they never import pydantic or YAML.
"""

from feedsvc.config.fields import format_duration, parse_duration
from feedsvc.config.loader import DEFAULT_PATH, config_json_schema, config_path, load_config
from feedsvc.config.models import (
    Config,
    Defaults,
    FetchConfig,
    Rules,
    Section,
    SectionRef,
    ServerConfig,
    Site,
    StoreConfig,
)
from feedsvc.model import SLUG_RE

__all__ = [
    "DEFAULT_PATH",
    "SLUG_RE",
    "Config",
    "Defaults",
    "FetchConfig",
    "Rules",
    "Section",
    "SectionRef",
    "ServerConfig",
    "Site",
    "StoreConfig",
    "config_json_schema",
    "config_path",
    "format_duration",
    "load_config",
    "parse_duration",
]
