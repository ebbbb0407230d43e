"""Stories: which event an article tells, whatever the outlet or language, within days.

Pure functions. An article becomes a sparse TF-IDF vector over its English text (title counted
twice) plus two kinds of language-free terms: names (capitalised words reduced to a consonant
skeleton after transliteration, so Путина, Putin and Putinin meet) and numbers. It joins the
open story whose centroid is most similar, discounted by the days between them, or founds one
(an online, centroid-based clustering with time decay, as in Miranda et al., EMNLP 2018).
An English article's cosine counts in full where the story's terms hold its headline, half
where they hold none of it: two reports of one event tell it in their headlines (the same people
doing the same thing), while the articles about another event that share its names (the same
presidents a day later) lead with something else.
Untranslated articles keep their original words, which cannot meet another language's: they are
compared by their names and numbers alone (the cosine of those parts), with its own threshold.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import Stemmer

FEATURE_VERSION = 2  # stored vectors of another version are recomputed
WINDOW = timedelta(days=4)  # a story is open to articles within this many days of its own
GRACE = timedelta(hours=12)  # one news cycle: reports within it of a story lose nothing
DECAY_DAYS = 2.0  # beyond GRACE, the score halves every DECAY_DAYS * ln 2 days
# Tuned on the dev split of bench/data/stories (bench/stories.py --tune); see the README.
THRESHOLD = 0.15  # both sides read English: cosine x (1 + headline cover) / 2
THRESHOLD_ORIGINAL = 0.15  # untranslated: the cosine of names and numbers alone
TITLE_WEIGHT = 2  # title words count this many times
ARTICLE_TERMS = 80  # an article's vector keeps its heaviest terms
CENTROID_TERMS = 200  # a story's centroid keeps its heaviest terms
LEAD_CHARS = 1000  # the lead tells the event; a long analysis drifts

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")
_IDEOGRAPHIC = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_STOPWORDS_TEXT = """
    a about above according after again against all also am an and any are as at be because
    been before being below between both but by can could day days did do does doing down
    during each few first for from further had has have having he her here hers him his how
    i if in into is it its itself just last me more most mr ms my new no nor not now of off
    on once one only or other our out over own per percent s said same say says she should
    so some such t than that the their them then there these they this those through time to
    told too two under until up very was we week were what when where which while who whom
    why will with would year years you your
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# Words every political or economic story uses: they tell no event from another, and a young
# warehouse has too few articles for IDF to learn that (a prior, like the stopwords above).
_GENERIC_TEXT = """
    according after agency agree agreed already although amid bilateral call called continue
    continued cooperation countries country current currently develop developing development
    discuss discussed during earlier economic economy express expressed following further
    government held hold however important include including interest interests
    international issue issues later leader leaders made make meet meeting meetings met
    minister ministers ministry national news note noted official officials part policy
    political politics president presidents prime public question questions recent recently
    region regional relation relations report reported reports side sides since situation
    source sources state statement statements states still stress stressed support take
    talks today tomorrow took well while world yesterday
"""
_GENERIC = frozenset(_GENERIC_TEXT.split())
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґәөүұқғһң",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "sch",
            "_",
            "y",
            "_",
            "e",
            "yu",
            "ya",
            "i",
            "i",
            "e",
            "g",
            "a",
            "o",
            "u",
            "u",
            "k",
            "g",
            "h",
            "n",
        ],
        strict=True,
    )
)
# Azerbaijani and Turkish letters, and x (the Azerbaijani kh), to what English spelling uses;
# w and z as v and s, where Russian and English spellings of one name differ (Washington,
# Organization).
_LATIN = str.maketrans(
    {"ə": "a", "ı": "i", "ş": "sh", "ç": "ch", "ğ": "g", "x": "kh", "q": "g", "w": "v", "z": "s"}
)
# Case endings on names: Russian ones on Cyrillic words (Путину), Azerbaijani and Turkish
# suffixes on Latin words of those languages (Əliyevin, Bakıda); English names keep theirs.
# The stem is the longest that leaves one (Putinin -> Putin, not Puti).
_CYRILLIC_ENDINGS = re.compile(
    r"^(\w{4,})(?:ами|ями|ого|его|ому|ему|ыми|ими|ом|ем|ым|им|ой|ей|ах|ях|ую|а|я|у|ю|е|ы)$"
)
_TURKIC_SUFFIXES = re.compile(
    r"^(\w{4,})(?:nın|nin|nun|nün|ın|in|un|ün|dan|dən|da|də|la|lə|ya|yə|yla|ylə)$"
)
_TURKIC = frozenset({"az", "tr"})
# Where a sentence begins: the text's start, or after . ! ? : a quote, an opening bracket or a
# new line (after a closing one it goes on: "President [Ilham] Aliyev").
_SENTENCE_START = re.compile(r"(?:\A|[.!?:;\"“”«»(\[\n—–]|\s[-–—])\W*\Z")
_POSSESSIVE = re.compile(r"['’]s$")
_LANGUAGE_FREE = ("n:", "#:")
_VOWELS = re.compile(r"[aeiouyhw_]+")
_STEMMERS = {"en": "english", "ru": "russian", "tr": "turkish", "de": "german", "fr": "french"}


