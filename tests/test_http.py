"""The HTTP client: what each kind of bad answer becomes, and how politely it asks.

Against the real fixture site where timing and sockets matter; through httpx.MockTransport and a
fake clock where politeness is about order and spacing, so those tests never sleep.
"""

import asyncio
import gzip
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.config import Politeness, Source
from connectors.decoding import TooLarge, Truncated, decode_body, gunzip
from connectors.http import ACCEPT_ENCODING, USER_AGENT, HttpClient
from connectors.records import Validators
from connectors.robots import ROBOTS_DISALLOWED
from fixture_site import FixtureSite, bad_paths, manifest

pytestmark = pytest.mark.anyio

_RU = "Жители горного села в Дагестане третью неделю остаются без газа"
FAST = Politeness(timeout_seconds=1.0, retries=2, backoff_seconds=0.05, delay_seconds=0)


def _source(base_url: str, politeness: Politeness = FAST, **settings) -> Source:
    return Source("s", "s", "feed", base_url, politeness=politeness, **settings)


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
    url = site.url(entry["source_id"], entry["path"])
    attempt = await client.fetch(url, _source(site.base_url))
    assert (attempt.outcome, attempt.http_status, attempt.content_type) == ("ok", 200, "text/html")
    assert attempt.kind == "article" and entry["title"] in attempt.text


async def test_server_errors_are_retried_with_backoff_then_recorded(site, client):
    url = _bad_url(site, "server_error")
    attempt = await client.fetch(url, _source(site.base_url))
    assert (attempt.outcome, attempt.http_status, attempt.error) == (
        "http_error",
        500,
        "HTTP 500 Internal Server Error",
    )
    assert attempt.is_transient
    times = [r.time for r in _requests_to(site, url)][-3:]
    assert len(_requests_to(site, url)) >= 3  # first try + 2 retries
    assert times[2] - times[1] >= times[1] - times[0] > 0  # backoff grows


async def test_client_errors_are_not_retried(site, client):
    url = site.url("caucasian-knot", "/no-such-page/")
    attempt = await client.fetch(url, _source(site.base_url))
    assert (attempt.outcome, attempt.http_status) == ("http_error", 404)
    assert attempt.is_permanent
    assert len(_requests_to(site, url)) == 1


async def test_a_page_that_never_answers_times_out(site, client):
    source = _source(site.base_url, replace(FAST, retries=0))
    attempt = await client.fetch(_bad_url(site, "timeout"), source)
    assert attempt.outcome == "timeout" and "1s" in attempt.error


async def test_an_empty_body_is_its_own_outcome(site, client):
    attempt = await client.fetch(_bad_url(site, "empty"), _source(site.base_url))
    assert attempt.outcome == "empty"


async def test_a_redirect_loop_is_cut_short(site, client):
    attempt = await client.fetch(_bad_url(site, "redirect_loop"), _source(site.base_url))
    assert attempt.outcome == "redirect_loop"


async def test_bodies_over_the_cap_are_refused(site, client):
    attempt = await client.fetch(_bad_url(site, "huge"), _source(site.base_url))
    assert attempt.outcome == "too_large" and attempt.text is None


async def test_requests_say_who_we_are_and_only_offer_encodings_decoded_under_the_cap(site, client):
    url = site.url("caucasian-knot", "/articles.rss")
    await client.fetch(url, _source(site.base_url))
    headers = _requests_to(site, url)[-1].headers
    assert headers["user-agent"] == USER_AGENT
    assert headers["accept-encoding"] == ACCEPT_ENCODING == "gzip, deflate, zstd"


async def test_hosts_overlap_but_each_gets_at_most_its_limit(client):
    """Two slow pages on each of two hosts: the hosts run side by side, one request each."""
    polite = replace(FAST, timeout_seconds=0.4, retries=0, max_per_host=1)
    with FixtureSite(hang_seconds=30) as one, FixtureSite(hang_seconds=30) as two:
        source = _source(one.base_url, polite, allow_hosts=(two.base_url.removeprefix("http://"),))
        urls = [_bad_url(s, "timeout") for s in (one, two) for _ in range(2)]
        attempts = await asyncio.gather(*(client.fetch(u, source) for u in urls))
        assert {a.outcome for a in attempts} == {"timeout"}
        for site in (one, two):
            first, second = [r.time for r in _requests_to(site, _bad_url(site, "timeout"))]
            assert second - first >= 0.38  # the second waited for the first to time out
        starts = sorted(r.time for s in (one, two) for r in s.requests if "robots" not in r.path)
        assert starts[1] - starts[0] < 0.3  # the two hosts did not wait for each other


