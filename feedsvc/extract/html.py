"""The one HTML toolkit under article and list extraction: parse, select, text, whitespace, tag sets.

Contract:
- `parse_html(html)` returns the document root (plain `lxml.etree` elements; comments, processing
  instructions, styles and scripts but JSON-LD dropped), built the way browsers build it (the HTML5 tree-construction rules, by lexbor:
  a stray `</body></html>` mid-page does not end the page), and raises `ExtractError` for an empty or
  unparseable page. Callers that have
  nothing to report for such a page (list extraction) catch it and return nothing.
- `compile_selector(css)` returns the compiled selector, the very object the one cache holds, and
  raises `SelectorError` (a ValueError) saying what is wrong with an invalid one. The config validates
  its selectors with it, so a selector the config accepts is one extraction can run.
- `select(root, css)` returns the matching elements in document order; no selector, or an invalid one
  (rules built in code skip the config's validation), matches nothing.
- `raw_text` is an element's text as written, `text_of` the same with whitespace collapsed by
  `clean_text`; `squash` removes whitespace for comparing labels.
"""

from __future__ import annotations

import re
from functools import lru_cache

import cssselect
from lxml import etree
from lxml.cssselect import CSSSelector
from selectolax.lexbor import LexborHTMLParser

from feedsvc.errors import ExtractError

__all__ = ["BLOCK_TAGS", "CHROME_TAGS", "INVISIBLE_TAGS", "Node", "SelectorError", "base_href", "class_and_id",
           "clean_text", "compile_selector", "drop_tag", "drop_tree", "elements", "hint_pattern", "is_element", "parse_html",
           "raw_text", "select", "squash", "text_of", "xml_safe"]

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
# Page chrome by its tag: never the article text and never the main list of a list page.
CHROME_TAGS = frozenset({"nav", "header", "footer", "aside"})

# --- parsing ------------------------------------------------------------------------------------

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# NUL and the other C0 controls but tab, LF and CR: not text on any page. In UTF-8 these bytes stand
# only for themselves (never inside a multi-byte sequence), so deleting them from the bytes is exact.
_CONTROL_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
# U+FFFE and U+FFFF in UTF-8; like the control bytes, these sequences cannot occur inside another character.
_NONCHARACTER_BYTES = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
# Numeric character references to a character XML forbids (`&#x1;`, `&#11`, `&#xfffe;`: C0 controls but
# tab/LF/CR, U+FFFE, U+FFFF): libxml2 turns them into that character, which every later lxml call that
# sets text then refuses. (It reads references to NUL and to surrogates as U+FFFD itself.)
_FORBIDDEN_REF = re.compile(
    r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF])(?![0-9a-fA-F])"
    r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45])(?![0-9]));?")
# Characters XML 1.0 cannot carry: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_SKELETON = frozenset({"html", "head", "body"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parser() -> etree.HTMLParser:
    # A new parser per page: lxml holds a parser's lock for a whole parse and refresh extracts in
    # worker threads, so a shared one would make them queue; building one costs about 3 µs.
    return etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def parse_html(html: str) -> Node:
    """The document root of `html`; ExtractError for an empty or unparseable page."""
    if not html or not html.strip():
        raise ExtractError("empty page")
    # Bytes with their encoding named: a stale <meta charset=gb2312> must not re-decode text that is
    # already decoded, and bytes.translate drops the control characters in a fraction of the time a
    # regex over the str takes (1.5 ms on a 300 KB page). Lone surrogates (only a decoder's
    # surrogateescape makes them) become U+FFFD rather than cut the page short.
    html = _XML_DECL.sub("", html, count=1)
    if "&#" in html:
        html = _FORBIDDEN_REF.sub("", html)
    try:
        data = html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: U+FFFD, as a browser shows bytes it cannot decode
        data = _SURROGATE.sub("\ufffd", html).encode("utf-8")
    data = data.translate(None, _CONTROL_BYTES)
    for sequence in _NONCHARACTER_BYTES:
        if sequence in data:
            data = data.replace(sequence, b"")
    # lexbor builds the tree as the HTML5 spec says (as browsers do); libxml2's HTML parser, which builds
    # our lxml tree from lexbor's serialization of it, stops at a stray `</html>` in the middle of a page
    # (a special-topic page pasted into a portal's body), dropping everything after it. The serialized
    # tree is well formed, so libxml2 only rebuilds it: element for element (bench/extract.py: 2-3 ms
    # more on a 100 KB page).
    try:
        tree = LexborHTMLParser(data)
        _drop_code(tree, data)
        serialized = tree.html or ""
        root = etree.fromstring(serialized.encode("utf-8"), _parser()) if serialized else None
    except (etree.ParserError, etree.XMLSyntaxError) as exc:
        raise ExtractError(f"unparseable HTML: {exc}") from exc
    # HTML5 gives every document <html><head><body>: one of nothing but whitespace, control characters
    # or comments has those three and no text.
    # (The tags first: on any real page the fourth element ends the test before the text is read.)
    if root is None or (all(el.tag in _SKELETON for el in root.iter()) and not raw_text(root).strip()):
        raise ExtractError("empty page")
    return root


