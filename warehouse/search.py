"""Full-text search in every script: an incremental inverted index with BM25 at query time.

Words are cut by script: Chinese, Japanese and Korean into single characters and character
bigrams (no word list needed, Simplified and Traditional alike), every other script into words
stemmed by Snowball for the article's language (Russian, Turkish for Azerbaijani, English...).
Original and English fields of an article form one document, so one query finds originals and
translations alike.

The index is two tables (search_docs, search_postings) that refresh_index() keeps in step with
the articles by a fingerprint per article: a refresh that finds nothing changed costs one scan
of small columns, and new or changed articles are indexed in time proportional to them. BM25
statistics are computed at query time over the whole index, so ranking needs no rebuild.
Searching only reads, so it works on a read-only, locked-down connection.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import chain

import duckdb
import pyarrow as pa
import regex
import Stemmer

from processing.language import IDEOGRAPHIC, Script, script_of
from warehouse.sql import registered, transaction, url_table, wide_rows

# Raise when tokenization changes: every article's fingerprint changes, so all are re-indexed.
TOKENIZER_VERSION = 1
K1, B = 1.2, 0.75  # BM25's usual term-frequency saturation and length normalization

_IDEOGRAPHS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_WORD = regex.compile(rf"[{_IDEOGRAPHS}]+|[[\p{{L}}\p{{N}}\p{{M}}]--[{_IDEOGRAPHS}]]+", regex.V1)
# Snowball stemmers by language, for the words written in the stemmer's own script.
_SNOWBALL = {
    "en": "english",
    "ru": "russian",
    "uk": "russian",
    "be": "russian",
    "tr": "turkish",
    "az": "turkish",
    "hy": "armenian",
    "el": "greek",
    "ar": "arabic",
    "fa": "persian",
    "hi": "hindi",
    "ne": "nepali",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "pl": "polish",
    "cs": "czech",
    "ro": "romanian",
    "hu": "hungarian",
    "fi": "finnish",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "lt": "lithuanian",
    "id": "indonesian",
}
_STEMMER_SCRIPT = {
    "russian": Script.CYRILLIC,
    "armenian": Script.ARMENIAN,
    "greek": Script.GREEK,
    "arabic": Script.ARABIC,
    "persian": Script.ARABIC,
    "hindi": Script.DEVANAGARI,
    "nepali": Script.DEVANAGARI,
}
# The stemmer for a word whose script is not its article language's (a Latin name in Russian).
_SCRIPT_DEFAULT = {
    Script.LATIN: "english",
    Script.CYRILLIC: "russian",
    Script.ARMENIAN: "armenian",
    Script.GREEK: "greek",
    Script.ARABIC: "arabic",
    Script.DEVANAGARI: "hindi",
}
# What identifies an article's indexed content without reading its long texts: the original
# text through content_hash; the English text through the translation status and model, which
# every writer of text_en sets (a translation is only ever made once per model).
_FINGERPRINT = (
    f"hash(url, content_hash, title, title_en, language, translation_status, "
    f"translation_model, {TOKENIZER_VERSION})"
)
_INDEXED = f"SELECT url, {_FINGERPRINT} AS fingerprint FROM articles WHERE duplicate_of IS NULL"


class NoSearchIndex(RuntimeError):
    """The warehouse has no search index yet: nothing has been loaded."""


@dataclass(frozen=True)
class Hit:
    """One search result: a story and how well it matched."""

    score: float
    url: str
    source_id: str
    source_name: str | None
    day: date | None  # publication day (UTC), else the fetch day: see day_from
    day_from: str  # "published", or "fetched" for an article that gives no publication date
    language: str
    title_en: str | None


@dataclass(frozen=True)
class Refresh:
    """What a refresh changed: articles (re)indexed and articles dropped from the index."""

    indexed: int
    dropped: int


class _Analyzer:
    """Turns text into index terms; caches each word's terms, since news repeats its words."""

    def __init__(self) -> None:
        self._stemmers: dict[str, Stemmer.Stemmer] = {}
        self._terms: dict[str | None, dict[str, list[str]]] = {}  # language -> word -> terms

    def document(self, fields: Iterable[tuple[str | None, str | None]]) -> Counter[str]:
        """Term frequencies of an article from (language, text) fields.

        A field that repeats an earlier one (an English article's text is its English text
        too) counts its terms again without cutting the text again."""
        terms: list[str] = []
        done: dict[tuple[str | None, str], list[str]] = {}
        for language, text in fields:
            if not text:
                continue
            field = done.get((language, text))
            if field is None:
                field = done[(language, text)] = self._field(language, text)
            terms.extend(field)
        return Counter(terms)

    def _field(self, language: str | None, text: str) -> list[str]:
        known = self._terms.setdefault(language, {})
        words = _words(text)
        for word in set(words).difference(known):
            known[word] = self._word_terms(word, language)
        return list(chain.from_iterable(map(known.__getitem__, words)))

    def query(self, text: str, languages: Iterable[str | None]) -> list[set[str]]:
        """Slots a document must all fill: per word, the terms any indexed language gives it.

        A Chinese run is one slot per bigram (found as a phrase); another word is one slot
        whose alternatives are its stems under the stemmers of the indexed languages.
        """
        slots: list[set[str]] = []
        for word in _words(text):
            if script_of(word) in IDEOGRAPHIC:
                slots.extend({gram} for gram in _ngrams(word, unigrams=len(word) == 1))
            else:
                slots.append({word} | {self._stem(word, lang) for lang in {*languages, "en"}})
        return slots

    def _word_terms(self, word: str, language: str | None) -> list[str]:
        if script_of(word) in IDEOGRAPHIC:
            return _ngrams(word, unigrams=True)
        return [self._stem(word, language)]

    def _stem(self, word: str, language: str | None) -> str:
        algorithm = _stemmer_for(script_of(word), language)
        if algorithm is None:
            return word
        if algorithm not in self._stemmers:
            self._stemmers[algorithm] = Stemmer.Stemmer(algorithm)
        return self._stemmers[algorithm].stemWord(word)


