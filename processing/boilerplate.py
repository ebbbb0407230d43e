"""Generic boilerplate rules applied around trafilatura, for pages of any site and language.

Users bring new sites, so nothing here knows a site: each rule describes a family of page
furniture (link lists, teaser lists, counters, polls, share and login links, copyright lines,
reader comments, markup leaked into text) in the languages of the sources (English, Russian,
Azerbaijani, Chinese, Polish). Tree rules remove elements before trafilatura reads the page;
line rules drop paragraphs after. Attribution lines and disclaimers are not thrown away:
`clean_lines` returns them beside the text. Each rule is named so that it can be switched off
(bench/extraction.py measures each one's effect on the English benchmark).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import lxml.etree
import lxml.html
from trafilatura.xpaths import BODY_XPATH

from connectors.records import Disclaimer


@dataclass(frozen=True)
class Cleaned:
    """An article's paragraphs with its provenance lines and disclaimer set apart."""

    lines: list[str]
    attribution: str | None = None  # the attribution lines, joined by newlines
    attribution_url: str | None = None  # the first origin URL those lines give
    disclaimer: Disclaimer | None = None
    furniture: frozenset[str] = frozenset()  # texts of the page's furniture blocks, see TreeRule

    def byline(self) -> str | None:
        """The attribution line that names the authors ("作者：张三", "Автор: ..."): it was set
        apart from the page before the byline was looked for, so it is the page's byline."""
        lines = (self.attribution or "").split("\n")
        return next((line for line in lines if _AUTHOR_CREDIT.match(line)), None)


# ---- shared vocabulary -------------------------------------------------------------------

_MONTHS = (
    r"январ[ья]|феврал[ья]|марта?|апрел[ья]|ма[йя]|июн[ья]|июл[ья]|августа?|сентябр[ья]|"
    r"октябр[ья]|ноябр[ья]|декабр[ья]|yanvar|fevral|mart|aprel|may|iyun|iyul|avqust|sentyabr|"
    r"oktyabr|noyabr|dekabr|january|february|march|april|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|stycznia|lutego|"
    r"kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia"
)
# A time or date as teaser lists print them: "12:30", "29 апреля 2024", "2024-05-01",
# "01.05.2024", "5月1日", "3 часа назад".
_TIMESTAMP = re.compile(
    rf"\b\d{{1,2}}:\d{{2}}\b|\b\d{{1,2}}\s+(?:{_MONTHS})\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|"
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\d{1,2}月\d{1,2}日|"
    r"\b\d+\s+(?:минут\w*|час\w*|дн\w*|dəqiqə|saat|gün|minutes?|hours?|days?)\s+"
    r"(?:назад|əvvəl|ago)\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")  # every timestamp form has one: a cheap test first
_SENTENCE_END = re.compile(r"[.!?。！？…]['\"»”)]*$")
_URL = re.compile(r"https?://[^\s<>\"'，。）)]+[^\s<>\"'，。）).,;:]")


def _short(line: str, limit: int = 120) -> bool:
    return len(line) <= limit


def _label(*labels: str) -> re.Pattern[str]:
    """A line that starts with one of the labels followed by a colon (any script's colon)."""
    return re.compile(rf"^(?:{'|'.join(labels)})\s*[:：]", re.IGNORECASE)


def _whole(*phrases: str) -> re.Pattern[str]:
    """A line that is one of the phrases, give or take a count and punctuation."""
    return re.compile(rf"^[\W\d_]*(?:{'|'.join(phrases)})[\s\W\d_]*$", re.IGNORECASE)


def _only(*words: str) -> Callable[[str], bool]:
    """A short line made of nothing but these words (share buttons, login links...)."""
    pattern = re.compile(rf"(?:{'|'.join(words)})", re.IGNORECASE)

    def matches(line: str) -> bool:
        return _short(line, 100) and not re.sub(r"[\W\d_]+", "", pattern.sub("", line))

    return matches


# ---- line rules: each takes the paragraphs and returns those it keeps ----------------------

LineRule = Callable[[list[str]], list[str]]


def _dropping(matches: Callable[[str], bool]) -> LineRule:
    return lambda lines: [line for line in lines if not matches(line)]


