"""Generic boilerplate rules: what each one removes, what it keeps, and what it sets apart.

The pages in tests/pages are written for these tests in the shape of real Russian, Chinese and
Azerbaijani news sites (furniture inside the article's own container, where trafilatura alone
keeps it); their .txt files hold the article text a reader expects, paragraph by paragraph.
"""

from pathlib import Path

import pytest

from connectors.config import Source
from connectors.markup import parse_html
from connectors.records import Disclaimer
from processing import boilerplate
from processing.boilerplate import RULES, clean_lines, clean_tree
from processing.extract import extract
from processing.page import process_page

PAGES = Path(__file__).parent / "pages"

# Furniture per page: every phrase is on the page, in the article's container, and must not
# reach the text.
FURNITURE = {
    "ru_regional": [
        "ДАННОЕ СООБЩЕНИЕ",  # foreign-agent disclaimer
        "<div style",  # markup leaked into text
        "Просмотров",  # view counter
        "Оцените статью",  # rating poll
        "Голосов",
        "Версия для печати",  # print and share links
        "Поделиться",
        "Теги:",  # keyword link list
        "Читайте также",  # teaser list with times
        "В Дербенте закрыли на ремонт мост",
        "Комментарии (2)",  # reader comments
        "пять лет ждали",
        "Все права защищены",  # copyright
        "Источник:",  # attribution, set apart
    ],
    "zh_repost": [
        "<span style",
        "相关阅读",
        "哈萨克斯坦扩建阿克套港",
        "原文：",
        "声明：",
        "分享到",
        "标签：",
        "网友评论",
        "希望航线稳定下去",
        "版权所有",
        "人在线",
    ],
    "az_news": [
        "Baxış sayı",
        "Məqaləni qiymətləndirin",
        "Paylaş",
        "Mənbə:",
        "Müəllif:",
        "Teqlər",
        "Oxşar xəbərlər",
        "Xəzərdə bərə reyslərinin",
        "Şərhlər",
        "nəhayət limanda",
        "Bütün hüquqlar qorunur",
        "Daxil ol",
    ],
}
PROVENANCE = {
    "ru_regional": ("Источник: пресс-служба администрации Махачкалы", None, "foreign_agent"),
    "zh_repost": (
        "来源：新华社 2025-10-09 08:30 阅读 12345\n"
        "原文：https://news.example.az/ru/2025/10/08/caspian-freight/",
        "https://news.example.az/ru/2025/10/08/caspian-freight/",
        "publisher_notice",
    ),
    "az_news": ("Mənbə: APA\nMüəllif: Leyla Məmmədova", None, None),
}
URL = "https://news.example/2025/10/08/article"


