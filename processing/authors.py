"""People from a byline in any script: a list, with roles, agencies and site names taken out.

"By A and B", "Иван Петрович Сидоров, корреспондент", "记者 张三", "Reuters" and "LinkNaija"
all come to the people they name (B, A; Иван Петрович Сидоров; 张三; none; none). A name of
one word is kept in scripts that write names without spaces (张三) and when it reads as a
name (Regan), never as a handle (jdadmin) or a brand (LinkNaija).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from connectors.sanitize import one_line, without_marks

_SPLIT = re.compile(
    r"\s*(?:(?<=[^\W\d_]{3})\.\s+|;|\||,|&|/|、|，|\band\b|\bund\b|\bet\b|\by\b|\bи\b|\bvə\b|和|与)\s*",
    re.I,
)
# A lead word ends where its word does ("Byron", "Paris" are names); CJK ones run into the name.
_LEAD = re.compile(
    r"^(?:(?:by|from|von|par|por|authors?|autor|автор(?:ы)?|текст|фото|müəllif|written by"
    r"|posted by|reporting by)(?![^\W\d_])|本文作者|作者|记者|記者|编辑|編輯|责任编辑|文|기자)"
    r"\s*[:：]?\s*",
    re.I,
)
# Roles and titles printed beside a name, in the sources' languages.
_ROLES = re.compile(
    r"\b(?:staff writer|staff reporter|senior writer|contributing writer|contributor|columnist"
    r"|opinion columnist|correspondent|reporter|editor|writer|special to [\w .]+|photographer"
    r"|корреспондент\w*|обозревател\w*|редактор\w*|журналист\w*|специальн\w+ корреспондент\w*"
    r"|собкор|müxbir|redaktor)\b|记者|記者|编辑|編輯|通讯员|报道|기자|特派员",
    re.I,
)
# News agencies and placeholders that are no person.
_NOT_PEOPLE = {
    "reuters", "ap", "associated press", "afp", "bloomberg", "dpa", "efe", "ansa", "upi",
    "xinhua", "新华社", "中新社", "中新网", "人民网", "央视新闻", "тасс", "риа новости",
    "интерфакс",
    "ria novosti", "tass", "interfax", "apa", "trend", "report", "azertac", "staff", "editorial",
    "editor", "admin", "administrator", "redaction", "редакция", "newsroom", "bureau", "cnn",
    "bbc", "cbs news", "nbc news", "ap auto writer",
}  # fmt: skip
_DATE_WORDS = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*day\b|\b(?:january|february|march|april|june|july"
    r"|august|september|october|november|december|updated|published|posted)\b.*$",
    re.I,
)
_TITLE_AFTER = re.compile(r"(?i)\b(?:writer|editor|reporter|correspondent|columnist|contributor)\b")
_CJK = re.compile(r"[\u3400-\u9fff\uac00-\ud7af\u3040-\u30ff]")
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]+)*\.?$")
MAX_AUTHORS = 10
MAX_NAME_CHARS = 60


def split_authors(byline: str | None, site_name: str | None = None) -> tuple[str, ...]:
    """The people a byline or author field names, in order, without duplicates."""
    if not byline:
        return ()
    site = (site_name or "").casefold().strip()
    people: dict[str, str] = {}
    # one line without controls: a stray BEL or bidi mark from the web costs no name
    for position, part in enumerate(_SPLIT.split(one_line(byline))):
        if position and _TITLE_AFTER.search(part):
            continue  # "By Tom Krisher, AP Auto Writer": a title after the name, no person
        name = _clean(part)
        key = name.casefold()
        if (
            not name
            or key in people
            or key in _NOT_PEOPLE
            or (site and key in (site, site.split(".")[0]))
        ):
            continue
        if _is_name(name):
            people[key] = name
    return tuple(people.values())[:MAX_AUTHORS]


def _clean(part: str) -> str:
    """A part of a byline without its lead word ("By", "作者："), roles and agency tail."""
    part = _LEAD.sub("", part.strip(" -–—:|()[]"))
    part = _ROLES.sub(" ", part)
    part = re.sub(r"@\S+", " ", part)  # a handle printed beside the name
    part = _DATE_WORDS.sub(" ", part)  # "Malcolm Owen Monday" before the byline's date
    return " ".join(part.split()).strip(" -–—:,.|()")


def _is_name(name: str) -> bool:
    """A person's name: CJK of 2 to 4 characters, or up to 5 words that each read as a name
    word with a capital (one word alone only as a plain capitalised name: no handle, no brand)."""
    if len(name) > MAX_NAME_CHARS or any(ch.isdigit() for ch in name):
        return False
    if _CJK.search(name):
        return 2 <= len(name.replace(" ", "").replace("·", "")) <= 8
    words = name.split()
    if not 1 <= len(words) <= 5 or not all(_NAME_WORD.match(w) for w in words):
        return False
    if not any(w[0].isupper() for w in words):
        return False
    if len(words) == 1:
        word = words[0]
        return word[0].isupper() and word[1:].islower() and len(word) >= 3
    return True


# schema.org types whose author is the article's (a page's JSON-LD also describes its site, its
# breadcrumbs, its videos and the organisations behind them).
_ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "liveblogposting",
    "report", "techarticle", "socialmediaposting",
}  # fmt: skip
_ORGANISATIONS = {"organization", "newsmediaorganization", "corporation", "website"}
MAX_JSON_NODES = 2000  # objects and lists walked in one script: a page's JSON-LD is untrusted
# Controls, bidi marks and zero-width characters: none is part of a name.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")


def json_ld_authors(scripts: Iterable[str], site_name: str | None = None) -> tuple[str, ...]:
    """The people a page's JSON-LD names as its article's author, read here rather than by
    trafilatura, whose reader lost a name with a stray control character in it: each name is
    read on its own and a control, bidi or zero-width mark costs only itself."""
    people: dict[str, str] = {}
    for text in scripts:
        try:
            data = json.loads(text, strict=False)  # controls inside strings are the web's
        except (ValueError, RecursionError):
            continue
        objects = list(_objects(data))
        ids = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str) and "name" in o}
        for thing in objects:
            if not _types(thing) & _ARTICLE_TYPES:
                continue
            for author in _as_list(thing.get("author")):
                for person in split_authors(_person(author, ids), site_name):
                    people.setdefault(person.casefold(), person)
            if people:
                return tuple(people.values())[:MAX_AUTHORS]
    return ()


def _objects(data: object) -> Iterator[dict]:
    """Every JSON object in a script's value (@graph and lists included), within a budget."""
    stack, budget = [data], MAX_JSON_NODES
    while stack and budget:
        budget -= 1
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(reversed([v for v in value.values() if isinstance(v, dict | list)]))
        elif isinstance(value, list):
            stack.extend(reversed([v for v in value if isinstance(v, dict | list)]))


def _types(thing: dict) -> set[str]:
    kinds = thing.get("@type")
    return {k.casefold() for k in _as_list(kinds) if isinstance(k, str)}


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _person(author: object, ids: dict[str, dict]) -> str | None:
    """A JSON-LD author's name, visible characters only: a string, or a Person (by reference
    too); an organisation is no person."""
    if isinstance(author, dict) and "name" not in author and author.get("@id") in ids:
        author = ids[author["@id"]]
    if isinstance(author, dict):
        if _types(author) & _ORGANISATIONS:
            return None
        author = author.get("name")
        author = author[0] if isinstance(author, list) and author else author
    return without_marks(_INVISIBLE, author) if isinstance(author, str) else None