def _drop_code(tree: LexborHTMLParser, data: bytes) -> None:
    """Styles and scripts (but JSON-LD, which carries the article's metadata) go in lexbor's tree,
    before it is serialized: nothing reads them, and a page's code is often a third of its bytes,
    which libxml2 would otherwise parse again (bench/extract.py: about 0.2 ms a page)."""
    tree.strip_tags(["style"])
    if b"ld+json" not in data and b"LD+JSON" not in data:
        tree.strip_tags(["script"])
        return
    for script in tree.css("script"):
        if "ld+json" not in (script.attributes.get("type") or "").lower():
            script.decompose()


def xml_safe(text: str) -> str:
    """`text` without the characters XML cannot carry (C0 controls but tab/LF/CR, lone surrogates,
    U+FFFE/U+FFFF). Parsed pages hold none; JSON-LD escapes (`\\u0001`) and callers' strings may."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def base_href(root: Node) -> str | None:
    """The href of the page's first <base href>, as written; None without one."""
    base = root.find(".//base[@href]")
    return None if base is None else base.get("href", "")


# --- CSS selection ------------------------------------------------------------------------------


class SelectorError(ValueError):
    """A CSS selector that extraction cannot run; the message says what is wrong with it."""


# A selector that compiles can still fail on its first run (`ns|a`: an undefined namespace prefix),
# so each one is tried once on this empty page before it is accepted.
_PROBE = etree.fromstring("<html><body></body></html>", etree.HTMLParser())


@lru_cache(maxsize=512)
def _compile(css: str) -> CSSSelector | str:
    """The compiled selector, or what is wrong with it. Translating and compiling costs more than
    running the XPath, and the few configured selectors repeat on every page: once per string."""
    try:
        compiled = CSSSelector(css, translator="html")
        compiled(_PROBE)
    except cssselect.SelectorError as exc:  # syntax errors, unsupported pseudo-classes and -elements
        return str(exc) or type(exc).__name__
    except etree.XPathError as exc:  # what lxml makes of the translation: bad syntax, undefined prefix
        return f"lxml cannot run it ({exc})"
    except ValueError as exc:  # an escape (`\1`) that comes out as a control character lxml refuses
        return str(exc)
    return compiled


def compile_selector(css: str) -> CSSSelector:
    """The compiled selector for `css` (the cached object); SelectorError when it is invalid."""
    compiled = _compile(css)
    if isinstance(compiled, str):
        raise SelectorError(f"{css!r} is not a valid CSS selector: {compiled}")
    return compiled


def select(root: Node, css: str | None) -> list[Node]:
    """Elements matching `css` in document order; no selector, or an invalid one, matches nothing."""
    if not css:
        return []
    compiled = _compile(css)
    # The config refuses invalid selectors up front; rules built in code may still hold one.
    return [] if isinstance(compiled, str) else elements(compiled(root))


def elements(result: object) -> list[Node]:
    """The elements of an XPath result (a CSS selector's result is a list of nothing else)."""
    return [el for el in result if isinstance(el, etree._Element)] if isinstance(result, list) else []


# --- text ---------------------------------------------------------------------------------------

# ASCII and Unicode whitespace (nbsp, ideographic space: `\s` knows them) and the zero-width characters
# editors paste into Chinese text.
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
# What lxml.html's text_content() runs, without its per-element class lookup.
_STRING_VALUE = etree.XPath("string()", smart_strings=False)


def clean_text(text: str | None) -> str:
    """Whitespace (ASCII, nbsp, ideographic, zero-width) collapsed to single spaces, trimmed."""
    return _SPACES.sub(" ", text or "").strip()


def squash(text: str | None) -> str:
    """`text` without any whitespace: the key two spellings of one label or title compare by."""
    return _SPACES.sub("", text or "")


def raw_text(el: Node) -> str:
    """All text inside `el` (not its tail), whitespace as written."""
    if len(el) == 0:  # most anchors and paragraphs hold one text node: faster than evaluating XPath
        return el.text or ""
    value = _STRING_VALUE(el)
    return value if isinstance(value, str) else ""


def text_of(el: Node) -> str:
    """Visible text of an element, inline boundaries kept tight and whitespace collapsed."""
    return clean_text(raw_text(el))


# --- elements -----------------------------------------------------------------------------------


def is_element(node: object) -> bool:
    """True for real elements (not comments or processing instructions, whose .tag is a function)."""
    return isinstance(getattr(node, "tag", None), str)


def class_and_id(el: Node) -> str:
    """An element's class and id as one lowercased text, for the patterns that read them as hints
    (`content`, `nav`)."""
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower()


def hint_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled for the lowercased class and id text `class_and_id` gives. A `\\bword`
    alternative is written `word(?<!\\wword)`, the same match, so that every alternative starts with a
    letter: the regex engine then skips ahead by first characters (with re.I or a leading \\b it tries
    every alternative at every position, which made these searches a tenth of a page's extraction)."""
    return re.compile(re.sub(r"\\b([a-z]+)", r"\1(?<!\\w\1)", pattern))


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