@dataclass(frozen=True)
class StoryText:
    """What an article's story is read from: its English if it has some, with its time."""

    url: str
    title: str | None
    text: str
    language: str  # the language of title and text ("en" when they are English)
    at: datetime  # when it happened, as far as the article says: published, else fetched
    edition_group: str | None = None


@dataclass
class Story:
    """An open story: its id, the sum of its members' vectors, and the span of their times."""

    story_id: int
    centroid: dict[str, float]
    first: datetime
    last: datetime
    articles: int
    norm: float = field(default=0.0)
    free_norm: float = field(default=0.0)  # the norm of its names and numbers alone

    def __post_init__(self) -> None:
        self.norm, self.free_norm = _norm(self.centroid), _norm(language_free(self.centroid))

    def add(self, vector: Mapping[str, float], at: datetime) -> None:
        """Take a member in: its vector into the centroid, its time into the span."""
        for term, weight in vector.items():
            self.centroid[term] = self.centroid.get(term, 0.0) + weight
        self.centroid = _heaviest(self.centroid, CENTROID_TERMS)
        self.norm, self.free_norm = _norm(self.centroid), _norm(language_free(self.centroid))
        self.first, self.last = min(self.first, at), max(self.last, at)
        self.articles += 1


@dataclass(frozen=True)
class Assignment:
    """Where an article went: its story, its score there (1.0 founded), and its vector."""

    url: str
    story_id: int
    score: float
    vector: dict[str, float]
    at: datetime


def read(story: StoryText) -> tuple[Counter[str], frozenset[str]]:
    """Term counts of an article (word stems, English or original, names and numbers; its
    title's TITLE_WEIGHT times), and which of the terms its title holds (its headline).

    A name is a word the text capitalises in mid-sentence (so a title in Title Case, or the
    first word of a sentence, is not made a name unless the text names it so elsewhere).
    """
    title, lead = _read(story)
    counts: Counter[str] = Counter()
    for _ in range(TITLE_WEIGHT):
        counts.update(title)
    counts.update(lead)
    return counts, frozenset(title)


def _read(story: StoryText) -> tuple[list[str], list[str]]:
    """The terms of the title and of the lead."""
    lead = unicodedata.normalize("NFKC", story.text[:LEAD_CHARS])
    title = unicodedata.normalize("NFKC", story.title or "")
    names = _named(lead)
    if _title_case(title):  # its capitals are names only where the text names them too
        keys = {name_key(name, story.language) for name in names}
        names |= {w for w in _named(title) if name_key(w, story.language) in keys}
    else:
        names |= _named(title)
    return _terms(title, story.language, names), _terms(lead, story.language, names)


