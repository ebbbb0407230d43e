"""One row per article: canonical URLs and normalized-text hashes."""

from processing.dedup import canonical_url, content_hash


def test_canonical_url_removes_what_does_not_name_the_page():
    assert canonical_url(
        "HTTPS://WWW.Caliber.AZ:443/en/post/x?utm_source=tg&id=3&fbclid=1#top"
    ) == ("https://www.caliber.az/en/post/x?id=3")


def test_canonical_url_keeps_non_default_ports_and_meaningful_query():
    assert canonical_url("http://127.0.0.1:8765/toutiao/article/1/?page=2") == (
        "http://127.0.0.1:8765/toutiao/article/1/?page=2"
    )


def test_content_hash_ignores_case_and_whitespace_only():
    assert content_hash("Путин  и\nАлиев") == content_hash("путин и алиев")
    assert content_hash("Путин и Алиев") != content_hash("Путин и Пашинян")
