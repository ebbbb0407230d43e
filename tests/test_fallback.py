"""trafilatura's readability/justext comparison runs only on short or unfit precision texts."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
import trafilatura

from processing.fallback import compared_below

_SENTENCE = "The council met on Tuesday evening to discuss the bridge. "
_PARAGRAPH = (
    "<p>Paragraph {} of the long story tells how the council voted on the new bridge, what the "
    "engineers said about its cost, and why the residents of the old town were divided.</p>"
)


def _page(lead_sentences: int) -> str:
    """An article body trafilatura reads first (its class), beside a bigger block of text that
    readability prefers when it is over twice as long."""
    others = "".join(_PARAGRAPH.format(i) for i in range(20))
    return (
        "<html><head><title>Bridge vote</title></head><body>"
        f'<div class="story-content"><p>{_SENTENCE * lead_sentences}</p></div>'
        f'<div class="other">{others}</div></body></html>'
    )


def _text(html: str, below: int | None) -> str | None:
    tree = lxml.html.document_fromstring(html)

    def extract() -> str | None:
        document = trafilatura.bare_extraction(
            tree, include_comments=False, include_tables=True, favor_precision=True
        )
        return document.text if document is not None else None

    if below is None:
        return extract()
    with compared_below(below, tree):
        return extract()


def test_a_long_clean_precision_text_is_kept_without_the_comparison():
    html = _page(10)  # 579 characters of its own
    shipped = _text(html, None)
    assert _SENTENCE.strip() in shipped and "Paragraph 19" in shipped  # readability's choice
    gated = _text(html, 500)
    assert "Paragraph" not in gated and gated.startswith(_SENTENCE.strip())
    assert _text(html, None) == shipped  # outside the context trafilatura is as shipped


@pytest.mark.parametrize("lead_sentences", [1, 10])
def test_below_the_threshold_the_comparison_runs_as_shipped(lead_sentences):
    html = _page(lead_sentences)
    assert _text(html, 10**6) == _text(html, None)
    if lead_sentences == 1:  # 58 characters: short, so compared at 500 too
        assert _text(html, 500) == _text(html, None)


_ROOT = Path(__file__).resolve().parent.parent
_PAGES = sorted((_ROOT / "fixture_site" / "site").rglob("*.html")) + sorted(
    (_ROOT / "tests" / "pages").glob("*.html")
)


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: p.name)
def test_with_every_text_compared_the_gate_is_trafilatura_as_shipped(page: Path) -> None:
    """The gated step repeats trafilatura's own: where it always compares, every page comes
    out as trafilatura's (a later trafilatura that changes the step shows here)."""
    html = page.read_text(encoding="utf-8", errors="replace")
    assert _text(html, 10**9) == _text(html, None)
