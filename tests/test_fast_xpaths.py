"""trafilatura's pruning XPaths evaluated in Python select what trafilatura's own select.

The twins are faster only if they are the same rules: each is compared with its XPath on every
page the project holds and on pages built to reach the corners of XPath's semantics.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from trafilatura import xpaths

from connectors.markup import parse_html
from pipeline.pages import PageProcessor
from processing import fast_xpaths
from processing.extract import ExtractionError, extract
from processing.fast_xpaths import CompiledPath, Unsupported, compile_path, shipped

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "fixture_site" / "site").rglob("*.html")) + sorted(
    (ROOT / "tests" / "pages").glob("*.html")
)

# Corners: @id|@class is the first of the two in the element's own order; translate() folds
# case; the context element is never its own match, but `//` reads the whole document; empty
# attributes, comments and processing instructions; elements of trafilatura's converted tags.
CORNERS = """<html><head><title>t</title></head><body class="sidebar">
<div class="cookie-bar" id="main">first class</div>
<div id="main" class="cookie-bar">first id</div>
<div id="cookie" class="content">id cookie</div>
<nav><div role="NavigatioN">role</div><span role="none">no</span></nav>
<p style="display: none">hidden</p><p style="display:none">hidden too</p>
<section aria-hidden="true">aria</section><section aria-hidden="false">shown</section>
<div class="">empty</div><div id="">empty id</div>
<!-- a comment with class="share-" --><?php echo 'pi' ?>
<list class="menu"><item class="elated">x</item></list>
<div class="comments-list"><ol id="comment-3"><li>c</li></ol><ul class="x"><li>d</li></ul></div>
<div class="infinite-scroll"><h1>Kept: holds the h1</h1></div>
<div class="infinite-scroll"><h2>dropped</h2></div>
<details id="commentary">kept: not a comment</details><details id="Comments">comments</details>
<h1 class="entry-title">Title</h1><h2 itemprop="headline">Headline</h2>
<span class="author-name">A. Writer</span><a rel="author" href="/a">B. Writer</a>
<div class="bottom link">b</div><div style="border: 1px">border</div>
<div class="Byline">C. Writer</div><div data-component="Byline">D. Writer</div>
<p><rel>me</rel>E. Writer</p><span><rel>m<b>e</b></rel></span><div><rel>you</rel></div>
<author>F. Writer</author><p id="author">G. Writer</p>
</body></html>"""


def _rules() -> list[tuple[str, etree.XPath, CompiledPath]]:
    fast_xpaths.install()
    with shipped():
        originals = {name: list(getattr(xpaths, name)) for name in fast_xpaths.LISTS}
    return [
        (f"{name}[{index}]", original, twin)
        for name in fast_xpaths.LISTS
        for index, (original, twin) in enumerate(
            zip(originals[name], getattr(xpaths, name), strict=True)
        )
        if isinstance(twin, CompiledPath)
    ]


def _contexts(html: str) -> list[etree._Element]:
    """The page's root, its body and a deep copy of a nested element (a tree of its own, as
    trafilatura's metadata search copies it), each a context the rules are called on."""
    tree = parse_html(html)
    contexts = [tree]
    if (body := tree.find("body")) is not None:
        contexts.append(body)
        if (nested := next(body.iter("div", "section", "article"), None)) is not None:
            contexts.append(copy.deepcopy(nested))
    return contexts


def test_the_rules_trafilatura_spends_its_time_on_are_compiled() -> None:
    compiled = {name for name, _, _ in _rules()}
    assert {"OVERALL_DISCARD_XPATH[0]", "OVERALL_DISCARD_XPATH[1]"} <= compiled
    assert {"AUTHOR_DISCARD_XPATHS[0]", "AUTHOR_XPATHS[0]"} <= compiled


@pytest.mark.parametrize("page", [*PAGES, "corners"], ids=lambda p: getattr(p, "name", p))
def test_each_twin_selects_the_same_elements_as_its_xpath(page: Path | str) -> None:
    html = CORNERS if page == "corners" else page.read_text(encoding="utf-8", errors="replace")
    for name, original, twin in _rules():
        for context in _contexts(html):
            assert twin(context) == original(context), (name, context.tag)


