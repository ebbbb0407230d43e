"""Identity of an article: its canonical URL and a hash of its normalized text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|yclid|ysclid|msclkid|igshid|mc_cid|mc_eid|_ga"
    r"|_gl|_hsenc|_hsmi|mkt_tok|spm|scm|share_token|share_uid|tt_from|wxshare_count)$",
    re.I,
)
_AMP_QUERY = re.compile(r"^(amp|outputtype)$", re.I)  # ?amp=1, ?outputType=amp
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MOBILE_HOST = re.compile(r"^(m|mobile|amp)\.(?=[^.]+\.[^.]+)")
# Google's AMP cache: https://<dashed-host>.cdn.ampproject.org/c/s/<host>/<path>
_AMP_CACHE = re.compile(r"^/[cv]/(s/)?([^/]+)(/.*)?$")


def canonical_url(url: str) -> str:
    """One spelling per page: how two URLs of the same article are made equal before dedup.

    Lower-case scheme and host, no default port, fragment or tracking parameters, remaining
    parameters sorted; mobile hosts (m.example.org) become www.example.org and AMP variants
    (/amp/ paths, ?amp=1, *.amp.html, the AMP cache) become the page they render.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    if host.endswith(".cdn.ampproject.org") and (cached := _AMP_CACHE.match(path)):
        scheme = "https" if cached.group(1) else "http"
        return canonical_url(f"{scheme}://{cached.group(2)}{cached.group(3) or '/'}")
    host = _MOBILE_HOST.sub("www.", host)
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    path = re.sub(r"(?<=.)/amp/?$", "/", path)  # /news/1/amp/ -> /news/1/
    path = re.sub(r"^/amp(?=/.)", "", path)  # /amp/news/1 -> /news/1
    path = re.sub(r"\.amp(\.html?)$", r"\1", path)  # /news/1.amp.html -> /news/1.html
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k) and not _AMP_QUERY.match(k)
        )
    )
    return urlunsplit((scheme, host, path, query, ""))


def content_hash(text: str) -> str:
    """SHA-256 of the text with case, Unicode forms and whitespace normalized away."""
    normalized = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()
