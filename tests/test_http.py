"""The HTTP client: what each kind of bad answer becomes, and how politely it asks."""

from dataclasses import replace

import pytest

from connectors.config import Politeness
from connectors.http import USER_AGENT, HttpClient, decode_body
from fixture_site import bad_paths, manifest

_RU = "Жители горного села в Дагестане третью неделю остаются без газа"
FAST = Politeness(timeout_seconds=1.0, retries=2, backoff_seconds=0.05, delay_seconds=0)


def _bad_url(site, behaviour: str) -> str:
    entry = next(b for b in bad_paths() if b["behaviour"] == behaviour)
    return site.url(entry["source_id"], entry["path"])


def _requests_to(site, url: str) -> list:
    path = url.removeprefix(site.base_url)
    return [r for r in site.requests if r.path == path]


@pytest.fixture
def client():
    with HttpClient() as running:
        yield running


def test_a_good_page_is_decoded_with_its_status_and_type(site, client):
    entry = manifest()[0]
    attempt = client.fetch(site.url(entry["source_id"], entry["path"]), "s", FAST)
    assert (attempt.outcome, attempt.http_status, attempt.content_type) == ("ok", 200, "text/html")
    assert entry["title"] in attempt.text


def test_server_errors_are_retried_with_backoff_then_recorded(site, client):
    url = _bad_url(site, "server_error")
    attempt = client.fetch(url, "s", FAST)
    assert (attempt.outcome, attempt.http_status, attempt.error) == (
        "http_error",
        500,
        "HTTP 500 Internal Server Error",
    )
    times = [r.time for r in _requests_to(site, url)][-3:]
    assert len(_requests_to(site, url)) >= 3  # first try + 2 retries
    assert times[2] - times[1] >= times[1] - times[0] > 0  # backoff grows


def test_client_errors_are_not_retried(site, client):
    url = site.url("caucasian-knot", "/no-such-page/")
    attempt = client.fetch(url, "s", FAST)
    assert (attempt.outcome, attempt.http_status) == ("http_error", 404)
    assert len(_requests_to(site, url)) == 1


def test_a_page_that_never_answers_times_out(site, client):
    attempt = client.fetch(_bad_url(site, "timeout"), "s", replace(FAST, retries=0))
    assert attempt.outcome == "timeout" and "1.0s" in attempt.error


def test_an_empty_body_is_its_own_outcome(site, client):
    assert client.fetch(_bad_url(site, "empty"), "s", FAST).outcome == "empty"


def test_a_redirect_loop_is_cut_short(site, client):
    attempt = client.fetch(_bad_url(site, "redirect_loop"), "s", FAST)
    assert attempt.outcome == "redirect_loop"


def test_bodies_over_the_cap_are_refused(site, client):
    attempt = client.fetch(_bad_url(site, "huge"), "s", FAST)
    assert attempt.outcome == "too_large" and attempt.text is None


def test_requests_say_who_we_are(site, client):
    url = site.url("caucasian-knot", "/articles.rss")
    client.fetch(url, "s", FAST)
    assert _requests_to(site, url)[-1].headers["user-agent"] == USER_AGENT


def test_requests_to_one_host_are_spaced_by_the_delay(site, client):
    url = site.url("caucasian-knot", "/articles.rss")
    polite = replace(FAST, delay_seconds=0.3)
    for _ in range(3):
        client.fetch(url, "s", polite)
    times = [r.time for r in _requests_to(site, url)][-3:]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.28


def test_a_refused_connection_is_a_network_error(client):
    attempt = client.fetch("http://127.0.0.1:9/", "s", replace(FAST, retries=0))
    assert attempt.outcome == "network_error"


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
        ("Əliyev".encode(), "text/html", "Əliyev"),
        (_RU.encode("cp1251"), "text/html; charset=nonsense", _RU),
        (
            "俄罗斯总统普京和阿塞拜疆总统".encode("gb18030"),
            "text/html",
            "俄罗斯总统普京和阿塞拜疆总统",
        ),
    ],
)
def test_bodies_are_decoded_in_the_order_browsers_use(body, content_type, expected):
    assert expected in decode_body(body, content_type)
