"""Config file → plain YAML data plus the line of every YAML path, so config errors can name a line.

Constructed dicts forget where they came from and PyYAML lets a repeated key silently win, so this
reader works from the composed node tree: it keeps the marks and reports duplicate keys.

A config file is operator input, not trusted: nesting depth, alias expansion and number length are
bounded before anything walks the tree, so no file can run `feedsvc check` out of time, memory or stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from feedsvc.errors import ConfigError, ConfigIssue

YamlPath = tuple[Any, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"

# The deepest real config is ~8 levels (sites.x.sections.y.rules.remove[0]); PyYAML's composer and every
# walk below recurse once per level, so a bound well under Python's recursion limit keeps them safe.
MAX_DEPTH = 32
# Values that `*alias` references may add beyond what is written out: merge keys (`<<: *common`) in
# hundreds of sections stay far below it, a "billion laughs" file (9 aliases of 9 aliases...) does not.
MAX_ALIAS_VALUES = 50_000
# Digits of a written integer: Python refuses to convert more than 4300, and no setting needs more than 12.
MAX_INT_DIGITS = 30
# Control characters a double-quoted YAML escape can put in a value ("\e", "\x01"): no setting means
# one, and in a user agent, a title or a label they break HTTP headers, feeds and terminals.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class YamlDocument:
    """What a config file holds, with positions (1-based lines) for reporting."""

    data: Any
    value_lines: dict[YamlPath, int] = field(default_factory=dict)  # where each value starts
    key_lines: dict[YamlPath, int] = field(default_factory=dict)  # where each mapping key is written
    key_texts: dict[YamlPath, str] = field(default_factory=dict)  # each mapping key as written (`on`, not True)
    issues: list[ConfigIssue] = field(default_factory=list)  # problems found while reading (duplicates)

    def line_of(self, path: YamlPath) -> int | None:
        """Line of the value at `path`, else of its nearest ancestor that exists in the file."""
        return self._nearest(self.value_lines, path)

    def key_line(self, path: YamlPath) -> int | None:
        """Line where the key ending `path` is written (for mappings: the line naming them)."""
        line = self.key_lines.get(tuple(path))
        return line if line is not None else self._nearest(self.value_lines, path)

    @staticmethod
    def _nearest(lines: dict[YamlPath, int], path: YamlPath) -> int | None:
        path = tuple(path)
        for end in range(len(path), -1, -1):
            if path[:end] in lines:
                return lines[path[:end]]
        return None


def read_yaml(file: Path, display: str) -> YamlDocument:
    """Read `file` (UTF-8); raise ConfigError for a missing, unreadable, empty or malformed file."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise _fatal(display, None, f"file not found (looked for {file.resolve()})") from None
    except IsADirectoryError:
        raise _fatal(display, None, "is a directory, not a config file") from None
    except OSError as exc:
        raise _fatal(display, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fatal(display, line, "is not UTF-8 text (save the file as UTF-8)") from None
    return parse_yaml(text, display)


def parse_yaml(text: str, display: str) -> YamlDocument:
    """YAML text → YamlDocument; raise ConfigError for a syntax error or an empty document."""
    try:
        loader = yaml.SafeLoader(text)  # reads the whole text, refusing characters YAML does not allow
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _fatal(display, line, f"character U+{character:04X} is not allowed in a YAML file (a control "
                                    "character: remove it)") from None
    try:
        _check_depth(text, display)
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            raise _fatal(display, None, "the file is empty (expected a mapping with server, store, defaults, sites)")
        doc = YamlDocument(data=None, value_lines={(): node.start_mark.line + 1})
        _check_limits(node, display)
        _find_duplicates(node, (), display, doc.issues, set())
        # Construction flattens `<<` merge keys into the node tree, so positions are read after it.
        doc.data = loader.construct_document(node)
        _record_lines(loader, node, (), doc, set())
        return doc
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, display) from None
    except yaml.YAMLError as exc:
        raise _fatal(display, None, f"YAML error: {exc}") from None
    except RecursionError:  # the bounds above should make this unreachable; never a traceback if not
        raise _fatal(display, None, f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()


def _check_depth(text: str, display: str) -> None:
    """ConfigError at the first collection nested deeper than MAX_DEPTH. PyYAML's event parser is a
    state machine (no recursion), so this runs before the recursive composer ever sees the file."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):  # YAML errors: the caller reports them
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise _fatal(display, line, f"nested too deeply (at most {MAX_DEPTH} levels of lists and mappings)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_limits(root: yaml.Node, display: str) -> None:
    """ConfigError when aliases expand the file beyond MAX_ALIAS_VALUES values, when an alias contains
    itself, for an integer too long to be a setting, or for a value holding control characters.
    Each node is visited once (sizes are memoized), so the check costs what the file's text costs,
    whatever its aliases expand to."""
    sizes: dict[int, int] = {}
    parents: dict[int, int] = {}  # how many collections hold the node: more than one means an alias repeats it

    def size(node: yaml.Node, path: YamlPath, open_nodes: set[int]) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise _fatal(display, _line(node), "an alias refers to a value that contains it "
                                               "(recursive YAML is not a config)", path)
        total = 1
        if isinstance(node, yaml.ScalarNode):
            digits = str(node.value).lstrip("+-").replace("_", "")
            if node.tag == _INT_TAG and len(digits) > MAX_INT_DIGITS:
                raise _fatal(display, _line(node), f"a number of {len(digits)} digits is not a usable setting",
                             path)
            control = _CONTROL_RE.search(str(node.value))
            if control:
                raise _fatal(display, _line(node), f"control character U+{ord(control.group()):04X} in the "
                                                   f"text {str(node.value)!r}", path)
        else:
            open_nodes.add(id(node))
            for child, child_path, _ in _children(node, path):
                parents[id(child)] = parents.get(id(child), 0) + 1
                total += size(child, child_path, open_nodes)
            open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    total = size(root, (), set())
    extra = total - len(sizes)  # values reached through an alias, beyond the ones written once
    if extra > MAX_ALIAS_VALUES:
        # Report where the blow-up starts: down the largest branch until the next step is an alias.
        path, line, node = (), _line(root), root
        while True:
            steps = list(_children(node, path))
            if not steps:
                break
            child, child_path, child_line = max(steps, key=lambda step: sizes[id(step[0])])
            if parents[id(child)] > 1:
                break
            path, line, node = child_path, child_line, child
        raise _fatal(display, line, f"aliases (*name) expand this to {extra} more values than are written "
                                    f"(at most {MAX_ALIAS_VALUES}): write the values out", path)


def _children(node: yaml.Node, path: YamlPath) -> Iterator[tuple[yaml.Node, YamlPath, int]]:
    """A collection's keys and values (or items), each with its path and the line that names it."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child_path = (*path, _key_text(key))
            yield key, child_path, _line(key)
            yield value, child_path, _line(key)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield item, (*path, f"[{index}]"), _line(item)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _dotted(path: YamlPath) -> str:
    text = ""
    for part in path:
        text += part if str(part).startswith("[") else (f".{part}" if text else str(part))
    return text


def _fatal(display: str, line: int | None, message: str, path: YamlPath = ()) -> ConfigError:
    return ConfigError([ConfigIssue(file=display, line=line, path=_dotted(path), message=message)])


def _syntax_error(exc: yaml.MarkedYAMLError, display: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem, context = exc.problem or "", exc.context or ""
    if problem.startswith("but ") and context:  # PyYAML splits "expected X ... but found Y" in two
        message = f"{context}, {problem}"
    else:
        message = problem or context or "cannot parse"
        if problem and context and exc.context_mark:
            message += f" ({context} at line {exc.context_mark.line + 1})"
    for clue, hint in _HINTS.items():
        if clue in message:
            message += f"; {hint}"
    return _fatal(display, line, f"YAML syntax error: {message}")


# PyYAML's wording for the two mistakes people make most, and what usually fixes them.
_HINTS = {
    "expected <block end>": "check the indentation",
    "mapping values are not allowed here": "check the indentation, or quote a value that contains ': '",
}


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{getattr(node, 'id', 'node')}>"


def _find_duplicates(
    node: yaml.Node, path: YamlPath, display: str, issues: list[ConfigIssue], seen: set[int]
) -> None:
    # An anchored node reached again through an alias is the same object: check it once.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            child = (*path, _key_text(key))
            if key.tag != _MERGE_TAG and isinstance(key, yaml.ScalarNode):
                ident = (key.tag, key.value)
                line = key.start_mark.line + 1
                if ident in first:
                    issues.append(ConfigIssue(
                        file=display, line=line, path=".".join(child),
                        message=f"duplicate key {key.value!r} (already set at line {first[ident]}; "
                        "YAML would silently keep only the last one)",
                    ))
                else:
                    first[ident] = line
            _find_duplicates(value, child, display, issues, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _find_duplicates(item, (*path, f"[{index}]"), display, issues, seen)


def _record_lines(
    loader: yaml.SafeLoader, node: yaml.Node, path: YamlPath, doc: YamlDocument, stack: set[int]
) -> None:
    # Paths use constructed keys (int 2024, not "2024") so they match pydantic's error locations.
    if id(node) in stack:  # a recursive alias (&a [*a]) would never end
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, _constructed_key(loader, key))
            doc.key_lines[child] = key.start_mark.line + 1
            doc.key_texts[child] = _key_text(key)
            # A scalar is reported where it is written; a mapping or list where its key names it.
            start = value if isinstance(value, yaml.ScalarNode) else key
            doc.value_lines[child] = start.start_mark.line + 1
            _record_lines(loader, value, child, doc, stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.value_lines[child] = item.start_mark.line + 1
            _record_lines(loader, item, child, doc, stack)
    stack.discard(id(node))


def _constructed_key(loader: yaml.SafeLoader, key: yaml.Node) -> Any:
    if not isinstance(key, yaml.ScalarNode):
        return _key_text(key)
    try:
        value = loader.construct_object(key, deep=True)
    except yaml.YAMLError:
        return key.value
    return value if isinstance(value, (str, int, float, bool)) or value is None else key.value
