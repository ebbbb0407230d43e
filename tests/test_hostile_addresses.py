"""SSRF: links, redirects and sub-sitemaps never reach the host's own network.

The source lives on the hostile site at 127.0.0.1; a trap listener on 127.0.0.2 stands for every
internal service and must receive nothing. DNS is a stub: nothing is ever resolved for real.
"""

import asyncio
from dataclasses import replace

import pytest
from hostile_site import HostileSite, InFlight, feed, redirect, response, sitemap_index

from connectors.addresses import AddressPolicy, AddressRefused
from connectors.config import Limits, Politeness, Source
from connectors.discovery import discover
from connectors.http import HttpClient
from connectors.politeness import site_key
from connectors.urls import web_url
from flows.pool import host_limit

pytestmark = pytest.mark.anyio

FAST = Politeness(timeout_seconds=2.0, retries=0, delay_seconds=0, deadline_seconds=5.0)


def stub_dns(trap_host: str = "127.0.0.2"):
    """Names the tests use; anything else does not resolve (no real DNS, ever).

    resolve.asked lists every name asked for, in order."""
    asked: list[str] = []
    names = {
        "metadata.google.internal": ["169.254.169.254"],
        "localhost": ["127.0.0.1", "::1"],
        "trap.internal": [trap_host],
        "rebind.example": ["93.184.215.14", trap_host],  # one public answer is not enough
        "news.example": ["127.0.0.1"],
        "xn--e1afmkfd.xn--p1ai": ["127.0.0.1"],  # пример.рф
    }

    async def resolve(host: str) -> list[str]:
        asked.append(host)
        if host not in names:
            raise OSError(f"stub DNS: {host} unknown")
        return names[host]

    resolve.asked = asked
    return resolve


@pytest.fixture
def trap():
    with HostileSite(host="127.0.0.2") as listener:
        yield listener


@pytest.fixture
def site():
    with HostileSite() as hostile:
        hostile.route(
            "/robots.txt", response("User-agent: *\nAllow: /\n", content_type="text/plain")
        )
        yield hostile


def _source(site: HostileSite, kind: str = "feed", **settings) -> Source:
    options = {"feed": {"feed_url": "/feed.xml"}, "sitemap": {"sitemap_url": "/sitemap.xml"}}[kind]
    return Source(
        "hostile", "Hostile", kind, site.base_url, politeness=FAST, options=options, **settings
    )


def internal_targets(trap: HostileSite) -> dict[str, str]:
    """URL -> what the refusal must name."""
    return {
        "http://169.254.169.254/latest/meta-data/": "link-local",
        "http://10.0.0.1/admin": "private",
        "http://192.168.1.1/": "private",
        "http://localhost:2375/containers/json": "loopback",
        "http://[::1]:6379/": "loopback",
        "http://metadata.google.internal/computeMetadata/v1/": "metadata",
        "http://0x7f000001/": "loopback",
        "http://2130706433/": "loopback",
        "http://127.1:8080/": "loopback",
        "http://[::ffff:127.0.0.1]/": "loopback",
        "http://100.100.100.200/latest/meta-data/": "non-public",
        "http://224.0.0.1/": "multicast",
        "http://0.0.0.0/": "unspecified",
        trap.url("/"): "loopback",
        f"http://trap.internal:{trap.port}/": "loopback",
        f"http://rebind.example:{trap.port}/": "loopback",
        "file:///etc/passwd": "scheme",
        "gopher://127.0.0.1:6379/_INFO": "scheme",
    }


async def test_links_into_the_hosts_network_are_refused_with_their_reason(site, trap):
    targets = internal_targets(trap)
    site.route("/feed.xml", response(feed(list(targets)), content_type="application/rss+xml"))
    source = _source(site)
    async with HttpClient(resolver=stub_dns()) as client:
        found = await discover(source, client)
        # numeric hosts in one spelling (0x7f000001 is 127.0.0.1); other schemes refused there
        listed = {web_url(url): reason for url, reason in targets.items() if url[:4] == "http"}
        assert [link.url for link in found.links] == list(listed)
        attempts = [await client.fetch(link.url, source) for link in found.links]
    at_listing = [a for a in found.attempts if a.outcome == "refused"]
    assert [a.url for a in at_listing] == [u for u in targets if u[:4] != "http"]
    reasons = [*listed.values(), "scheme", "scheme"]
    for attempt, reason in zip(attempts + at_listing, reasons, strict=True):
        assert attempt.outcome == "refused", attempt
        assert reason in attempt.error and not attempt.is_transient
    assert trap.connections == 0
    assert site.paths() == ["/robots.txt", "/feed.xml"]


