"""The one boundary every URL from the web passes: listing links, feed items, sitemap locs,
canonical, hreflang and og:url claims, redirect targets.

`web_url` returns the URL in one spelling (scheme and host lower-cased, numeric IPv4 forms
such as 127.1 or 0x7f000001 written as dotted quads, no trailing dot, no fragment) or a
`RejectedUrl` saying why not. It never raises: a value a publisher's CMS got wrong costs the
one link or attribute it is in, never the page or the source around it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

MAX_URL_CHARS = 4096  # browsers and servers refuse longer; sitemaps allow 2048
SCHEMES = ("http", "https")
# C0 and C1 controls, DEL, and the bidi overrides that make a URL print as another one
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


class UrlProblem(StrEnum):
    """Why a URL from the web was not taken."""

    LENGTH = "length"
    CONTROL = "control character"
    SCHEME = "scheme"
    HOST = "host"
    PORT = "port"
    IPV6 = "IPv6 literal"
    USERINFO = "credentials"
    SYNTAX = "syntax"


@dataclass(frozen=True)
class RejectedUrl:
    """A URL refused at the boundary, with the raw value (cut short) to record."""

    raw: str
    problem: UrlProblem
    detail: str

    def __str__(self) -> str:
        return f"bad URL ({self.problem}: {self.detail}): {self.raw[:200]!r}"


def web_url(raw: object, base: str | None = None) -> str | RejectedUrl:
    """`raw` (resolved against `base`, the page it was found on) as a URL fit to fetch and
    store, or the reason it is not one."""
    text = str(raw).strip(" \t\r\n\f") if raw is not None else ""
    if len(text) > MAX_URL_CHARS:
        return RejectedUrl(text, UrlProblem.LENGTH, f"over {MAX_URL_CHARS} characters")
    if match := _CONTROL.search(text):
        return RejectedUrl(text, UrlProblem.CONTROL, f"U+{ord(match.group()):04X}")
    try:
        absolute = urljoin(base, text) if base else text
        parts = urlsplit(absolute)
    except ValueError as exc:  # "Invalid IPv6 URL" and kin
        problem = UrlProblem.IPV6 if "IPv6" in str(exc) else UrlProblem.SYNTAX
        return RejectedUrl(text, problem, str(exc))
    if parts.scheme.lower() not in SCHEMES:
        return RejectedUrl(text, UrlProblem.SCHEME, repr(parts.scheme or "(none)"))
    try:
        port = parts.port
    except ValueError as exc:
        return RejectedUrl(text, UrlProblem.PORT, str(exc))
    if port == 0:
        return RejectedUrl(text, UrlProblem.PORT, "port 0")
    if parts.username is not None or parts.password is not None:
        return RejectedUrl(text, UrlProblem.USERINFO, "user name or password in the URL")
    host = _host(parts.hostname or "", "[" in parts.netloc)
    if isinstance(host, RejectedUrl):
        return RejectedUrl(text, host.problem, host.detail)
    netloc = host if port is None else f"{host}:{port}"
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    try:
        httpx.URL(url)  # what the client will send must parse there too
    except (httpx.InvalidURL, ValueError) as exc:
        return RejectedUrl(text, UrlProblem.SYNTAX, str(exc))
    return url


def _host(name: str, bracketed: bool) -> str | RejectedUrl:
    """One spelling of a host: IPv6 in brackets, IPv4 dotted, names lower-case, no final dot."""
    if bracketed:
        try:
            return f"[{ipaddress.IPv6Address(name.split('%')[0]).compressed}]"
        except ValueError as exc:
            return RejectedUrl(name, UrlProblem.IPV6, str(exc))
    name = name.lower().rstrip(".")
    if not name:
        return RejectedUrl(name, UrlProblem.HOST, "no host")
    if _NUMERIC_HOST.match(name):
        try:  # 127.1, 2130706433, 0x7f000001, 0177.0.0.1: what the resolver would make of them
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:
            return RejectedUrl(name, UrlProblem.HOST, "not an IPv4 address")
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        return RejectedUrl(name, UrlProblem.HOST, f"not a host name: {exc}")
    if len(encoded) > 253 or not re.fullmatch(r"[a-z0-9_.-]+", encoded):
        return RejectedUrl(name, UrlProblem.HOST, "not a host name")
    return name