async def test_a_refused_connection_is_a_network_error(client):
    source = _source("http://127.0.0.1:9", replace(FAST, retries=0))
    attempt = await client.fetch("http://127.0.0.1:9/", source)
    assert attempt.outcome == "network_error" and "robots.txt unreachable" in attempt.error


async def test_robots_txt_is_honoured_and_read_once_per_host(site):
    disallowed = _bad_url(site, "disallowed")
    before = len(site.requests)
    async with HttpClient() as fresh:
        skipped = await fresh.fetch(disallowed, _source(site.base_url))
        allowed = await fresh.fetch(
            site.url("caucasian-knot", "/articles.rss"), _source(site.base_url)
        )
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
        source = _source(limited.base_url, replace(FAST, retries=3))
        attempt = await client.fetch(limited.base_url + path, source)
        times = [r.time for r in limited.requests if r.path == path]
        statuses = [r.status for r in limited.requests if r.path == path]
    assert attempt.outcome == "ok"
    assert statuses == [429, 429, 200]
    assert all(b - a >= 0.98 for a, b in zip(times, times[1:], strict=False))  # not 0.05 s


async def test_a_retry_after_longer_than_a_run_can_wait_is_recorded(client):
    path = "/caliber-az/sitemap.xml"
    with FixtureSite(rate_limit={path: 1}, retry_after_seconds=3600) as limited:
        attempt = await client.fetch(limited.base_url + path, _source(limited.base_url))
        assert len([r for r in limited.requests if r.path == path]) == 1
    assert (attempt.outcome, attempt.http_status) == ("http_error", 429)


async def test_conditional_get_answers_not_modified(site, client):
    url, source = site.url("caliber-az", "/sitemap.xml"), _source(site.base_url)
    first = await client.fetch(url, source)
    assert first.validators.etag
    again = await client.fetch(url, source, "listing", first.validators)
    assert (again.outcome, again.http_status, again.text) == ("not_modified", 304, None)
    assert again.kind == "listing"
    assert _requests_to(site, url)[-1].headers["if-none-match"] == first.validators.etag
    changed = await client.fetch(url, source, validators=Validators(etag='"stale"'))
    assert changed.outcome == "ok"


async def test_gzip_files_are_inflated_within_the_cap(site, client):
    url = site.url("caliber-az", "/sitemap-en.xml.gz")
    attempt = await client.fetch(url, _source(site.base_url))
    assert attempt.outcome == "ok" and attempt.text.lstrip().startswith("<?xml")
    packed = httpx.get(url).content
    cap = len(packed) + 1  # the file fits, what it inflates to does not
    assert len(gzip.decompress(packed)) > cap
    small = await client.fetch(url, _source(site.base_url, replace(FAST, max_bytes=cap)))
    assert small.outcome == "too_large" and "inflates" in small.error