_TEASER_HEADINGS = _whole(
    r"читайте (?:также|еще|ещё)(?: по теме)?",
    r"смотрите также",
    r"по теме",
    r"популярное",
    r"самое (?:читаемое|популярное|обсуждаемое)",
    r"(?:последние|главные|другие) новости",
    r"новости по теме",
    r"read (?:also|more)",
    r"see also",
    r"don'?t miss",
    r"не пропустите",
    r"qaçırmayın",
    r"不要错过",
    r"related(?: articles| stories| news)?",
    r"(?:most )?popular",
    r"most read",
    r"(?:latest|more) (?:news|articles|stories)",
    r"oxşar xəbərlər",
    r"digər xəbərlər",
    r"son xəbərlər",
    r"ən çox oxunanlar",
    r"mövzuya aid",
    r"czytaj (?:także|też)",
    r"zobacz (?:także|też)",
    r"相关(?:阅读|新闻|文章|推荐)",
    r"推荐阅读",
    r"热门(?:文章|新闻|推荐)?",
    r"延伸阅读",
)
_TEASER_PREFIX = _label(
    r"читайте (?:также|еще|ещё)",
    r"смотрите также",
    r"read (?:also|more)",
    r"see (?:also|more)",
    r"also read",
    r"подробнее",
    r"daha ətraflı",
    r"həmçinin oxuyun",
    r"czytaj (?:także|też)",
    r"相关阅读",
    r"延伸阅读",
)


def teaser_lists(lines: list[str]) -> list[str]:
    """Teaser lists ("popular", "read also"): a heading and the short titles under it, and a
    "read also: <title>" line. Dated teaser lists are found on the page: see dated_teasers.
    """
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _TEASER_PREFIX.match(line) and _short(line, 250):
            i += 1
            continue
        if _TEASER_HEADINGS.match(line):
            i += 1
            while i < len(lines) and _short(lines[i], 160) and not _SENTENCE_END.search(lines[i]):
                i += 1
            continue
        kept.append(line)
        i += 1
    return kept


counters = _dropping(
    lambda line: (
        _short(line, 80)
        and bool(
            re.search(
                r"(?:просмотр\w*|прочтени\w*|views?|baxış\w*(?: sayı)?|oxunub|阅读(?:量|数)?|"
                r"浏览(?:量)?|wyświetle\w*|odsłon\w*)\s*[:：]?\s*\d|"
                r"^\d[\d\s.,k]*\s*(?:просмотр\w*|views?|baxış\w*|阅读|wyświetle\w*)\W*$|"
                r"на сайте\s*(?:сейчас\s*)?\d+|\d+\s*(?:человек|посетител\w*|гост\w*)\s+на сайте|"
                r"\d+\s*(?:people|users|visitors)\s+(?:are\s+)?(?:on|online on)\s+(?:the\s+)?site|"
                r"saytda\s+\d+\s+nəfər|\d+\s*人在线|^(?:онлайн|online)\s*[:：]?\s*\d+$",
                line,
                re.IGNORECASE,
            )
        )
    )
)
"""View counters and "N people on the site"."""

_POLL = re.compile(
    r"^(?:оцените (?:статью|материал|новость|публикацию)|рейтинг(?: статьи)?\s*[:：]|"
    r"голос(?:ов|а|овать)?\s*[:：]?\s*\d|проголосовал\w*|понравилась (?:статья|новость)\??|"
    r"rate this (?:article|story|post)|rating\s*[:：]|votes?\s*[:：]\s*\d|"
    r"was this (?:article|story) helpful|məqaləni qiymətləndirin|xəbəri qiymətləndirin|"
    r"oceń (?:artykuł|tekst)|评分\s*[:：]?|给文章打分)",
    re.IGNORECASE,
)
polls = _dropping(lambda line: _short(line, 100) and bool(_POLL.match(line)))
"""Article-rating polls and their vote counts."""

