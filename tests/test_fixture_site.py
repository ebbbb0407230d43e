"""The fixture site's contract: what the pipeline's tests and the demo rely on."""

from __future__ import annotations

import contextlib
import gzip
import html
import itertools
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.robotparser import RobotFileParser

import httpx
import pytest

from connectors.config import load_sources
from connectors.decoding import decode_body
from connectors.pages import unshell
from fixture_site import FixtureSite, bad_paths, legacy_encodings, manifest, source_ids
from fixture_site.server import find_file

FEED_API = "/api/pc/list/user/feed?category=profile_all&token=MS4wLjABAAAA_newsflow"
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
RUBRIC = "/rubric/1?page={}"


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite(hang_seconds=30) as running:
        yield running


def _api_page(site: FixtureSite, cursor: int | None = None) -> dict:
    query = "" if cursor is None else f"&max_behot_time={cursor}"
    response = httpx.get(site.source_base("toutiao") + FEED_API + query)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def _discovered(site: FixtureSite) -> set[str]:
    """Every article URL the sources advertise, read the way the connectors read them."""
    rss = httpx.get(site.source_base("caucasian-knot") + "/articles.rss").text
    urls = {item.findtext("link") for item in ET.fromstring(rss).iter("item")}
    index = ET.fromstring(httpx.get(site.source_base("caliber-az") + "/sitemap.xml").text)
    for child in index.findall("sm:sitemap/sm:loc", SITEMAP_NS):
        body = httpx.get(str(child.text)).content
        sitemap = ET.fromstring(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
        urls |= {loc.text for loc in sitemap.findall("sm:url/sm:loc", SITEMAP_NS)}
    first = _api_page(site)
    second = _api_page(site, first["next"]["max_behot_time"])
    for item in first["data"] + second["data"]:
        urls.add(site.url("toutiao", f"/article/{item['item_id']}/"))
    mobile = httpx.get(site.source_base("toutiao-mobile") + "/list/").json()  # toutiao_info
    older = f"/list/?max_behot_time={mobile['next']['max_behot_time']}"
    for item in (
        mobile["data"] + httpx.get(site.source_base("toutiao-mobile") + older).json()["data"]
    ):
        urls.add(site.url("toutiao-mobile", f"/i{item['item_id']}/info/"))
    for number in itertools.count(1):  # the rubric's pages, up to the first empty one
        page = httpx.get(site.source_base("caucasian-knot-en") + RUBRIC.format(number)).text
        items = re.findall(r'<li class="news-item">.*?<a [^>]*href="([^"]+)"', page, re.S)
        if not items:
            break
        urls.update(items)
    return urls


def test_starts_on_a_free_port_and_stops() -> None:
    with FixtureSite() as one, FixtureSite() as two:
        assert one.port != two.port
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", one.base_url)
        assert one.source_base("caucasian-knot") == one.base_url + "/caucasian-knot"
        assert httpx.get(one.base_url + "/robots.txt").status_code == 200
        base = one.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/robots.txt", timeout=2)


def test_feed_links_point_back_to_the_fixture(site: FixtureSite) -> None:
    response = httpx.get(site.source_base("caucasian-knot") + "/articles.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert "{{base}}" not in response.text
    channel = ET.fromstring(response.text).find("channel")
    assert channel is not None and channel.findtext("language") == "ru"
    links = [item.findtext("link") for item in channel.iter("item")]
    assert links and all(
        link.startswith(site.source_base("caucasian-knot") + "/articles/") for link in links
    )


def test_manifest_is_exactly_what_the_sources_advertise(site: FixtureSite) -> None:
    good = {site.url(e["source_id"], e["path"]) for e in manifest()}
    bad = {site.url(b["source_id"], b["path"]) for b in bad_paths()}
    assert _discovered(site) == good | bad
    assert set(source_ids()) == {e["source_id"] for e in manifest()}


def test_every_manifest_article_is_served_with_its_title(site: FixtureSite) -> None:
    legacy = {"/" + path.removesuffix("index.html") for path in legacy_encodings()}
    sources = {s.id: s for s in load_sources()}
    for entry in manifest():
        url = site.url(entry["source_id"], entry["path"])
        response = httpx.get(url)
        assert response.status_code == 200, entry
        if f"/{entry['source_id']}{entry['path']}" in legacy:
            assert response.headers["content-type"] == "text/html"  # only the page says
            page = decode_body(response.content, response.headers["content-type"])
        else:
            answer = entry["path"].endswith("/info/")  # Toutiao's info endpoint answers JSON
            media_type = "application/json" if answer else "text/html"
            assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
            page = response.text
        source = sources[entry["source_id"]]
        if spec := source.page_json:  # a JavaScript shell or a JSON answer is read from its JSON
            page = unshell(page, spec, url, source.declared_language(url)) or page
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
        assert h1 and html.unescape(h1.group(1)) == entry["title"]
        og = re.search(r'<meta property="og:title" content="([^"]*)"', page)
        assert og and html.unescape(og.group(1)) == entry["title"]
        published = re.search(r'<meta property="article:published_time" content="([^"]*)"', page)
        assert published and published.group(1).startswith(entry["published"] + "T")
        lang = re.search(r'<html lang="([^"]+)"', page)
        assert lang and lang.group(1).split("-")[0] == entry["language"]
        assert f'rel="canonical" href="{url}"' in page


def test_dates_straddle_the_backfill_week() -> None:
    for source_id in source_ids():
        dates = [e["published"] for e in manifest() if e["source_id"] == source_id]
        assert all("2025-09-28" <= d <= "2025-10-10" for d in dates)
        assert any("2025-10-01" <= d <= "2025-10-07" for d in dates), source_id
        assert any(not "2025-10-01" <= d <= "2025-10-07" for d in dates), source_id


def test_json_api_pages_by_cursor(site: FixtureSite) -> None:
    first = _api_page(site)
    assert first["has_more"] is True
    assert _api_page(site, 0) == first  # a zero cursor is the first page too
    second = _api_page(site, first["next"]["max_behot_time"])
    assert second["has_more"] is False
    times = [item["behot_time"] for item in first["data"] + second["data"]]
    assert times == sorted(times, reverse=True)
    assert first["next"]["max_behot_time"] == first["data"][-1]["behot_time"]


@pytest.mark.parametrize(
    ("behaviour", "status", "content_type"),
    [
        ("empty", 200, "text/html; charset=utf-8"),
        ("pdf", 200, "application/pdf"),
        ("server_error", 500, "text/plain; charset=utf-8"),
    ],
)
def test_bad_endpoints_answer_as_declared(
    site: FixtureSite, behaviour: str, status: int, content_type: str
) -> None:
    (entry,) = [b for b in bad_paths() if b["behaviour"] == behaviour]
    response = httpx.get(site.url(entry["source_id"], entry["path"]))
    assert (response.status_code, response.headers["content-type"]) == (status, content_type)
    if behaviour == "empty":
        assert response.content == b""
    if behaviour == "pdf":
        assert response.content.startswith(b"%PDF-") and 200 < len(response.content) < 1000


def test_slow_endpoint_hangs_and_stop_releases_it() -> None:
    (entry,) = [b for b in bad_paths() if b["behaviour"] == "timeout"]
    with FixtureSite() as site:
        url = site.url(entry["source_id"], entry["path"])
        with pytest.raises(httpx.TimeoutException):
            httpx.get(url, timeout=0.3)
        finished = threading.Event()

        def waiting_client() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url, timeout=60)
            finished.set()

        threading.Thread(target=waiting_client, daemon=True).start()
        deadline = time.monotonic() + 5
        while len(site.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        site.stop()
        assert time.monotonic() - started < 2
        assert finished.wait(5), "the hanging request was not released by stop()"


def test_request_log_records_requests(site: FixtureSite) -> None:
    before = len(site.requests)
    path = "/caucasian-knot/articles.rss"
    get = httpx.get(site.base_url + path, headers={"User-Agent": "newsflow-test"})
    head = httpx.head(site.base_url + path)
    missing = httpx.get(site.base_url + "/caucasian-knot/articles/000000/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert missing.status_code == 404
    records = site.requests[before:]
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", path, 200),
        ("HEAD", path, 200),
        ("GET", "/caucasian-knot/articles/000000/", 404),
    ]
    assert records[0].headers["user-agent"] == "newsflow-test"
    assert records[0].time <= records[1].time <= records[2].time


def test_conditional_get_answers_not_modified(site: FixtureSite) -> None:
    url = site.source_base("caliber-az") + "/sitemap.xml"
    etag = httpx.get(url).headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_paths_cannot_leave_the_site_tree() -> None:
    assert find_file("/../server.py") is None
    assert find_file("/%2e%2e/server.py") is None
    assert find_file("/caucasian-knot/articles/415901") is not None  # folder without slash
    assert find_file("/caliber-az/en/post/missing") is None


def test_the_english_sub_sitemap_is_only_served_gzipped(site: FixtureSite) -> None:
    base = site.source_base("caliber-az")
    packed = httpx.get(base + "/sitemap-en.xml.gz")
    assert packed.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in packed.headers
    text = gzip.decompress(packed.content).decode()
    assert "<urlset" in text and "{{base}}" not in text and base + "/en/post/" in text
    index = httpx.get(base + "/sitemap.xml").text
    assert "<sitemapindex" in index and base + "/sitemap-en.xml.gz" in index
    assert httpx.get(base + "/missing.xml.gz").status_code == 404


def test_robots_txt_disallows_exactly_the_disallowed_bad_path(site: FixtureSite) -> None:
    rules = RobotFileParser()
    rules.parse(httpx.get(site.base_url + "/robots.txt").text.splitlines())
    for entry in bad_paths():
        allowed = rules.can_fetch("newsflow", site.url(entry["source_id"], entry["path"]))
        assert allowed == (entry["behaviour"] != "disallowed"), entry
    assert all(rules.can_fetch("newsflow", site.url(e["source_id"], e["path"])) for e in manifest())


def test_a_rate_limited_path_answers_429_with_retry_after_then_serves() -> None:
    path = "/caucasian-knot/articles.rss"
    with FixtureSite(rate_limit={path: 2}, retry_after_seconds=7) as limited:
        answers = [httpx.get(limited.base_url + path) for _ in range(3)]
        other = httpx.get(limited.base_url + "/robots.txt")
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "7"
    assert other.status_code == 200


def test_a_legacy_page_is_windows_1251_declared_only_in_a_meta_tag(site: FixtureSite) -> None:
    [(path, encoding)] = legacy_encodings().items()
    response = httpx.get(site.base_url + "/" + path.removesuffix("index.html"))
    assert "charset" not in response.headers["content-type"]
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    text = response.content.decode(encoding)
    assert f'charset={encoding}"' in text and "Ингушетии" in text and "{{base}}" not in text
