"""Bytes to text: Content-Encoding undone under a cap, and the charset a page really uses.

Every body the client reads goes through here, as do saved files read by `newsflow extract`,
so a gzip bomb or a lying charset label costs one page, never a run.
"""

from __future__ import annotations

import codecs
import re
import zlib
from contextlib import suppress
from typing import Protocol
from urllib.parse import urlsplit

import charset_normalizer
import zstandard

from connectors.records import Charset, CharsetSource, Outcome

_GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_MARKUP = re.compile(r"<(!doctype|html|head|body|article|main|div|p|h[1-6]|title)\b", re.I)
_SNIFF_CHARS = 8192
# Charsets read as their superset, as browsers do: a GB2312 or GBK label is really GB18030.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030"}
_ZSTD_STEP = 64  # compressed bytes per zstd call: bounds one call's output to a few MB


class BodyError(ValueError):
    """A body that cannot be accepted; `outcome` says how it is recorded."""

    outcome = Outcome.UNDECODABLE


class TooLarge(BodyError):
    """A body that is, or decompresses to, more than the cap."""

    outcome = Outcome.TOO_LARGE


class Truncated(BodyError):
    """A body that ended before its length or its compressed stream said it would."""

    outcome = Outcome.TRUNCATED


class NotHtml(BodyError):
    """A body that is binary data or another format, not an HTML page."""

    outcome = Outcome.NOT_HTML


class _Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> None: ...


class _Inflate:
    """gzip or deflate, never producing more than the cap; deflate may come with or without zlib
    headers, as servers disagree."""

    def __init__(self, wbits: int, max_bytes: int, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._max = max_bytes
        self._fallback = raw_fallback
        self._out = 0

    def feed(self, data: bytes) -> bytes:
        try:
            out = self._inflater.decompress(data, self._max - self._out + 1)
        except zlib.error as exc:
            if not self._fallback:
                raise BodyError(f"broken compressed body: {exc}") from exc
            self._fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data)
        self._fallback = False
        self._out += len(out)
        if self._out > self._max or self._inflater.unconsumed_tail:
            raise TooLarge(f"body inflates to more than {self._max} bytes")
        return out

    def finish(self) -> None:
        if not self._inflater.eof:
            raise Truncated("compressed body ends before its stream does")


class _Unzstd:
    """zstd, fed in small steps so that a bomb is stopped a few MB past the cap, not at 4 GB."""

    def __init__(self, max_bytes: int) -> None:
        self._inflater = zstandard.ZstdDecompressor().decompressobj()
        self._max = max_bytes
        self._out = 0

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for start in range(0, len(data), _ZSTD_STEP):
            try:
                out += self._inflater.decompress(data[start : start + _ZSTD_STEP])
            except zstandard.ZstdError as exc:
                raise BodyError(f"broken zstd body: {exc}") from exc
            if self._out + len(out) > self._max:
                raise TooLarge(f"body inflates to more than {self._max} bytes")
        self._out += len(out)
        return bytes(out)

    def finish(self) -> None:
        if not self._inflater.eof:
            raise Truncated("zstd body ends before its frame does")


