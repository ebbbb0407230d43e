"""trafilatura's pruning XPaths, evaluated in Python: the same elements, 2.6x faster.

Its rules test class and id names with EXSLT regular expressions (`re:test`), and libxml2 calls
back into Python for each test of each element: in precision mode that was a quarter of the
page path's time. The rules are simple predicates over one element's attributes, so each is
compiled here into one Python expression over the element, from the XPath's own text (a new
trafilatura vocabulary carries over). An XPath using anything outside that small grammar is
left as it is. tests/test_fast_xpaths.py checks that both select the same elements.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import trafilatura
from lxml import etree
from trafilatura import xpaths

# The lists trafilatura reads only by calling each expression on an element; both the pruning
# (htmlprocessing.prune_unwanted_nodes) and the metadata search (metadata.extract_metainfo).
LISTS = (
    "OVERALL_DISCARD_XPATH",
    "REMOVE_COMMENTS_XPATH",
    "REMOVE_COMMENTS_AND_LISTS_XPATH",
    "RAW_TREE_PRUNE_XPATH",
    "PRECISION_DISCARD_XPATH",
    "TEASER_DISCARD_XPATH",
    "AUTHOR_DISCARD_XPATHS",
    "AUTHOR_XPATHS",
    "TITLE_XPATHS",
)

_TOKEN = re.compile(
    r"""\s*('[^']*'|"[^"]*"|\.//|//|self::|re:test|starts-with|[A-Za-z_][\w-]*|[()\[\],|=@*])"""
)
_NAME = re.compile(r"[A-Za-z_][\w-]*")
_REGEX_FLAGS = {"": 0, "i": re.IGNORECASE}
log = logging.getLogger("newsflow.pages")
# A made-up article page with the furniture the patched rules remove (share links, comments,
# related teasers, newsletter boxes): the self-check extracts it with and without them.
REFERENCE_PAGE = Path(__file__).with_name("reference_page.html")
_MEMO_SIZE = 4096  # attribute values remembered per regular expression


class Unsupported(ValueError):
    """An XPath outside the grammar compiled here: trafilatura keeps evaluating it itself."""


class CompiledPath:
    """A callable like lxml's XPath for `.//*[...]` or `//*[...]`: the matching elements in
    document order, from the context element's descendants or (`//`) the whole document.

    Candidates come from C: lxml's tag-filtered iteration where the path names tags, else a
    plain XPath for the elements having an attribute the test needs. Only they reach Python.
    """

    def __init__(self, path: str, walk: Walk, test: Callable[[Any], bool]) -> None:
        self.path = path
        self._walk = walk
        self._test = test

    def __call__(self, element: etree._Element) -> list[etree._Element]:
        return [candidate for candidate in self._walk(element) if self._test(candidate)]

    def __repr__(self) -> str:
        return f"CompiledPath({self.path!r})"


Walk = Callable[[etree._Element], Iterable[etree._Element]]


def _walk(absolute: bool, tags: tuple[str, ...], needs: frozenset[str] | None) -> Walk:
    """The candidates of a path: elements of the tags, or having one of the attributes."""
    if not tags and needs:
        attributes = " or ".join(f"@{name}" for name in sorted(needs))
        return etree.XPath(f"{'//' if absolute else './/'}*[{attributes}]")
    names = tags or (etree.Element,)
    if absolute:
        return lambda element: element.getroottree().getroot().iter(*names)
    return lambda element: element.iterdescendants(*names)


def first_value(element: etree._Element, names: tuple[str, ...]) -> str:
    """XPath's string value of `@a|@b`: the first of those attributes in the element's order
    (read only where the element has more than one of them)."""
    present = [name for name in names if element.get(name) is not None]
    if len(present) > 1:
        order = element.keys()
        present.sort(key=order.index)
    return element.get(present[0]) if present else ""


_STRING_VALUE = etree.XPath("string()")  # an element's text and its descendants', as XPath reads it


def _memoized(search: Callable[[str], object]) -> Callable[[str], bool]:
    """A regular expression's verdict per attribute value, kept: class names repeat within a
    page and across a site's pages, and a dictionary look-up is cheaper than a search."""
    return lru_cache(maxsize=_MEMO_SIZE)(lambda value: search(value) is not None)


