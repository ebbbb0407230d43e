"""The HTTP client: what each kind of bad answer becomes, and how politely it asks."""

import asyncio
import gzip
from dataclasses import replace

import httpx
import pytest

from connectors.config import Politeness
from connectors.http import (
    ROBOTS_DISALLOWED,
    USER_AGENT,
    HttpClient,
    TooLarge,
    decode_body,
    gunzip,
)
from connectors.records import Validators
from fixture_site import FixtureSite, bad_paths, manifest

pytestmark = pytest.mark.anyio

_RU = "Жители горного села в Дагестане третью неделю остаются без газа"
FAST = Politeness(timeout_seconds=1.0, retries=2, backoff_seconds=0.05, delay_seconds=0)


def _bad_url(site, behaviour: str) -> str:
    entry = next(b for b in bad_paths() if b["behaviour"] == behaviour)
    return site.url(entry["source_id"], entry["path"])


def _requests_to(site, url: str) -> list:
    path = url.removeprefix(site.base_url)
    return [r for r in site.requests if r.path == path]


@pytest.fixture
async def client():
    async with HttpClient() as running:
        yield running


async def test_a_good_page_is_decoded_with_its_status_and_type(site, client):
    entry = manifest()[0]
    attempt = await client.fetch(site.url(entry["source_id"], entry["path"]), "s", FAST)
    assert (attempt.outcome, attempt.http_status, attempt.content_type) == ("ok", 200, "text/html")
    assert entry["title"] in attempt.text


async def test_server_errors_are_retried_with_backoff_then_recorded(site, client):
    url = _bad_url(site, "server_error")
    attempt = await client.fetch(url, "s", FAST)
    assert (attempt.outcome, attempt.http_status, attempt.error) == (
        "http_error",
        500,
        "HTTP 500 Internal Server Error",
    )
    times = [r.time for r in _requests_to(site, url)][-3:]
    assert len(_requests_to(site, url)) >= 3  # first try + 2 retries
    assert times[2] - times[1] >= times[1] - times[0] > 0  # backoff grows


async def test_client_errors_are_not_retried(site, client):
    url = site.url("caucasian-knot", "/no-such-page/")
    attempt = await client.fetch(url, "s", FAST)
    assert (attempt.outcome, attempt.http_status) == ("http_error", 404)
    assert len(_requests_to(site, url)) == 1


async def test_a_page_that_never_answers_times_out(site, client):
    attempt = await client.fetch(_bad_url(site, "timeout"), "s", replace(FAST, retries=0))
    assert attempt.outcome == "timeout" and "1.0s" in attempt.error


async def test_an_empty_body_is_its_own_outcome(site, client):
    assert (await client.fetch(_bad_url(site, "empty"), "s", FAST)).outcome == "empty"


async def test_a_redirect_loop_is_cut_short(site, client):
    attempt = await client.fetch(_bad_url(site, "redirect_loop"), "s", FAST)
    assert attempt.outcome == "redirect_loop"


async def test_bodies_over_the_cap_are_refused(site, client):
    attempt = await client.fetch(_bad_url(site, "huge"), "s", FAST)
    assert attempt.outcome == "too_large" and attempt.text is None


async def test_requests_say_who_we_are(site, client):
    url = site.url("caucasian-knot", "/articles.rss")
    await client.fetch(url, "s", FAST)
    assert _requests_to(site, url)[-1].headers["user-agent"] == USER_AGENT


async def test_requests_to_one_host_are_spaced_by_the_delay(site, client):
    url = site.url("caucasian-knot", "/articles.rss")
    polite = replace(FAST, delay_seconds=0.3, max_per_host=4)
    await asyncio.gather(*(client.fetch(url, "s", polite) for _ in range(3)))
    times = [r.time for r in _requests_to(site, url)][-3:]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.28


async def test_hosts_overlap_but_each_gets_at_most_its_limit(client):
    """Two slow pages on each of two hosts: the hosts run side by side, one request each."""
    polite = replace(FAST, timeout_seconds=0.4, retries=0, max_per_host=1)
    with FixtureSite(hang_seconds=30) as one, FixtureSite(hang_seconds=30) as two:
        urls = [_bad_url(s, "timeout") for s in (one, two) for _ in range(2)]
        attempts = await asyncio.gather(*(client.fetch(u, "s", polite) for u in urls))
        assert {a.outcome for a in attempts} == {"timeout"}
        for site in (one, two):
            first, second = [r.time for r in _requests_to(site, _bad_url(site, "timeout"))]
            assert second - first >= 0.38  # the second waited for the first to time out
        starts = sorted(r.time for s in (one, two) for r in s.requests if "robots" not in r.path)
        assert starts[1] - starts[0] < 0.3  # the two hosts did not wait for each other


