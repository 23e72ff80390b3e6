"""pydantic validation errors → ConfigIssue(file, line, YAML path, readable message), one per error.

pydantic's own texts ("Input should be a valid string") speak to programmers; operators get what was
found, what is expected, and for a typo the key they probably meant.
"""

from __future__ import annotations

import difflib
import types
from datetime import date
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from feedsvc.config.yaml_lines import YamlDocument, YamlPath
from feedsvc.errors import ConfigIssue

_KEY = "[key]"  # pydantic's marker for an error in a dict key rather than its value


def issues_from_validation(
    exc: ValidationError, root: type[BaseModel], doc: YamlDocument, file: str
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if loc and loc[-1] == _KEY:
            path = loc[:-1]
            issues.append(ConfigIssue(file, doc.key_line(path), format_path(path, doc), _key_message(error)))
        elif kind == "extra_forbidden":
            issues.append(unknown_key_issue(root, loc[:-1], loc[-1], doc, file))
        elif kind == "missing":
            parent = loc[:-1]
            line = doc.key_line(parent) if parent else doc.line_of(())
            issues.append(ConfigIssue(file, line, format_path(parent, doc), f"missing required key {loc[-1]!r}"))
        else:
            issues.append(ConfigIssue(file, doc.line_of(loc), format_path(loc, doc), _value_message(error)))
    return issues


def unknown_key_issue(
    root: type[BaseModel], parent: YamlPath, key: Any, doc: YamlDocument, file: str
) -> ConfigIssue:
    """`'refesh' is not a known key (did you mean 'refresh'?); known keys: ...` at the key's line."""
    known = known_keys(root, parent)
    message = f"{str(key)!r} is not a known key"
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    if known:
        message += f"; known keys: {', '.join(known)}"
    return ConfigIssue(file, doc.key_line((*parent, key)), format_path(parent, doc), message)


def known_keys(root: type[BaseModel], path: YamlPath) -> list[str]:
    """The keys the model at `path` accepts (empty when `path` does not lead to a model)."""
    model = _model_at(root, path)
    if model is None:
        return []
    return [name for name, info in model.model_fields.items() if not info.exclude]


def format_path(path: YamlPath, doc: YamlDocument | None = None) -> str:
    """('sites', 'cxnews', 'allowed_hosts', 0) → 'sites.cxnews.allowed_hosts[0]'.

    With `doc`, mapping keys are shown as written (`on`, not True) and an integer key (`sites.2024`) is
    told from a list index, which pydantic's loc cannot do.
    """
    text = ""
    for end, part in enumerate(path, start=1):
        written = doc.key_texts.get(tuple(path[:end])) if doc else None
        if written is None and isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            shown = written if written is not None else str(part)
            text += f".{shown}" if text else shown
    return text


def _model_at(root: type[BaseModel], path: YamlPath) -> type[BaseModel] | None:
    tp: Any = root
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return None
            tp = info.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Annotated[X, ...] → X; X | None → X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(tp) if arg is not type(None)]
            if len(options) != 1:
                return tp
            tp = options[0]
        else:
            return tp


def describe(value: Any) -> str:
    """A found value as an operator reads it in YAML terms."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, date):
        return f"a date ({value.isoformat()}; put it in quotes for text)"
    return repr(value)


def _key_message(error: Any) -> str:
    if error["type"] in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    return f"{describe(error['input'])} is not a valid name: names are text (put it in quotes)"


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "dict_type": "a mapping (key: value lines)",
    "tuple_type": "a list",
    "list_type": "a list",
}

_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _value_message(error: Any) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx["error"])
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"must be {words} {ctx[name]}, got {describe(value)}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s), got {ctx['actual_length']}"
    if kind == "too_long":
        return f"allows at most {ctx['max_length']} item(s), got {ctx['actual_length']}"
    if kind in ("string_too_short", "string_too_long", "string_pattern_mismatch"):
        return f"{describe(value)}: {error['msg'][0].lower()}{error['msg'][1:]}"
    return f"{error['msg']} (got {describe(value)})"
