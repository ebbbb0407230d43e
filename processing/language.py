"""Language detection: seeded langdetect, with the page's declared language as a tie-breaker."""

from __future__ import annotations

import threading

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

UNDETERMINED = "und"
CONFIDENT = 0.90
# Schwa is the commonest Azerbaijani vowel and absent from Turkish, which langdetect (it has no
# Azerbaijani profile) would otherwise report. Share of letters, measured on our fixture prose
# at 5-8 %; 1 % leaves room for short or mixed texts.
_AZ_SCHWA_SHARE = 0.01
_ALIASES = {"zh-cn": "zh", "zh-tw": "zh", "zh-hans": "zh", "zh-hant": "zh", "aze": "az"}
_SAMPLE_CHARS = 10_000


def normalize_code(code: str | None) -> str | None:
    """ISO 639-1 code from what pages and detectors say: "ru-RU" -> "ru", "zh-CN" -> "zh"."""
    if not code or not code.strip():
        return None
    code = code.strip().lower().replace("_", "-")
    return _ALIASES.get(code) or code.split("-")[0] or None


_FACTORY_LOCK = threading.Lock()
_FACTORIES: list[DetectorFactory] = []


def _factory() -> DetectorFactory:
    """langdetect's profiles, loaded once under a lock and seeded.

    langdetect's own lazy global loader is not thread-safe: tasks detecting in parallel
    threads could load the profiles twice and skew every probability. Unseeded, it is random.
    """
    with _FACTORY_LOCK:
        if not _FACTORIES:
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(0)
            _FACTORIES.append(factory)
        return _FACTORIES[0]


def detect_language(text: str, declared: str | None = None) -> str:
    """Language code of a text, or "und" when it cannot be told.

    A confident detection wins over what the page declares (CMS defaults are often wrong);
    when the detector is unsure, the declared language decides.
    """
    declared = normalize_code(declared)
    sample = text[:_SAMPLE_CHARS]
    letters = [ch for ch in sample if ch.isalpha()]
    if not letters:
        return UNDETERMINED
    if sum(ch in "əƏ" for ch in letters) / len(letters) >= _AZ_SCHWA_SHARE:
        return "az"
    try:
        detector = _factory().create()
        detector.append(sample)
        candidates = detector.get_probabilities()
    except LangDetectException:
        return declared or UNDETERMINED
    scores = {normalize_code(c.lang): c.prob for c in candidates}
    best, probability = max(scores.items(), key=lambda item: item[1])
    if declared == "az" and best == "tr":
        return "az"  # langdetect's nearest guess for Azerbaijani written without schwa
    if probability >= CONFIDENT or not declared:
        return best or UNDETERMINED
    return declared
