"""Rules that make article extraction hold on pages nobody tuned for (issue 9), each on a small synthetic page
that shows its pattern: page layouts, what trails an article, dates and bylines."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import lxml.html

from feedsvc.extract.article import extract_article
from feedsvc.model import Entry, Rules

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 30, 10, 0, tzinfo=SH)
URL = "http://news.example.cn/a/123.html"

PARAS = [
    "今年以来，全市各地围绕中心工作，认真落实各项部署，取得了明显成效，群众满意度持续提高。",
    "在推进过程中，有关部门坚持问题导向，细化工作措施，压实工作责任，确保各项任务按期完成。",
    "下一步，全市将继续巩固成果，完善长效机制，推动各项工作再上新台阶，为发展作出新的贡献。",
]


def article(body: str, *, head: str = "", before: str = "", after: str = "", title: str = "全市工作取得明显成效") -> str:
    return (f"<html><head><title>{title}_示例网</title>{head}</head><body>"
            f"<div class='nav'><a href='/'>首页</a> <a href='/n'>新闻</a></div>{before}"
            f"<h1>{title}</h1>{body}{after}"
            f"<div class='footer'>关于我们 | 联系我们 Copyright 2005-2024</div></body></html>")


def paras(extra: str = "") -> str:
    return "<div class='content'>" + "".join(f"<p>{p}</p>" for p in PARAS) + extra + "</div>"


def extract(html: str, url: str = URL) -> Entry:
    return extract_article(html, url, Rules(), timezone="Asia/Shanghai", now=NOW)


def text_of(entry: Entry) -> str:
    root = lxml.html.fragment_fromstring(entry.content_html or "<p></p>", create_parent="div")
    return re.sub(r"\s+", "", root.text_content())


def lines_of(entry: Entry) -> list[str]:
    root = lxml.html.fragment_fromstring(entry.content_html or "<p></p>", create_parent="div")
    return [p.text_content().strip() for p in root.iter("p", "h2", "h3", "h4", "h5", "h6") if p.text_content().strip()]


# --- the article's block --------------------------------------------------------------------------


def test_a_form_wrapping_the_whole_page_is_layout_not_a_widget() -> None:
    # ASP.NET WebForms put every page inside one <form>: its article is still the body.
    html = article(paras()).replace("<body>", "<body><form id='Form1' method='post'>").replace(
        "</body>", "</form></body>")
    entry = extract(html)
    assert lines_of(entry) == PARAS


def test_a_small_form_stays_a_widget() -> None:
    search = "<form action='/search'><p>站内搜索：请输入关键词进行检索，支持标题和全文检索，欢迎使用本站搜索。</p></form>"
    entry = extract(article(paras(search)))
    assert lines_of(entry) == PARAS


def test_a_search_box_laid_out_in_a_table_is_a_widget_not_the_texts_last_line() -> None:
    # HTML5 parsing leaves a <form> written between table tags empty: the box's cell, label and all,
    # stands outside it in the article's container.
    search = ("<table><form action='/search'><tr><td>站内搜索：<input name='q'><input type='submit' value='搜索'>"
              "</td></tr></form></table>")
    entry = extract(article(paras(search)))
    assert lines_of(entry) == PARAS
    assert "站内搜索" not in text_of(entry) and "<table" not in entry.content_html
    # A control inside a paragraph with text of its own takes nothing with it.
    quiz = f"<p>{PARAS[2]}<input type='checkbox'></p>"
    assert lines_of(extract(article(paras().replace(f"<p>{PARAS[2]}</p>", quiz)))) == PARAS


def test_a_media_players_controls_are_not_text_and_its_video_stays() -> None:
    player = ("<div class='video-player'><video src='https://v.example.cn/a.mp4'></video>"
              "<div class='tip'>正在为您切换到高清，请稍候...</div><div class='rate'>倍速 2.0X 1.5X 1.0X</div>"
              "<span>很抱歉，当前视频播放失败，错误代码：4100</span></div>")
    entry = extract(article("<div class='content'>" + player + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"))
    assert lines_of(entry) == PARAS
    assert "https://v.example.cn/a.mp4" in entry.content_html
    # A player whose video a script inserts later leaves nothing behind.
    empty = player.replace(" src='https://v.example.cn/a.mp4'", "")
    entry = extract(article("<div class='content'>" + empty + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"))
    assert lines_of(entry) == PARAS and "<video" not in entry.content_html
    # A box classed as a player with no media in it is no media player: a sports report's table stays.
    stats = ("<div class='player-stats'><p>本场比赛中，张三得到全场最高的32分，另有8个篮板和5次助攻，"
             "命中率超过六成。</p></div>")
    entry = extract(article("<div class='content'>" + "".join(f"<p>{p}</p>" for p in PARAS) + stats + "</div>"))
    assert "张三得到全场最高的32分" in text_of(entry)


def test_the_text_a_page_marks_as_its_article_body_is_kept_beside_denser_notes() -> None:
    verse = "春风吹过小河边，<br>杨柳依依绿满天。<br>燕子归来寻旧垒，<br>桃花含笑映山前。"
    notes = "<div class='notes'><h3>赏析</h3><div>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div></div>"
    poem = (f"<div itemscope itemtype='http://schema.org/Article'><h1>春日</h1>"
            f"<div class='info'><p>朝代：<a href='/dynasty/7'>唐代</a></p><div itemprop='articleBody'>{verse}</div></div>{notes}</div>")
    html = article(poem, title="春日").replace("<h1>春日</h1>", "", 1)
    text = text_of(extract(html))
    assert "春风吹过小河边，杨柳依依绿满天。" in text and PARAS[2] in text
    # Without the article marked around them the densest block stays the body.
    plain = html.replace(" itemscope itemtype='http://schema.org/Article'", "")
    text = text_of(extract(plain))
    assert "春风吹过小河边" not in text and PARAS[2] in text


# --- what trails the article --------------------------------------------------------------------------


def test_promotion_pagers_and_counters_after_the_last_paragraph_are_dropped() -> None:
    trailers = ["（本文来自示例新闻，更多原创资讯请下载“示例新闻”APP）", "回复【公租房】查看最新消息",
                "看都看完了，点【在看】", "第1页/共1页", "关注公众号：示例财经", "分享让更多人看到"]
    entry = extract(article(paras("".join(f"<p>{t}</p>" for t in trailers))))
    assert lines_of(entry) == PARAS


def test_a_trailer_inside_the_text_is_kept() -> None:
    # Only what follows the last paragraph is trimmed: the same words mid-article are text.
    middle = "<p>第1页/共1页</p>"
    html = article("<div class='content'>" + f"<p>{PARAS[0]}</p>{middle}<p>{PARAS[1]}</p></div>")
    assert "第1页/共1页" in text_of(extract(html))


def test_a_back_to_home_link_ending_the_last_paragraph_goes_and_the_paragraph_stays() -> None:
    last = "<p>（本文来源：示例日报 作者：张三）<a href='/'>返回示例网首页，查看更多</a></p>"
    entry = extract(article(paras(last)))
    assert lines_of(entry) == [*PARAS, "（本文来源：示例日报 作者：张三）"]


def test_a_posted_at_line_after_a_blog_post_is_its_date_not_its_text() -> None:
    posted = "<p>发表于 2005年7月31日 12:30 - (阅读:3727; 评论:63)</p>"
    entry = extract(article(paras(posted), title="很高兴入住博客"))
    assert lines_of(entry) == PARAS
    assert entry.published == datetime(2005, 7, 31, 12, 30, tzinfo=SH)


def test_headings_left_with_nothing_under_them_are_dropped() -> None:
    wiki = "<h2>注释[编辑]</h2><h2>参考文献[编辑]</h2>"
    entry = extract(article(paras(wiki)))
    assert lines_of(entry) == PARAS


# --- bylines --------------------------------------------------------------------------------------


def test_traditional_labels_and_a_full_width_slash() -> None:
    entry = extract(article(paras(), before="", title="市府公布新措施").replace(
        "</h1>", "</h1><div class='info'>2019-03-18 23:59 聯合報 記者林悅／台北報導</div>"))
    assert entry.author == "林悅"


def test_a_byline_opening_the_text_without_brackets() -> None:
    opening = "<div class='content'><p>示例晚报记者 马俊峰/文 受访者供图</p>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
    assert extract(article(opening)).author == "马俊峰"


def test_a_lone_name_under_an_essays_title_is_its_author() -> None:
    essay = "<div class='content'><p>胡明</p>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
    assert extract(article(essay)).author == "胡明"


def test_the_reporters_name_in_brackets_closing_the_text() -> None:
    for closing, author in (("（总台记者 张倩）", "张倩"), ("(李楠)", "李楠"), ("（新华社）", None), ("（完）", None),
                            ("（王强 摄）", None)):
        html = article(paras().replace(PARAS[-1], PARAS[-1] + closing))
        assert extract(html).author == author, closing


def test_an_element_classed_as_the_author() -> None:
    byline = "<div class='author'><a href='/reporter/899'>謝明俊</a></div>"
    assert extract(article(paras(), before=byline)).author == "謝明俊"
    outlet = "<span class='author-name'>示例日报</span>"
    assert extract(article(paras(), before=outlet)).author is None


def test_an_editor_is_never_the_author() -> None:
    # Many CMSs fill <meta name="author"> with the editor who published the page.
    head = "<meta name='author' content='杨煜'><meta name='editor' content='杨煜'>"
    assert extract(article(paras(), head=head)).author is None
    credit = "<p>[ 责编：杨煜 ]</p>"
    assert extract(article(paras(credit), head="<meta name='author' content='杨煜'>")).author is None


def test_an_empty_author_label_before_the_editor_label() -> None:
    line = "<div class='info'>2017-03-10 09:58 来源：示例网 作者： 责任编辑：肖春芳</div>"
    entry = extract(article(paras(), title="宇航员的一天").replace("</h1>", "</h1>" + line))
    assert entry.author is None
    assert entry.editor == "肖春芳"


# --- dates ----------------------------------------------------------------------------------------


def test_a_date_line_inside_the_body_container_above_the_text() -> None:
    # A blog reposting a newspaper story: no headline element, the date line opens the post.
    menu = "".join(f"<div><a href='/{i}'>栏目{i}</a></div>" for i in range(10))
    body = "<div class='content'><p>2003-7-24 示例晚报</p>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
    entry = extract(f"<html><head><title>某某的博客</title></head><body>{menu}{body}</body></html>")
    assert entry.published == datetime(2003, 7, 24, tzinfo=SH)
    assert lines_of(entry) == PARAS


def test_a_span_of_days_opening_the_text_is_text_not_its_date_line() -> None:
    # A conference programme: `(2004年12月11－12日，示例大学)` under its name is the event's, not the page's date.
    for span in ("（2004年12月11－12日，示例大学）", "2024年5月11日至5月12日 示例大学"):
        body = f"<div class='content'><p>第四届示例学年会</p><p>{span}</p>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
        entry = extract(article(body, title="第四届示例学年会会议议程"))
        assert span in lines_of(entry), span
    dated = "<div class='content'><p>2004-12-10 示例日报</p>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
    assert lines_of(extract(article(dated))) == PARAS


def test_the_us_date_order_asp_pages_print() -> None:
    info = "<div class='info'>作者： 来源： 发布日期： 9/17/2004 5:54:13 PM</div>"
    entry = extract(article(paras(), before="").replace("</h1>", "</h1>" + info))
    assert entry.published == datetime(2004, 9, 17, 17, 54, 13, tzinfo=SH)


def test_a_headline_printed_in_bold_on_a_page_without_headings_heads_the_date_line() -> None:
    # No <h1>: the title comes from <title>, and the line under the bold copy of it holds the date.
    html = ("<html><head><title>日本无性婚姻问题严重--示例新闻</title></head><body><table>"
            "<tr><td><a href='/'>国内</a> <a href='/w'>国际</a></td></tr>"
            "<tr><td><b>日本无性婚姻问题严重</b></td></tr><tr><td>2005-04-05 06:40更新 来源：转载文章</td></tr>"
            + "".join(f"<tr><td><a href='/t{i}'>工具{i}</a></td></tr>" for i in range(9)) + "<tr><td>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</td></tr></table></body></html>")
    entry = extract(html)
    assert entry.title == "日本无性婚姻问题严重"
    assert entry.published == datetime(2005, 4, 5, 6, 40, tzinfo=SH)


def test_a_date_contradicting_the_url_loses_to_the_urls_day() -> None:
    info = "<div class='info'>2019-05-01 10:00 来源：示例网</div>"
    html = article(paras()).replace("</h1>", "</h1>" + info)
    assert extract(html, url="http://news.example.cn/2021/12/08/123.html").published == datetime(2021, 12, 8, tzinfo=SH)
    assert extract(html, url="http://news.example.cn/2019/05/01/123.html").published == \
        datetime(2019, 5, 1, 10, 0, tzinfo=SH)


def test_no_visible_date_means_no_date_whatever_the_clock() -> None:
    entry = extract(article(paras()), url="http://news.example.cn/a/123.html")
    assert entry.published is None


def test_a_short_brief_beats_the_longer_stories_streamed_beside_it() -> None:
    brief = ("<article class='story'><h1>网球公开赛 选手封王</h1><div class='story-body'>"
             "<p>（示例社罗马19日电）德国选手今天以6比4、7比5击败对手，在公开赛拿下两年来最重要的冠军。</p>"
             "<p>世界排名第5的他，今天再度在公开赛封王，为下周登场的赛事做好暖身。他说，这是一次来之不易的胜利，感谢一路支持他的球迷和团队。</p></div></article>")
    stream = "<div class='stream'>" + "".join(
        f"<div class='item'><h3>其他新闻{i}</h3><p>{PARAS[0]}{PARAS[1]}{PARAS[2]}</p></div>" for i in range(2)) + "</div>"
    html = f"<html><head><title>网球公开赛 选手封王 - 示例新闻</title></head><body>{brief}{stream}</body></html>"
    entry = extract(html)
    assert entry.title == "网球公开赛 选手封王"
    assert lines_of(entry)[0].startswith("（示例社罗马19日电）")
    assert "其他新闻" not in text_of(entry) and PARAS[0] not in text_of(entry)


def test_the_headlines_article_is_not_narrowed_when_the_text_is_under_it() -> None:
    html = ("<html><head><title>全市工作取得明显成效_示例网</title></head><body><div class='main'>"
            "<div class='head'><h1>全市工作取得明显成效</h1><p class='intro'>本报讯 全市各地认真落实各项部署，进展顺利，成效明显。"
            "有关部门表示，下一步将继续巩固成果，推动工作。</p></div>"
            + paras() + "</div></body></html>")
    assert lines_of(extract(html))[-3:] == PARAS


def test_spacers_and_banner_ads_after_the_text_are_dropped() -> None:
    tail = ("<p><img src='/spacer.gif' width='2' height='1'></p>"
            "<table><tr><td><a href='http://ads.example.com/'><img src='/ad.gif' width='280' height='50'></a></td></tr></table>")
    entry = extract(article(paras(tail)))
    assert lines_of(entry) == PARAS
    assert "<img" not in entry.content_html
    photo = "<p><img src='http://news.example.cn/photo.jpg' width='600' height='400'></p>"
    assert "photo.jpg" in extract(article(paras(photo))).content_html  # a picture closing the story stays


def test_a_poems_verse_lines_come_with_its_prose_note() -> None:
    # The note is the densest block; the verse (little punctuation) and the preface stand beside it.
    poem = ("<div id='content'><div class='preface'>题记：冬夜读书小酌即兴所作</div>"
            "<div class='verse'>深夜看书须尽欢，<br>明月照亮浊酒案。<br>一杯美酒空对月，<br>酌酒吟诗五千年。</div>"
            "<div class='note'><div>注释：</div><div>夜深人静时，是一天最轻松的时刻，此时独坐书房翻看经典，"
            "甚是尽兴；恰逢月圆，对着月亮饮一杯美酒，尽兴之时酌酒吟诗。</div></div></div>")
    text = text_of(extract(article(poem, title="冬夜")))
    assert "深夜看书须尽欢，明月照亮浊酒案。" in text
    assert "夜深人静时" in text
    assert "首页" not in text and "Copyright" not in text


def test_a_page_without_any_title_is_titled_by_its_first_line() -> None:
    html = "<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div></body></html>"
    entry = extract(html)
    assert entry.title == PARAS[0][:60]
    assert "\n" not in entry.title


def test_where_a_reprint_first_appeared_is_credited_not_text() -> None:
    for credit in ("——《示例之春》1996年3月号", "— 摘自《示例周刊》"):
        entry = extract(article(paras(f"<p>{credit}</p>")))
        assert lines_of(entry) == PARAS, credit


def test_buttons_printed_as_lines_of_their_own_are_not_text() -> None:
    body = "<div class='content'>" + "".join(f"<h2>概述</h2><p>播报</p><p>编辑</p><p>{p}</p>" for p in PARAS[:2]) + \
        f"<p>{PARAS[2]}</p><p>展开全文</p></div>"
    entry = extract(article(body))
    assert [ln for ln in lines_of(entry) if ln != "概述"] == PARAS


def test_a_two_character_headline_that_opens_the_html_title() -> None:
    html = ("<html><head><title>夜雨_原文、翻译及赏析_示例诗词网</title></head><body>"
            "<div class='nav'><h2>诗词</h2></div><div class='main'><h1>夜雨</h1>" + paras() + "</div></body></html>")
    entry = extract(html)
    assert entry.title == "夜雨"
    assert lines_of(entry) == PARAS


def test_a_short_heading_elsewhere_is_not_the_headline() -> None:
    html = ("<html><head><title>全市工作取得明显成效_新闻_示例网</title></head><body>"
            "<div class='nav'><h2>新闻</h2></div><h1>全市工作取得明显成效</h1>" + paras() + "</body></html>")
    assert extract(html).title == "全市工作取得明显成效"


def test_a_table_the_text_announces_is_part_of_it() -> None:
    rows = "".join(f"<tr><td>0504{i:02d}专业{i}</td><td>{i + 2}人</td><td>外国语、专业课{i}</td></tr>" for i in range(4))
    cell = "".join(f"<p>{p}</p>" for p in PARAS) + "<p>附：招生专业及考试科目</p>"
    html = article(f"<table><tr><td>{cell}</td></tr></table><table border='1'>{rows}</table>"
                   "<table><tr><td><a href='/1'>上一篇</a></td><td><a href='/2'>下一篇</a></td></tr></table>")
    text = text_of(extract(html))
    assert "050401专业1" in text and "外国语、专业课3" in text
    assert "下一篇" not in text
    # Without the announcement the table is the page's, not the text's.
    plain = html.replace("<p>附：招生专业及考试科目</p>", "")
    assert "050401专业1" not in text_of(extract(plain))