async def test_redirects_to_internal_addresses_are_refused_at_the_hop(site, trap):
    site.route("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/iam/"))
    site.route("/to-trap", redirect(trap.url("/")))
    site.route("/to-trap-by-name", redirect(f"http://trap.internal:{trap.port}/", "301 Moved"))
    site.route("/hop", redirect("/to-trap-by-name"))
    source = _source(site)
    async with HttpClient(resolver=stub_dns()) as client:
        attempts = {
            path: await client.fetch(site.url(path), source)
            for path in ("/to-metadata", "/to-trap", "/hop")
        }
    assert {a.outcome for a in attempts.values()} == {"refused"}
    assert attempts["/to-metadata"].error.startswith(
        "redirect to http://169.254.169.254/latest/meta-data/iam/: "
    )
    assert "link-local" in attempts["/to-metadata"].error
    assert f"redirect to http://trap.internal:{trap.port}/" in attempts["/hop"].error
    assert trap.connections == 0


async def test_a_sitemap_index_cannot_turn_the_crawler_into_a_port_scanner(site, trap):
    """100,000 host:port pairs listed: none is connected to, and the cap is recorded."""
    ports = [f"http://127.0.0.2:{port}/sitemap.xml" for port in range(1, 100_001)]
    site.route("/sitemap.xml", response(sitemap_index(ports), content_type="application/xml"))
    source = _source(site, "sitemap", limits=Limits(max_sitemaps=20))
    source = replace(source, politeness=replace(FAST, max_bytes=10_000_000))  # 6 MB of index
    async with HttpClient(resolver=stub_dns()) as client:
        found = await discover(source, client)
    outcomes = [a.outcome for a in found.attempts]
    assert outcomes.count("refused") == 20 and outcomes.count("capped") == 1
    capped = next(a for a in found.attempts if a.outcome == "capped")
    assert "100000 sub-sitemaps listed, 20 followed" in capped.error and capped.kind == "listing"
    assert trap.connections == 0


async def test_the_sources_own_host_and_allow_listed_hosts_may_be_private(site):
    with HostileSite(host="127.0.0.2") as intranet:
        intranet.route("/robots.txt", response("", "404 Not Found"))
        intranet.route("/story", response("<p>internal but allowed</p>"))
        async with HttpClient(resolver=stub_dns()) as client:
            refused = await client.fetch(intranet.url("/story"), _source(site))
            by_host = await client.fetch(
                intranet.url("/story"), _source(site, allow_hosts=(intranet.base_url[7:],))
            )
            by_network = await client.fetch(
                intranet.url("/story"), _source(site, allow_hosts=("127.0.0.0/30",))
            )
        assert refused.outcome == "refused"
        assert (by_host.outcome, by_network.outcome) == ("ok", "ok")
        assert intranet.paths() == ["/robots.txt", "/story", "/story"]