def _page(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", FURNITURE)
def test_pages_in_each_language_keep_the_article_and_lose_the_furniture(name):
    result = extract(_page(name), URL)
    expected = (PAGES / f"{name}.txt").read_text(encoding="utf-8").strip()
    assert result.text == expected
    for phrase in FURNITURE[name]:
        assert phrase not in result.text, phrase


@pytest.mark.parametrize("name", FURNITURE)
def test_without_the_generic_rules_the_furniture_leaks(name):
    """The pages are a real test: trafilatura alone keeps half or more of their furniture."""
    text = extract(_page(name), URL, skip_rules=RULES).text
    leaked = [phrase for phrase in FURNITURE[name] if phrase in text]
    assert len(leaked) >= len(FURNITURE[name]) // 2, leaked


@pytest.mark.parametrize("name", FURNITURE)
def test_attribution_and_disclaimer_reach_the_article(name):
    source = Source(id="pages", name=name, kind="file", base_url=URL)
    article = process_page(source, URL, _page(name), "text/html", None).article
    attribution, origin, disclaimer = PROVENANCE[name]
    assert (article.attribution, article.attribution_url, article.disclaimer) == (
        attribution,
        origin,
        disclaimer,
    )
    assert article.language == name[:2]


def test_machine_translation_credit_becomes_attribution_with_its_origin():
    """The Caucasian Knot English tail, as seeds/002 carries it."""
    cleaned = clean_lines(
        [
            "He told the Caucasian Knot that the conflict would not be significant.",
            "Translated automatically via Google translate from "
            "https://www.kavkaz-uzel.eu/articles/416184",
            "Author: Faik Majid, Alexander Stepanov",
            "Source: CK correspondents",
        ]
    )
    assert cleaned.lines == [
        "He told the Caucasian Knot that the conflict would not be significant."
    ]
    assert cleaned.attribution.splitlines()[1:] == [
        "Author: Faik Majid, Alexander Stepanov",
        "Source: CK correspondents",
    ]
    assert cleaned.attribution_url == "https://www.kavkaz-uzel.eu/articles/416184"


def test_an_origin_given_only_as_a_link_is_taken_from_the_link():
    tree = parse_html(
        "<html><body><p>Body text of the article, long enough to be prose.</p>"
        "<p>This article was originally published in Russian. To read it, "
        '<a href="https://www.kavkaz-uzel.eu/articles/415937/">click here</a>.</p>'
        "</body></html>"
    )
    found = clean_tree(tree)
    assert found.attribution_url == "https://www.kavkaz-uzel.eu/articles/415937/"
    assert "originally published" not in tree.text_content()


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (
            "ДАННОЕ СООБЩЕНИЕ (МАТЕРИАЛ) СОЗДАНО И (ИЛИ) РАСПРОСТРАНЕНО ИНОСТРАННЫМ СРЕДСТВОМ "
            "МАССОВОЙ ИНФОРМАЦИИ, ВЫПОЛНЯЮЩИМ ФУНКЦИИ ИНОСТРАННОГО АГЕНТА",
            Disclaimer.FOREIGN_AGENT,
        ),
        (
            "THIS MESSAGE (MATERIAL) HAS BEEN CREATED AND (OR) DISTRIBUTED BY A FOREIGN MASS "
            "MEDIA OUTLET PERFORMING THE FUNCTIONS OF A FOREIGN AGENT",
            Disclaimer.FOREIGN_AGENT,
        ),
        ("声明：本文仅代表作者观点，不代表本平台立场。", Disclaimer.PUBLISHER_NOTICE),
        (
            "Statement: This article represents the views of the author and is welcome to "
            "express your opinion by clicking the buttons below [Upvote/Downvote].",
            Disclaimer.PUBLISHER_NOTICE,
        ),
        # reporting about the law is article text, not the notice
        ("Минюст внес издание в реестр иностранных агентов в пятницу.", None),
        ("The outlet was labelled a foreign agent in 2021, its editor said.", None),
    ],
)
def test_disclaimers_are_told_from_text_about_them(line, kind):
    cleaned = clean_lines([line, "Основной текст статьи."])
    assert cleaned.disclaimer == kind
    assert (line in cleaned.lines) == (kind is None)


ARTICLE = "Жители села третью неделю остаются без газа, сообщили в администрации района."


@pytest.mark.parametrize(
    ("rule", "furniture"),
    [
        ("counters", ["Просмотров: 1523", "Сейчас на сайте 37 человек", "阅读 12345"]),
        ("counters", ["Baxış sayı: 2741", "Views: 980", "12 people are on the site"]),
        ("polls", ["Оцените статью: 1 2 3 4 5", "Голосов: 12", "Rate this article"]),
        ("share_print", ["Версия для печати", "Поделиться: ВКонтакте Telegram", "分享到：微信"]),
        ("login_links", ["Войти | Регистрация", "Сделать стартовой", "Make this your homepage"]),
        ("copyright_lines", ["© 2025 Новости. Все права защищены.", "版权所有 © 2025 今日资讯"]),
        ("keyword_lists", ["Теги: Дагестан, газ", "Tags: energy, Caspian", "标签：里海 航运"]),
        ("keyword_lists", ["Filed under: Syi'ah |", "Рубрика: Политика", "Kateqoriya: Siyasət"]),
        ("section_menus", ["Политика • Экономика • Общество • Спорт • Культура"]),
        ("teaser_lists", ["Читайте также: Жители Каспийска пожаловались на перебои с водой"]),
        (
            "teaser_lists",
            ["Подробнее: В Баку открылся новый терминал", "Read more: Ferry to Aktau"],
        ),
        (
            "copyright_lines",
            ["Order Reprints", "This copy is for your personal, non-commercial use only."],
        ),
        ("copyright_lines", ["Материал только для личного некоммерческого использования."]),
        ("datelines", ["2025年10月4日 13:39 来源：新华网", "09:10, 4 октября 2025"]),
        (
            "datelines",
            ["5:45 AM PST 11/19/2019 by Patrick Shanley", "4 октября 2025 г. | Фото: ТАСС"],
        ),
        ("datelines", ["发布时间：2025-10-04 13:39 来源：央视新闻客户端", "2025年10月4日 星期六"]),
        ("datelines", ["Опубликовано: 04.10.2025 09:10 Обновлено: 04.10.2025 12:00"]),
    ],
)
def test_each_rule_drops_its_family_and_keeps_the_article(rule, furniture):
    lines = [ARTICLE, *furniture, ARTICLE]
    assert boilerplate.LINE_RULES[rule](lines) == [ARTICLE, ARTICLE]
    assert clean_lines(lines, skip={rule}).lines == lines  # nothing else takes them