share_print = _dropping(
    _only(
        r"версия для печати",
        r"распечатать",
        r"печать",
        r"поделиться",
        r"поделитесь",
        r"отправить другу",
        r"копировать ссылку",
        r"share(?: this)?(?: article| on)?",
        r"print(?: this)?(?: article)?",
        r"tweet",
        r"e-?mail",
        r"copy link",
        r"paylaş",
        r"çap et",
        r"udostępnij",
        r"drukuj",
        r"分享(?:到)?",
        r"打印",
        r"微信",
        r"微博",
        r"朋友圈",
        r"qq空间",
        r"вконтакте",
        r"vk",
        r"одноклассники",
        r"ok",
        r"telegram",
        r"whatsapp",
        r"viber",
        r"facebook",
        r"twitter",
        r"x",
        r"linkedin",
        r"reddit",
        r"pinterest",
        r"мой мир",
    )
)
"""Share and print links, on a line of their own."""

login_links = _dropping(
    _only(
        r"сделать (?:стартовой|домашней)(?: страницей)?",
        r"войти",
        r"вход",
        r"выйти",
        r"регистрация",
        r"зарегистрироваться",
        r"личный кабинет",
        r"make (?:this|it) your homepage",
        r"set as (?:your )?homepage",
        r"log ?in",
        r"log ?out",
        r"sign (?:in|up|out)",
        r"register",
        r"my account",
        r"subscribe",
        r"подписаться",
        r"daxil ol",
        r"qeydiyyat",
        r"çıxış",
        r"zaloguj(?: się)?",
        r"zarejestruj(?: się)?",
        r"登录",
        r"注册",
        r"退出",
        r"设为首页",
    )
)
"""Login, sign-up and "make this your homepage" links, on a line of their own."""

_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)\s|copyright\b)|все права (?:защищены|сохранены)|all rights reserved|"
    r"版权所有|bütün hüquqlar qorunur|wszelkie prawa zastrzeżone|"
    r"(?:перепечатка|копирование|использование) (?:материалов )?.{0,60}(?:запрещен|разрешен|"
    r"только с|допускается)|при (?:использовании|цитировании|перепечатке) материалов|"
    r"for (?:your )?personal,? non-?commercial use|для личного некоммерческого использования|"
    r"^(?:order|buy) reprints?$|^заказать перепечатку$",
    re.IGNORECASE,
)
copyright_lines = _dropping(lambda line: _short(line, 300) and bool(_COPYRIGHT.search(line)))
"""Copyright and reprint-permission lines."""

_KEYWORD_LABELS = (
    r"теги",
    r"тэги",
    r"метки",
    r"ключевые слова",
    r"рубрик[аи]",
    r"tags?",
    r"keywords",
    r"topics",
    r"filed under",
    r"posted in",
    r"categor(?:y|ies)",
    r"kategori",
    r"категори[яи]",
    r"kateqoriya",
    r"分类",
    r"teql?ər",
    r"açar sözlər",
    r"tagi",
    r"słowa kluczowe",
    r"标签",
    r"关键词",
)
_KEYWORDS = _label(*_KEYWORD_LABELS)
_KEYWORDS_HEADING = _whole(*_KEYWORD_LABELS)
_LIST_SEPARATORS = re.compile(r"[,，、;]")