async def test_a_refused_connection_is_a_network_error(client):
    attempt = await client.fetch("http://127.0.0.1:9/", "s", replace(FAST, retries=0))
    assert attempt.outcome == "network_error"


async def test_robots_txt_is_honoured_and_read_once_per_host(site):
    disallowed = _bad_url(site, "disallowed")
    before = len(site.requests)
    async with HttpClient() as fresh:
        skipped = await fresh.fetch(disallowed, "s", FAST)
        allowed = await fresh.fetch(site.url("caucasian-knot", "/articles.rss"), "s", FAST)
    assert (skipped.outcome, skipped.error, skipped.http_status) == (
        "skipped",
        ROBOTS_DISALLOWED,
        None,
    )
    assert allowed.outcome == "ok"
    paths = [r.path for r in site.requests[before:]]
    assert paths == ["/robots.txt", "/caucasian-knot/articles.rss"]


async def test_retry_after_is_waited_for_not_hammered(client):
    path = "/caliber-az/sitemap.xml"
    with FixtureSite(rate_limit={path: 2}, retry_after_seconds=1) as limited:
        attempt = await client.fetch(limited.base_url + path, "s", replace(FAST, retries=3))
        times = [r.time for r in limited.requests if r.path == path]
        statuses = [r.status for r in limited.requests if r.path == path]
    assert attempt.outcome == "ok"
    assert statuses == [429, 429, 200]
    assert all(b - a >= 0.98 for a, b in zip(times, times[1:], strict=False))  # not 0.05 s


async def test_a_retry_after_longer_than_a_run_can_wait_is_recorded(client):
    path = "/caliber-az/sitemap.xml"
    with FixtureSite(rate_limit={path: 1}, retry_after_seconds=3600) as limited:
        attempt = await client.fetch(limited.base_url + path, "s", FAST)
        assert len([r for r in limited.requests if r.path == path]) == 1
    assert (attempt.outcome, attempt.http_status) == ("http_error", 429)


async def test_conditional_get_answers_not_modified(site, client):
    url = site.url("caliber-az", "/sitemap.xml")
    first = await client.fetch(url, "s", FAST)
    assert first.validators.etag
    again = await client.fetch(url, "s", FAST, first.validators)
    assert (again.outcome, again.http_status, again.text) == ("not_modified", 304, None)
    assert _requests_to(site, url)[-1].headers["if-none-match"] == first.validators.etag
    changed = await client.fetch(url, "s", FAST, Validators(etag='"stale"'))
    assert changed.outcome == "ok"


async def test_gzip_files_are_inflated_within_the_cap(site, client):
    url = site.url("caliber-az", "/sitemap-en.xml.gz")
    attempt = await client.fetch(url, "s", FAST)
    assert attempt.outcome == "ok" and attempt.text.lstrip().startswith("<?xml")
    packed = httpx.get(url).content
    cap = len(packed) + 1  # the file fits, what it inflates to does not
    assert len(gzip.decompress(packed)) > cap
    small = await client.fetch(url, "s", replace(FAST, max_bytes=cap))
    assert small.outcome == "too_large" and "inflates" in small.error


def test_a_gzip_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(b"0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(TooLarge):
        gunzip(bomb, 1_000_000)
    assert gunzip(gzip.compress(b"<urlset/>"), 100) == b"<urlset/>"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("Привет".encode("cp1251"), "text/html; charset=windows-1251", "Привет"),
        (b"\xef\xbb\xbf" + "Привет".encode(), "text/html", "Привет"),
        (
            b'<html><head><meta charset="windows-1251"></head>' + "Привет".encode("cp1251"),
            "text/html",
            "Привет",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=gbk">新闻'.encode("gbk"),
            "text/html",
            "新闻",
        ),
        ("Əliyev, Gəncə, Xəzər, dağ, qış".encode(), "text/html", "Əliyev, Gəncə, Xəzər, dağ, qış"),
        (_RU.encode("cp1251"), "text/html; charset=nonsense", _RU),
        (
            "俄罗斯总统普京和阿塞拜疆总统".encode("gb18030"),
            "text/html",
            "俄罗斯总统普京和阿塞拜疆总统",
        ),
        (_RU.encode(), "text/html; charset=windows-1251", _RU),  # UTF-8 under a wrong header
        (
            '<meta charset="windows-1251"><p>Xəzər dənizi</p>'.encode(),
            "text/html",
            "Xəzər dənizi",
        ),
        (
            '<meta charset="gb18030"><p>俄罗斯总统普京和阿塞拜疆总统</p>'.encode("gb18030"),
            "text/html",
            "俄罗斯总统普京和阿塞拜疆总统",
        ),
    ],
)
def test_bodies_are_decoded_in_the_order_browsers_use(body, content_type, expected):
    assert expected in decode_body(body, content_type)