def _named(text: str) -> set[str]:
    """Words capitalised where a sentence does not begin, case-folded."""
    return {
        match.group().casefold()
        for match in _WORD.finditer(text)
        if match.group()[0].isupper() and not _SENTENCE_START.search(text, 0, match.start())
    }


def _title_case(title: str) -> bool:
    """A headline that capitalises most of its words tells no names by its capitals."""
    words = [w for w in _WORD.findall(title) if len(w) > 3]
    return sum(w[0].isupper() for w in words) * 2 > len(words)


def _terms(text: str, language: str, names: set[str]) -> list[str]:
    found: list[str] = []
    stemmer = _stemmer(language)
    for word in _WORD.findall(text):
        lower = word.casefold()
        if _IDEOGRAPHIC.search(word):
            found.extend(_bigrams(word))
        elif len(lower) <= 2 or lower in _STOPWORDS or lower in _GENERIC:
            continue
        elif lower in names and (key := name_key(word, language)):
            found.append(f"n:{key}")
        else:
            found.append(f"w:{stemmer.stemWord(lower) if stemmer else lower}")
    spaced = _IDEOGRAPHIC.sub(" ", text)  # 4.8级, 5日03:12: a number beside a character
    found.extend(f"#:{_number(n)}" for n in _NUMBER.findall(spaced) if len(n) > 1)
    return found


def _bigrams(run: str) -> list[str]:
    """Chinese and Japanese have no spaces: overlapping character pairs stand for words."""
    return [f"c:{run[i : i + 2]}" for i in range(len(run) - 1)] or [f"c:{run}"]


def _number(text: str) -> str:
    return text.replace(",", ".")


def name_key(word: str, language: str) -> str | None:
    """A name's consonant skeleton in Latin letters: Алиеву, Əliyevin, Aliyev -> "lv".

    Case endings go first, then the vowels (where transliterations disagree most); None for
    a word too short to tell one name from another.
    """
    lower = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", word).casefold())
    if lower[:1] in _CYRILLIC:
        lower = _CYRILLIC_ENDINGS.sub(r"\1", lower)
    elif language in _TURKIC:
        lower = _TURKIC_SUFFIXES.sub(r"\1", lower)
    latin = "".join(_CYRILLIC.get(ch, ch) for ch in lower).translate(_LATIN)
    latin = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    skeleton = re.sub(r"(.)\1+", r"\1", _VOWELS.sub("", latin))
    return skeleton[:5] if len(skeleton) >= 2 else None


def _stemmer(language: str) -> Stemmer.Stemmer | None:
    algorithm = _STEMMERS.get(language)
    return Stemmer.Stemmer(algorithm) if algorithm else None


def vectorize(counts: Counter[str], df: Mapping[str, int], documents: int) -> dict[str, float]:
    """Unit TF-IDF vector (sublinear tf, smoothed idf) of an article's heaviest terms."""
    weights = {
        term: (1.0 + math.log(count)) * (math.log((documents + 1) / (df.get(term, 0) + 1)) + 1.0)
        for term, count in counts.items()
    }
    weights = _heaviest(weights, ARTICLE_TERMS)
    norm = _norm(weights)
    return {t: w / norm for t, w in weights.items()} if norm else {}


def _heaviest(weights: dict[str, float], keep: int) -> dict[str, float]:
    if len(weights) <= keep:
        return weights
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:keep])


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


def similarity(vector: Mapping[str, float], story: Story) -> float:
    """Cosine of an article's unit vector and a story's centroid."""
    if not story.norm:
        return 0.0
    return sum(w * story.centroid.get(t, 0.0) for t, w in vector.items()) / story.norm


