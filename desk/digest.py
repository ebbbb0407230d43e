"""The daily digest and the side-by-side reader as self-contained HTML, and the reader as text.

Pages carry their CSS and SVG charts inline and a Content-Security-Policy that forbids loading
anything, so they open offline and never reach the network; only the links to the originals
lead out, when the reader clicks them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

from warehouse import store
from warehouse.digest import (
    MEDIAN_DAYS,
    Digest,
    Reading,
    SeriesPoint,
    Story,
    TitleKind,
    digest,
    digest_fingerprint,
    reader_fingerprints,
    reading,
    readings,
)
from warehouse.sandbox import analysis_connection

SILENT_SHARE = 0.25  # below this share of its median a source is flagged, as the volume alert
READER_DIR = "articles"
READER_BATCH = 200  # reader pages read and written at a time: memory stays flat however big the day
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1320px;padding:16px 24px;
color:#1d2330;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #dde}
.meta{color:#5a6275;font-size:13px}.story{border:1px solid #dde3ee;border-radius:6px;
padding:5px 12px;margin:6px 0}.story h3{font-size:16px;margin:0 0 2px;display:inline;
margin-right:8px}
.badge{display:inline-block;font-size:11px;padding:1px 6px;border-radius:8px;
background:#eef1f7;color:#334;margin-right:4px}.badge.machine{background:#fff3d6}
.badge.original{background:#fde2e2}.badge.multi{background:#dcf5e3}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e4e7ee;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f5f7fb}
.members td{border:0;padding:1px 8px 1px 0}.grid{display:flex;flex-wrap:wrap;gap:12px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.silent{color:#b00020;font-weight:600}.hbar{display:inline-block;height:10px;background:#9467bd}
.side td{width:50%}.side td.en{background:#f8fafc}.num{color:#8a90a0;font-size:12px}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class DigestFiles:
    """What `write_digest` wrote."""

    page: Path
    readers: list[Path]  # one side-by-side page per article on the digest
    digest: Digest
    written: list[Path] = field(default_factory=list)  # readers (re)written by this call
    changed: bool = True  # False: the pages on disk were already these (nothing written)


def write_digest(
    day: date | None = None, out_dir: Path | None = None, only_if_changed: bool = False
) -> DigestFiles:
    """Write the day's digest page and a reader page for each of its articles into out_dir.

    The day defaults to today (UTC); out_dir to `digest/` beside the warehouse file. With
    only_if_changed (the daily run), nothing is written when the stories, figures and articles
    are as they were, and otherwise only the reader pages of new or changed articles: a run
    would spend most of its time rewriting the pages of the day's earlier articles.
    """
    day = day or datetime.now(UTC).date()
    out_dir = out_dir or default_dir()
    page = out_dir / f"{day.isoformat()}.html"
    stamp = out_dir / f".{day.isoformat()}.fingerprint"
    manifest = out_dir / f".{day.isoformat()}.readers.json"
    with analysis_connection() as conn:
        day_digest = digest(conn, day)
        urls = [m.url for s in day_digest.stories for m in s.members]
        prints = reader_fingerprints(conn, urls)
        fingerprint = digest_fingerprint(day_digest, prints)
        unchanged = stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint
        if only_if_changed and unchanged and page.exists():
            return DigestFiles(page, _reader_paths(out_dir, urls), day_digest, changed=False)
        known = _read_manifest(manifest) if only_if_changed else {}
        stale = [
            url
            for url, print_ in prints.items()
            if known.get(url) != print_ or not (out_dir / reader_name(url)).exists()
        ]
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [
            write_reader(article, out_dir)
            for start in range(0, len(stale), READER_BATCH)
            for article in readings(conn, stale[start : start + READER_BATCH])
        ]
    page.write_text(digest_html(day_digest), encoding="utf-8")
    manifest.write_text(json.dumps(prints), encoding="utf-8")
    stamp.write_text(fingerprint, encoding="utf-8")
    return DigestFiles(page, _reader_paths(out_dir, urls), day_digest, written)


def _reader_paths(out_dir: Path, urls: Sequence[str]) -> list[Path]:
    return [out_dir / reader_name(url) for url in urls]


def _read_manifest(path: Path) -> dict[str, str]:
    """The day's reader hashes as last written (none if the file is missing or damaged)."""
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def default_dir() -> Path:
    """Where digests go unless told: `digest/` beside the warehouse file."""
    return store.db_path().parent / "digest"


def reader_name(url: str) -> str:
    """The reader page's file name for an article, stable across runs."""
    return f"{READER_DIR}/{hashlib.sha256(url.encode()).hexdigest()[:16]}.html"


def write_reader(article: Reading, out_dir: Path) -> Path:
    """Write one article's side-by-side page under out_dir; its path."""
    path = out_dir / reader_name(article.url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reader_html(article), encoding="utf-8")
    return path


def show(url: str, out_dir: Path | None = None, width: int | None = None) -> str:
    """The article as text, two columns side by side; with out_dir also its HTML page."""
    with analysis_connection() as conn:
        article = reading(conn, url)
    text = reader_text(article, width or shutil.get_terminal_size().columns)
    if out_dir is not None:
        text += f"\nwritten to {write_reader(article, out_dir)}\n"
    return text