@pytest.mark.parametrize(
    "line",
    [
        "国务院常务会议4日召开。",  # a short CJK paragraph with a day in it
        "12:30 Обед",  # a schedule's line: a clock, no date
        "29 November 2018 | 20 January 2019",  # an exhibition's period
        "2018.04.05 ~ OPEN RUN",
        "В 2019 году проект закрыли",
        "当地时间10月4日，俄罗斯总统普京抵达杜尚别",  # a sentence without its full stop
        "Москва, 4 октября",  # a story's opening dateline: no year, no time
    ],
)
def test_datelines_keep_text_that_only_holds_a_date(line):
    assert boilerplate.datelines([ARTICLE, line]) == [ARTICLE, line]


@pytest.mark.parametrize(
    "signature",
    ["Иван Сидоров, «Кавказский узел»", "Ann Lee / Caliber.Az", "Leyla Aliyeva - Report.az"],
)
def test_a_signature_closing_the_story_goes(signature):
    assert boilerplate.signatures([ARTICLE, signature]) == [ARTICLE]
    assert boilerplate.signatures([signature, ARTICLE]) == [signature, ARTICLE]  # only the last


ZH_PARAGRAPHS = [
    "国务院常务会议4日召开。",
    "会议部署了秋冬农业生产。",
    "李强主持会议并讲话。",
    "会议指出，今年以来粮食生产总体稳定，秋粮长势良好，丰收在望。",
]


def test_a_chinese_page_keeps_its_short_paragraphs_and_loses_its_date_and_credit_lines():
    """Short CJK paragraphs (a dozen characters) are text; the byline's date-and-source line
    goes, and 来源/责任编辑 are set apart as attribution."""
    page = (
        "<html lang='zh-CN'><head><title>国务院常务会议部署秋冬农业生产</title></head><body>"
        "<article><h1>国务院常务会议部署秋冬农业生产</h1>"
        "<div class='info'>2025年10月4日 13:39 来源：新华网</div>"
        + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
        + "<p>来源：新华社</p><p>责任编辑：张三</p></article></body></html>"
    )
    extracted = extract(page, "https://news.example.cn/a/1")
    assert extracted.text.split("\n") == ZH_PARAGRAPHS
    assert extracted.attribution == "来源：新华社\n责任编辑：张三"


RU_PARAGRAPHS = [
    "В Баку прошла встреча министров иностранных дел России и Азербайджана.",
    "Стороны обсудили вопросы двустороннего сотрудничества и региональной безопасности.",
    "Министры договорились продолжить консультации, сообщает пресс-служба МИД.",
]


