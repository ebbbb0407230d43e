"""The one place text from the web is made safe to show, export or parse.

A publisher's title or URL can carry terminal escapes (ESC]52 writes the clipboard, ESC[2J
clears the screen, OSC 8 makes links), bidi overrides that make text read as other text, a
formula a spreadsheet runs, or markdown link syntax a UI renders. And one stray U+0008 in a
paragraph makes lxml refuse the whole page. Every printer, exporter and the page path call
these functions; they sit on the lowest floor so that every floor can.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

MAX_TITLE_CHARS = 1000
MAX_AUTHOR_CHARS = 300

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 but tab and newline, DEL, C1, and the bidi controls: nothing a terminal should be sent
_UNPRINTABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# What lxml refuses in text: C0 but tab, newline and CR; and numeric references to them
_XML_ILLEGAL_CHARS = "".join(map(chr, [*range(9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF]))
_XML_ILLEGAL = re.compile(f"[{re.escape(_XML_ILLEGAL_CHARS)}]")
_ILLEGAL_REFERENCE = re.compile(
    r"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])(?![0-9])"
    r"|[xX]0*(?:[0-8bcefBCEF]|1[0-9a-fA-F])(?![0-9a-fA-F]));?"
)
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN = re.compile(r"([\\`\[\]()<>|])")  # link, image, code, HTML and cell syntax


def terminal_safe(value: object) -> str:
    """`value` as text fit for a terminal or a log line: controls and bidi overrides removed
    (ESC and its sequences lose their power without the ESC), tab and newline kept."""
    return _UNPRINTABLE.sub("", str(value))


def one_line(value: object) -> str:
    """terminal_safe, on one line: a table cell or a log field."""
    return " ".join(terminal_safe(value).split()) if value is not None else ""


def csv_cell(value: object) -> object:
    """A value for a CSV file: text a spreadsheet would run as a formula is quoted (OWASP:
    a leading ' before = + - @ tab CR), controls removed; other values as they are."""
    if not isinstance(value, str):
        return value
    text = terminal_safe(value)
    return "'" + text if value.startswith(_CSV_FORMULA) or text.startswith(_CSV_FORMULA) else text


def markdown_text(value: object) -> str:
    """Text for markdown a UI renders (Prefect artifacts): no link, image or HTML syntax."""
    return _MARKDOWN.sub(r"\\\1", one_line(value))


def without_marks(pattern: re.Pattern[str], text: str) -> str:
    """`text` without what `pattern` matches (controls, invisible marks); one between a small
    and a capital letter stood for the space there ("Ann" BEL "Lee" is Ann Lee), elsewhere
    it stood for nothing ("张" BEL "三" is 张三)."""

    def gap(match: re.Match[str]) -> str:
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        return " " if before.islower() and after.isupper() else ""

    return pattern.sub(gap, text)


def parseable(text: str) -> str:
    """A page body lxml will take whole: the control characters XML forbids (without_marks),
    and numeric references to them (&#27;), removed. Where there are none, one `in` a character
    costs less than a third of the pattern's scan of a page (C's memchr against a per-character
    test)."""
    if any(char in text for char in _XML_ILLEGAL_CHARS):
        text = without_marks(_XML_ILLEGAL, text)
    if "&#" in text:
        text = _ILLEGAL_REFERENCE.sub("", text)
    return text


def stored_field(value: str | None, cap: int) -> str | None:
    """A title or author as stored: one line, no controls, at most `cap` characters."""
    if value is None:
        return None
    return one_line(value)[:cap] or None


class SafeStream:
    """A text stream that writes through terminal_safe: the CLI's stdout and stderr, so that
    every table, line and log record it prints passes the one function. It says it is no
    terminal, so that libraries print no escape sequences of their own through it (colours)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if not self.stream.closed:  # a log handler may outlive the stream (a test's capture)
            self.stream.write(terminal_safe(text))
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def raw_stderr() -> TextIO:
    """The standard error behind the CLI's SafeStream, for a progress bar that prints only its
    own words and counts: it needs the terminal's escape sequences and its isatty to show."""
    return sys.stderr.stream if isinstance(sys.stderr, SafeStream) else sys.stderr