def test_a_gzip_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(b"0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(TooLarge):
        gunzip(bomb, 1_000_000)
    assert gunzip(gzip.compress(b"<urlset/>"), 100) == b"<urlset/>"
    with pytest.raises(Truncated):
        gunzip(gzip.compress(b"<urlset>" * 1000)[:-30], 100_000)


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


# --- Politeness per actual host, deterministic: a mock transport and a fake clock ------------


class FakeClock:
    """Virtual time: sleeping advances it at once, so spacing is exact and tests never wait."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        wake = self.time + seconds
        self.sleeps.append(seconds)
        await asyncio.sleep(0)  # let every waiter that starts now compute its wake time first
        self.time = max(self.time, wake)

    def now(self) -> datetime:
        return datetime(2025, 10, 1, tzinfo=UTC) + timedelta(seconds=self.time)


async def _public_dns(host: str) -> list[str]:
    return ["93.184.215.14"]  # never connected to: the mock transport answers


class _Body(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):
        yield self.data


class MockSite:
    """Hosts answered by a function of (host, path); every request is logged with its time."""

    def __init__(self, clock: FakeClock, answer) -> None:
        self.clock, self.answer = clock, answer
        self.log: list[tuple[float, str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.raw_path.decode()
        self.log.append((self.clock.time, host, path))
        answer = self.answer(host, path)
        # streamed as a server would: the client reads bodies raw, as they come
        return httpx.Response(
            answer.status_code, headers=answer.headers, stream=_Body(answer.content)
        )

    def times(self, host: str, path: str) -> list[float]:
        return [t for t, h, p in self.log if (h, p) == (host, path)]

    def client(self) -> HttpClient:
        return HttpClient(httpx.MockTransport(self), self.clock, _public_dns)


async def test_requests_to_one_host_are_spaced_by_the_delay():
    site = MockSite(FakeClock(), lambda host, path: httpx.Response(200, text="<p>x</p>"))
    source = _source("https://news.example", replace(FAST, delay_seconds=0.3, max_per_host=4))
    async with site.client() as client:
        await asyncio.gather(*(client.fetch("https://news.example/a", source) for _ in range(3)))
    times = site.times("news.example", "/a")
    assert [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)] == [0.3, 0.3]


async def test_a_redirect_to_another_host_gets_that_hosts_limit_and_delay():
    """Three hosts redirect to one: it still sees one request at a time, 2 s apart."""

    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            return httpx.Response(404)
        if host == "hub.example":
            return httpx.Response(200, html="<p>hub</p>")
        return httpx.Response(302, headers={"Location": "https://hub.example/story"})

    site = MockSite(FakeClock(), answer)
    source = _source("https://one.example", replace(FAST, delay_seconds=2.0, max_per_host=1))
    async with site.client() as client:
        urls = [f"https://{name}.example/story" for name in ("one", "two", "three")]
        attempts = await asyncio.gather(*(client.fetch(url, source) for url in urls))
    assert [a.final_url for a in attempts] == ["https://hub.example/story"] * 3
    hub = site.times("hub.example", "/story")
    assert [b - a for a, b in zip(hub, hub[1:], strict=False)] == [2.0, 2.0]
    assert site.times("hub.example", "/robots.txt")  # the hub's own robots.txt was read


async def test_a_redirect_obeys_the_robots_txt_of_the_host_it_leads_to():
    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            rules = "User-agent: *\nDisallow: /private\n" if host == "other.example" else ""
            return httpx.Response(200, text=rules)
        return httpx.Response(301, headers={"Location": "https://other.example/private/1"})

    site = MockSite(FakeClock(), answer)
    async with site.client() as client:
        attempt = await client.fetch("https://news.example/a", _source("https://news.example"))
    assert attempt.outcome == "skipped"
    assert attempt.error == f"redirect to https://other.example/private/1: {ROBOTS_DISALLOWED}"
    assert not site.times("other.example", "/private/1")


@pytest.mark.parametrize(
    ("robots", "outcome"),
    [
        (httpx.Response(503), "http_error"),
        (httpx.Response(429), "http_error"),
        (httpx.ConnectError("no route"), "network_error"),
    ],
    ids=["5xx", "429", "no-answer"],
)
async def test_an_unreachable_robots_txt_means_nothing_on_that_host_this_run(robots, outcome):
    """RFC 9309: 5xx or no answer is "disallow all"; the pages end transient, for a later run."""

    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            if isinstance(robots, Exception):
                raise robots
            return robots
        return httpx.Response(200, html="<p>page</p>")

    site = MockSite(FakeClock(), answer)
    async with site.client() as client:
        source = _source("https://news.example")
        attempts = [await client.fetch(f"https://news.example/{i}", source) for i in range(3)]
    assert {a.outcome for a in attempts} == {outcome}
    assert all("robots.txt unreachable" in a.error and a.is_transient for a in attempts)
    assert [p for _, _, p in site.log] == ["/robots.txt"]  # asked once, no page requested


async def test_a_robots_txt_answering_4xx_allows_everything():
    site = MockSite(
        FakeClock(),
        lambda host, path: httpx.Response(403 if path == "/robots.txt" else 200, text="<p>x</p>"),
    )
    async with site.client() as client:
        attempt = await client.fetch("https://news.example/a", _source("https://news.example"))
    assert attempt.outcome == "ok"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/news/1", True),
        ("/news/1?print=1", False),  # Disallow: /*?print=
        ("/search", False),  # Disallow: /search$
        ("/search/results", True),
        ("/archive/2025/", False),
        ("/archive/2025/open/", True),  # the longer Allow wins over the shorter Disallow
    ],
)
async def test_robots_txt_is_read_as_rfc_9309_says(path, allowed):
    rules = (
        "User-agent: *\nDisallow: /*?print=\nDisallow: /search$\n"
        "Disallow: /archive/\nAllow: /archive/*/open/\n"
    )
    site = MockSite(
        FakeClock(),
        lambda host, p: httpx.Response(200, text=rules if p == "/robots.txt" else "<p>x</p>"),
    )
    async with site.client() as client:
        attempt = await client.fetch(f"https://news.example{path}", _source("https://news.example"))
    assert attempt.outcome == ("ok" if allowed else "skipped")


async def test_retries_back_off_exponentially_and_wait_out_retry_after():
    statuses = iter([503, 503, 429, 200])

    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            return httpx.Response(404)
        status = next(statuses)
        headers = {"Retry-After": "30"} if status == 429 else {}
        return httpx.Response(status, headers=headers, text="<p>finally</p>")

    clock = FakeClock()
    site = MockSite(clock, answer)
    source = _source("https://news.example", replace(FAST, retries=3, backoff_seconds=1.0))
    async with site.client() as client:
        attempt = await client.fetch("https://news.example/a", source)
    assert attempt.outcome == "ok"
    tries = site.times("news.example", "/a")
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)]
    assert 1.0 <= gaps[0] < 2.0 and 2.0 <= gaps[1] < 4.0  # doubling, with jitter
    assert gaps[2] == pytest.approx(30.0)  # Retry-After beats the 4-8 s backoff


async def test_one_url_that_makes_the_client_fail_ends_crashed_not_raised():
    def answer(host: str, path: str) -> httpx.Response:
        raise RuntimeError("transport bug")

    site = MockSite(FakeClock(), answer)
    async with site.client() as client:
        attempt = await client.fetch("https://news.example/a", _source("https://news.example"))
    assert (attempt.outcome, attempt.error) == ("crashed", "RuntimeError: transport bug")


@pytest.mark.parametrize(
    "location",
    ["javascript:alert(1)", "http://10.0.0.1/robots.txt", "/robots.txt"],
    ids=["scheme", "private", "loop"],
)
async def test_a_robots_txt_that_redirects_nowhere_is_unavailable(location):
    """RFC 9309 2.3.1.2: redirects that reach no file (a scheme or address the crawler may
    not follow, more than five hops) make robots.txt unavailable, like a 4xx: the host's
    pages are fetched, not lost to one odd redirect in every run."""

    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            return httpx.Response(301, headers={"Location": location})
        return httpx.Response(200, html="<p>page</p>")

    site = MockSite(FakeClock(), answer)
    async with site.client() as client:
        attempt = await client.fetch("https://news.example/a", _source("https://news.example"))
    assert attempt.outcome == "ok"


async def test_a_long_robots_txt_is_read_to_500_kib_and_one_over_max_bytes_is_unavailable():
    """RFC 9309 2.5: rules in the first 500 KiB count, later ones are ignored; a file larger
    than the source's max_bytes is unavailable (not a host lost in every run)."""
    filler = "".join(f"# comment line {n} of a long robots.txt\n" for n in range(20_000))
    robots = f"User-agent: *\nDisallow: /private\n{filler}Disallow: /late\n"
    assert len(robots) > 600_000

    def answer(host: str, path: str) -> httpx.Response:
        if path == "/robots.txt":
            return httpx.Response(200, text=robots if host == "news.example" else robots * 20)
        return httpx.Response(200, html="<p>page</p>")

    site = MockSite(FakeClock(), answer)
    async with site.client() as client:
        source = _source("https://news.example")
        private, late = [
            await client.fetch(f"https://news.example/{path}", source)
            for path in ("private", "late")
        ]
        huge = await client.fetch("https://huge.example/private", _source("https://huge.example"))
    assert (private.outcome, private.error) == ("skipped", ROBOTS_DISALLOWED)
    assert (late.outcome, huge.outcome) == ("ok", "ok")
