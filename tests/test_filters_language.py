"""Language identification on a sample of lid-dev, and each backend's contract."""

import pytest

from filters import language
from filters.evaluation import english_f1, read_lid_dev


def sample(shared_data, kind, per_language):
    return read_lid_dev(shared_data / "lid-dev", kind, per_language)


# lingua loads 75 language models (~30 s on a busy 2-core machine).
BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.slow) if "lingua" in b else b for b in language.BACKENDS]


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_every_backend_answers_in_range(backend):
    identify = language.get_identifier(backend)
    for text in ["The cat sat on the mat and looked out of the window", "微信二维码", "", "1234 !!", "x"]:
        guess = identify(text)
        assert 0.0 <= guess.english <= 1.0 and 0.0 <= guess.score <= 1.0
        assert isinstance(guess.lang, str)
    assert identify("The cat sat on the mat and looked out of the window").lang == "en"


def test_langdetect_is_deterministic():
    text = "ciao come stai"  # short text: unseeded langdetect flips between answers
    assert len({language.identify_langdetect(text) for _ in range(5)}) == 1


def test_unknown_backend_is_a_user_error():
    from wit.errors import WitError

    with pytest.raises(WitError):
        language.get_identifier("nope")


def test_english_vocabulary_is_distinctive():
    vocabulary = language.english_vocabulary()
    assert {"the", "and", "party", "political"} <= vocabulary
    assert "die" not in vocabulary  # as common in German as in English


def test_default_on_lid_dev_sentences(shared_data):
    """The default keeps English sentences and drops most others (a short-text-tolerant rule)."""
    pairs = sample(shared_data, "sentences", 20)
    identify = language.get_identifier(language.DEFAULT_BACKEND)
    from filters.config import FilterConfig

    threshold = FilterConfig().english_threshold
    english = [identify(text).english >= threshold for text, _ in pairs]
    figures = english_f1([lang for _, lang in pairs], english)
    assert figures["recall"] >= 0.95
    non_english = [e for e, (_, lang) in zip(english, pairs) if lang != "en"]
    assert sum(non_english) / len(non_english) <= 0.10


def test_blend_on_lid_dev_is_strict(shared_data):
    """The strict blend: high F1 on sentences, better than langdetect on word pairs."""
    sentences = sample(shared_data, "sentences", 20)
    f1 = english_f1([l for _, l in sentences], [language.identify_blend(t).english >= 0.55 for t, _ in sentences])["f1"]
    assert f1 >= 0.9
    pairs = sample(shared_data, "word-pairs", 10)
    gold = [l for _, l in pairs]
    blend = english_f1(gold, [language.identify_blend(t).english >= 0.55 for t, _ in pairs])["f1"]
    anchor = english_f1(gold, [language.identify_langdetect(t).english >= 0.5 for t, _ in pairs])["f1"]
    assert blend > anchor


def test_non_latin_script_is_not_english():
    guess = language.identify_cascade("Стратегия пожарной безопасности")
    assert guess.lang == "ru" and guess.english < 0.3