def covered(headline: Mapping[str, float], story: Story) -> float:
    """The share of a headline's weight (its terms' weights in the article's vector) whose
    terms the story's centroid holds: 0 to 1, 0 for a headline without terms."""
    total = sum(headline.values())
    if not total:
        return 0.0
    return sum(w for t, w in headline.items() if t in story.centroid) / total


def language_free(vector: Mapping[str, float]) -> dict[str, float]:
    """The terms that read the same in every language: names and numbers."""
    return {t: w for t, w in vector.items() if t.startswith(_LANGUAGE_FREE)}


def decayed(score: float, at: datetime, story: Story, decay_days: float = DECAY_DAYS) -> float:
    """A score discounted by the days between the article and the nearest of the story's."""
    if story.first <= at <= story.last:
        return score
    gap = min(abs(at - story.first), abs(at - story.last))
    if gap > WINDOW:
        return 0.0
    return score * math.exp(-max(gap - GRACE, timedelta(0)) / timedelta(days=decay_days))


def founder_id(url: str) -> int:
    """A new story's id, from its founding article's URL (63 bits of BLAKE2b).

    No counter, so the same articles give the same ids on every run and on every worker.
    """
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest()) >> 1


@dataclass
class Assigner:
    """Online assignment of articles, in time order, to open stories or new ones."""

    stories: dict[int, Story]
    threshold: float = THRESHOLD
    threshold_original: float = THRESHOLD_ORIGINAL
    decay_days: float = DECAY_DAYS
    edition_story: dict[str, int] = field(default_factory=dict)  # edition group -> story
    # term -> the stories whose centroid has (or had) it: only they can score above 0
    postings: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for story_id, story in self.stories.items():
            self._post(story_id, story.centroid)

    def _post(self, story_id: int, vector: Mapping[str, float]) -> None:
        for term in vector:
            self.postings.setdefault(term, set()).add(story_id)

    def assign(
        self,
        story: StoryText,
        vector: dict[str, float],
        english: bool,
        title: frozenset[str] = frozenset(),
    ) -> Assignment:
        """Join the best open story above the threshold, the edition's story, or found one.

        title: the terms of its headline (read()); without them an English article's
        cosine counts half everywhere.
        """
        forced = self.edition_story.get(story.edition_group or "")
        if forced is not None and forced in self.stories:
            best, score = forced, 1.0
        else:
            best, score = self._best(vector, story.at, english, title)
            if score < (self.threshold if english else self.threshold_original):
                best, score = founder_id(story.url), 1.0
        if best not in self.stories:
            self.stories[best] = Story(best, {}, story.at, story.at, 0)
        self.stories[best].add(vector, story.at)
        self._post(best, vector)
        if story.edition_group:
            self.edition_story.setdefault(story.edition_group, best)
        return Assignment(story.url, best, score, vector, story.at)

    def _best(
        self, vector: Mapping[str, float], at: datetime, english: bool, title: frozenset[str]
    ) -> tuple[int, float]:
        """The open story most like the article: by all its terms if it reads English, each
        story's cosine weighed by how much of the headline it holds (covered()), else by its
        names and numbers alone (its own words cannot meet another language's)."""
        heads = {t: w for t, w in vector.items() if t in title}
        if not english:
            free = language_free(vector)
            norm = _norm(free)
            vector = {t: w / norm for t, w in free.items()} if norm else {}
        dots: dict[int, float] = {}
        for term, weight in vector.items():
            for story_id in self.postings.get(term, ()):
                product = weight * self.stories[story_id].centroid.get(term, 0.0)
                dots[story_id] = dots.get(story_id, 0.0) + product
        best, score = 0, 0.0
        for story_id, dot in dots.items():
            story = self.stories[story_id]
            norm = story.norm if english else story.free_norm
            if not norm:
                continue
            score_here = dot / norm
            if english:
                score_here *= (1.0 + covered(heads, story)) / 2
            candidate = decayed(score_here, at, story, self.decay_days)
            if (candidate, -story_id) > (score, -best):
                best, score = story_id, candidate
        return best, score