def keyword_lists(lines: list[str]) -> list[str]:
    """ "Tags: ..." keyword and category lists ("Filed under: ..."), and a bare "Tags" heading
    with the list on the line under it."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _short(line, 300) and _KEYWORDS.match(line):
            i += 1
            continue
        if _KEYWORDS_HEADING.match(line):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            listed = _LIST_SEPARATORS.search(following) and not _SENTENCE_END.search(following)
            i += 2 if _short(following, 300) and listed else 1
            continue
        kept.append(line)
        i += 1
    return kept


# Not "|": trafilatura joins a table row's cells with it, and a table of short cells is text
# (with it, this rule cost 0.003 F1 on the English benchmark). Linked "|" menus are link_lists.
_MENU_SEPARATORS = re.compile(r"\s*[•·/›»]\s*")


def section_menus(lines: list[str]) -> list[str]:
    """Section menus flattened into text: "Politics • Economy • Sport • ..." on one line."""
    kept = []
    for line in lines:
        parts = [p for p in _MENU_SEPARATORS.split(line) if p]
        # an address printed in the text splits at its slashes too: no menu
        menu = len(parts) >= 4 and all(len(p.split()) <= 3 for p in parts) and "://" not in line
        if not (menu and _short(line, 200)):
            kept.append(line)
    return kept


_COMMENTS_HEADING = _whole(
    r"комментари[ий]\w*",
    r"отзывы",
    r"обсуждение",
    r"добавить комментарий",
    r"оставить комментарий",
    r"оставьте комментарий",
    r"(?:reader )?comments?",
    r"leave a (?:comment|reply)",
    r"add a comment",
    r"şərhlər",
    r"şərh yaz",
    r"komentarze?",
    r"dodaj komentarz",
    r"skomentuj",
    r"评论(?:区)?",
    r"网友评论",
    r"发表评论",
)


def comment_sections(lines: list[str]) -> list[str]:
    """Reader comments: everything from a comments heading on ("Комментарии (3)", "Komentarze").

    Comments come after the article, so a heading that names them ends the text.
    """
    for i, line in enumerate(lines):
        if i and _COMMENTS_HEADING.match(line):
            return lines[:i]
    return lines


_MARKUP = re.compile(
    r"</?(?:div|span|p|a|img|iframe|script|style|br|strong|b|i|em|font|table|tr|td|ul|li|"
    r"section|figure|figcaption|noscript)\b[^<>]*>",
    re.IGNORECASE,
)


def leaked_markup(lines: list[str]) -> list[str]:
    """Literal markup strings in text, such as `<div style="...">` left by a broken CMS."""
    cleaned = (" ".join(_MARKUP.sub(" ", line).split()) for line in lines)
    return [line for line in cleaned if line]


# A byline's date line: a date or a time with nothing beside it but a source, an author, a view
# count or a weekday. "2025年10月4日 13:39 来源：新华网", "09:10, 4 октября 2025", "Oct. 4, 2025
# 9:24 pm ET | Views: 12".
_DATE_IN_LINE = re.compile(
    rf"{_TIMESTAMP.pattern}|\d{{4}}\s*年\s*\d{{1,2}}\s*月\s*\d{{1,2}}\s*日|\b(?:19|20)\d{{2}}\b",
    re.IGNORECASE,
)
# A label and its value: with a colon, a value of up to 20 characters (Chinese writes no space
# after it); "by", "posted" and the like without one, a word.
_DATELINE_LABELS = re.compile(
    r"(?:来源|作者|编辑|责任编辑|记者|阅读|浏览|发布时间|时间|日期|источник|автор|фото|"
    r"просмотр\w*|mənbə|müəllif|source|views?)\s*[:：]\s*[^\s|•·/]{0,20}|"
    r"\b(?:by|posted|published|updated|опубликовано|обновлено)\b\s*[:：]?\s*[^\s|•·/]*",
    re.IGNORECASE,
)
_DATELINE_WORDS = re.compile(
    r"\b(?:am|pm|a\.m\.|p\.m\.|utc|gmt|et|est|edt|pt|pst|msk|azt|at|в|г|года?|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|понедельник|вторник|среда|четверг|пятница|"
    r"суббота|воскресенье)\b|[上下]午|星期.|周.",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_RANGE = re.compile(r"[~～至到]|\s(?:до|по|to|until|bis)\s", re.IGNORECASE)
MAX_DATELINE_CHARS = 80
MAX_DATELINE_CJK = 4  # characters beside the date: a source's or a weekday's; more is a sentence
_CJK_CHARS = re.compile(r"[\u3400-\u9fff\uac00-\ud7af\u3040-\u30ff]")


def datelines(lines: list[str]) -> list[str]:
    """Byline date lines left in the text: a short line holding a day with its year or time and
    nothing but labels with their values (source, author, views), weekdays and zone names, at
    most two other words (four CJK characters)."""
    return [line for line in lines if not _dateline(line)]


def _dateline(line: str) -> bool:
    if not _short(line, MAX_DATELINE_CHARS) or _SENTENCE_END.search(line):
        return False
    if not _DIGIT.search(line) or not _TIMESTAMP.search(_CLOCK.sub(" ", line)):
        return False  # a day is needed: a clock alone may be a schedule's ("12:30 Lunch")
    if (len(_YEAR.findall(line)) > 1 and not _DATELINE_LABELS.search(line)) or _RANGE.search(line):
        return False  # a period is content: "29 November 2018 | 20 January 2019", "2018.04.05 ~"
    if not _YEAR.search(line) and not _CLOCK.search(line):
        return False  # "Москва, 4 октября" opens a story; a byline's date has a year or a time
    rest = _DATELINE_WORDS.sub(" ", _DATELINE_LABELS.sub(" ", _DATE_IN_LINE.sub(" ", line)))
    words = re.sub(r"[\W\d_]+", " ", rest).split()
    return len(words) <= 2 and len(_CJK_CHARS.findall(rest)) <= MAX_DATELINE_CJK


# A signature closing the story: a name and its outlet in quotes or as a domain, "Иван Сидоров,
# «Кавказский узел»", "Ann Lee / Caliber.Az".
_SIGNATURE = re.compile(
    r"^(?:[^\W\d_][^\W\d_'’.-]*\.?\s+){1,3}[^\W\d_][^\W\d_'’-]*\s*[,/|–—-]\s*"
    r"(?:«[^»]{2,40}»|\"[^\"]{2,40}\"|“[^”]{2,40}”|[\w-]+\.[a-z]{2,6})$",
    re.IGNORECASE,
)


def signatures(lines: list[str]) -> list[str]:
    """The story's last line when it is the author's signature with the outlet's name."""
    if lines and _short(lines[-1], 80) and _SIGNATURE.match(lines[-1]):
        return lines[:-1]
    return lines


