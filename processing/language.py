"""Language detection: the script decides first, then seeded langdetect with the declared prior.

Script rules settle what statistics get wrong on news text: Han without kana or Hangul is
Chinese (Simplified `zh` or Traditional `zt`, the two Argos models), Hangul is Korean, Georgian
and Armenian letters are ka and hy (langdetect knows neither), and Cyrillic is told apart among
ru/uk/az/kk/be/sr/mk/bg by the letters only one of them uses. Latin text goes to langdetect,
with Azerbaijani recognized by its letters (ə, q, x), which Turkish lacks.
"""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum

import regex
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from processing.ngram_detector import NgramDetectorFactory

UNDETERMINED = "und"
CONFIDENT = 0.90
# langdetect reads up to 10,000 characters with 7 random trials. 1,000 characters and 3 trials
# gave the same answers on all 207 texts of bench/language.py (181 English benchmark articles,
# 26 labelled paragraphs in 10 languages) in a third of the time. A short text keeps the 7
# trials: with fewer, two words get a confident wrong guess that overrules the declared language.
SAMPLE_CHARS = 1_000
TRIALS = 3
SHORT_TEXT = 300
SHORT_TEXT_TRIALS = 7


class Script(StrEnum):
    """Writing systems the rules tell apart (OTHER: any letter of the rest)."""

    LATIN = "Latin"
    CYRILLIC = "Cyrillic"
    HAN = "Han"
    KANA = "Kana"
    HANGUL = "Hangul"
    GEORGIAN = "Georgian"
    ARMENIAN = "Armenian"
    GREEK = "Greek"
    ARABIC = "Arabic"
    HEBREW = "Hebrew"
    DEVANAGARI = "Devanagari"
    OTHER = "Other"


_CLASSES = {
    Script.LATIN: r"\p{Latin}",
    Script.CYRILLIC: r"\p{Cyrillic}",
    Script.HAN: r"\p{Han}",
    Script.KANA: r"\p{Hiragana}\p{Katakana}",
    Script.HANGUL: r"\p{Hangul}",
    Script.GEORGIAN: r"\p{Georgian}",
    Script.ARMENIAN: r"\p{Armenian}",
    Script.GREEK: r"\p{Greek}",
    Script.ARABIC: r"\p{Arabic}",
    Script.HEBREW: r"\p{Hebrew}",
    Script.DEVANAGARI: r"\p{Devanagari}",
    Script.OTHER: r"\p{L}",
}
_SCRIPTS = [script for script in _CLASSES if script is not Script.OTHER]
# Each script's class, and one class of all the scripts after it: most texts have one script.
_PATTERNS = [
    (
        script,
        regex.compile(f"[{_CLASSES[script]}]+"),
        regex.compile(f"[{''.join(_CLASSES[later] for later in _SCRIPTS[i + 1 :])}]"),
    )
    for i, script in enumerate(_SCRIPTS[:-1])
] + [(_SCRIPTS[-1], regex.compile(f"[{_CLASSES[_SCRIPTS[-1]]}]+"), regex.compile("(?!)"))]
_LETTERS = regex.compile(f"[{_CLASSES[Script.OTHER]}]+")
_FIRST_LETTER = regex.compile("|".join(f"(?P<{s.name}>[{c}])" for s, c in _CLASSES.items()))
# Scripts written without spaces between words, where one character is about a word.
IDEOGRAPHIC = frozenset({Script.HAN, Script.KANA, Script.HANGUL})
_IDEOGRAPH_WEIGHT = 3  # a Han character carries about as much as three letters of a word

_BY_SCRIPT = {
    Script.GEORGIAN: "ka",
    Script.ARMENIAN: "hy",
    Script.GREEK: "el",
    Script.HEBREW: "he",
}

