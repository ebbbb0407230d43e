"""Canonical URLs: every spelling of one article's address becomes the same string."""

import pytest

from processing.dedup import canonical_url


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("http://EXAMPLE.org:80/news/1?b=2&a=1#comments", "http://example.org/news/1?a=1&b=2"),
        ("https://www.toutiao.com/article/7558/?wid=1&spm=a.b&yclid=9", None),
        (
            "https://m.kavkaz-uzel.eu/articles/416020/",
            "https://www.kavkaz-uzel.eu/articles/416020/",
        ),
        ("https://mobile.example.org/news/1", "https://www.example.org/news/1"),
        ("https://www.example.org/news/1/amp/", "https://www.example.org/news/1/"),
        ("https://www.example.org/amp/news/1", "https://www.example.org/news/1"),
        ("https://www.example.org/news/1.amp.html", "https://www.example.org/news/1.html"),
        ("https://www.example.org/news/1?amp=1&utm_medium=x", "https://www.example.org/news/1"),
        (
            "https://caliber-az.cdn.ampproject.org/c/s/caliber.az/en/post/x?amp",
            "https://caliber.az/en/post/x",
        ),
        ("https://m.example/x", "https://m.example/x"),  # a two-label host is not a mobile twin
        ("https://amp.dev/about/", "https://amp.dev/about/"),
    ],
)
def test_mobile_amp_and_tracking_variants_share_one_url(variant, canonical):
    expected = canonical or "https://www.toutiao.com/article/7558/?wid=1"
    assert canonical_url(variant) == expected
    assert canonical_url(expected) == expected