@pytest.mark.parametrize("name", ["news.example", "пример.рф"])
async def test_the_connection_goes_to_the_address_that_was_checked(site, name):
    """These names exist only in the stub DNS: a page arrives only if the checked address is
    the one connected to (the system resolver is never asked), and a name is resolved once."""
    site.route("/story", response("<p>pinned</p>"))
    base = f"http://{name}:{site.port}"
    dns = stub_dns()
    async with HttpClient(resolver=dns) as client:
        attempts = [
            await client.fetch(f"{base}/story", replace(_source(site), base_url=base))
            for _ in range(3)
        ]
    assert [a.outcome for a in attempts] == ["ok"] * 3 and "pinned" in attempts[0].text
    wire_name = name.encode("idna").decode()
    assert site.requests[-1].headers["host"] == f"{wire_name}:{site.port}"
    assert dns.asked == [wire_name]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://240.0.0.1/", "reserved"),
        ("http://198.18.0.1/", "private"),
        ("https://127.0.0.1:8443/", "loopback"),
        ("http://metadata/computeMetadata/v1/", "metadata"),
        ("http://nowhere.invalid/", "cannot resolve"),
        ("http:///no-host", "no host"),
    ],
)
async def test_the_address_policy_names_why_it_refuses(url, reason):
    source = Source("s", "s", "feed", "https://news.example")
    with pytest.raises(AddressRefused, match=reason):
        await AddressPolicy(stub_dns()).check(url, source)


@pytest.mark.parametrize(
    ("other", "shared"), [("b.example.com", True), ("news.example.org", False)]
)
async def test_hosts_of_one_registrable_domain_share_one_budget(site, other, shared):
    """a.example.com and b.example.com on two servers (127.0.0.1 and 127.0.0.3) with
    max_per_host 1: never two requests at once across them; a host of another domain on the
    other server is fetched alongside (the count can see two)."""
    with HostileSite(host="127.0.0.3") as second:
        flight = InFlight()
        for hostile in (site, second):
            for n in range(3):
                hostile.route(f"/a/{n}", flight.slow(hostile, response("<p>counted</p>")))
            hostile.route("/robots.txt", response("", "404 Not Found"))
        names = {"a.example.com": ["127.0.0.1"], other: ["127.0.0.3"]}

        async def dns(host: str) -> list[str]:
            return names[host]

        politeness = replace(FAST, max_per_host=1)
        source = replace(
            _source(site, allow_hosts=("127.0.0.0/8",)),
            base_url=f"http://a.example.com:{site.port}",
            politeness=politeness,
        )
        urls = [f"http://a.example.com:{site.port}/a/{n}" for n in range(3)]
        urls += [f"http://{other}:{second.port}/a/{n}" for n in range(3)]
        async with HttpClient(resolver=dns) as client:
            attempts = await asyncio.gather(*(client.fetch(url, source) for url in urls))
    assert [a.outcome for a in attempts] == ["ok"] * 6
    assert flight.peak == (1 if shared else 2)


def test_the_pools_host_limits_name_a_site_as_the_limiter_does():
    """One Prefect limit per site: numeric spellings of one server, and the hosts of one
    registrable domain on the web's ports, share a name; other ports or domains do not."""
    one = {
        host_limit(url)
        for url in ("http://127.0.0.1:8080/", "http://127.1:8080/a", "http://0x7f000001:8080/")
    }
    assert one == {"newsflow-host-127.0.0.1:8080"}
    assert host_limit("http://127.0.0.1:8081/") not in one
    site = {host_limit(u) for u in ("https://a.example.co.uk/", "http://B.Example.co.uk./x")}
    assert (
        site
        == {"newsflow-host-example.co.uk"}
        == {f"newsflow-host-{site_key('https://www.example.co.uk')}"}
    )
    assert host_limit("https://example.org/") != host_limit("https://example.com/")


async def test_the_sources_own_server_is_its_own_however_it_is_named(site, trap):
    """The address check trusts the server the limiter keys on: a name that resolves only to
    the source's own address and port is the source's server; the same name on another port,
    or a name that also resolves elsewhere, is not."""
    site.route("/story", response("<p>own server</p>"))
    source = _source(site)  # base_url http://127.0.0.1:PORT, no allow_hosts
    async with HttpClient(resolver=stub_dns()) as client:
        own = await client.fetch(f"http://news.example:{site.port}/story", source)
        other_port = await client.fetch(f"http://news.example:{trap.port}/story", source)
        mixed = await client.fetch(f"http://localhost:{site.port}/story", source)
    assert own.outcome == "ok" and "own server" in own.text
    assert (other_port.outcome, mixed.outcome) == ("refused", "refused")
    assert "loopback" in other_port.error and "loopback" in mixed.error
    assert trap.connections == 0
