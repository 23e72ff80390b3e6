"""decode_html: bytes of real-world Chinese pages → the text a reader sees, or a clear DecodeError."""

from __future__ import annotations

import codecs
import random

import pytest

from feedsvc.errors import DecodeError
from feedsvc.fetch.charset import decode_html, normalize_charset, sniff_meta_charset

TEXT = "守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战。慈溪新闻网记者熊洲报道，朱镕基。"
# 镕 is in GBK but not in GB2312: a page labelled gb2312 that contains it needs gb18030.
assert "镕" in TEXT


def page(body: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>慈溪新闻网</title></head><body><p>{body}</p></body></html>"


def test_header_gbk() -> None:
    text, charset = decode_html(page(TEXT).encode("gbk"), "gbk")
    assert TEXT in text
    assert charset == "gb18030"


def test_header_gb2312_with_gbk_only_character() -> None:
    text, charset = decode_html(page(TEXT).encode("gb18030"), "GB2312")
    assert TEXT in text
    assert charset == "gb18030"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />',
        "<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=GBK'>",
        '<meta charset="gb_2312-80">',
    ],
)
def test_meta_charset_without_header(meta: str) -> None:
    text, charset = decode_html(page(TEXT, meta).encode("gbk"), None)
    assert TEXT in text
    assert charset == "gb18030"


def test_declares_gb2312_but_is_utf8() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    body = page(TEXT, meta).encode("utf-8")
    for header in ("gb2312", None):
        text, charset = decode_html(body, header)
        assert TEXT in text
        assert charset == "utf-8"


def test_even_length_utf8_run_that_gb18030_would_misread() -> None:
    # "中文" in UTF-8 happens to be a valid gb18030 byte sequence (as mojibake); UTF-8 must win.
    body = "<html><body><p>新闻</p><p>防控</p></body></html>".encode()
    assert "鏂伴椈" in body.decode("gb18030")  # what a browser obeying the label would show
    text, charset = decode_html(body, "gbk")
    assert "<p>新闻</p><p>防控</p>" in text
    assert charset == "utf-8"


def test_header_utf8_but_body_gbk_with_meta() -> None:
    body = page(TEXT, '<meta charset="gbk">').encode("gbk")
    text, charset = decode_html(body, "utf-8")
    assert TEXT in text
    assert charset == "gb18030"


def test_latin1_server_default_on_gbk_page_with_meta() -> None:
    # Tomcat-style default header; the page's own meta tells the truth.
    body = page(TEXT, '<meta charset="gbk">').encode("gbk")
    text, _ = decode_html(body, "ISO-8859-1")
    assert TEXT in text


def test_detection_without_any_declaration() -> None:
    body = page(TEXT * 5).encode("gbk")
    text, charset = decode_html(body, None)
    assert TEXT in text
    assert charset == "gb18030"


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_bom_beats_header_and_meta(bom: bytes, codec: str) -> None:
    body = bom + page(TEXT, '<meta charset="gbk">').encode(codec)
    text, charset = decode_html(body, "gbk")
    assert text.startswith("<html>")
    assert TEXT in text
    assert charset == codec


def test_ascii_page_keeps_declared_charset() -> None:
    text, charset = decode_html(b"<html><body>hello</body></html>", "gbk")
    assert text == "<html><body>hello</body></html>"
    assert charset == "gb18030"


def test_unknown_declared_charset_is_ignored() -> None:
    text, charset = decode_html(page(TEXT).encode("utf-8"), "x-made-up")
    assert TEXT in text
    assert charset == "utf-8"


@pytest.mark.parametrize("body", [b"", b"   \r\n\t  ", codecs.BOM_UTF8 + b"  \n"])
def test_empty_page(body: bytes) -> None:
    with pytest.raises(DecodeError, match="empty page"):
        decode_html(body, "utf-8", url="http://www.cxnews.cn/x.shtml")


def test_random_bytes_are_undecodable() -> None:
    rng = random.Random(7)
    body = bytes(rng.randrange(256) for _ in range(4000))
    with pytest.raises(DecodeError, match="undecodable") as err:
        decode_html(body, None, url="http://www.cxnews.cn/x.shtml")
    assert "http://www.cxnews.cn/x.shtml" in str(err.value)


def test_binary_that_happens_to_be_valid_utf8_is_undecodable() -> None:
    with pytest.raises(DecodeError, match="undecodable"):
        decode_html(bytes(range(0, 32)) * 50, "utf-8")


def test_a_few_broken_bytes_are_replaced() -> None:
    # A long GBK page with one byte cut out of a character: still readable as a whole.
    good = page(TEXT * 40).encode("gbk")
    cut = good.index("坚".encode("gbk"))
    body = good[:cut] + good[cut + 1:]
    text, charset = decode_html(body, "gbk")
    assert charset == "gb18030"
    assert TEXT in text  # the other 39 copies are intact
    assert text.count("\ufffd") <= 2


def test_normalize_charset_labels() -> None:
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset('"gbk"') == "gb18030"
    assert normalize_charset("UTF8") == "utf-8"
    assert normalize_charset("big5") == "big5hkscs"
    assert normalize_charset("nonsense-charset") is None
    assert normalize_charset(None) is None


def test_meta_beyond_first_4kb_is_not_read() -> None:
    body = b"<html><head>" + b" " * 5000 + b'<meta charset="gbk"></head></html>'
    assert sniff_meta_charset(body) is None
    assert sniff_meta_charset(b'<html><meta charset="utf-16"></html>') == "utf-8"


@pytest.mark.parametrize("text", ["中文", "新闻", "防控工作", TEXT])
def test_gbk_without_any_declaration_is_detected_from_the_bytes(text: str) -> None:
    # Short texts read about as well as Big5, EUC-KR or Shift_JIS: Chinese wins the tie, GB first.
    body = f"<html><body><p>{text}</p></body></html>".encode("gbk")
    decoded, charset = decode_html(body, None)
    assert text in decoded
    assert charset == "gb18030"


def test_gbk_in_a_non_html_wrapper_without_a_meta_charset() -> None:
    # A saved page wrapped as <text encoding="gb2312">: no <meta>, nothing a browser would read as a label.
    page_ = (f'<text id="http://www.example.cn/a.html" title="通知" encoding="gb2312">'
             f'<html><head><title>关于做好冬季供暖工作的通知</title></head><body><p>{TEXT}</p></body></html></text>')
    decoded, charset = decode_html(page_.encode("gbk"), None)
    assert TEXT in decoded
    assert charset == "gb18030"