class _Parser:
    """Recursive descent over the tokens of one XPath, emitting a Python expression on `e`."""

    def __init__(self, path: str) -> None:
        self.tokens = []
        end = 0
        while match := _TOKEN.match(path, end):
            self.tokens.append(match.group(1))
            end = match.end()
        if path[end:].strip():
            raise Unsupported(f"unknown token at {path[end : end + 20]!r}")
        self.position = 0
        self.constants: dict[str, Any] = {}

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"expected {expected!r}, found {token!r}")
        self.position += 1
        return token

    def constant(self, value: object) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def name(self) -> str:
        """A tag or attribute name: `*` and namespaced names are outside the grammar."""
        token = self.take()
        if not _NAME.fullmatch(token) or token in ("or", "and", "not"):
            raise Unsupported(f"expected a name, found {token!r}")
        return token

    def string(self) -> str:
        token = self.take()
        if token[0] not in "'\"":
            raise Unsupported(f"expected a string, found {token!r}")
        return token[1:-1]

    def path(self) -> tuple[Walk, str]:
        """How to find the candidates, and the test's Python expression. A union of paths
        (`//*[self::a][...]|//author`) is one walk over all their tags, in document order, each
        candidate tested by the paths naming its tag."""
        parts = [self.step()]
        while self.peek() == "|":
            self.take()
            parts.append(self.step())
        if self.peek() is not None:
            raise Unsupported("more than one step")
        if len(parts) == 1:
            absolute, tags, source, needs = parts[0]
            return _walk(absolute, tags, needs), source
        if len({absolute for absolute, *_ in parts}) > 1 or not all(tags for _, tags, *_ in parts):
            raise Unsupported("a union of paths that do not all name their tags")
        tests = [
            f"(e.tag in {self.constant(frozenset(tags))} and ({source}))"
            for _, tags, source, _ in parts
        ]
        every = tuple(dict.fromkeys(tag for _, tags, *_ in parts for tag in tags))
        return _walk(parts[0][0], every, None), " or ".join(tests)

    def step(self) -> tuple[bool, tuple[str, ...], str, frozenset[str] | None]:
        """One descendant path `//*[...]` or `//tag[...]`: whether it reads the whole document,
        its tags (none: any), its test and the attributes a candidate needs."""
        step = self.take()
        if step not in (".//", "//"):
            raise Unsupported("not a descendant path")
        if self.peek() == "*":
            self.take()
            tags = self.tag_filter()
        else:
            tags = (self.name(),)
        predicates: list[_Term] = []
        while self.peek() == "[":
            self.take("[")
            predicates.append(self.expression())
            self.take("]")
        if not predicates and len(tags) != 1:
            raise Unsupported("no predicate")
        source, needs = _all(predicates) if predicates else ("True", None)
        return step == "//", tags, source, needs

    def tag_filter(self) -> tuple[str, ...]:
        """The names of a first predicate `[self::a or self::b]`, left to lxml's iteration.
        Empty where the first predicate is something else."""
        tokens = self.tokens[self.position :]
        end = tokens.index("]") if "]" in tokens else 0
        inner = tokens[1:end]
        shape = ["self::", None, "or"] * (len(inner) // 3) + ["self::", None]
        if (
            tokens[:1] != ["["]
            or len(inner) != len(shape)
            or any(want is not None and got != want for want, got in zip(shape, inner, strict=True))
            or not all(_NAME.fullmatch(tag) for tag in inner[1::3])
        ):
            return ()
        self.position += end + 1
        return tuple(inner[1::3])

    def expression(self) -> _Term:
        return self.joined("or", self.conjunction, _any)

    def conjunction(self) -> _Term:
        return self.joined("and", self.unary, _all)

    def joined(
        self, word: str, term: Callable[[], _Term], join: Callable[[list[_Term]], _Term]
    ) -> _Term:
        """Terms separated by `word` (or, and), joined into one."""
        terms = [term()]
        while self.peek() == word:
            self.take()
            terms.append(term())
        return join(terms)

    def unary(self) -> _Term:
        token = self.peek()
        if token == "not":
            self.take()
            self.take("(")
            inner, _ = self.expression()
            self.take(")")
            return f"not ({inner})", None
        if token == "(":
            self.take()
            inner = self.expression()
            self.take(")")
            return inner
        if token == "self::":
            self.take()
            return f"e.tag == {self.constant(self.name())}", None
        if token == ".//":
            self.take()
            tag = self.constant(self.name())
            return f"next(e.iterdescendants({tag}), None) is not None", None
        if token == "@":
            names = self.attributes()
            if self.peek() == "=":
                self.take()
                value = self.constant(self.string())
                return " or ".join(f"e.get({name!r}) == {value}" for name in names), names
            return " or ".join(f"e.get({name!r}) is not None" for name in names), names
        if self.position + 1 < len(self.tokens) and self.tokens[self.position + 1] == "=":
            child = self.constant(self.name())  # `rel='me'`: a child element's string value
            self.take("=")
            value = self.constant(self.string())
            return f"any(string_value(c) == {value} for c in e.iterchildren({child}))", None
        return self.function(self.take())

    def function(self, name: str) -> _Term:
        """re:test, contains or starts-with on an attribute's value. `needs` holds where the
        function is false on the empty string, the value of absent attributes."""
        self.take("(")
        value, names = self.value()
        self.take(",")
        argument = self.string()
        if name == "re:test":
            flags = ""
            if self.peek() == ",":
                self.take()
                flags = self.string()
            if flags not in _REGEX_FLAGS:
                raise Unsupported(f"regex flags {flags!r}")
            search = re.compile(argument, _REGEX_FLAGS[flags]).search
            result = f"{self.constant(_memoized(search))}({value})"
            holds_on_empty = search("") is not None
        elif name == "contains":
            result = f"{self.constant(argument)} in {value}"
            holds_on_empty = not argument
        elif name == "starts-with":
            result = f"{value}.startswith({self.constant(argument)})"
            holds_on_empty = not argument
        else:
            raise Unsupported(f"function {name!r}")
        self.take(")")
        return result, None if holds_on_empty else names

    def value(self) -> tuple[str, frozenset[str]]:
        """The string value of `@a`, `@a|@b` or `translate(@a, 'ABC', 'abc')`, and the
        attributes it is read from."""
        if self.peek() == "translate":
            self.take()
            self.take("(")
            inner, names = self.value()
            self.take(",")
            source = self.string()
            self.take(",")
            target = self.string()
            self.take(")")
            table = str.maketrans(source[: len(target)], target, source[len(target) :])
            return f"{inner}.translate({self.constant(table)})", names
        names = self.attributes()
        if len(names) == 1:
            return f"(e.get({next(iter(names))!r}) or '')", names
        return f"first_value(e, {tuple(sorted(names))!r})", names

    def attributes(self) -> frozenset[str]:
        names = []
        while True:
            self.take("@")
            names.append(self.name())
            if self.peek() != "|":
                return frozenset(names)
            self.take()


_Term = tuple[str, frozenset[str] | None]
"""A predicate's Python expression on `e`, and attributes one of which an element must have for
it to hold (None: it can hold without any)."""


def _any(terms: list[_Term]) -> _Term:
    source = " or ".join(f"({term})" for term, _ in terms)
    needs = [names for _, names in terms]
    return source, None if None in needs else frozenset().union(*needs)  # type: ignore[arg-type]


def _all(terms: list[_Term]) -> _Term:
    source = " and ".join(f"({term})" for term, _ in terms)
    needs = [names for _, names in terms if names is not None]
    return source, min(needs, key=len) if needs else None


def compile_path(path: str) -> CompiledPath:
    """The Python twin of an XPath `.//*[...]` or `//*[...]`; Unsupported outside the grammar."""
    parser = _Parser(path)
    walk, source = parser.path()
    namespace = {**parser.constants, "first_value": first_value, "string_value": _STRING_VALUE}
    test = eval(f"lambda e: {source}", namespace)  # noqa: S307 (our own code, from library text)
    return CompiledPath(path, walk, test)


_SHIPPED: dict[tuple[str, int], etree.XPath] = {}


def install() -> bool:
    """Swap each supported rule of trafilatura's lists for its twin, in the lists themselves
    (trafilatura's modules imported the list objects), if the twins pass the self-check.

    Called by the page workers (pipeline.pages), never on import. Idempotent. The patched and
    the shipped rules must extract the reference page identically (in precision and in recall
    mode); on any difference or error the shipped rules are put back, a warning is logged, and
    False says the page path runs unpatched: slower, never different.
    """
    if _SHIPPED:
        return True
    try:
        before = _reference_extractions()
        _swap_in()
        after = _reference_extractions()
    except Exception:
        log.warning("fast_xpaths: self-check failed, trafilatura's own XPaths kept", exc_info=True)
        _restore()
        return False
    if before != after:
        log.warning("fast_xpaths: patched extraction differs on the reference page, not used")
        _restore()
        return False
    return True


def _swap_in() -> None:
    """A list that a later trafilatura renames is left alone."""
    for name in LISTS:
        rules = getattr(xpaths, name, [])
        for index, rule in enumerate(rules):
            if isinstance(rule, etree.XPath) and "re:" in rule.path:
                try:
                    rules[index] = compile_path(rule.path)
                except Unsupported:
                    continue
                _SHIPPED[name, index] = rule


def _restore() -> None:
    for (name, index), rule in _SHIPPED.items():
        getattr(xpaths, name)[index] = rule
    _SHIPPED.clear()


def _reference_extractions() -> list[dict[str, object]]:
    """trafilatura's whole result on the reference page, in both modes the page path uses."""
    html = REFERENCE_PAGE.read_text(encoding="utf-8")
    results = []
    for precision in (True, False):
        document = trafilatura.bare_extraction(
            html,
            url="https://courier.example/news/harvest-river-ports",
            include_comments=False,
            include_tables=True,
            favor_precision=precision,
        )
        fields = {} if document is None else document.as_dict()
        results.append({k: _comparable(v) for k, v in fields.items()})
    return results


def _comparable(value: object) -> object:
    """A result field as compared: element trees by their markup, not their identity."""
    return etree.tostring(value, encoding="unicode") if isinstance(value, etree._Element) else value


@contextmanager
def shipped() -> Iterator[None]:
    """trafilatura with its own XPaths for a while: the benchmark's baseline, and the tests
    that compare the two."""
    twins = {key: getattr(xpaths, key[0])[key[1]] for key in _SHIPPED}
    for (name, index), rule in _SHIPPED.items():
        getattr(xpaths, name)[index] = rule
    try:
        yield
    finally:
        for (name, index), twin in twins.items():
            getattr(xpaths, name)[index] = twin
