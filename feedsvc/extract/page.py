"""An article page parsed once: the lxml tree, its meta tags and JSON-LD, and its visible text as lines.

The other extract modules work from a `Page`; nothing here knows about titles or bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from feedsvc.extract.html import (
    BLOCK_TAGS,
    INVISIBLE_TAGS,
    Node,
    base_href,
    clean_text,
    drop_tree,
    elements,
    parse_html,
    raw_text,
    squash,
    text_of,
)

__all__ = ["Line", "Page", "as_text"]

# Hidden nodes up to this much text are chrome (menus, pop-ups); longer ones hold an article a script
# was meant to reveal.
_HIDDEN_CHROME_CHARS = 300
_HIDDEN = etree.XPath(".//*[@hidden or contains(translate(@style, ' ', ''), 'display:none')]")
# A block that holds a form control and, once the controls are gone, no more than a label's worth of
# text (`新闻：` before a search box) is a widget. HTML5 parsing leaves a <form> written between table
# tags empty, so a search box's cell is not inside the form that would have dropped it.
_CONTROLS = ("input", "select", "textarea")
_LABEL_CHARS = 12


def as_text(value: object) -> str:
    """A JSON-LD value as text: strings as they are, the first of a list, an object's name."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list) and value:
        return as_text(value[0])
    if isinstance(value, dict):
        return as_text(value.get("name") or value.get("url") or value.get("@id"))
    return ""


@dataclass(frozen=True)
class Line:
    """One line of visible text: `pos` is the document-order index of the node that started it."""

    text: str
    pos: int
    block: Node


@dataclass
class Page:
    """A parsed page with everything read from it before any node is removed."""

    root: Node
    html_title: str = ""
    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    order: dict[Node, int] = field(default_factory=dict)
    base_href: str = ""  # <base href>, against which the page's relative links resolve

    @classmethod
    def parse(cls, html: str) -> Page:
        """The page read from `html`; ExtractError (from parse_html) for an empty or unparseable one."""
        root = parse_html(html)
        page = cls(root=root)
        title = root.find(".//title")
        page.html_title = text_of(title) if title is not None else ""
        for el in root.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            content = el.get("content")
            if key and content and content.strip():
                page.meta.setdefault(key, []).append(clean_text(content))
        page.base_href = (base_href(root) or "").strip()
        for script in root.iter("script"):
            if "ld+json" in (script.get("type") or "").lower() and script.text:
                page.jsonld.extend(_jsonld_objects(script.text))
        return page

    def meta_first(self, *keys: str) -> str | None:
        for key in keys:
            values = self.meta.get(key)
            if values:
                return values[0]
        return None

    def jsonld_first(self, *keys: str) -> object | None:
        for obj in self.jsonld:
            for key in keys:
                if obj.get(key):
                    return obj[key]
        return None

    def prune(self) -> None:
        """Drop invisible nodes, then number the remaining nodes in document order."""
        body = self.root.find("body")
        scope = body if body is not None else self.root
        widgets = {_block_of(el) for el in scope.iter(*_CONTROLS) if el.get("type") != "hidden"}
        etree.strip_elements(scope, *INVISIBLE_TAGS, with_tail=False)
        for block in widgets:
            if block is not None and block is not scope and len(squash(raw_text(block))) <= _LABEL_CHARS:
                drop_tree(block)
        for el in elements(_HIDDEN(scope)):
            if len(raw_text(el)) < _HIDDEN_CHROME_CHARS:
                drop_tree(el)
        self.renumber()

    def renumber(self) -> None:
        self.order = {el: i for i, el in enumerate(self.root.iter(etree.Element))}

    def lines(self, scope: Node | None = None) -> list[Line]:
        """Visible text of `scope` (default: the whole body) split at block boundaries."""
        if scope is None:
            scope = self.root.find("body")
            if scope is None:
                scope = self.root
        out: list[Line] = []
        buf: list[str] = []
        first = -1  # document position of the first text in `buf`
        stack: list[Node] = [scope]  # enclosing block elements
        order = self.order

        def flush() -> None:
            nonlocal first
            if buf:
                text = clean_text(" ".join(buf))
                if text:
                    out.append(Line(text, first, stack[-1]))
                buf.clear()
            first = -1

        # iterwalk runs in C; recursion in Python over every node was the slowest part of extraction.
        for event, el in etree.iterwalk(scope, events=("start", "end")):
            if event == "start":
                if el.tag in BLOCK_TAGS:
                    if buf:
                        flush()
                    stack.append(el)
                text = el.text
                if text and not text.isspace():
                    if first < 0:
                        first = order.get(el, -1)
                    buf.append(text)
            else:
                if el.tag in BLOCK_TAGS:
                    if buf:
                        flush()
                    stack.pop()
                tail = el.tail
                if el is not scope and tail and not tail.isspace():
                    if first < 0:
                        first = order.get(el, -1)
                    buf.append(tail)
        flush()
        return out


def _block_of(el: Node) -> Node | None:
    """The nearest block element around `el`."""
    for anc in el.iterancestors():
        if anc.tag in BLOCK_TAGS:
            return anc
    return None


def _jsonld_objects(text: str) -> Iterator[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError:
        return
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "@graph" in item:
                stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
            yield item