# --- the digest page -------------------------------------------------------------------------


def digest_html(d: Digest) -> str:
    """The self-contained digest page of one day."""
    multi = sum(1 for s in d.stories if len(s.sources) > 1 or len(s.languages) > 1)
    body = [
        f"<h1>newsflow digest · {d.day.isoformat()}</h1>",
        f'<p class="meta">{len(d.stories)} stories arrived on this day (UTC), {multi} told by '
        "several sources or in several languages. Generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
        f'<h2 id="stories">Stories ({len(d.stories)})</h2>',
        *(_story_html(s) for s in d.stories),
        '<h2 id="per-source-language">Articles per source and language by fetch day, '
        "last 30 days</h2>",
        _legend(_names(d.by_source_language)),
        stacked_bars(d.by_source_language, width=1260, height=260),
        f'<h2 id="volume">Articles fetched per day and source against its {MEDIAN_DAYS}-day '
        "median</h2>",
        _volume_html(d),
        '<h2 id="pending">Waiting for a translation model</h2>',
        _pending_html(d.pending),
        '<h2 id="failures">Failures of the day per source</h2>',
        _failures_html(d.failures),
    ]
    return _page(f"newsflow digest {d.day.isoformat()}", body)


def _page(title: str, body: Sequence[str]) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _story_html(story: Story) -> str:
    badges = []
    if story.title_kind is TitleKind.MACHINE:
        badges.append(
            f'<span class="badge machine">machine translation · {escape(story.title_model or "")}'
            "</span>"
        )
    elif story.title_kind is TitleKind.ORIGINAL:
        badges.append('<span class="badge original">not translated yet</span>')
    if len(story.sources) > 1 or len(story.languages) > 1:
        badges.append(
            f'<span class="badge multi">{len(story.sources)} sources · '
            f"{len(story.languages)} languages</span>"
        )
    rows = "".join(
        f"<tr><td>{escape(m.source_name)}</td><td>{escape(m.language)}</td>"
        f"<td>{m.fetched_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC</td>"
        f'<td><a href="{escape(m.url)}">original</a></td>'
        f'<td><a href="{reader_name(m.url)}">side by side</a></td>'
        f"<td>{escape(m.title or '') if m.title != story.title else ''}</td></tr>"
        for m in story.members
    )
    return (
        f'<div class="story"><h3>{escape(story.title)}</h3>{"".join(badges)}'
        f'<table class="members">{rows}</table></div>'
    )