def test_a_russian_page_loses_its_byline_read_also_blocks_and_signature():
    page = (
        "<html lang='ru'><head><title>Министры встретились в Баку</title></head><body><article>"
        "<h1>Министры встретились в Баку</h1>"
        "<div class='author'>Иван Петрович Сидоров, корреспондент</div>"
        "<div class='date'>09:10, 4 октября 2025</div>"
        + "".join(f"<p>{p}</p>" for p in RU_PARAGRAPHS[:2])
        + "<div><p><strong>Читайте также:</strong></p><ul><li><a href='/1'>Лавров прибыл в"
        " Баку</a></li><li><a href='/2'>Алиев принял делегацию</a></li></ul></div>"
        f"<p>{RU_PARAGRAPHS[2]}</p>"
        "<p>Читайте также: <a href='/3'>Путин и Алиев провели переговоры</a></p>"
        "<p>Иван Сидоров, «Кавказский узел»</p></article></body></html>"
    )
    extracted = extract(page, "https://news.example.ru/a/1")
    assert extracted.text.split("\n") == RU_PARAGRAPHS
    assert extracted.authors == ("Иван Петрович Сидоров",)


def test_teaser_lists_go_with_their_heading():
    lines = [
        ARTICLE,
        "Популярное",
        "В Дербенте закрыли на ремонт мост через Рубас",
        "В Буйнакске достроили школу на 800 мест",
        ARTICLE,
    ]
    assert boilerplate.teaser_lists(lines) == [ARTICLE, ARTICLE]


@pytest.mark.parametrize("heading", ["Не пропустите", "DON'T MISS", "Qaçırmayın", "不要错过"])
def test_dont_miss_lists_are_teasers(heading):
    lines = [ARTICLE, heading, "Паром Баку – Актау снова ходит по расписанию [ВИДЕО]", ARTICLE]
    assert boilerplate.teaser_lists(lines) == [ARTICLE, ARTICLE]


@pytest.mark.parametrize(
    ("heading", "keywords"),
    [
        ("Теги", "Дагестан, газ, Каспийск"),
        ("Tags", "energy, Caspian, ferry"),
        ("Teqlər", "Bakı, liman, bərə"),
        ("标签", "里海、航运、阿克套"),
    ],
)
def test_a_bare_tags_heading_goes_with_the_list_under_it(heading, keywords):
    lines = [ARTICLE, heading, keywords, ARTICLE]
    assert boilerplate.keyword_lists(lines) == [ARTICLE, ARTICLE]
    # a sentence under the heading is text: only the heading goes
    sentence = "Газ вернули в село в пятницу, сообщили в администрации."
    assert boilerplate.keyword_lists([heading, sentence]) == [sentence]


def test_dated_link_lists_are_teasers_and_dated_schedules_are_text():
    teasers = "".join(
        f'<li>{when} <a href="/n/{i}">{title}</a></li>'
        for i, (when, title) in enumerate(
            [
                ("14:05, 7 октября 2025", "В Дербенте закрыли на ремонт мост через Рубас"),
                ("12:40, 7 октября 2025", "В Буйнакске достроили школу на 800 мест"),
                ("10月6日", "伊朗计划增加里海渡轮班次"),
            ]
        )
    )
    schedule = "".join(
        f"<li>{when} – {place}</li>"
        for when, place in [
            ("June 9", "West Palm Beach, FL"),
            ("June 10", "Tampa, FL"),
            ("June 14", "Alpharetta, GA"),
        ]
    )
    tree = parse_html(f"<html><body><ul>{schedule}</ul><ul>{teasers}</ul></body></html>")
    furniture = clean_tree(tree).furniture
    assert "10月6日 伊朗计划增加里海渡轮班次" in furniture
    assert not any("Tampa" in text for text in furniture)


@pytest.mark.parametrize("heading", ["Комментарии (3)", "Komentarze", "Şərhlər (2)", "网友评论"])
def test_reader_comments_end_the_text(heading):
    lines = [ARTICLE, ARTICLE, heading, "Гость: а у нас газа нет.", "Anonim: zgadzam się."]
    assert boilerplate.comment_sections(lines) == [ARTICLE, ARTICLE]


def test_leaked_markup_is_stripped_and_the_sentence_kept():
    lines = ['<div style="text-align: justify;">Глава района пообещал подключить поселки.']
    assert boilerplate.leaked_markup(lines) == ["Глава района пообещал подключить поселки."]
    assert boilerplate.leaked_markup(["Use x < y and y > z in the formula."]) == [
        "Use x < y and y > z in the formula."
    ]