def _stemmer_for(script: Script | None, language: str | None) -> str | None:
    """The language's Snowball stemmer if the word is in its script, else the script's default."""
    algorithm = _SNOWBALL.get(language or "")
    if algorithm and _STEMMER_SCRIPT.get(algorithm, Script.LATIN) is script:
        return algorithm
    return _SCRIPT_DEFAULT.get(script) if script else None


def _words(text: str) -> list[str]:
    """Runs of letters in one script group, case and Unicode forms folded."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u0307", "")
    return _WORD.findall(folded)


def _ngrams(run: str, unigrams: bool) -> list[str]:
    """Character bigrams of an ideographic run, with its single characters if asked."""
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return [*run, *grams] if unigrams else grams


def refresh_index(conn: duckdb.DuckDBPyConnection, changed: Iterable[str] | None = None) -> Refresh:
    """Bring the index in step with the articles: index new and changed ones, drop the gone.

    Called after every load. Callers need not say what changed: then nothing changed costs
    one scan of small columns, otherwise the work is proportional to what changed, plus two
    scans of the index's and the articles' URLs. A caller that knows which articles it wrote
    (a chunk's commit) names them in `changed`, and the refresh reads those articles and their
    index entries only, so its cost follows the chunk, not the warehouse; the index's total
    (count of documents) is checked after, and a count that disagrees (an earlier load whose
    refresh never ran) takes the whole path. A crash between a load that revised articles and
    its refresh leaves their entries stale until a whole refresh (reprocess, a translation,
    maintenance): the count cannot see a revision.
    """
    if changed is not None:
        done = _refresh_these(conn, sorted(set(changed)))
        if _counts_agree(conn):
            return done
        caught_up = refresh_index(conn)
        return Refresh(done.indexed + caught_up.indexed, done.dropped + caught_up.dropped)
    if _in_step(conn):
        return Refresh(0, 0)
    with transaction(conn):
        stale = [
            row[0]
            for row in conn.execute(
                f"SELECT d.url FROM search_docs d ANTI JOIN ({_INDEXED}) a "
                "ON a.url = d.url AND a.fingerprint = d.fingerprint"
            ).fetchall()
        ]
        _drop(conn, stale)
        fresh = wide_rows(
            conn,
            "articles",
            "SELECT rowid FROM articles WHERE duplicate_of IS NULL "
            "AND url NOT IN (SELECT url FROM search_docs)",
            _COLUMNS,
        )
        _index(conn, fresh)
    return Refresh(len(fresh), len(stale) - len({row[0] for row in fresh} & set(stale)))


_COLUMNS = f"url, {_FINGERPRINT}, language, title, text, title_en, text_en"


def _refresh_these(conn: duckdb.DuckDBPyConnection, urls: list[str]) -> Refresh:
    """The index in step for these articles only: their entries whose fingerprint is no longer
    the article's (changed, made a duplicate, gone) dropped, the new and changed indexed."""
    if not urls:
        return Refresh(0, 0)
    with transaction(conn), registered(conn, changed_urls=url_table(urls)):
        # rows chosen on the URL column alone: the fingerprint reads titles
        current = dict(
            wide_rows(
                conn,
                "articles",
                "SELECT rowid FROM articles "
                "WHERE url IN (SELECT url FROM changed_urls) AND duplicate_of IS NULL",
                f"url, {_FINGERPRINT}",
            )
        )
        indexed = dict(
            conn.execute(
                "SELECT url, fingerprint FROM search_docs "
                "WHERE url IN (SELECT url FROM changed_urls)"
            ).fetchall()
        )
        stale = [url for url, fingerprint in indexed.items() if current.get(url) != fingerprint]
        _drop(conn, stale)
        wanted = [url for url, fingerprint in current.items() if indexed.get(url) != fingerprint]
        fresh: list[tuple] = []
        if wanted:
            with registered(conn, wanted_urls=url_table(wanted)):
                fresh = wide_rows(
                    conn,
                    "articles",
                    "SELECT rowid FROM articles WHERE url IN (SELECT url FROM wanted_urls)",
                    _COLUMNS,
                )
        _index(conn, fresh)
    return Refresh(len(fresh), len(set(stale) - set(wanted)))


def _drop(conn: duckdb.DuckDBPyConnection, stale: list[str]) -> None:
    """Take these articles' documents and postings out of the index."""
    if stale:
        with registered(conn, stale=url_table(stale)):
            conn.execute("DELETE FROM search_postings WHERE url IN (SELECT url FROM stale)")
            conn.execute("DELETE FROM search_docs WHERE url IN (SELECT url FROM stale)")


def _counts_agree(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index holds as many documents as there are articles to index (a load whose
    refresh never ran leaves fewer): two counts, of one small column."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM articles WHERE duplicate_of IS NULL) "
        "= (SELECT count(*) FROM search_docs)"
    ).fetchone()
    return bool(row and row[0])


def rebuild_index(conn: duckdb.DuckDBPyConnection) -> Refresh:
    """Index every article from scratch (after a restore, or to measure a refresh against)."""
    with transaction(conn):
        conn.execute("DELETE FROM search_postings")
        conn.execute("DELETE FROM search_docs")
    return refresh_index(conn)


def _in_step(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index holds exactly the articles' fingerprints (count and XOR of them)."""
    row = conn.execute(
        f"SELECT (SELECT (count(*), bit_xor(fingerprint)) FROM ({_INDEXED})) "
        "IS NOT DISTINCT FROM (SELECT (count(*), bit_xor(fingerprint)) FROM search_docs)"
    ).fetchone()
    return bool(row and row[0])


def _index(conn: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Tokenize these articles and append their documents and postings."""
    analyzer = _Analyzer()
    docs: dict[str, list] = {"url": [], "fingerprint": [], "language": [], "terms": []}
    postings: dict[str, list] = {"term": [], "url": [], "tf": []}
    for url, fingerprint, language, title, text, title_en, text_en in rows:
        terms = analyzer.document(
            [(language, title), (language, text), ("en", title_en), ("en", text_en)]
        )
        docs["url"].append(url)
        docs["fingerprint"].append(fingerprint)
        docs["language"].append(language)
        docs["terms"].append(sum(terms.values()))
        postings["term"].extend(terms)
        postings["url"].extend([url] * len(terms))
        postings["tf"].extend(terms.values())
    doc_rows = pa.table(
        {
            "url": pa.array(docs["url"], pa.string()),
            "fingerprint": pa.array(docs["fingerprint"], pa.uint64()),
            "language": pa.array(docs["language"], pa.string()),
            "terms": pa.array(docs["terms"], pa.int32()),
        }
    )
    posting_rows = pa.table(
        {
            "term": pa.array(postings["term"], pa.string()),
            "url": pa.array(postings["url"], pa.string()),
            "tf": pa.array(postings["tf"], pa.int32()),
        }
    )
    with registered(conn, doc_rows=doc_rows, posting_rows=posting_rows):
        conn.execute("INSERT INTO search_docs BY NAME SELECT * FROM doc_rows")
        conn.execute("INSERT INTO search_postings BY NAME SELECT * FROM posting_rows")


def search(
    conn: duckdb.DuckDBPyConnection,
    query: str,
    since: date | None = None,
    source_id: str | None = None,
    language: str | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Stories containing every word of the query, best first (BM25), filtered by day, source
    and original language. Words match in any inflected form the stemmers know."""
    if not _has_index(conn):
        raise NoSearchIndex("no search index yet: load articles first (newsflow ingest)")
    languages = [
        row[0] for row in conn.execute("SELECT DISTINCT language FROM search_docs").fetchall()
    ]
    slots = _Analyzer().query(query, languages)
    if not slots:
        return []
    wanted = [{"slot": i, "term": term} for i, terms in enumerate(slots) for term in terms]
    rows = conn.execute(
        """
        WITH wanted AS (SELECT unnest($wanted, recursive := true)),
        stats AS (SELECT count(*) AS n, avg(terms) AS avgdl FROM search_docs),
        matched AS (
            SELECT term, url, tf FROM search_postings
            WHERE term IN (SELECT term FROM wanted)
        ),
        df AS (SELECT term, count(*) AS df FROM matched GROUP BY term),
        complete AS (
            SELECT m.url FROM matched m JOIN wanted w USING (term)
            GROUP BY m.url HAVING count(DISTINCT w.slot) = $slots
        ),
        scored AS (
            SELECT m.url, sum(
                ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
                * m.tf * ($k1 + 1) / (m.tf + $k1 * (1 - $b + $b * d.terms / s.avgdl))
            ) AS score
            FROM matched m JOIN complete USING (url) JOIN df USING (term)
            JOIN search_docs d USING (url) CROSS JOIN stats s
            GROUP BY m.url
        )
        SELECT score, url, source_id, source_name, day, day_from, language, title_en FROM (
            SELECT sc.score, e.url, e.source_id, e.source_name,
                   CAST(timezone('UTC', coalesce(e.published_at, e.fetched_at)) AS DATE) AS day,
                   CASE WHEN e.published_at IS NULL THEN 'fetched' ELSE 'published' END
                       AS day_from,
                   e.language, e.title_en
            FROM scored sc JOIN articles_en e USING (url)
        )
        WHERE ($since IS NULL OR day >= $since)
          AND ($source IS NULL OR source_id = $source)
          AND ($lang IS NULL OR language = $lang)
        ORDER BY score DESC, url
        LIMIT $limit
        """,
        {
            "wanted": wanted,
            "slots": len(slots),
            "k1": K1,
            "b": B,
            "since": since,
            "source": source_id,
            "lang": language,
            "limit": limit,
        },
    ).fetchall()
    return [Hit(*row) for row in rows]


def _has_index(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index tables exist (schema 8 on) and hold at least one article."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'search_docs'"
    ).fetchone()
    if not exists or not exists[0]:
        return False
    return conn.execute("SELECT count(*) FROM search_docs").fetchone() != (0,)


def format_hit(hit: Hit) -> str:
    """One line per hit: score, day (marked when it is the fetch day), source, language,
    English title, URL."""
    day = hit.day.isoformat() if hit.day else "?"
    day += " (fetched)" if hit.day_from == "fetched" else ""
    title = hit.title_en or "(no English title yet)"
    return f"{hit.score:6.2f}  {day}  {hit.source_id:<16} {hit.language:<3} {title}  <{hit.url}>"
