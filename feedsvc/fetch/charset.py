"""Bytes of an HTML page → `str`: BOM, HTTP charset, `<meta>` charset, then detection. Pure, no I/O.

Chinese portals often declare one charset and serve another (a gb2312 template saved as UTF-8,
a Tomcat default of ISO-8859-1 on a GBK page), so a declaration is trusted only when the bytes
decode under it strictly; otherwise the next candidate is tried.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from feedsvc.errors import DecodeError

# The GB family is decoded as gb18030, a strict superset: pages labelled gb2312 routinely
# contain GBK-only characters (e.g. 镕), which a gb2312 codec would reject.
_ALIASES = {
    **dict.fromkeys(
        ("gb2312", "gb_2312", "gb_2312-80", "gbk", "x-gbk", "cp936", "ms936", "windows-936",
         "euc-cn", "euccn", "csgb2312", "chinese", "iso-ir-58", "gb18030"),
        "gb18030",
    ),
    # As browsers do (WHATWG Encoding): big5 means Big5-HKSCS, shift_jis means cp932, and so on.
    **dict.fromkeys(("big5", "big5-hkscs", "x-x-big5", "cn-big5", "csbig5"), "big5hkscs"),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j"), "cp932"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cp949"), "cp949"),
    **dict.fromkeys(("utf8", "utf-8", "unicode-1-1-utf-8"), "utf-8"),
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "windows-1252", "cp1252"), "cp1252"),
}

# Codecs Python knows that no web page can mean (WHATWG Encoding has none of them): `undefined` raises a
# bare UnicodeError on every decode, the escapes and UTF-7 re-read ASCII as markup. Such a label is
# unknown, like a misspelt one.
_NOT_WEB_CHARSETS = frozenset({"undefined", "unicode-escape", "raw-unicode-escape", "utf-7", "idna", "punycode",
                               "mbcs", "oem", "charmap"})

# Declarations that are server or editor defaults more often than facts; for a body with
# non-ASCII bytes they are tried only after detection.
_WEAK = {"cp1252"}

# Detection results this close (charset_normalizer's chaos, 0..1) to the best count as a tie.
_DETECT_MARGIN = 0.05
_CHINESE = ("gb18030", "big5hkscs")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Both <meta charset="gbk"> and <meta http-equiv="Content-Type" content="text/html; charset=gb2312">.
_META_RE = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_WINDOW = 4096

# Replacement characters (or stray control characters) tolerated in a last-resort decode.
_MAX_JUNK_RATIO = 0.01
# U+FFFD, NUL and the C1 controls: what binary bytes read as text turn into.
_JUNK_RE = re.compile("[\ufffd\x00\x7f-\x9f]")
# The other C0 controls but \t \n \f \r: junk too, but editors paste a few (\x08, \x1b) into titles and
# text, so each counts a fifth: a short article with five of them in its title is still a page.
_STRAY_CONTROL_RE = re.compile("[\x01-\x08\x0b\x0e-\x1f]")
_STRAY_CONTROL_WEIGHT = 0.2


def normalize_charset(name: str | None) -> str | None:
    """A charset label as found in a header or a page → a Python codec name, or None if unknown."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    if codec.replace("_", "-") in _NOT_WEB_CHARSETS:
        return None
    return _ALIASES.get(codec, codec)


def sniff_meta_charset(body: bytes) -> str | None:
    """The charset a page declares in a <meta> tag within its first 4 KB, normalized."""
    m = _META_RE.search(body[:_META_WINDOW])
    if not m:
        return None
    charset = normalize_charset(m.group(1).decode("ascii", "ignore"))
    # A <meta> can only be read if the bytes are ASCII-compatible, so it cannot mean UTF-16/32.
    if charset and charset.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return charset


def _strict(body: bytes, charset: str) -> str | None:
    try:
        return body.decode(charset)
    except (UnicodeError, LookupError):  # UnicodeError: what a codec that cannot decode at all raises
        return None


def _junk_ratio(text: str) -> float:
    if not text:
        return 1.0
    junk = sum(1 for _ in _JUNK_RE.finditer(text))
    stray = sum(1 for _ in _STRAY_CONTROL_RE.finditer(text))
    return (junk + _STRAY_CONTROL_WEIGHT * stray) / len(text)


def _detect(body: bytes) -> str | None:
    """The charset the bytes read best under. Short texts read about as well under several CJK codecs
    (`中文` in GBK is also valid Big5, EUC-KR and Shift_JIS): among those within a small margin of the
    best, the Chinese ones win, GB before Big5, since the pages this service reads are Chinese."""
    results = charset_normalizer.from_bytes(body)
    best = results.best()
    if best is None:
        return None
    near = {normalize_charset(m.encoding) for m in results if m.chaos <= best.chaos + _DETECT_MARGIN}
    for preferred in _CHINESE:
        if preferred in near:
            return preferred
    return normalize_charset(best.encoding)


def decode_html(body: bytes, header_charset: str | None, *, url: str = "") -> tuple[str, str]:
    """Decode an HTML body; returns (text, codec name used).

    Raises DecodeError for empty or undecodable bytes; `url` only labels the error.
    """
    if not body.strip():
        raise DecodeError(url, "empty page")

    for bom, charset in _BOMS:
        if body.startswith(bom):
            text = _strict(body[len(bom):], charset)
            if text is not None:
                return _usable(text, charset, url)
            break

    has_non_ascii = not body.isascii()
    declared = [c for c in (normalize_charset(header_charset), sniff_meta_charset(body)) if c]
    # Weak labels only matter for non-ASCII bytes; on ASCII every compatible charset agrees.
    strong = [c for c in declared if c not in _WEAK or not has_non_ascii]
    weak = [c for c in declared if c not in strong]

    utf8 = _strict(body, "utf-8")
    for charset in strong:
        text = _strict(body, charset)
        if text is None or _junk_ratio(text) > _MAX_JUNK_RATIO:
            continue
        # Real GBK text is practically never valid UTF-8, while UTF-8 Chinese often passes a
        # gb18030 decode as mojibake: bytes that are valid UTF-8 are UTF-8.
        if has_non_ascii and utf8 is not None and not charset.startswith("utf-"):
            return _usable(utf8, "utf-8", url)
        return _usable(text, charset, url)
    if utf8 is not None:
        return _usable(utf8, "utf-8", url)

    detected = _detect(body)
    fallbacks = [c for c in (detected, *weak) if c]
    for charset in fallbacks:
        text = _strict(body, charset)
        if text is not None and _junk_ratio(text) <= _MAX_JUNK_RATIO:
            return _usable(text, charset, url)

    # Last resort: a page with a few broken bytes is still worth reading, under the charset
    # that breaks fewest of them.
    best: tuple[float, str, str] | None = None
    for charset in dict.fromkeys([*strong, "utf-8", "gb18030", *fallbacks]):
        text = body.decode(charset, errors="replace")
        ratio = _junk_ratio(text)
        if best is None or ratio < best[0]:
            best = (ratio, text, charset)
    if best is not None and best[0] <= _MAX_JUNK_RATIO:
        return _usable(best[1], best[2], url)
    raise DecodeError(url, "undecodable bytes (no charset reads this page as text)")


def _usable(text: str, charset: str, url: str) -> tuple[str, str]:
    if not text.strip():
        raise DecodeError(url, "empty page")
    if _junk_ratio(text) > _MAX_JUNK_RATIO:
        raise DecodeError(url, f"undecodable bytes (binary content, read as {charset})")
    return text, charset
