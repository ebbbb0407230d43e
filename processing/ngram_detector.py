"""langdetect's Detector with its per-character and per-language loops made fast, same answers.

langdetect walks the text one character at a time in Python (normalizing each through a
binary search of Unicode blocks) and updates 55 language probabilities in a Python loop per
sampled n-gram: about a tenth of the page path's time. Here the normalization of a character is
cached, the text's clean-up runs as regular expressions, and the probabilities are numpy
vectors, with the same random draws, the same arithmetic per element and the same sequential
sums, so the probabilities come out bit for bit the same (tests/test_language.py compares).
"""

from __future__ import annotations

import re
from array import array
from functools import lru_cache

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.utils.lang_profile import LangProfile
from langdetect.utils.ngram import NGram

_SPACES = re.compile(" +")
_ASCII_LETTERS = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', [ \ ] ^ _ ` included
# langdetect means to count letters from U+0300 on, Latin Extended Additional left out, but it
# compares the block's number with its name, so it counts every one: so does this.
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")


# Bounds on the caches: a text of every script does not grow them without end.
_MAX_VECTORS = 20_000  # of the profiles' 87,598 n-grams; 55 floats each
_MAX_CHARACTERS = 10_000
_MAX_WORDS = 50_000


@lru_cache(maxsize=_MAX_CHARACTERS)
def _normalized(ch: str) -> str:
    """NGram.normalize, a pure function of one character, once per character seen."""
    return NGram.normalize(ch)


def _grams(word: str, known: dict[str, list[float]]) -> list[str]:
    """NGram.add_char's buffer run over a normalized word after a space, as langdetect does."""
    result = []
    grams, capital = " ", False
    for ch in word:
        last = grams[-1]
        if len(grams) >= NGram.N_GRAM:
            grams = grams[1:]
        grams += ch
        capital = ch.isupper() and (capital or last.isupper())
        if not capital:
            for n in range(1, len(grams) + 1):
                if (gram := grams[-n:]) != " " and gram in known:
                    result.append(gram)
    return result


class NgramDetectorFactory(DetectorFactory):
    """A DetectorFactory whose detectors are NgramDetectors sharing its n-grams' vectors.

    The profiles are kept sparse: langdetect's map holds a list of 55 floats per n-gram (about
    60 MB in every page worker), while an n-gram has a probability in 2 languages on average.
    word_lang_prob_map maps each n-gram to its row; a row's (language, probability) entries
    are arrays, from which a vector is made as it is needed (the same float64 values).
    """

    def __init__(self) -> None:
        super().__init__()
        self.vectors: dict[str, np.ndarray] = {}
        self.grams: dict[str, list[str]] = {}
        self._entries = (array("l"), array("B"), array("d"))  # row, language, probability
        self._rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add_profile(self, profile: LangProfile, index: int, langsize: int) -> None:
        """As DetectorFactory.add_profile, into the sparse rows."""
        if profile.name in self.langlist:
            raise LangDetectException(
                ErrorCode.DuplicateLangError, "Duplicate the same language profile."
            )
        self.langlist.append(profile.name)
        rows, languages, probabilities = self._entries
        for word in profile.freq:
            row = self.word_lang_prob_map.setdefault(word, len(self.word_lang_prob_map))
            length = len(word)
            if 1 <= length <= 3:
                rows.append(row)
                languages.append(index)
                probabilities.append(1.0 * profile.freq.get(word) / profile.n_words[length - 1])
        self._rows = None

    def vector(self, gram: str) -> np.ndarray:
        """The n-gram's probability in each language (langdetect's list, as a vector)."""
        if self._rows is None:
            rows, languages, probabilities = (np.frombuffer(a, a.typecode) for a in self._entries)
            order = np.argsort(rows, kind="stable")
            starts = np.searchsorted(rows[order], np.arange(len(self.word_lang_prob_map) + 1))
            self._rows = (starts, languages[order], probabilities[order])
        starts, languages, probabilities = self._rows
        row = self.word_lang_prob_map[gram]
        vector = np.zeros(len(self.langlist))
        vector[languages[starts[row] : starts[row + 1]]] = probabilities[
            starts[row] : starts[row + 1]
        ]
        return vector

    def _create_detector(self) -> NgramDetector:
        if not self.langlist:
            raise LangDetectException(ErrorCode.NeedLoadProfileError, "Need to load profiles.")
        return NgramDetector(self)


class NgramDetector(Detector):
    """A Detector from a factory's profiles, faster, with the same answers."""

    def __init__(self, factory: NgramDetectorFactory) -> None:
        super().__init__(factory)
        self.factory = factory
        self.vectors = factory.vectors
        self.grams = factory.grams

    def _vector(self, gram: str) -> np.ndarray:
        """The n-gram's probability in each language, as a vector made once."""
        if (vector := self.vectors.get(gram)) is None:
            if len(self.vectors) >= _MAX_VECTORS:
                self.vectors.clear()
            vector = self.vectors[gram] = self.factory.vector(gram)
        return vector

    def append(self, text: str) -> None:
        """As Detector.append: URLs and e-mail addresses blanked, runs of spaces made one."""
        text = self.URL_RE.sub(" ", text)
        text = self.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        self.text += _SPACES.sub(" ", text[: self.max_text_length])

    def cleaning_text(self) -> None:
        """As Detector.cleaning_text: Latin letters dropped from text that is mostly not Latin."""
        if len(_ASCII_LETTERS.findall(self.text)) * 2 < len(_NON_LATIN.findall(self.text)):
            self.text = _ASCII_LETTERS.sub("", self.text)

    def _extract_ngrams(self) -> list[str]:
        """As Detector._extract_ngrams: the text's 1-, 2- and 3-grams that the profiles know,
        in order, words in capitals left out. langdetect's n-gram buffer starts afresh after
        each space, so a word's n-grams depend on the word alone: each is made once."""
        words = "".join(map(_normalized, self.text)).split(" ")
        result: list[str] = []
        for word in words[:-1]:  # each followed by a space, which ends its last n-grams
            if word:
                result += self._word_grams(word + " ")
        if words[-1]:
            result += self._word_grams(words[-1])
        return result

    def _word_grams(self, word: str) -> list[str]:
        if (grams := self.grams.get(word)) is None:
            if len(self.grams) >= _MAX_WORDS:
                self.grams.clear()
            grams = self.grams[word] = _grams(word, self.word_lang_prob_map)
        return grams

    def _detect_block(self) -> None:
        """As Detector._detect_block, the probabilities updated as vectors."""
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        languages = len(self.langlist)
        total = [0.0] * languages
        self.random.seed(self.seed)
        for _ in range(self.n_trial):
            uniform = [1.0 / languages] * languages
            prob = np.array(uniform if self.prior_map is None else self.prior_map)
            alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
            weight = alpha / self.BASE_FREQ
            i = 0
            while True:
                prob *= weight + self._vector(self.random.choice(ngrams))
                if i % 5 == 0:
                    prob /= sum(prob.tolist())  # Python's sum: langdetect's order of additions
                    if prob.max() > self.CONV_THRESHOLD or i >= self.ITERATION_LIMIT:
                        break
                i += 1
            for j, p in enumerate(prob.tolist()):
                total[j] += p / self.n_trial
        self.langprob = total
