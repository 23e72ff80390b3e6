"""An article page parsed once: the lxml tree, its meta tags and JSON-LD, and its visible text as lines.

The other extract modules work from a `Page`; nothing here knows about titles or bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree
from lxml.cssselect import CSSSelector

from feedsvc.errors import ExtractError

__all__ = ["BLOCK_TAGS", "Line", "Node", "Page", "as_text", "class_and_id", "clean_text", "drop_tag", "drop_tree",
           "is_element", "parse_html", "select", "text_of"]

# Plain lxml.etree elements: lxml.html's per-node Python class lookup costs more than everything
# we would use it for, so the few HtmlElement conveniences are written out below.
Node = etree._Element

# Tags that start a new line of visible text.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul", "caption", "img", "video", "iframe",
})
# Never visible, never part of an article.
INVISIBLE_TAGS = ("script", "style", "noscript", "template", "link", "meta", "select", "option", "textarea",
                  "button", "svg", "input", "object", "embed", "canvas", "map", "audio", "head")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # str.translate is 15x slower here
_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\u200c\u200d\ufeff]+")


def clean_text(text: str | None) -> str:
    """Whitespace (ASCII, nbsp, ideographic, zero-width) collapsed to single spaces, trimmed."""
    return _SPACES.sub(" ", text or "").strip()


def is_element(node: object) -> bool:
    """True for real elements (not comments or processing instructions, whose .tag is a function)."""
    return isinstance(getattr(node, "tag", None), str)


def class_and_id(el: Node) -> str:
    """An element's class and id as one text, for the patterns that read them as hints (`content`, `nav`)."""
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def as_text(value: object) -> str:
    """A JSON-LD value as text: strings as they are, the first of a list, an object's name."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list) and value:
        return as_text(value[0])
    if isinstance(value, dict):
        return as_text(value.get("name") or value.get("url") or value.get("@id"))
    return ""


def raw_text(el: Node) -> str:
    """All text inside `el` as it stands, without normalising whitespace."""
    return "".join(el.itertext())


def text_of(el: Node) -> str:
    """Visible text of an element, inline boundaries kept tight and whitespace collapsed."""
    return clean_text("".join(el.itertext()))


def drop_tree(el: Node) -> None:
    """Remove `el` and its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def drop_tag(el: Node) -> None:
    """Remove the tag `el` but keep its text and children in place."""
    parent = el.getparent()
    if parent is None:
        return
    prev = el.getprevious()
    if el.text:
        if prev is not None:
            prev.tail = (prev.tail or "") + el.text
        else:
            parent.text = (parent.text or "") + el.text
    index = parent.index(el)
    children = list(el)
    if children:
        children[-1].tail = (children[-1].tail or "") + (el.tail or "")
    elif el.tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent[index:index + 1] = children


_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)


def parse_html(html: str) -> Node:
    """The document root of `html`; ExtractError for an empty or unparseable page."""
    if not html or not html.strip():
        raise ExtractError("empty page")
    # lxml refuses str input that carries an XML encoding declaration or NUL/control characters.
    html = _CONTROL_CHARS.sub("", _XML_DECL.sub("", html, count=1))
    try:
        root = etree.fromstring(html, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractError(f"unparseable HTML: {exc}") from exc
    if root is None:
        raise ExtractError("empty page")
    return root


_SELECTORS: dict[str, CSSSelector | None] = {}


def select(root: Node, selector: str | None) -> list[Node]:
    """Elements matching a configured CSS selector; an invalid selector matches nothing."""
    if not selector:
        return []
    if selector not in _SELECTORS:
        try:
            _SELECTORS[selector] = CSSSelector(selector, translator="html")
        except Exception:  # cssselect raises several parse error types; config validation reports them
            _SELECTORS[selector] = None
    compiled = _SELECTORS[selector]
    return list(compiled(root)) if compiled is not None else []


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
    jsonld: list[dict] = field(default_factory=list)
    order: dict = field(default_factory=dict)
    base_href: str = ""  # <base href>, against which the page's relative links resolve

    @classmethod
    def parse(cls, html: str) -> Page:
        root = parse_html(html)
        page = cls(root=root)
        title = root.find(".//title")
        page.html_title = text_of(title) if title is not None else ""
        for el in root.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            content = el.get("content")
            if key and content and content.strip():
                page.meta.setdefault(key, []).append(clean_text(content))
        base = root.find(".//base[@href]")
        if base is not None:
            page.base_href = (base.get("href") or "").strip()
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
        """Drop invisible nodes and comments, then number the remaining nodes in document order."""
        body = self.root.find("body")
        scope = body if body is not None else self.root
        etree.strip_elements(scope, *INVISIBLE_TAGS, with_tail=False)
        for el in scope.xpath(".//*[@hidden or contains(translate(@style, ' ', ''), 'display:none')]"):
            # Hidden nodes are chrome (menus, pop-ups), unless a script was meant to reveal the article.
            if len(raw_text(el)) < 300:
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


def _jsonld_objects(text: str) -> Iterator[dict]:
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
