"""Rebuild an article's body element as clean paragraphs without page chrome.

The body element (density.py chooses it) is flattened into paragraphs and the lines that are chrome,
not article (editor and copyright lines, share/print widgets, related lists, bylines, what trails the
last paragraph), are dropped; the dropped credit lines are handed back for the byline reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from feedsvc.extract.density import CHROME_HINT, DROP_TAGS, NEGATIVE_HINT, POSITIVE_HINT, is_player
from feedsvc.extract.html import (
    BLOCK_TAGS,
    Node,
    class_and_id,
    clean_text,
    drop_tree,
    is_element,
    raw_text,
    squash,
    text_of,
)

__all__ = ["Body", "announced_table", "build_body", "is_dateline"]

_SENTENCE = re.compile(r"[，。！？；,.!?;]")
_ATOMIC = frozenset({"ul", "ol", "dl", "pre", "blockquote", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "table",
                     "video", "audio"})
_MEDIA = ("img", "video", "audio")
_INDENT = " \t\r\n\u00a0\u3000\u2002\u2003"


_EDITOR_LINE = re.compile(
    r"^[\[【(（]?\s*(?:(?:责任编辑|责编|值班编辑)\s*[：:]?|"
    r"(?:编辑|校对|审核|审校|监制|编审|终审|初审|复审|主编|美编|制作|策划|统筹)\s*[：:/|丨])"
)
_CHROME_LINE = re.compile(
    r"\[?\s*打印(该文|本页|此文|文章)?\s*\]|关闭窗口|【\s*(打印|关闭|纠错)\s*】|返回顶部|分享到|微信扫一扫|扫码(关注|下载|阅读)|扫描二维码|"
    r"版权所有|版权声明|Copyright|©|未经.{0,12}(授权|许可).{0,20}(转载|使用)|转载请注明|免责声明|"
    r"[报爆]料(热线|电话|邮箱)|新闻热线|^(原标题|本文来源|稿源|来源|出处|图片来源|文章来源)\s*[：:]|^\(?原标题|"
    r"^(信息|图片|文章|内容|资料|素材)?来源(于|自)|^(相关|更多).{0,10}(请关注|请点击|请访问|尽在)",
    re.I,
)
# Disclaimers run long, so they are recognised by their opening label at any length.
_DISCLAIMER = re.compile(r"^[【\[]?\s*(免责声明|郑重声明|版权声明|特别声明|声明|风险提示)\s*[】\]]?\s*[：:]|^本站郑重声明")
_RELATED_HEAD = re.compile(
    r"^[【\[]?\s*(相关(新闻|阅读|报道|链接|文章|推荐|专题)|延伸阅读|推荐阅读|热点推荐|热门推荐|精彩推荐|热门文章|"
    r"猜你喜欢|往期回顾|往期精彩|更多精彩|\d+小时.{0,4}新闻|最新新闻|点击排行|热门排行|为你推荐|大家都在看|今日推荐)"
)
_NAMES = r"[\u4e00-\u9fa5A-Za-z·]{2,12}(?:\s*[\s、，,&/|丨]\s*[\u4e00-\u9fa5A-Za-z·]{2,12})*"
_BYLINE_ONLY = re.compile(
    r"^[\[【(（]?\s*(?:(?:[\u4e00-\u9fa5]{0,6}记者|通讯员|作者|采写|撰文|执笔|编译)\s*[：:/|丨]?\s*|"
    r"(?:文|图|摄影|摄|文/图|图/文|文图)\s*[：:/|丨]\s*)" + _NAMES + r"(?:\s*" + r"(?:[\u4e00-\u9fa5]{0,6}记者|通讯员|摄影|编辑|校对)"
    r"\s*[：:/|丨]?\s*" + _NAMES + r")*\s*[\]】)）]?$"
)


# Promotion, pagers and counters printed after an article's last paragraph.
_TRAILER = re.compile(
    r"本文来自.{0,30}(更多|下载|关注)|更多.{0,40}(请下载|请关注|尽在|敬请关注)|(下载|打开).{0,12}(APP|客户端)|"
    r"返回.{0,10}(首页|查看更多)|回复\s*[【\[「“\"].{1,12}[】\]」”\"]|点击菜单|点[击个]?\s*[【\[「“\"]?\s*在看|"
    r"关注(我们的)?(微信)?公众号|长按(识别|扫描)?二维码|分享让更多人看到|第\s*\d+\s*页\s*/?\s*共\s*\d+\s*页|"
    r"上一页|下一页|访问统计|[阅读浏览评论]\s*[（(:：]\s*\d+",
    re.I,
)
# ——《北京之春》1996年3月号: where a reprint first appeared, credited after its last paragraph.
_SOURCE_TAIL = re.compile(r"^[—–\-－]{1,3}\s*(?:摘自|选自|原载|转自|载于?)?\s*《[^》]{1,20}》[^。！？]{0,24}$")
# A page's buttons as lines of their own (播报 / 编辑 beside an encyclopedia's headings, 展开全文).
_WIDGET_WORDS = frozenset({"编辑", "播报", "收藏", "分享", "举报", "打印", "复制", "展开", "收起", "展开全文", "阅读全文",
                           "点赞", "纠错", "全屏", "返回顶部"})
_DATELINE_LABEL = re.compile(r"来源|稿源|作者|记者|编辑|发布|发表|时间|日期|浏览|阅读|点击|字号|评论")
_DATE_SHAPE = re.compile(r"(19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|\d{1,2}[-/月]\d{1,2}日?\s*\d{1,2}:\d{2}")
# `2004年12月11－12日`, `5月11日至5月12日`: a span of days (an event's, a term's) is no publication time.
_DATE_RANGE_END = re.compile(
    r"\s*日?\s*(?:[-－—–~～]|至|到)\s*(?:(?:19|20)\d{2}\s*[-/.年]\s*)?(?:\d{1,2}\s*[-/.月]\s*)?\d{1,2}(?![:：\d])")


def is_dateline(text: str) -> bool:
    """`2021-12-08 09:58 来源：慈溪日报`: a date with labels, or a date and little else."""
    m = _DATE_SHAPE.search(text)
    if not m or _DATE_RANGE_END.match(text, m.end()):
        return False
    rest = squash(text[: m.start()] + text[m.end():])
    return bool(_DATELINE_LABEL.search(text)) or len(rest) <= 12


@dataclass
class Body:
    """A rebuilt body: its blocks (detached elements) and the credit lines that were dropped."""

    blocks: list[Node] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(t for t in (text_of(b) for b in self.blocks) if t)


def build_body(el: Node, *, title: str = "", configured: bool = False) -> Body:
    """Flatten the body element into paragraphs and drop the chrome in it (mutates the element).

    A `configured` body (the site's own selector) keeps a leading box: the selector chose it.
    """
    _drop_chrome_nodes(el)
    if not configured:
        _drop_leading_box(el)
    blocks: list[Node] = []
    _flatten(el, blocks)
    return _filter(blocks, title)


def _drop_chrome_nodes(el: Node) -> None:
    for node in list(el.iterdescendants(etree.Element)):
        if node.getparent() is None:
            continue
        if node.tag in DROP_TAGS:
            drop_tree(node)
            continue
        if node.tag not in BLOCK_TAGS:
            continue  # an inline link classed "keyword" is still part of its sentence
        hint = class_and_id(node)
        if not hint.strip() or POSITIVE_HINT.search(hint):
            continue
        if is_player(node, hint):
            _keep_media(node)
            continue
        if CHROME_HINT.search(hint):
            drop_tree(node)  # comments, related lists, footers: whatever their length
            continue
        if NEGATIVE_HINT.search(hint):
            text = text_of(node)
            if len(text) < 200 or _link_chars(node) > 0.5 * len(text):
                drop_tree(node)


def _keep_media(player: Node) -> None:
    """A player's box without its controls and messages: only the video or audio elements in it stay."""
    media = [el for el in player.iter("video", "audio") if el.get("src") or el.find("source") is not None]
    if not media:
        drop_tree(player)
        return
    for child in list(player):
        player.remove(child)
    player.text = None
    for el in media:
        el.tail = None
        player.append(el)


def _drop_leading_box(el: Node) -> None:
    """A promo or summary box (its own classed container) printed above the article's paragraphs."""
    if clean_text(el.text):
        return
    children = [c for c in el if is_element(c)]
    for i, child in enumerate(children):
        text = text_of(child)
        if child.tag in ("p", "br", "img", "h1", "h2", "h3", "h4", "h5", "h6") or clean_text(child.tail):
            return
        if child.tag not in ("div", "section", "blockquote") or not text:
            continue
        rest = sum(len(text_of(c)) for c in children[i + 1:])
        if child.get("class") and not POSITIVE_HINT.search(class_and_id(child)) and len(text) < 200 and rest > 2 * len(text):
            drop_tree(child)
        return


# The text's last line announces what follows it: 附：招生专业及考试科目, 附表1：…, …如下：, 见下表。
_ANNOUNCES = re.compile(r"(?:^|[\s。；;])附(?:表|件)?\s*\d*\s*[：:][^。！？]{0,30}$|如下\s*[：:]\s*$|见下表[。：:]?\s*$")


def announced_table(el: Node) -> Node | None:
    """The data table printed right after the body element (as its next sibling, or its ancestors' up
    to three levels) when the text's last line announces it: notices end `附：…` above a table of their
    own that the page lays out outside the text's cell."""
    lines = [ln for ln in raw_text(el)[-200:].splitlines() if ln.strip()]
    if not lines or not _ANNOUNCES.search(lines[-1].strip()):
        return None
    node: Node | None = el
    for _ in range(4):
        if node is None:
            return None
        sibling = node.getnext()
        while sibling is not None and not is_element(sibling):
            sibling = sibling.getnext()
        if sibling is not None:
            return sibling if sibling.tag == "table" and _data_table(sibling) else None
        node = node.getparent()
    return None


def _data_table(table: Node) -> bool:
    text = text_of(table)
    cells = sum(1 for _ in table.iter("td", "th"))
    return cells >= 4 and len(text) >= 20 and _link_chars(table) < 0.1 * len(text)


def _new_p() -> Node:
    return etree.Element("p")


def _append_text(run: Node, text: str | None) -> None:
    if not text:
        return
    if len(run):
        last = run[-1]
        last.tail = (last.tail or "") + text
    else:
        run.text = (run.text or "") + text


def _has_block(el: Node) -> bool:
    return any(d.tag in BLOCK_TAGS and d.tag not in ("br", "img") for d in el.iterdescendants(etree.Element))


def _is_layout_table(el: Node) -> bool:
    return any(True for _ in el.iterdescendants("table", "p", "div"))


def _flatten(el: Node, out: list[Node]) -> None:
    run = _new_p()

    def flush() -> None:
        nonlocal run
        if len(run) or clean_text(run.text):
            # Indents typed as &nbsp;&nbsp; or 　　 are the page's styling; readers indent themselves.
            run.text = (run.text or "").lstrip(_INDENT)
            last = run[-1] if len(run) else None
            if last is not None:
                last.tail = (last.tail or "").rstrip(_INDENT) or None
            else:
                run.text = run.text.rstrip(_INDENT)
            out.append(run)
        run = _new_p()

    _append_text(run, el.text)
    for child in list(el):
        tail = child.tail
        child.tail = None
        if not is_element(child):
            pass
        elif child.tag == "br":
            flush()
        elif child.tag == "img":
            run.append(child)  # a standalone image becomes a paragraph of its own at the next break
        elif child.tag == "h1":
            flush()
            child.tag = "h2"
            out.append(child)
        elif child.tag in _ATOMIC and not (child.tag == "table" and _is_layout_table(child)):
            flush()
            out.append(child)
        elif child.tag in BLOCK_TAGS or _has_block(child):
            flush()
            _flatten(child, out)
        else:
            run.append(child)
        _append_text(run, tail)
    flush()


def _link_chars(el: Node) -> int:
    """Visible characters of the links inside `el`."""
    return sum(len(text_of(a)) for a in el.iter("a"))


def _block_stats(block: Node) -> tuple[str, int, bool]:
    text = text_of(block)
    link_chars = _link_chars(block)
    media = block.tag in _MEDIA or any(True for _ in block.iter(*_MEDIA))
    return text, link_chars, media


def _filter(blocks: list[Node], title: str) -> Body:
    body = Body()
    title_key = squash(title)
    seen_prose = related = False
    for block in blocks:
        text, link_chars, media = _block_stats(block)
        key = squash(text)
        if not key and not media:
            continue
        prose = len(key) >= 40 and link_chars < 0.2 * len(text)
        if related and not prose:
            continue  # still inside the list a "related news" heading introduced
        related = False
        if key and _RELATED_HEAD.match(text) and len(key) <= 20:
            related = True
            continue
        if key in _WIDGET_WORDS:
            continue
        if key and len(key) <= 400 and _DISCLAIMER.match(text):
            continue
        if key and len(key) <= 80 and (_EDITOR_LINE.match(text) or _CHROME_LINE.search(text)):
            body.credits.append(text)
            continue
        if key and len(key) <= 45 and _BYLINE_ONLY.match(text):
            body.credits.append(text)
            continue
        if key and link_chars > 0.5 * len(text) and len(key) < 300:
            continue
        if block.tag in ("ul", "ol", "dl", "table") and link_chars > 0.3 * max(len(text), 1):
            continue
        if not seen_prose and key and title_key and key == title_key:
            continue
        if not seen_prose and len(key) <= 80 and is_dateline(text):
            body.credits.append(text)  # the date/source line printed inside the body container
            continue
        if (len(key) >= 20 and _SENTENCE.search(text)) or media:
            seen_prose = True
        body.blocks.append(block)
    _trim_tail(body)
    return body


def _decoration(block: Node) -> bool:
    """Images that are spacers (a few pixels) or banners (an image that is a link), and nothing else."""
    images = list(block.iter("img"))
    if not images or any(True for _ in block.iter("video", "audio", "iframe")):
        return False
    for img in images:
        size = [int(m.group()) for a in ("width", "height") if (m := re.match(r"\d+", img.get(a) or ""))]
        linked = any(a.tag == "a" for a in img.iterancestors())
        if not linked and not (size and min(size) < 30):
            return False
    return True


def _trim_tail(body: Body) -> None:
    """Drop what follows the article's last paragraph inside its container: app and account promotion,
    pagers, counters, a posted-at line, and section headings left with nothing under them."""
    while body.blocks:
        block = body.blocks[-1]
        # 返回首页 as a link at the end of the last paragraph: the link goes, the paragraph stays.
        while len(block) and not clean_text(block[-1].tail) and _TRAILER.search(last := text_of(block[-1])) \
                and len(last) <= 40 and len(last) < len(text_of(block)):
            block.remove(block[-1])
        text = text_of(block)
        key = squash(text)
        heading = block.tag in ("h2", "h3", "h4", "h5", "h6") and len(key) <= 30
        if not key and _decoration(block):
            body.blocks.pop()  # a spacer or a banner ad after the text
            continue
        if not heading and not (key and len(key) <= 120 and (
                _TRAILER.search(text) or _SOURCE_TAIL.match(key) or (is_dateline(text) and _DATELINE_LABEL.search(text)))):
            return
        body.blocks.pop()
        if not heading:
            body.credits.append(text)