# Characters written differently in the two standards (简/繁), each pair read as a column.
# Only characters that are not also valid in the other standard are kept.
_SIMPLIFIED = (
    "国会说这时为来个们对发经过动问电开关长现进实应学还东义乐书买乱亚从众优传伤体价举华军农决况"
    "务区协单卫历压县参双变员响团图场声处备复头夺孙宝导将尔层岁币师带帮广庆张强总战报护择拥据权"
    "条杀机极构标样树欢气汉没济热爱营环产疗确种称离纪约级线组结给统继续维综网罗联职胜脑节苏获观"
    "规视计认议记讲论设证评识话语请读调谈责贸资赛转轻边达运选遗邮邻钱铁银门间队阳阶际陆难页项领"
    "题风飞马鱼鸟齐龙俄罗斯总统领导阵营贝尔乌兰克"
)
_TRADITIONAL = (
    "國會說這時為來個們對發經過動問電開關長現進實應學還東義樂書買亂亞從眾優傳傷體價舉華軍農決況"
    "務區協單衛歷壓縣參雙變員響團圖場聲處備復頭奪孫寶導將爾層歲幣師帶幫廣慶張強總戰報護擇擁據權"
    "條殺機極構標樣樹歡氣漢沒濟熱愛營環產療確種稱離紀約級線組結給統繼續維綜網羅聯職勝腦節蘇獲觀"
    "規視計認議記講論設證評識話語請讀調談責貿資賽轉輕邊達運選遺郵鄰錢鐵銀門間隊陽階際陸難頁項領"
    "題風飛馬魚鳥齊龍俄羅斯總統領導陣營貝爾烏蘭克"
)
_ONLY_SIMPLIFIED = frozenset(_SIMPLIFIED) - frozenset(_TRADITIONAL)
_ONLY_TRADITIONAL = frozenset(_TRADITIONAL) - frozenset(_SIMPLIFIED)

# Cyrillic letters that only some of the languages using the script write.
_AZ_CYRILLIC = frozenset("ҹҝәј")
_KK = frozenset("қңұ")
_UK = frozenset("іїєґ")
_RU = frozenset("ыэё")
_SR = frozenset("ђћљњџ")
_MK = frozenset("ѓќѕ")
_CYRILLIC_GROUPS = {"az": _AZ_CYRILLIC, "kk": _KK, "uk": _UK, "ru": _RU, "sr": _SR, "mk": _MK}
_CYRILLIC_CANDIDATES = ("ru", "uk", "bg", "mk")  # what langdetect may say for Cyrillic text

# Schwa is the commonest Azerbaijani vowel (ә in Cyrillic, with ҹ ҝ ј) and absent from Turkish,
# which langdetect (it has no Azerbaijani profile) would otherwise report. Measured at 5-8 % of
# the letters of our fixture prose; 1 % leaves room for short texts.
_AZ_LETTER_SHARE = 0.01
# q and x are Azerbaijani letters (together about 3 % of them) missing from the Turkish
# alphabet; names such as "Xi" stay well below 2 %.
_AZ_QX_SHARE = 0.02

_ALIASES = {
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-hans": "zh",
    "zh-tw": "zt",
    "zh-hk": "zt",
    "zh-mo": "zt",
    "zh-hant": "zt",
    "aze": "az",
}


def normalize_code(code: str | None) -> str | None:
    """Argos-style code from what pages and detectors say: "ru-RU" -> "ru", "zh-TW" -> "zt"."""
    if not code or not code.strip():
        return None
    code = code.strip().lower().replace("_", "-")
    return _ALIASES.get(code) or code.split("-")[0] or None


def script_of(word: str) -> Script | None:
    """The script of a word's first letter (None when it has no letter)."""
    match = _FIRST_LETTER.search(word)
    return Script[match.lastgroup] if match and match.lastgroup else None


def script_counts(text: str) -> Counter[Script]:
    """How many letters of each script a text has (OTHER counts the letters of the rest)."""
    counts: Counter[Script] = Counter()
    for script, runs, later in _PATTERNS:
        if found := _length(runs, text):
            counts[script] = found
        if not later.search(text):  # one pass says that no other script's search would find any
            break
    if (other := _length(_LETTERS, text) - sum(counts.values())) > 0:
        counts[Script.OTHER] = other
    return counts


def _length(runs: regex.Pattern[str], text: str) -> int:
    """How many characters the runs of a class hold: a third of the time of one per match."""
    return sum(map(len, runs.findall(text)))


_FACTORY_LOCK = threading.Lock()
_FACTORIES: list[NgramDetectorFactory] = []


def _factory() -> NgramDetectorFactory:
    """langdetect's profiles, loaded once under a lock and seeded (its detectors' answers are
    langdetect's own, found faster: processing.ngram_detector).

    langdetect's own lazy global loader is not thread-safe: tasks detecting in parallel
    threads could load the profiles twice and skew every probability. Unseeded, it is random.
    """
    with _FACTORY_LOCK:
        if not _FACTORIES:
            factory = NgramDetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(0)
            _FACTORIES.append(factory)
        return _FACTORIES[0]