def _names(points: Sequence[SeriesPoint]) -> list[str]:
    return list(dict.fromkeys(p.series for p in points))


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(n)}</span>'
        for i, n in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def stacked_bars(points: Sequence[SeriesPoint], width: int, height: int, title: str = "") -> str:
    """An SVG of daily bars stacked by series, with the series' median as a line if it has one."""
    if not points:
        return '<p class="meta">No articles in these days.</p>'
    names = _names(points)
    days = sorted({p.day for p in points})
    totals = {day: sum(p.articles for p in points if p.day == day) for day in days}
    medians = [p.median for p in points if p.median is not None]
    top = max([*totals.values(), *medians, 1])
    left, bottom, top_pad = 34, 22, 18 if title else 6
    plot_w, plot_h = width - left - 6, height - bottom - top_pad
    step = plot_w / max(len(days), 1)

    def y(value: float) -> float:
        return top_pad + plot_h - value / top * plot_h

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<text x="{left}" y="12" font-size="12" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{y(0)}" x2="{width - 6}" y2="{y(0)}" stroke="#99a"/>',
        f'<text x="{left - 4}" y="{y(top) + 10}" font-size="10" text-anchor="end">{top:g}</text>',
        f'<text x="{left - 4}" y="{y(0)}" font-size="10" text-anchor="end">0</text>',
    ]
    base = dict.fromkeys(days, 0)
    for p in points:
        if p.articles:
            i, colour = days.index(p.day), PALETTE[names.index(p.series) % len(PALETTE)]
            x, top_y = left + i * step + 1, y(base[p.day] + p.articles)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top_y:.1f}" '
                f'width="{max(step - 2, 1):.1f}" height="{p.articles / top * plot_h:.1f}" '
                f'fill="{colour}"><title>{escape(p.series)} {p.day}: {p.articles}</title></rect>'
            )
            base[p.day] += p.articles
    line = [
        f"{left + (days.index(p.day) + 0.5) * step:.1f},{y(p.median):.1f}"
        for p in points
        if p.median is not None
    ]
    if line:
        parts.append(
            f'<polyline class="median" points="{" ".join(line)}" fill="none" '
            'stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 2"/>'
        )
    for x, anchor, day in ((left, "start", days[0]), (width - 6, "end", days[-1])):
        parts.append(
            f'<text x="{x}" y="{height - 6}" font-size="10" text-anchor="{anchor}">'
            f"{day:%m-%d}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _volume_html(d: Digest) -> str:
    charts = []
    for name in _names(d.volume):
        series = [p for p in d.volume if p.series == name]
        today = series[-1]
        median = today.median or 0
        silent = median > 0 and today.articles < SILENT_SHARE * median
        label = f"{name}: {today.articles} today, median {median:g}"
        chart = stacked_bars(series, width=410, height=150, title=label)
        flag = '<div class="silent">below a quarter of its median</div>' if silent else ""
        charts.append(f"<div>{chart}{flag}</div>")
    return (
        '<p class="meta">Bars: articles per day; dashed line: the median of the '
        f"{MEDIAN_DAYS} days before.</p>"
        f'<div class="grid">{"".join(charts)}</div>'
    )


def _pending_html(pending: Sequence[tuple[str, int]]) -> str:
    if not pending:
        return "<p>None: every article has its English.</p>"
    top = max(count for _, count in pending)
    rows = "".join(
        f"<tr><td>{escape(language)}</td><td>{count}</td>"
        f'<td><span class="hbar" style="width:{count / top * 300:.0f}px"></span></td></tr>'
        for language, count in pending
    )
    return (
        f"<table><tr><th>language</th><th>articles</th><th></th></tr>{rows}</table>"
        '<p class="meta">Install a model (<code>newsflow models install LANG</code>) and run '
        "<code>newsflow translate</code>.</p>"
    )


def _failures_html(failures: dict[str, dict[str, int]]) -> str:
    if not failures:
        return "<p>No failures on this day.</p>"
    outcomes = sorted({o for counts in failures.values() for o in counts})
    head = "".join(f"<th>{o}</th>" for o in outcomes)
    rows = "".join(
        f"<tr><td>{escape(source)}</td><td>{sum(counts.values())}</td>"
        + "".join(f"<td>{counts.get(o, '')}</td>" for o in outcomes)
        + "</tr>"
        for source, counts in failures.items()
    )
    return f"<table><tr><th>source</th><th>failed URLs</th>{head}</tr>{rows}</table>"


# --- the reader --------------------------------------------------------------------------------


def _credits(article: Reading) -> list[str]:
    """The lines that say where the English comes from."""
    lines = [f"{article.source_name} · {article.language} · {article.url}"]
    if article.translation_model:
        lines.append(f"English by machine translation: {article.translation_model}")
    elif article.language == "en":
        lines.append("Published in English")
    else:
        lines.append(f"No English yet ({article.translation_status})")
    lines += [f"{name.replace('_', ' ')}: {value}" for name, value in article.attribution.items()]
    return lines


def reader_html(article: Reading) -> str:
    """The self-contained side-by-side page of one article."""
    rows = "".join(
        f'<tr><td><span class="num">{p.position}</span> {escape(p.text)}</td>'
        f'<td class="en">{escape(p.text_en or "")}'
        + (f' <span class="num">{escape(p.model)}</span>' if p.model else "")
        + "</td></tr>"
        for p in article.paragraphs
    )
    credits = "<br>".join(escape(line) for line in _credits(article))
    body = [
        f"<h1>{escape(article.title_en or article.title or article.url)}</h1>",
        f"<p>{escape(article.title or '')}</p>",
        f'<p class="meta">{credits}<br><a href="{escape(article.url)}">the original</a></p>',
        f'<table class="side"><tr><th>original ({escape(article.language)})</th>'
        f"<th>English</th></tr>{rows}</table>",
    ]
    return _page(article.title or article.url, body)


def reader_text(article: Reading, width: int) -> str:
    """The article for a terminal: original left, English right, paragraph by paragraph."""
    column = max((width - 3) // 2, 20)
    lines = [*_credits(article), ""]
    for p in article.paragraphs:
        left, right = _wrap(p.text, column), _wrap(p.text_en or "", column)
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            lines.append(f"{a}{' ' * (column - _width(a))} │ {b}".rstrip())
        lines.append("")
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns: Chinese, Japanese and Korean characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most width terminal columns, broken at spaces, or anywhere in CJK runs."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _width(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word (or a CJK run) wider than the column is cut
            if _width(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    return [*lines, line] if line else lines


def summary_markdown(files: DigestFiles, limit: int = 15) -> str:
    """The digest's summary for the daily run's artifact: top stories, backlog, failures."""
    d = files.digest
    lines = [
        f"# Digest {d.day.isoformat()}",
        "",
        f"{len(d.stories)} stories arrived; the full page with charts: `{files.page}`",
        "",
        "| story | sources | languages | English title |",
        "| --- | --- | --- | --- |",
    ]
    for s in d.stories[:limit]:
        title = s.title.replace("|", "\\|")
        lines.append(
            f"| {title} | {', '.join(s.sources)} | {', '.join(s.languages)} "
            f"| {s.title_kind.value} |"
        )
    if len(d.stories) > limit:
        lines.append(f"\n... and {len(d.stories) - limit} more on the page.")
    pending = ", ".join(f"{lang} {n}" for lang, n in d.pending) or "none"
    failures = ", ".join(f"{src} {sum(c.values())}" for src, c in d.failures.items()) or "none"
    lines += ["", f"Waiting for a translation model: {pending}.", f"Failed URLs: {failures}."]
    return "\n".join(lines)
