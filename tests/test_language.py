"""Language detection as analysts rely on it: stable codes, Azerbaijani recognized."""

import pytest

from processing.language import detect_language, normalize_code

RU = "Президенты России и Азербайджана встретились в Душанбе и обсудили двусторонние отношения."
AZ = "Prezident İlham Əliyev Rusiya Prezidenti ilə görüşdə ikitərəfli əlaqələri müzakirə edib."
TR = "Türkiye Cumhurbaşkanı bugün Ankara'da bir açıklama yaptı ve ekonomi hakkında konuştu."
ZH = "俄罗斯总统普京和阿塞拜疆总统阿利耶夫在杜尚别会晤，双方讨论了两国关系。"
EN = "The two presidents met in Dushanbe and agreed that relations should return to normal."


@pytest.mark.parametrize(
    ("text", "expected"), [(RU, "ru"), (AZ, "az"), (TR, "tr"), (ZH, "zh"), (EN, "en")]
)
def test_detects_the_languages_of_our_sources(text, expected):
    assert detect_language(text) == expected


def test_detection_is_deterministic():
    short = "Baku Moscow talks"
    assert len({detect_language(short) for _ in range(20)}) == 1


def test_text_without_letters_is_undetermined():
    assert detect_language("12:45 — 2025 © ...") == "und"
    assert detect_language("") == "und"


def test_confident_detection_overrules_a_wrong_declaration():
    assert detect_language(RU, declared="en") == "ru"


def test_declared_language_breaks_ties_on_ambiguous_text():
    ambiguous = "Baku Moskva"
    assert detect_language(ambiguous, declared="az") == "az"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ru-RU", "ru"), ("zh-CN", "zh"), ("zh_TW", "zh"), ("EN", "en"), ("", None), (None, None)],
)
def test_codes_are_normalized(code, expected):
    assert normalize_code(code) == expected


def test_parallel_first_use_gives_the_same_answers_as_sequential(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import processing.language as language

    texts = [RU, AZ, TR, ZH, EN] * 4
    sequential = [detect_language(t) for t in texts]
    monkeypatch.setattr(language, "_FACTORIES", [])  # as in a fresh process
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(detect_language, texts)) == sequential
