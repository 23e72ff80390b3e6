"""Labelled credit lines → author, source and editor.

Chinese pages print their credits as labels: `全媒体记者 熊洲`, `稿源:慈溪新闻网-慈溪日报`,
`责任编辑:范田圆 胡兴家`, `（记者陈智 整合）`, `来源：证券时报网作者：李在山`. These functions read
the names after a label and stop at the next label, so run-together lines split correctly.
Authors are joined with "、" (the usual Chinese list separator); editors keep the page's spacing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["find_authors", "find_editors", "find_source", "split_names"]

_CJK = "\u4e00-\u9fa5"
# Labels that end a value: whatever follows one of them belongs to another field.
_ANY_LABEL = (
    r"(?:责任编辑|责编|值班编辑|编辑|校对|审核|审校|监制|签发|终审|来源|稿源|出处|作者|"
    r"(?:全媒体|融媒体|首席|特约|见习|实习|本报|本台|本网)?记者|通讯员|摄影|摄像|采写|撰文|执笔|编译|"
    r"发布时间|发布日期|发表时间|时间|日期|浏览|阅读|点击|字号|字体|分享|评论|打印|关闭|【|\[)"
)
_AUTHOR = re.compile(
    r"(?:(?P<lab>(?:全媒体|融媒体|首席|特约|见习|实习|本报|本台|本网|驻\S{1,4})?记者|通讯员|作者|撰文|采写|执笔)"
    r"\s*[：:/|丨]?\s*|(?:^|(?<=[\s（(【\[|丨:：，,;；]))(?P<lab2>文|文字|文/图|文图)\s*[：:/|丨]\s*)"
    r"(?P<names>[" + _CJK + r"A-Za-z·][" + _CJK + r"A-Za-z·\s、，,&]{1,40}?)"
    r"(?=$|\s*" + _ANY_LABEL + r"|\s*[）)】\]。;；|丨/／，,]|\s+(?:整合|整理|报道|摄|综合|发自|编译))"
)
_PHOTO_AFTER = re.compile(r"\s*(?:摄|拍摄|供图|/摄)(?:$|[\s)）])")
_PHOTO_LINE = re.compile(r"^[\[【(（]?\s*(?:图片来源|图片|图|摄影|摄像|视频|制图|设计)\s*[：:/]")
_AUTHOR_LABEL_AHEAD = re.compile(r"(?:全媒体|融媒体|首席|特约|见习|实习|本报|本台|本网)?记者|通讯员")
_COMPILER = re.compile(r"(?:^|[\s：:])(?P<names>[" + _CJK + r"A-Za-z·]{2,8})(?:编译|整理)(?=\s|$)")
# 本报讯（全媒体记者 孙晓峰 通讯员 杨帆）…: the credit in brackets at the start of the first paragraph.
_LEAD_CREDIT = re.compile(r"^.{0,30}?[（(](?P<inner>[^）)]{0,12}(?:记者|通讯员)[^）)]{2,40})[）)]")
_SOURCE = re.compile(
    r"(?<![\u4e00-\u9fa5])(?:本文来源|文章来源|信息来源|新闻来源|稿件来源|来源|稿源|出处)(?![于自])\s*[：:]?\s*"
    r"(?P<value>[^\s|丨：:，,。]{2,40}?)"
    r"(?=$|\s|[|丨，,。]|" + _ANY_LABEL + r")"
)
_EDITOR = re.compile(
    r"(?:^|(?<=[\s（(【\[|丨:：]))(?:责任编辑|责编|值班编辑|编辑)\s*[：:]?\s*"
    r"(?P<names>[" + _CJK + r"A-Za-z·][" + _CJK + r"A-Za-z0-9_·\s、，,]{0,40}?)"
    r"(?=$|\s*" + _ANY_LABEL + r"|\s*[）)】\]。;；|丨])"
)
_LABEL_FIRST = re.compile(r"[\[【(（]?\s*" + _ANY_LABEL)  # 作者： then [责任编辑:…]: the label is empty
_OTHER_FIELD = re.compile(r"(?:责任编辑|责编|值班编辑|编辑|校对|审核|审校|监制|签发|终审|来源|稿源|出处)")
_EMPTY_LABEL = re.compile(r"(?:责任编辑|责编|编辑|记者|作者|来源|稿源)\s*[：:]?\s*$")
_NOT_A_NAME = {"未知", "佚名", "不详", "网络", "互联网", "本站", "本网", "网友", "匿名", "admin", "编辑", "记者",
               "整合", "整理", "报道", "综合", "原创", "发布", "图片", "视频", "文章", "阅读", "总阅读", "作者"}
# Traditional forms of the label characters (記者, 責任編輯, 報導), mapped one to one so that a match
# in the mapped line has the same offsets in the original: names are read from the original.
_TRADITIONAL_LABELS = str.maketrans("記編輯責報導訊實習體約見攝圖來審對發時間閱讀論撰採訪", "记编辑责报导讯实习体约见摄图来审对发时间阅读论撰采访")
_TRADITIONAL = re.compile("[記編輯責報導訊實習體約見攝圖來審對發時間閱讀論採訪]")


def _simplified_labels(line: str) -> str:
    # str.translate looks every character up: a regex scan first is cheaper on the many simplified lines.
    return line.translate(_TRADITIONAL_LABELS) if _TRADITIONAL.search(line) else line
_ID_SUFFIX = re.compile(r"[_\-][A-Za-z]{0,4}\d+$")  # 杨倩_NF4425: the CMS user id, not part of the name


def split_names(text: str) -> list[str]:
    """Person names in a credit value: separated by spaces, 、，& or slashes; CMS ids stripped."""
    names: list[str] = []
    for token in re.split(r"[\s、，,&/／|丨;；]+", text):
        token = _ID_SUFFIX.sub("", token.strip("·()（）[]【】"))
        if not token or token in _NOT_A_NAME:
            continue
        if re.fullmatch(r"[" + _CJK + r"·]{2,6}|[A-Za-z][A-Za-z.\-]{1,30}", token) and token not in names:
            names.append(token)
    return names


def _with_next(lines: list[str]) -> Iterable[str]:
    # "责任编辑：" in one element and the name in the next come out as two lines.
    for i, line in enumerate(lines):
        if _EMPTY_LABEL.search(line) and i + 1 < len(lines) and len(lines[i + 1]) <= 20 \
                and not _LABEL_FIRST.match(lines[i + 1]):
            yield f"{line}{lines[i + 1]}"
        else:
            yield line


def find_authors(lines: list[str], *, lead: str = "") -> list[str]:
    """Authors from the first credit line that names any (all its labels), else from the lead's dateline."""
    for original in _with_next(lines):
        line = _simplified_labels(original)
        if len(line) > 120 or _PHOTO_LINE.match(line):
            continue
        names: list[str] = []
        for m in _AUTHOR.finditer(line):
            if _OTHER_FIELD.match(line, m.start("names")):
                continue  # 作者： 责任编辑：…: an empty author label, then another field
            if _AUTHOR_LABEL_AHEAD.match(line, m.end()):
                continue  # 南都见习记者 林子沛: what stood before the label was the outlet
            if _PHOTO_AFTER.match(line, m.end()):
                continue  # 记者 张蕊 摄: a photographer, not the author
            names.extend(n for n in split_names(original[m.start("names"):m.end("names")]) if n not in names)
        if not names:
            compiler = _COMPILER.search(line)
            if compiler:
                names = split_names(original[compiler.start("names"):compiler.end("names")])
        if names:
            return names
    credit = _LEAD_CREDIT.match(lead)
    if credit:
        inner = credit.group("inner")
        names = []
        for found in _AUTHOR.finditer(inner):
            if not _PHOTO_AFTER.match(inner, found.end()):
                names.extend(n for n in split_names(found.group("names")) if n not in names)
        return names
    return []


def find_source(lines: list[str]) -> str | None:
    """The value of the first 稿源/来源 label that names an outlet."""
    for line in _with_next(lines):
        if len(line) > 160:
            continue
        for m in _SOURCE.finditer(line):
            value = m.group("value").strip("[]【】()（）")
            value = re.sub(r"[\[【(（](整理|综合|原创|转载)[\]】)）]$", "", value)
            if value and value not in _NOT_A_NAME and not re.fullmatch(r"[\d\-:/. ]+", value):
                return value
    return None


def find_editors(lines: list[str]) -> list[str]:
    """Every editor named on the page, in order of first mention (a header banner and a footer line add up)."""
    names: list[str] = []
    for original in _with_next(lines):
        if len(original) > 80:
            continue
        for m in _EDITOR.finditer(_simplified_labels(original)):
            names.extend(n for n in split_names(original[m.start("names"):m.end("names")]) if n not in names)
    return names