LINE_RULES: dict[str, LineRule] = {
    "comment_sections": comment_sections,
    "teaser_lists": teaser_lists,
    "counters": counters,
    "polls": polls,
    "share_print": share_print,
    "login_links": login_links,
    "copyright_lines": copyright_lines,
    "keyword_lists": keyword_lists,
    "section_menus": section_menus,
    "leaked_markup": leaked_markup,
    "datelines": datelines,
    "signatures": signatures,
}


# ---- tree rules: each finds furniture blocks on the parsed page -----------------------------


class Blocks:
    """Letters and link letters of every element of a page, counted once, bottom-up.

    Tree rules and the provenance scan read these counts instead of each element's
    text_content(), which would cost quadratic time on deeply nested pages.
    """

    def __init__(self, tree: lxml.html.HtmlElement) -> None:
        self.elements: list[lxml.html.HtmlElement] = list(tree.iter(lxml.etree.Element))
        self.letters: dict[lxml.html.HtmlElement, int] = {}
        self.linked: dict[lxml.html.HtmlElement, int] = {}
        self.links: dict[lxml.html.HtmlElement, int] = {}
        # One pass with the counts inlined: this loop visits every element and child of a page.
        all_letters, all_linked, all_links = self.letters, self.linked, self.links
        for el in reversed(self.elements):  # children before their parents
            text = el.text
            letters = len(text) - text.count(" ") if text else 0
            linked = links = 0
            for child in el:
                tail = child.tail
                if tail:
                    letters += len(tail) - tail.count(" ")
                letters += all_letters.get(child, 0)
                linked += all_linked.get(child, 0)
                links += all_links.get(child, 0)
            all_letters[el] = letters
            if el.tag == "a":
                linked, links = letters, 1
            all_linked[el], all_links[el] = linked, links


TreeRule = Callable[[Blocks], list[lxml.html.HtmlElement]]
"""Finds a page's furniture blocks (each one's whole text is furniture). They are not
removed before trafilatura, whose own heuristics read the whole page better (removing menus
first cost 0.03 F1 on the English benchmark): their lines are dropped from its output."""

_COMMENT_CONTAINER = re.compile(
    r"(?:^|\s)(?:comments?|commentlist|komment\w*|komentarz\w*|disqus\w*|pinglun|"
    r"respond|otzyv\w*)(?:$|[-_\s])",
    re.IGNORECASE,
)
_STRUCTURAL = {"html", "body", "main", "article", "head"}


