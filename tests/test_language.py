"""Language detection as analysts and translation rely on it: the script decides first, stable
codes, Azerbaijani recognized, Simplified and Traditional Chinese told apart for their models."""

from pathlib import Path

import pytest

from processing.language import SAMPLE_CHARS, detect_language, normalize_code
from processing.models import ModelInfo
from processing.translate import _model_for

# A labelled set of news paragraphs, two or three per language, written for these tests.
LABELLED = {
    "ru": [
        "Президенты России и Азербайджана встретились в Душанбе и обсудили двусторонние "
        "отношения, сообщила пресс-служба Кремля.",
        "В Махачкале из-за сильных дождей затопило несколько улиц, жители жалуются, что "
        "городские службы так и не приехали.",
        "Суд в Грозном приговорил журналиста к двум годам колонии, защита обжалует приговор.",
    ],
    "uk": [
        "У Києві відбулася зустріч міністрів закордонних справ, які обговорили питання "
        "енергетичної безпеки та підтримки біженців.",
        "Через сильні зливи на заході країни підтоплено десятки будинків, рятувальники "
        "працюють цілодобово.",
    ],
    "zh": [
        "俄罗斯总统普京和阿塞拜疆总统阿利耶夫在杜尚别会晤，双方讨论了两国关系。",
        "据新华社报道，国家统计局今天发布的数据显示，上个月全国居民消费价格同比上涨。",
        "阿塞拜疆外交部发言人表示，巴库愿意与各方继续对话，推动地区和平进程。",
    ],
    "zt": [
        "俄羅斯總統普京和亞塞拜然總統阿利耶夫在杜尚別會晤，雙方討論了兩國關係。",
        "據中央社報導，行政院今天召開會議，決定擴大對受災地區的補助，並加強防颱準備。",
        "香港特區政府發言人表示，將繼續推動經濟發展，改善市民生活。",
    ],
    "az": [
        "Prezident İlham Əliyev Rusiya Prezidenti ilə görüşdə ikitərəfli əlaqələri müzakirə edib.",
        "Bakıda keçirilən beynəlxalq konfransda regional təhlükəsizlik məsələləri müzakirə "
        "olunub, iştirakçılar əməkdaşlığın genişləndirilməsini vacib sayıblar.",
    ],
    "az-cyrillic": [
        "Президент Илһам Әлијев Русија Президенти илә ҝөрүшдә икитәрәфли әлагәләри мүзакирә едиб.",
        "Бакыда кечирилән бејнәлхалг конфрансда реҝионал тәһлүкәсизлик мәсәләләри мүзакирә олунуб.",
    ],
    "tr": [
        "Türkiye Cumhurbaşkanı bugün Ankara'da bir açıklama yaptı ve ekonomi hakkında konuştu.",
        "İstanbul'da etkili olan sağanak yağış nedeniyle birçok ilçede su baskınları yaşandı, "
        "ekipler gece boyunca çalıştı.",
    ],
    "en": [
        "The two presidents met in Dushanbe and agreed that relations should return to normal.",
        "Heavy rain flooded several streets in Makhachkala, and residents say the city services "
        "never came.",
    ],
    "ka": [
        "საქართველოს პრეზიდენტმა თბილისში უცხოელ ელჩებთან შეხვედრაზე რეგიონის უსაფრთხოებაზე "
        "ისაუბრა.",
        "ძლიერი წვიმის გამო დასავლეთ საქართველოში რამდენიმე გზა ჩაიკეტა.",
    ],
    "hy": [
        "Հայաստանի վարչապետը Երևանում հանդիպել է Եվրոպական միության պատվիրակության հետ և "
        "քննարկել տարածաշրջանային անվտանգության հարցերը։",
        "Ուժեղ անձրևների պատճառով Լոռու մարզում մի քանի ճանապարհ փակվել է։",
    ],
    "ko": [
        "러시아와 아제르바이잔 대통령이 두샨베에서 만나 양국 관계를 논의했다고 크렘린궁이 밝혔다.",
        "서울 시청 앞 광장에서 열린 집회에는 수천 명의 시민이 참석했다.",
        "大韓民國 정부는 오늘 경제 관계 장관 회의를 열고 물가 안정 대책을 발표했다.",
    ],
}
EXPECTED_CODE = {"az-cyrillic": "az"}
CASES = [
    pytest.param(text, EXPECTED_CODE.get(label, label), id=f"{label}-{i}")
    for label, texts in LABELLED.items()
    for i, text in enumerate(texts)
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_every_labelled_paragraph_gets_its_language(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_wrong_declaration_does_not_overrule_the_text(text, expected):
    wrong = "de" if expected != "de" else "fr"
    assert detect_language(text, declared=wrong) == expected


def test_traditional_chinese_is_never_taken_for_korean_or_english():
    # Hong Kong and Taiwan pages with a few Latin names came back as ko or en before.
    page = " ".join(LABELLED["zt"]) + " 記者 John Lee 於 HKTV 報導。"
    assert detect_language(page) == "zt"
    assert detect_language(page, declared="zh-TW") == "zt"


def test_chinese_without_telltale_characters_follows_the_declared_standard():
    neutral = "阿利耶夫。"  # characters common to both standards
    assert detect_language(neutral) == "zh"
    assert detect_language(neutral, declared="zh-Hant") == "zt"


def test_japanese_with_kana_is_not_chinese():
    assert detect_language("東京で開かれた会議には、多くの市民が参加しました。") == "ja"


def test_an_english_paragraph_in_a_russian_article_is_english():
    english_quote = "We will not accept this verdict and will appeal to the supreme court."
    assert detect_language(english_quote, declared="ru") == "en"


def test_only_the_first_sample_decides():
    text = LABELLED["ru"][0] * (SAMPLE_CHARS // len(LABELLED["ru"][0]) + 1)
    assert detect_language(text + " " + LABELLED["zh"][0] * 200) == "ru"


def test_detection_is_deterministic():
    short = "Baku Moscow talks"
    assert len({detect_language(short) for _ in range(20)}) == 1


def test_text_without_letters_is_undetermined():
    assert detect_language("12:45 — 2025 © ...") == "und"
    assert detect_language("") == "und"


def test_declared_language_breaks_ties_on_ambiguous_text():
    ambiguous = "Baku Moskva"
    assert detect_language(ambiguous, declared="az") == "az"


def test_azerbaijani_written_without_schwa_is_told_by_q_and_x():
    no_schwa = "Baki seheri xeber verir ki, qonaqlar bu axsam Qax rayonuna gedecekler."
    assert detect_language(no_schwa) == "az"
    turkish_with_a_name = (
        "Xi Jinping Ankara ziyaretinde ekonomi ve ticaret konularını ele aldı, iki ülke "
        "arasında yeni anlaşmalar imzalandı."
    )
    assert detect_language(turkish_with_a_name) == "tr"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru-RU", "ru"),
        ("zh-CN", "zh"),
        ("zh_TW", "zt"),
        ("zh-Hant", "zt"),
        ("zh-Hans", "zh"),
        ("EN", "en"),
        ("", None),
        (None, None),
    ],
)
def test_codes_are_normalized_to_argos_codes(code, expected):
    assert normalize_code(code) == expected


def test_simplified_and_traditional_chinese_pick_their_own_models():
    zh, zt = (ModelInfo(code, "en", f"{code}-en", "1.0", Path(code)) for code in ("zh", "zt"))
    both = {"zh": zh, "zt": zt}
    simplified, traditional = LABELLED["zh"][0], LABELLED["zt"][0]
    assert _model_for(detect_language(simplified), both) is zh
    assert _model_for(detect_language(traditional), both) is zt
    assert _model_for("zh-TW", both) is zt and _model_for("zh-CN", both) is zh
    assert _model_for(detect_language(traditional), {"zh": zh}) is None  # waits for zt


def test_parallel_first_use_gives_the_same_answers_as_sequential(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import processing.language as language

    texts = [text for texts in LABELLED.values() for text in texts] * 2
    sequential = [detect_language(t) for t in texts]
    monkeypatch.setattr(language, "_FACTORIES", [])  # as in a fresh process
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(detect_language, texts)) == sequential


# Texts that reach every branch of langdetect's n-gram walk: words in capitals, URLs and e-mail
# addresses, runs of spaces, Vietnamese tone marks, Latin inside mostly non-Latin text, digits
# and punctuation that become spaces, a text that ends inside a word.
_DETECTOR_CORNERS = [
    "NATO and the EU met in BRUSSELS on Monday; see https://example.com/x?y=1 or ask a@b.org",
    "Hà Nội   hôm nay   trời mưa to,  nhiều tuyến phố bị ngập sâu.",
    "Москва (Reuters) – ТАСС сообщает, что переговоры в Баку продолжатся в 2026 году",
    "阿塞拜疆 Azerbaijan 总统 Aliyev 在 Baku 会见了 Putin 和 Erdoğan",
    "iPhone iOS McDonald's O'Brien and DeSantis",
    "ends inside a wor",
]


@pytest.mark.parametrize("trials", [3, 7])
def test_the_fast_detector_gives_langdetects_own_probabilities(trials):
    """processing.ngram_detector must be langdetect, only faster: the same probabilities to the
    last bit, from the same seeded draws, on every labelled paragraph and the corners."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    from processing.ngram_detector import NgramDetectorFactory

    factories = [DetectorFactory(), NgramDetectorFactory()]
    for factory in factories:
        factory.load_profile(PROFILES_DIRECTORY)
        factory.set_seed(0)
    texts = [text for group in LABELLED.values() for text in group] + _DETECTOR_CORNERS
    for text in texts:
        answers = []
        for factory in factories:
            detector = factory.create()
            detector.n_trial = trials
            detector.append(text)
            detector.get_probabilities()
            answers.append(detector.langprob)
        assert answers[0] == answers[1], text
