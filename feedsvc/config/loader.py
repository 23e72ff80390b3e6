"""Reading config.yaml: file → YAML with lines → validated `Config`, every problem as file:line: key: message;
and the config's JSON Schema for editors."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic.json_schema import GenerateJsonSchema

from feedsvc.config.fields import format_duration
from feedsvc.config.messages import format_path, issues_from_validation, unknown_key_issue
from feedsvc.config.models import Config
from feedsvc.config.yaml_lines import YamlDocument, read_yaml
from feedsvc.errors import ConfigError, ConfigIssue

DEFAULT_PATH = "config.yaml"


# Environment variables that override one config key: (variable, block, key).
ENV_OVERRIDES = (
    ("FEEDSVC_STORE_URL", "store", "url"),
    ("FEEDSVC_ADMIN_TOKEN", "server", "admin_token"),
    ("FEEDSVC_REPLICA_ID", "cluster", "replica_id"),
)


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: the argument, else $FEEDSVC_CONFIG, else ./config.yaml."""
    return Path(path if path else os.environ.get("FEEDSVC_CONFIG") or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, validate and return the config; raise ConfigError listing every problem (file:line: path: what).

    $FEEDSVC_STORE_URL, when set, replaces store.url; $FEEDSVC_ADMIN_TOKEN, server.admin_token;
    $FEEDSVC_REPLICA_ID, cluster.replica_id.
    """
    file = config_path(path)
    display = str(file)
    doc = read_yaml(file, display)
    issues = list(doc.issues)
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else repr(data)
        issues.append(ConfigIssue(display, doc.line_of(()), "",
                                  f"expected a mapping with server, store, cluster, fetch, defaults, sites; got {kind}"))
        raise ConfigError(sorted(issues, key=_issue_order))
    data = dict(data)
    if "source_file" in data:
        issues.append(unknown_key_issue(Config, (), "source_file", doc, display))
        del data["source_file"]
    overridden: dict[str, str] = {}  # config path -> the variable that set it
    for variable, section, key in ENV_OVERRIDES:
        value = os.environ.get(variable)
        if value:
            overridden[f"{section}.{key}"] = variable
            block = data.get(section)
            if block is None:
                data[section] = {key: value}
            elif isinstance(block, dict):
                data[section] = {**block, key: value}
    try:
        config = Config.model_validate({**data, "source_file": str(file.resolve())})
    except ValidationError as exc:
        for issue in issues_from_validation(exc, Config, doc, display):
            if issue.path in overridden:
                issue = replace(issue, message=f"{issue.message} (from ${overridden[issue.path]})")
            issues.append(issue)
    else:
        issues += _site_issues(config, doc, display)
    if issues:
        raise ConfigError(sorted(issues, key=_issue_order))
    return config


def _site_issues(config: Config, doc: YamlDocument, display: str) -> list[ConfigIssue]:
    """What a site's fields allow only together: each section's list page on one of the site's hosts."""
    issues = []
    for site_name, site in config.sites.items():
        hosts = ", ".join(dict.fromkeys([urlsplit(site.home).hostname or "", *site.allowed_hosts]))
        for section, host in site.offsite_sections():
            path = ("sites", site_name, "sections", section, "url")
            issues.append(ConfigIssue(display, doc.line_of(path), format_path(path, doc),
                                      f"host {host!r} is not one of the site's hosts ({hosts}); "
                                      "add it to the site's allowed_hosts if the site really lives there"))
    return issues


def _issue_order(issue: ConfigIssue) -> tuple[int, str]:
    return (issue.line or 0, issue.path)


class _ConfigSchema(GenerateJsonSchema):
    # pydantic writes timedelta defaults as ISO 8601 ("PT15M"), which the config's own duration pattern rejects.
    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of config.yaml (for editors): pydantic's, with a title and the draft named."""
    schema = Config.model_json_schema(mode="validation", schema_generator=_ConfigSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "feedsvc config"}