def comment_containers(blocks: Blocks) -> list[lxml.html.HtmlElement]:
    """Elements whose class or id names them as comments (any language's transliteration).

    Each value alone matches as it would joined to the other. The attributes are read from the
    element list Blocks already holds (document order): an XPath for the values made a string
    object for each and took a third more time.
    """
    search = _COMMENT_CONTAINER.search
    found = [
        el
        for el in blocks.elements
        if ((name := el.get("class")) and search(name)) or ((name := el.get("id")) and search(name))
        if el.tag not in _STRUCTURAL
    ]
    return [block for el in _outermost(found) for block in el.iter(*_BLOCK_TAGS)]


_LIST_TAGS = {"ul", "ol", "nav", "div", "section", "aside", "table", "p", "span", "td"}


def link_lists(blocks: Blocks) -> list[lxml.html.HtmlElement]:
    """Blocks that are mostly links: menus, keyword link lists, teaser lists.

    A block with at least four links whose link text is over 60% of its text (75% for a
    paragraph, where prose may cite several sources) is navigation, not article; its items
    that are half links or more are returned.
    """
    found = []
    for el in blocks.elements:
        letters = blocks.letters[el]
        if el.tag not in _LIST_TAGS or blocks.links[el] < 4 or not letters:
            continue
        if blocks.linked[el] / letters >= (0.75 if el.tag == "p" else 0.6):
            found.append(el)
    # Only the list's own items: a paragraph of prose inside a link-heavy block stays.
    return [
        block
        for el in _outermost(found)
        for block in el.iter(*_BLOCK_TAGS)
        if blocks.linked[block] * 2 >= blocks.letters[block] > 0
    ]


def _text(el: lxml.html.HtmlElement) -> str:
    """An element's text without its tail: lxml's serializer, twice as fast as text_content()."""
    return lxml.etree.tostring(el, method="text", encoding=str, with_tail=False)


def _outermost(elements: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """The elements that are not inside another one of them."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


def dated_teasers(blocks: Blocks) -> list[lxml.html.HtmlElement]:
    """Runs of three or more sibling blocks that are each a link and a date or time: "most read"
    and "latest" lists. A schedule or timeline in the article has dates but no links.

    The counts pick short link blocks first; only runs of three of those are read for a date,
    which keeps the date pattern off nine in ten elements of a page.
    """
    snippets = {el for el in blocks.elements if _linked_snippet(blocks, el)}
    parents = {el.getparent() for el in snippets}
    found: list[lxml.html.HtmlElement] = []
    for parent in blocks.elements:
        if parent not in parents:  # no run of snippets without one among its children
            continue
        for run in _runs(parent, snippets.__contains__):
            for dated in _runs(run, _has_timestamp):
                found += dated
    return found


def _runs(
    elements: Iterable[lxml.html.HtmlElement], keep: Callable[[lxml.html.HtmlElement], bool]
) -> Iterator[list[lxml.html.HtmlElement]]:
    """Runs of three or more consecutive elements that `keep` accepts."""
    run: list[lxml.html.HtmlElement] = []
    for el in elements:
        if keep(el):
            run.append(el)
            continue
        if len(run) >= 3:
            yield run
        run = []
    if len(run) >= 3:
        yield run


def _linked_snippet(blocks: Blocks, el: lxml.html.HtmlElement) -> bool:
    letters = blocks.letters[el]
    return 0 < letters <= 200 and blocks.linked[el] * 2 >= letters


def _has_timestamp(el: lxml.html.HtmlElement) -> bool:
    text = _text(el)
    return bool(_DIGIT.search(text) and _TIMESTAMP.search(text))


TREE_RULES: dict[str, TreeRule] = {
    "comment_containers": comment_containers,
    "link_lists": link_lists,
    "dated_teasers": dated_teasers,
}

RULES: tuple[str, ...] = (
    "story_chunks",
    "empty_inline",
    "printed_urls",
    *TREE_RULES,
    "attribution",
    "disclaimers",
    *LINE_RULES,
)


def join_story_chunks(tree: lxml.html.HtmlElement) -> None:
    """Move a story split into chunks (each in its own wrapper, between ads) into its first chunk.

    trafilatura reads the first element of the page that looks like an article body; where the
    story goes on in twins of it (the same tag and class, wrappers side by side under one parent),
    it read only the first chunk (two English benchmark pages lost half their text and more).
    Twins are found first, and only they are tested as trafilatura tests a body: its XPath over
    the whole page cost 2.8 ms, a twentieth of the page's time.
    """
    twins: dict[tuple[str, str, lxml.html.HtmlElement], list[lxml.html.HtmlElement]] = {}
    for el in tree.iter("article", "div", "main", "section"):
        if (cls := el.get("class")) and (chunks := _grandparent(el)) is not None:
            twins.setdefault((el.tag, cls, chunks), []).append(el)
    for group in twins.values():
        if len({el.getparent() for el in group}) < 2:
            continue
        bodies = [el for el in group if _looks_like_body(el)]
        for chunk in bodies[1:]:
            if chunk.getparent() is not bodies[0].getparent():
                bodies[0].extend(list(chunk))


# Empty ones of these lose the text after them in trafilatura's precision mode (measured on
# trafilatura 2.3.1: span, b, i, em, strong; font, small, u, sup and others keep it).
_TAIL_LOSERS = ("span", "b", "i", "em", "strong")


def drop_empty_inline(tree: lxml.html.HtmlElement) -> None:
    """Remove empty inline elements, keeping the text that follows each: an empty span before a
    paragraph's words (WordPress's "more" anchor, <span id="more-5662"></span>) made trafilatura
    drop the whole paragraph."""
    empty = [el for el in tree.iter(_TAIL_LOSERS) if len(el) == 0 and not (el.text or "").strip()]
    for el in empty:
        if el.tail and el.tail.strip() and el.getparent() is not None:
            el.drop_tree()


def unlink_printed_urls(tree: lxml.html.HtmlElement) -> None:
    """A paragraph that is one link printing its own address (a cited source) becomes plain
    text: trafilatura's precision mode dropped it as a link-dense block."""
    for el in tree.iter("a"):
        parent, href, text = el.getparent(), el.get("href") or "", (el.text or "").strip()
        if (
            parent is not None
            and parent.tag == "p"
            and len(parent) == 1
            and len(el) == 0
            and text.startswith(("http://", "https://"))
            and text.rstrip("/") == href.strip().rstrip("/")
            and not (parent.text or "").strip()
            and not (el.tail or "").strip()
        ):
            el.drop_tag()