def content_decoder(encoding: str, max_bytes: int) -> _Decoder:
    """The streaming decoder of one Content-Encoding, capped at max_bytes of output."""
    if encoding in ("gzip", "x-gzip"):
        return _Inflate(16 + zlib.MAX_WBITS, max_bytes)
    if encoding == "deflate":
        return _Inflate(zlib.MAX_WBITS, max_bytes, raw_fallback=True)
    if encoding == "zstd":
        return _Unzstd(max_bytes)
    raise BodyError(f"unsupported Content-Encoding {encoding!r}")


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate a .gz file, refusing (TooLarge) to produce more than max_bytes: no gzip bombs."""
    inflater = _Inflate(16 + zlib.MAX_WBITS, max_bytes)
    out = inflater.feed(data)
    inflater.finish()
    return out


def is_gzip_file(head: bytes, media_type: str, url: str) -> bool:
    """A gzip file served as such (a .gz sitemap), not a Content-Encoding already undone."""
    gz_name = urlsplit(url).path.endswith(".gz")
    return head == b"\x1f\x8b" and (media_type in _GZIP_TYPES or gz_name)


def decode(body: bytes, content_type: str = "") -> tuple[str, Charset]:
    """The body's text and the charset that won: BOM, header, <meta> (or XML declaration), else
    detection from the bytes, the order browsers use.

    A declared charset is used only where the body agrees with it: it must decode without
    errors and keep the page's markup readable (an "utf-16" header over a windows-1251 page
    does neither), else the next clue is tried. Text that is valid UTF-8 beyond ASCII is UTF-8
    whatever a header or meta tag claims (a legacy charset's text is practically never valid
    UTF-8, and misconfigured servers often send UTF-8 pages as windows-1251). GB2312 and GBK
    are read as their superset GB18030, so names with rarer characters (镕, 堃) come out right.
    Names that are not text encodings (rot13, base64, hex) are ignored.
    """
    if bom := _bom_charset(body):
        with suppress(UnicodeDecodeError):
            text = body.decode(bom).lstrip("\ufeff")
            return text, Charset(_codec(bom).removesuffix("-sig"), CharsetSource.BOM)
    if wide := _utf16_without_bom(body):
        with suppress(UnicodeDecodeError):
            return body.decode(wide), Charset(wide, CharsetSource.DETECTED)
    clues = (
        (_header_charset(content_type), CharsetSource.HEADER),
        (_meta_charset(body) or _xml_encoding(body), CharsetSource.META),
    )
    if not body.isascii() and _is_utf8(body):
        said = next((how for name, how in clues if name and _codec(name) == "utf-8"), None)
        return body.decode("utf-8"), Charset("utf-8", said or CharsetSource.DETECTED)
    for name, how in clues:
        if name and _is_text_codec(name):
            codec = _SUPERSETS.get(_codec(name), _codec(name))
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if b"<" not in body or "<" in text:
                return text, Charset(codec, how)
    if _is_utf8(body):
        return body.decode("utf-8"), Charset("utf-8", CharsetSource.DETECTED)
    guess = charset_normalizer.from_bytes(body).best()
    if guess is None:
        return body.decode("utf-8", errors="replace"), Charset("utf-8", CharsetSource.DETECTED)
    codec = _SUPERSETS.get(_codec(guess.encoding), _codec(guess.encoding))
    return body.decode(codec, errors="replace"), Charset(codec, CharsetSource.DETECTED)


def decode_body(body: bytes, content_type: str = "") -> str:
    """The body's text, decoded as `decode` decides."""
    return decode(body, content_type)[0]


def html_text(body: bytes, content_type: str = "") -> str:
    """A page's text when the bytes are an HTML page; NotHtml for binary data or other formats.

    For bodies whose type nobody declared (saved files): NUL bytes outside UTF-16/32 mean
    binary, and a page must have some markup early on.
    """
    text = decode_body(body, content_type)
    if "\x00" in text[:_SNIFF_CHARS] or not _MARKUP.search(text[:_SNIFF_CHARS]):
        kind = "binary data" if b"\x00" in body[:_SNIFF_CHARS] else "text without HTML markup"
        raise NotHtml(f"not an HTML page ({kind})")
    return text


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _bom_charset(body: bytes) -> str | None:
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return name
    return None


def _utf16_without_bom(body: bytes) -> str | None:
    """utf-16-le or utf-16-be for a page in UTF-16 without a byte order mark, seen by the NUL
    bytes its markup leaves on one side of every pair ("<\x00h\x00"); read as UTF-8 it would
    be text with a NUL between its letters (and a "utf-16" header alone picks neither order)."""
    head = body[: _SNIFF_CHARS - _SNIFF_CHARS % 2]
    pairs = len(head) // 2
    if pairs < 8:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for nuls, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if (
            nuls >= max(4, pairs // 32)
            and other * 10 <= nuls
            and "<" in head.decode(codec, "replace")
        ):
            return codec
    return None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _xml_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body[:1024])
    return match.group(1).decode("ascii") if match else None


def _codec(name: str) -> str:
    """Python's own name of a codec (cp1251 for windows-1251, utf-8 for UTF8), else the name."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _is_text_codec(name: str) -> bool:
    """A codec that turns bytes into text; rot13, base64 and hex are codecs, but not these."""
    try:
        return codecs.lookup(name)._is_text_encoding
    except LookupError:
        return False