def test_link_lists_and_comment_containers_are_found_on_the_page():
    tree = parse_html(
        "<html><body><article><p>" + ARTICLE + ' Об этом сообщил <a href="/a">глава района</a>.</p>'
        '<ul class="menu"><li><a href="/1">Политика</a></li><li><a href="/2">Экономика</a></li>'
        '<li><a href="/3">Общество</a></li><li><a href="/4">Спорт</a></li></ul>'
        '<div id="comments"><p>Гость: а у нас газа нет.</p></div></article></body></html>'
    )
    furniture = clean_tree(tree).furniture
    assert {"Политика", "Спорт", "Гость: а у нас газа нет."} <= furniture
    assert not any(ARTICLE in text for text in furniture)


def _story_in_chunks() -> str:
    """A long story as some CMSs serve it: chunks in wrappers of their own, ads between."""
    chunks = [
        "".join(
            f"<p>Part {n}, paragraph {i}: the harbour reopened on Monday after the storm, and "
            "ferries to the islands run again on their summer timetable, the port said.</p>"
            for i in range(4)
        )
        for n in (1, 2, 3)
    ]
    body = '<div class="ad-slot"><span>Advertisement</span></div>'.join(
        f'<div class="grid"><div class="body article__body">{chunk}</div></div>' for chunk in chunks
    )
    return (
        "<html><head><title>Harbour reopens</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav>'
        f'<article><h1>Harbour reopens</h1><div class="article__chunks">{body}</div></article>'
        "</body></html>"
    )


def test_a_story_split_into_chunks_between_ads_comes_out_whole():
    html = _story_in_chunks()
    paragraphs = extract(html, URL).text.split("\n")
    parts = [paragraph.split(",")[0] for paragraph in paragraphs]
    assert parts == [f"Part {n}" for n in (1, 2, 3) for _ in range(4)]
    alone = extract(html, URL, skip_rules={"story_chunks"}).text.split("\n")
    assert len(alone) == 4  # trafilatura on its own reads the first chunk only


def test_the_paragraph_after_a_wordpress_more_anchor_is_kept():
    """An empty span opening a paragraph made trafilatura's precision mode drop the paragraph."""
    paras = [
        f"<p>Paragraf {n}: zaman Sahabat itu zaman terbaik Islam, karena Islam saat itu sudah"
        " sempurna dan amat murni, kata penulis.</p>"
        for n in range(8)
    ]
    paras[4:4] = [
        '<p><span id="more-5662"></span>Islam pecah jadi Sunni dan Syiah karena politik.</p>',
        "<p><b></b>Pendukung Ali disebut Syiah Ali, pendukung Muawiyah disebut Sunni.</p>",
    ]
    html = f"<html><body><h2>Sejarah</h2><article>{''.join(paras)}</article></body></html>"
    text = extract(html, URL).text
    assert "Islam pecah jadi Sunni" in text and "Pendukung Ali" in text
    alone = extract(html, URL, skip_rules={"empty_inline"}).text
    assert "Islam pecah jadi Sunni" not in alone  # trafilatura on its own drops it


def test_a_cited_source_printed_as_its_address_is_text():
    """A paragraph that is one link showing its own address is a cited source, not a menu."""
    cited = "http://www.shia-explained.com/my/archives/2364"
    paras = [
        f"<p>Paragraf {n}: para ulama melarang mencaci para sahabat Nabi, kata penulis artikel"
        " ini dalam kajiannya yang panjang.</p>"
        for n in range(8)
    ]
    paras[4:4] = [f'<h2>Fatwa Para Ulama</h2><p><a href="{cited}">{cited}</a></p>']
    html = f"<html><body><h2>Sejarah</h2><article>{''.join(paras)}</article></body></html>"
    assert cited in extract(html, URL).text.split("\n")
    assert cited not in extract(html, URL, skip_rules={"printed_urls"}).text  # link-dense
    assert boilerplate.section_menus([cited]) == [cited]  # its slashes make no menu