# The attributes that XPath reads (class, id, itemprop): a probe carries all of them.
_BODY_ATTRIBUTES = tuple(sorted(set(re.findall(r"@([\w-]+)", BODY_XPATH[0].path))))


def _looks_like_body(el: lxml.html.HtmlElement) -> bool:
    """Whether trafilatura's first article-body XPath takes an element with these attributes."""
    return _body_like((el.tag, *(el.get(name) for name in _BODY_ATTRIBUTES)))


@lru_cache(maxsize=4096)
def _body_like(key: tuple[str | None, ...]) -> bool:
    """The XPath asked of a bare copy (tag and the attributes it reads), so that it costs one
    node; remembered across pages, since a site's pages repeat their wrappers' classes."""
    tag, *values = key
    probe = lxml.etree.Element("div")
    attributes = {
        name: value for name, value in zip(_BODY_ATTRIBUTES, values, strict=True) if value
    }
    lxml.etree.SubElement(probe, tag, attributes)
    return bool(BODY_XPATH[0](probe))


def _grandparent(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    parent = el.getparent()
    return parent.getparent() if parent is not None else None


# ---- provenance: attribution lines and disclaimers ----------------------------------------

_ATTRIBUTION = re.compile(
    r"^(?:translated automatically|machine[- ]translated|automatically translated|"
    r"(?:this (?:article|story|material) (?:was|is) )?originally published|"
    r"автоматический перевод|переведено автоматически|"
    r"(?:原文(?:链接|地址)?|来源|文章来源|出处|转自|转载自|作者|本文作者|责任编辑|编辑)\s*[:：]|"
    r"(?:источник|первоисточник|автор(?:ы)?|оригинал|source|sources|author|authors|"
    r"original|via|mənbə|müəllif|źródło|autor)\s*[:：])",
    re.IGNORECASE,
)
_AUTHOR_CREDIT = re.compile(
    r"^(?:本文作者|作者|(?:автор(?:ы)?|authors?|müəllif|autor)\s*[:：])", re.IGNORECASE
)
_FOREIGN_AGENT = re.compile(
    r"(?=.*ИНОСТРАН\w* АГЕНТ|.*FOREIGN AGENT)(?=.*(?:СООБЩЕНИЕ|МАТЕРИАЛ|MESSAGE|MATERIAL))"
)
_NOTICE = re.compile(
    r"^(?:声明|免责声明|特别声明|disclaimer|statement|отказ от ответственности|"
    r"мнение (?:автора|редакции)|imtina)\s*[:：]",
    re.IGNORECASE,
)


def disclaimer_of(line: str) -> Disclaimer | None:
    """The kind of disclaimer a line is, if it is one."""
    if _FOREIGN_AGENT.match(line) and sum(c.isupper() for c in line) > sum(
        c.islower() for c in line
    ):
        return Disclaimer.FOREIGN_AGENT
    if _NOTICE.match(line) and _short(line, 400):
        return Disclaimer.PUBLISHER_NOTICE
    return None


_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "td",
    "dd",
    "dt",
    "a",
    "span",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "nav",
    "section",
    "aside",
    "table",
    "tr",
    "blockquote",
}
_PROVENANCE_TAGS = {
    "p",
    "div",
    "span",
    "section",
    "aside",
    "footer",
    "li",
    "em",
    "i",
    "small",
    "strong",
    "b",
    "h4",
    "h5",
    "h6",
    "address",
    "blockquote",
}