def detect_language(text: str, declared: str | None = None) -> str:
    """Language code of a text (Argos codes: `zt` is Traditional Chinese), or "und".

    The script decides where it can; otherwise langdetect does on the first SAMPLE_CHARS
    characters. A confident detection wins over what the page declares (CMS defaults are often
    wrong); when the detector is unsure, the declared language decides. Works on a whole
    article or on one paragraph of a mixed one.
    """
    declared = normalize_code(declared)
    sample = text[:SAMPLE_CHARS]
    counts = script_counts(sample)
    if not counts:
        return UNDETERMINED
    weighted = {s: n * (_IDEOGRAPH_WEIGHT if s in IDEOGRAPHIC else 1) for s, n in counts.items()}
    ideographs = sum(n for s, n in weighted.items() if s in IDEOGRAPHIC)
    dominant = max(weighted, key=lambda s: weighted[s])
    if ideographs >= weighted[dominant]:
        return _east_asian(sample, counts, declared)
    if dominant in _BY_SCRIPT:
        return _BY_SCRIPT[dominant]
    if dominant is Script.CYRILLIC:
        return _cyrillic(sample, counts[Script.CYRILLIC], declared)
    if dominant is Script.LATIN:
        return _latin(sample, counts[Script.LATIN], declared)
    return _statistical(sample, declared)


def _east_asian(sample: str, counts: Counter[Script], declared: str | None) -> str:
    """Hangul is Korean, kana Japanese, Han alone Chinese in its simplified or traditional form."""
    total = counts[Script.HAN] + counts[Script.KANA] + counts[Script.HANGUL]
    if counts[Script.HANGUL] >= 0.3 * total:
        return "ko"
    if counts[Script.KANA] >= 0.1 * total:
        return "ja"
    simplified = sum(ch in _ONLY_SIMPLIFIED for ch in sample)
    traditional = sum(ch in _ONLY_TRADITIONAL for ch in sample)
    if simplified == traditional:
        return "zt" if declared == "zt" else "zh"
    return "zt" if traditional > simplified else "zh"


def _cyrillic(sample: str, letters: int, declared: str | None) -> str:
    """Cyrillic languages by the letters only they write, else langdetect among ru/uk/bg/mk."""
    seen = Counter(ch for ch in sample.lower() if "\u0400" <= ch <= "\u04ff")
    hits = {name: sum(seen[ch] for ch in group) for name, group in _CYRILLIC_GROUPS.items()}
    if hits["az"] >= _AZ_LETTER_SHARE * letters and hits["az"] > hits["kk"]:
        return "az"
    if hits["kk"]:
        return "kk"
    if seen["ў"]:
        return "be"
    if hits["mk"]:
        return "mk"
    if hits["sr"]:
        return "sr"
    if hits["uk"] > hits["ru"]:
        return "uk"
    if hits["ru"]:
        return "ru"
    guess = _statistical(sample, declared, _CYRILLIC_CANDIDATES)
    return guess if guess != UNDETERMINED else "ru"


def _latin(sample: str, letters: int, declared: str | None) -> str:
    """langdetect, except that Azerbaijani (which it does not know) is told by its letters."""
    lowered = sample.lower()
    if lowered.count("ə") >= _AZ_LETTER_SHARE * letters:
        return "az"
    guess = _statistical(sample, declared)
    if guess == "tr":
        qx = lowered.count("q") + lowered.count("x")
        if declared == "az" or qx >= _AZ_QX_SHARE * letters:
            return "az"  # langdetect's nearest guess for Azerbaijani written without schwa
    return guess


def _statistical(
    sample: str, declared: str | None, candidates: tuple[str, ...] | None = None
) -> str:
    """Seeded langdetect, limited to candidates if given; unsure, the declared language wins."""
    try:
        detector = _factory().create()
        detector.n_trial = TRIALS if len(sample) >= SHORT_TEXT else SHORT_TEXT_TRIALS
        detector.append(sample)
        found = detector.get_probabilities()
    except LangDetectException:
        return declared or UNDETERMINED
    scores = {normalize_code(c.lang): c.prob for c in found}
    if candidates is not None:
        scores = {code: p for code, p in scores.items() if code in candidates}
        if declared in candidates and declared not in scores:
            return declared
    if not scores:
        return declared or UNDETERMINED
    best, probability = max(scores.items(), key=lambda item: item[1])
    if probability >= CONFIDENT or not declared:
        return best or UNDETERMINED
    return declared
