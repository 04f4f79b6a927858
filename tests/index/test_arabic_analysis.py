"""The index template's Arabic analyzers on real Lucene (akhbar_testkit.lucene_harness): spelling
and clitic variants a reader expects to match share a token in `akhbar_arabic`, different words do
not, and `akhbar_exact` folds orthography without stemming. Plus checks of the harness itself.
The variant pairs are generated from the small word lists below crossed with the clitics and
spellings of each rule, plus hand-picked cases. Skips where Java or the Lucene jars are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from akhbar.orthography import CHAR_MAP, search_form
from akhbar_testkit.lucene_harness import (
    Lucene,
    LuceneError,
    Unsupported,
    translate,
    unavailable_reason,
)

pytestmark = pytest.mark.lucene

STEMMED, EXACT = "akhbar_arabic", "akhbar_exact"

# --- word lists (news vocabulary) ---------------------------------------------------------

NOUNS = ["رئيس", "حكومة", "مدينة", "شركة", "جامعة", "سوق", "مجلس", "قرار", "مطار", "منظمة",
         "انتخابات", "اقتصاد", "صحيفة", "محكمة"]
# Conjunction and/or preposition written before the article (ل + ال is spelled لل).
PROCLITICS = ["و", "ف", "ب", "ك", "ل", "وب", "فب", "وك", "فك", "ول", "فل"]
# Stems of four letters or more: the rarer pronouns كم كما كن need that much left.
POSSESSED = ["كتاب", "رئيس", "مشروع", "منزل", "حكومة", "مدينة", "شركة", "جامعة", "سيارة"]
PRONOUNS = ["ه", "ها", "هم", "هما", "هن", "كم", "كما", "كن", "نا", "ي"]
HAMZA_ON_ALEF = ["أمير", "إعلان", "آثار", "أسعار", "إدارة", "أمن", "مأساة", "رأي", "تأثير",
                 "مسألة", "إسرائيل", "أوروبا"]
HAMZA_SEATS = [("مسؤول", "مسئول"), ("المسؤولين", "المسئولين"), ("مسؤولية", "مسئولية"),
               ("شؤون", "شئون"), ("الشؤون", "والشئون"), ("رؤوس", "رءوس"),
               ("يقرؤون", "يقرئون"), ("مرؤوس", "مرءوس"), ("التفاؤل", "التفائل")]
TA_MARBUTA = ["الرقة", "مدرسة", "حكومة", "جامعة", "مدينة", "سيارة", "شركة", "دولة", "منطقة",
              "قضية"]
ALEF_MAQSURA = ["مستشفى", "مبنى", "معنى", "مصطفى", "موسيقى", "فتوى", "ملتقى", "مرمى",
                "مستوى", "الكبرى"]
VOCALISED = ["الرقة", "مدرسة", "كتاب", "الحكومة", "قرار", "مسؤول", "الشعب", "جامعة",
             "المدينة", "اقتصاد"]
DAGGER_ALEF = [("العالمين", "العٰلمين"), ("السماوات", "السمٰوات"), ("الكتاب", "الكتٰب"),
               ("ملائكة", "ملٰئكة"), ("ثلاث", "ثلٰث")]
PERSIAN_URDU = [("كتاب", "کتاب"), ("الكويت", "الکويت"), ("كيلان", "گيلان"), ("علي", "علی"),
                ("ايران", "ایران"), ("الحاجي", "الحاجے"), ("مدرسة", "مدرسۀ"),
                ("الله", "اللہ"), ("مهندس", "مھندس"), ("شهر", "شھر"), ("زكاة", "زکاۃ"),
                ("فيينا", "ڤيينا"), ("باريس", "پاريس"), ("جلبي", "چلبي"), ("زاك", "ژاك")]
NUMBERS = ["2015", "1436", "30", "7", "1948"]
INVISIBLE = [("الكتاب", "الكت\u200cاب"), ("مدرسة", "مدر\u200dسة"), ("الرقة", "\u200fالرقة"),
             ("أمير", "ا\u0654مير"), ("آثار", "ا\u0653ثار"), ("الرحيم", "الرحيم\u06da")]


def with_article(prefix: str, noun: str) -> str:
    # ل + ال loses the alef: للمدينة, وللمدينة.
    return prefix[:-1] + "لل" + noun if prefix.endswith("ل") else prefix + "ال" + noun


def with_pronoun(noun: str, pronoun: str) -> str:
    return (noun[:-1] + "ت" if noun.endswith("ة") else noun) + pronoun


def vocalise(word: str, marks: str) -> str:
    return "".join(c + marks[i % len(marks)] for i, c in enumerate(word))


def presentation_forms(word: str) -> str:
    """The word spelled with isolated presentation forms, as legacy PDFs copy it."""
    isolated = {}
    for c, v in CHAR_MAP.items():
        if 0xFE80 <= ord(c) <= 0xFEFC and len(v) == 1:
            isolated.setdefault(v, c)
    return "".join(isolated.get(c, c) for c in word)


def _pairs() -> list[tuple[str, str, str]]:
    """(rule, query form, document form)."""
    bare = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
    p: list[tuple[str, str, str]] = []
    p += [("proclitics", "ال" + n, with_article(pre, n)) for n in NOUNS for pre in PROCLITICS]
    p += [("pronoun", n, with_pronoun(n, pr)) for n in POSSESSED for pr in PRONOUNS]
    p += [("hamza on alef", w, w.translate(bare)) for w in HAMZA_ON_ALEF]
    p += [("hamza on alef", "ال" + w.translate(bare), "وال" + w) for w in HAMZA_ON_ALEF]
    p += [("wasla", "ال" + n, "ٱل" + n) for n in NOUNS[:4]]
    p += [("hamza seat", a, b) for a, b in HAMZA_SEATS]
    p += [("ta marbuta", w, w[:-1] + "ه") for w in TA_MARBUTA]
    p += [("alef maqsura", w, w[:-1] + "ي") for w in ALEF_MAQSURA]
    p += [("harakat", w, vocalise(w, marks)) for w in VOCALISED
          for marks in ("\u064e\u0652\u064f", "\u0650\u0651\u064c")]
    p += [("dagger alef", a, b) for a, b in DAGGER_ALEF]
    p += [("tatweel", w, w[:2] + "ــ" + w[2:-1] + "ـ" + w[-1]) for w in VOCALISED]
    p += [("persian/urdu", a, b) for a, b in PERSIAN_URDU]
    p += [("digits", n, "".join(chr(base + int(d)) for d in n))
          for n in NUMBERS for base in (0x0660, 0x06F0)]
    p += [("presentation forms", w, presentation_forms(w)) for w in ["الكتاب", *NOUNS[:4]]]
    p += [("presentation forms", "الاعلام", "ﺍﻻﻋﻼﻡ"), ("presentation forms", "لبنان", "ﻟﺒﻨﺎﻥ")]
    p += [("invisible marks", a, b) for a, b in INVISIBLE]
    p += [("bare و", w, "و" + w) for w in ["قال", "كتاب", "شعب", "وزير", "رئيس", "مدينة"]]
    p += [("bare ب ل ك", w, pre + w) for pre, w in [
        ("ل", "عام"), ("ب", "شكل"), ("ب", "سبب"), ("ب", "منطقة"), ("ك", "رئيس"),
        ("ب", "وزارة"), ("ل", "حكومة"), ("ك", "جزء"), ("ل", "أول"), ("ل", "حكومتهم")]]
    p += [("لل + ل", a, b) for a, b in [("اللجنة", "للجنة"), ("لجنة", "للجنة"),
                                        ("اللاعب", "للاعب"), ("اللغة", "للغة")]]
    p += [("issue examples", "الرقة", v) for v in ["والرقة", "بالرقه", "الرقّة", "الرقـــة"]]
    p += [("issue examples", "مسئول", "مسؤول"), ("issue examples", "كتاب", "كتابهم"),
          ("issue examples", "الكتاب", "وبالكتاب")]
    p += [("inflection", a, b) for a, b in [
        ("كبير", "كبيراً"), ("شخص", "شخصاً"), ("قال", "قالوا"), ("معلم", "معلمون"),
        ("معلم", "المعلمين"), ("سيارة", "سيارات"), ("سيارة", "سياراتهم"),
        ("مدينة", "مدينتين"), ("مصر", "المصريين"), ("فلسطين", "الفلسطينيون"),
        ("الالتزام", "التزام"), ("السياسة", "سياستها"), ("وكالة", "الوكالات"),
        ("الله", "والله"), ("الله", "بالله")]]
    return p


PAIRS = _pairs()

# Different words no rule may merge: a word whose first و or ب/ل/ك is a root letter, words
# ending in ان or ين that are not duals or plurals, letters a pronoun rule must leave.
DISTINCT = [("وزير", "زير"), ("وجود", "جود"), ("وعود", "عود"), ("وسائل", "سائل"),
            ("وسيلة", "سيل"), ("وافق", "أفق"), ("واصل", "أصل"), ("وقود", "قود"),
            ("وفاق", "فاق"), ("وكيل", "كيل"), ("واحد", "أحد"), ("ورد", "رد"), ("وعد", "عد"),
            ("وطن", "طن"), ("وقف", "قف")]
DISTINCT += [(f(a), b) for a, b in DISTINCT[:11] for f in (lambda w: "ال" + w,
                                                           lambda w: with_pronoun(w, "ها"))]
DISTINCT += [("كامل", "أمل"), ("كتاب", "تاب"), ("بطاقة", "طاقة"), ("بطولة", "طول"),
             ("بعيد", "عيد"), ("كلام", "لام"), ("كمال", "مال"), ("كحول", "حول"),
             ("بارز", "أرز"), ("الكتاب", "تاب"), ("الكامل", "أمل"), ("البطولة", "طول"),
             ("بطاقته", "طاقة")]
DISTINCT += [("لبنان", "لبن"), ("سلمان", "سلم"), ("عمان", "عم"), ("السودان", "سود"),
             ("إنسان", "أنس"), ("مكان", "مكة"), ("سكان", "سكة"), ("بيان", "بي"),
             ("طيران", "طير"), ("سلطان", "سلطة"), ("أمين", "أم"), ("يمين", "يم"),
             ("مدينة", "مد"), ("درهم", "در"), ("محاكم", "محا"), ("عضواً", "عض"),
             ("غزواً", "غزة"), ("عدواً", "عد"), ("الله", "إله"), ("بيتهم", "بيه")]


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lucene() -> Iterator[Lucene]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with Lucene() as engine:
        engine.define_template()
        yield engine


def terms(lucene: Lucene, analyzer: str, text: str) -> set[str]:
    return set(lucene.terms(analyzer, text))


# --- akhbar_arabic ------------------------------------------------------------------------


def test_variant_suite_is_large_enough() -> None:
    assert len(PAIRS) >= 300 and len(DISTINCT) >= 60
    rules = {rule for rule, _, _ in PAIRS}
    assert {"proclitics", "pronoun", "hamza seat", "digits", "persian/urdu"} <= rules


@pytest.mark.parametrize(("rule", "query", "document"), PAIRS,
                         ids=[f"{r}:{q}~{d}" for r, q, d in PAIRS])
def test_variants_share_a_stemmed_token(lucene: Lucene, rule: str, query: str,
                                        document: str) -> None:
    q, d = terms(lucene, STEMMED, query), terms(lucene, STEMMED, document)
    assert q & d, f"{rule}: {query} -> {sorted(q)}, {document} -> {sorted(d)}"


@pytest.mark.parametrize(("word", "other"), DISTINCT, ids=[f"{a}~{b}" for a, b in DISTINCT])
def test_different_words_stay_apart(lucene: Lucene, word: str, other: str) -> None:
    a, b = terms(lucene, STEMMED, word), terms(lucene, STEMMED, other)
    assert a and b and not a & b, f"{word} -> {sorted(a)}, {other} -> {sorted(b)}"


def test_stop_words_go_but_the_name_ali_stays(lucene: Lucene) -> None:
    assert lucene.terms(STEMMED, "على إلى في من عن التي والتي إليها حتى كيف") == []
    assert lucene.terms(STEMMED, "أنّ") == []  # diacritised: caught after normalisation
    assert lucene.terms(STEMMED, "علي") == ["عل"]


def test_ambiguous_preposition_keeps_both_readings(lucene: Lucene) -> None:
    tokens = lucene.tokens(STEMMED, "بشكل")
    assert [(t["token"], t["position"]) for t in tokens] == [("بشكل", 0), ("شكل", 0)]


# --- akhbar_exact -------------------------------------------------------------------------


def test_exact_folds_orthography(lucene: Lucene) -> None:
    variants = ["الرقة", "الرقّة", "الرقـــة", "الرقه", presentation_forms("الرقة")]
    assert {tuple(lucene.terms(EXACT, v)) for v in variants} == {("الرقه",)}
    assert lucene.terms(EXACT, "مسئول مسؤول کتاب ٢٠١٥ ۲۰۱۵ ﻻ") == [
        "مسءول", "مسءول", "كتاب", "2015", "2015", "لا"]


def test_exact_does_not_stem(lucene: Lucene) -> None:
    for word in ["والرقة", "كتابهم", "وزير", "بشكل", "المدينة", "في"]:
        assert lucene.terms(EXACT, word) == [search_form(word)]


@pytest.mark.parametrize("text", [
    "الرقّة والرقـــة بالرقه", "مسئول مسؤول المسئولين", "العٰلمين ٱلكتاب", "کتاب گيلان علی",
    "مدرسۀ اللہ مھندس زکاۃ الحاجے ڤيينا پاريس چلبي ژاك", "٢٠١٥ ۲۰۱۵ 2015",
    "ﺍﻟﻜﺘﺎﺏ ﺍﻻﻋﻼﻡ", "الكت\u200cاب ا\u0654مير ا\u0653ثار الرحيم\u06da", "إعلان أمير آثار مستشفى"])
def test_exact_tokens_are_the_normalize_stage_search_form(lucene: Lucene, text: str) -> None:
    # normalized.title/body (search_form) and the analyzers must fold alike.
    assert lucene.terms(EXACT, text) == search_form(text).split()


# --- the harness itself -------------------------------------------------------------------


def test_rebuilt_arabic_analyzer_equals_lucene_arabic_analyzer(lucene: Lucene) -> None:
    # The custom rebuild of the built-in `arabic` analyzer from Elasticsearch's documentation.
    analysis: dict[str, Any] = {
        "filter": {"arabic_stop": {"type": "stop", "stopwords": "_arabic_"},
                   "arabic_keywords": {"type": "keyword_marker", "keywords": ["الكتب"]},
                   "arabic_stemmer": {"type": "stemmer", "language": "arabic"}},
        "analyzer": {"rebuilt_arabic": {
            "tokenizer": "standard",
            "filter": ["lowercase", "decimal_digit", "arabic_stop", "arabic_normalization",
                       "arabic_keywords", "arabic_stemmer"]}}}
    lucene.define("rebuilt_arabic", analysis)
    lucene.define("lucene_arabic", analysis, "arabic")
    text = "وبالكتاب كتابهم الوزير وزير في المدينة ٢٠١٥ على الرقّة الكتب"
    rebuilt, builtin = (lucene.terms(a, text) for a in ("rebuilt_arabic", "lucene_arabic"))
    assert rebuilt == [*builtin[:-1], "الكتب"] and builtin[-1] == "كتب"  # the keyword stays
    assert builtin[:3] == ["بالكتاب", "كتابهم", "وزير"]  # the limits the issue describes


def test_unique_on_same_position_removes_only_stacked_duplicates(lucene: Lucene) -> None:
    # Elasticsearch documents `unique` with only_on_same_position: true as removing duplicate
    # tokens in the same position only; the harness runs it as Lucene's RemoveDuplicates.
    def analysis(filters: list[str]) -> dict[str, Any]:
        return {"filter": {"same": {"type": "unique", "only_on_same_position": True}},
                "analyzer": {"a": {"tokenizer": "whitespace", "filter": filters}}}

    lucene.define("repeated", analysis(["keyword_repeat"]), "a")  # each token twice
    lucene.define("unique", analysis(["keyword_repeat", "same"]), "a")
    positions = [(t["token"], t["position"]) for t in lucene.tokens("repeated", "كتب كتب")]
    assert positions == [("كتب", 0), ("كتب", 0), ("كتب", 1), ("كتب", 1)]
    positions = [(t["token"], t["position"]) for t in lucene.tokens("unique", "كتب كتب")]
    assert positions == [("كتب", 0), ("كتب", 1)]


def test_rule_syntax_is_translated(lucene: Lucene) -> None:
    analysis = {"char_filter": {"m": {"type": "mapping", "mappings": ['"=>q', "\\u0041=>x"]}},
                "filter": {"o": {"type": "stemmer_override", "rules": ["كاتب, كتاب => كتب"]}},
                "analyzer": {"a": {"tokenizer": "whitespace", "char_filter": ["m"],
                                   "filter": ["o"]}}}
    lucene.define("rules", analysis, "a")
    assert lucene.terms("rules", 'A"B كاتب كتاب') == ["xqB", "كتب", "كتب"]


@pytest.mark.parametrize("component", [
    {"type": "multiplexer", "filters": ["lowercase", "arabic_normalization"]},
    {"type": "condition", "filter": ["lowercase"], "script": {"source": "true"}},
    {"type": "synonym_graph", "synonyms": ["a, b"]},
    {"type": "unique"},
    {"type": "stemmer", "language": "light_arabic"},
    {"type": "pattern_capture", "patterns": ["(a)", "(b)"]},
    {"type": "stop", "stopwords": "_arabic_", "remove_trailing": False},
])
def test_components_without_a_faithful_equivalent_fail_loudly(tmp_path: Path,
                                                             component: dict[str, Any]) -> None:
    analysis = {"filter": {"f": component},
                "analyzer": {"a": {"tokenizer": "standard", "filter": ["f"]}}}
    with pytest.raises(Unsupported):
        translate(analysis, "a", tmp_path)


def test_bm25_index_and_queries(lucene: Lucene) -> None:
    lucene.index({"body": STEMMED, "body.exact": EXACT}, [
        {"id": "a", "body": "وصل الوزير إلى الرقة"}, {"id": "b", "body": "مدينة حلب"},
        {"id": "c", "body": "سكان مدينة الرقة والمدن المجاورة"}])
    match, phrase, both = lucene.search([
        {"match": {"field": "body", "query": "بالرقه"}},
        {"match_phrase": {"field": "body.exact", "query": "مدينة الرقة"}},
        {"bool": {"must": [{"dis_max": {"queries": [
            {"match": {"field": "body", "query": "مدينة"}},
            {"match": {"field": "body.exact", "query": "مدينة", "boost": 2}}]}}],
            "should": [{"match_phrase": {"field": "body.exact", "query": "مدينة حلب"}}]}}])
    assert sorted(match) == ["a", "c"] and phrase == ["c"] and both == ["b", "c"]
    with pytest.raises(LuceneError, match="field not indexed"):
        lucene.search([{"match": {"field": "title", "query": "x"}}])