def clean_tree(tree: lxml.html.HtmlElement, skip: Collection[str] = ()) -> Cleaned:
    """Set apart attribution and disclaimer blocks, then find furniture with the tree rules not
    in `skip` (its texts go into the result's `furniture`, for clean_lines to drop).

    Provenance is read from the page before trafilatura, which drops most bylines and notices:
    a block whose whole text is an attribution or disclaimer line is removed and returned, with
    the origin URL from its text or else its first link ("...originally published here").
    """
    blocks = Blocks(tree)
    credits: list[str] = []
    urls: list[str] = []
    disclaimer: Disclaimer | None = None
    provenance = []
    for el in blocks.elements:
        if el.tag not in _PROVENANCE_TAGS or not 0 < blocks.letters[el] <= 400:
            continue
        line = " ".join(_text(el).split())
        if "attribution" not in skip and _short(line, 300) and _ATTRIBUTION.match(line):
            credits.append(line)
            link = _URL.search(line)
            hrefs = (h for h in el.xpath(".//a/@href") if h.startswith(("http://", "https://")))
            if origin := link.group() if link else next(hrefs, None):
                urls.append(origin)
            provenance.append(el)
        elif "disclaimers" not in skip and (kind := disclaimer_of(line)):
            disclaimer = disclaimer or kind
            provenance.append(el)
    furniture = [el for name, rule in TREE_RULES.items() if name not in skip for el in rule(blocks)]
    texts = {" ".join(_text(block).split()) for block in furniture}
    for el in _outermost(provenance):
        if el.getparent() is not None:
            el.drop_tree()
    return Cleaned(
        [], "\n".join(credits) or None, urls[0] if urls else None, disclaimer, frozenset(texts)
    )


def clean_lines(
    lines: list[str], skip: Collection[str] = (), found: Cleaned | None = None
) -> Cleaned:
    """Set attribution lines and disclaimers apart, apply the line rules not in `skip`, then
    drop the lines of the furniture blocks the tree rules found.

    found: what clean_tree set apart and found on the same page, merged into the result.
    """
    credits: list[str] = found.attribution.split("\n") if found and found.attribution else []
    disclaimer = found.disclaimer if found else None
    kept: list[str] = []
    for line in lines:
        if "attribution" not in skip and _short(line, 300) and _ATTRIBUTION.match(line):
            credits.append(line)
        elif "disclaimers" not in skip and (kind := disclaimer_of(line)):
            disclaimer = disclaimer or kind
        else:
            kept.append(line)
    for name, rule in LINE_RULES.items():
        if name not in skip:
            kept = rule(kept)
    if found and found.furniture:
        kept = [line for line in kept if line not in found.furniture]
    url = found.attribution_url if found else None
    url = url or next((m.group() for c in credits if (m := _URL.search(c))), None)
    return Cleaned(kept, "\n".join(credits) or None, url, disclaimer)