def test_the_corners_page_reaches_the_twins_branches() -> None:
    """The corners page is a test only if the rules select something on it, and not all."""
    tree = parse_html(CORNERS)
    selected = {name: len(twin(tree)) for name, _, twin in _rules()}
    assert selected["OVERALL_DISCARD_XPATH[0]"] >= 4
    assert selected["OVERALL_DISCARD_XPATH[1]"] == 3  # the two display:none and aria-hidden
    assert selected["RAW_TREE_PRUNE_XPATH[0]"] == 1  # the one without an h1
    assert selected["TITLE_XPATHS[0]"] == 2
    # rel='me' (the child's whole text, markup inside it too), <author>, id="author", the
    # rel="author" link and the author-name span: the union and the child's text are reached
    assert selected["AUTHOR_XPATHS[0]"] == 6


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_extraction_is_the_same_with_trafilaturas_own_xpaths(page: Path) -> None:
    html = page.read_text(encoding="utf-8", errors="replace")

    def run() -> object:
        try:
            return extract(html, "https://example.com/article")
        except ExtractionError as error:
            return str(error)

    fast = run()
    with shipped():
        assert run() == fast


def test_a_path_outside_the_grammar_stays_trafilaturas() -> None:
    with pytest.raises(Unsupported):
        compile_path("//*[self::a][rel!='me']")  # only = compares a child element's text
    with pytest.raises(Unsupported):
        compile_path("//*[@id='x']|//p")  # a union whose paths do not all name their tags
    with pytest.raises(Unsupported):
        compile_path("//p[@id='x']|.//a")  # a union read from two contexts
    with pytest.raises(Unsupported):
        compile_path(".//div//a[re:test(@href, 'x')]")  # more than one step
    with pytest.raises(Unsupported):
        compile_path(".//*[re:test(@class, 'x', 'gx')]")
    for wildcard in (".//*[self::*][@id]", ".//*[@*='x']", ".//*[self::div or self::*]"):
        with pytest.raises(Unsupported):
            compile_path(wildcard)
    with pytest.raises(Unsupported):
        compile_path(".//*[contains(text(), 'x')]")


def test_shipped_puts_the_xpaths_back_for_a_while() -> None:
    fast_xpaths.install()
    with shipped():
        assert all(isinstance(rule, etree.XPath) for rule in xpaths.OVERALL_DISCARD_XPATH)
    assert all(isinstance(rule, CompiledPath) for rule in xpaths.OVERALL_DISCARD_XPATH)


def _unpatched() -> None:
    """Put trafilatura's own rules back, as before any install in this process."""
    fast_xpaths._restore()


def test_importing_the_extractor_patches_nothing() -> None:
    code = (
        "import processing.extract, processing.page\n"
        "from lxml import etree\nfrom trafilatura import xpaths\n"
        "assert all(isinstance(r, etree.XPath) for r in xpaths.OVERALL_DISCARD_XPATH)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_page_workers_install_the_twins_after_the_self_check(caplog) -> None:
    _unpatched()
    with PageProcessor(workers=0):
        assert all(isinstance(r, CompiledPath) for r in xpaths.OVERALL_DISCARD_XPATH)
    assert "fast_xpaths" not in caplog.text


def test_twins_that_extract_differently_are_not_used(monkeypatch, caplog) -> None:
    _unpatched()
    monkeypatch.setattr(fast_xpaths, "compile_path", lambda path: lambda element: [])
    assert fast_xpaths.install() is False
    assert all(isinstance(r, etree.XPath) for r in xpaths.OVERALL_DISCARD_XPATH)
    assert "patched extraction differs on the reference page" in caplog.text


def test_a_self_check_that_fails_leaves_trafilatura_as_shipped(monkeypatch, caplog, tmp_path):
    _unpatched()
    monkeypatch.setattr(fast_xpaths, "REFERENCE_PAGE", tmp_path / "missing.html")
    assert fast_xpaths.install() is False
    assert all(isinstance(r, etree.XPath) for r in xpaths.OVERALL_DISCARD_XPATH)
    assert "self-check failed" in caplog.text
    monkeypatch.undo()
    assert fast_xpaths.install() is True
