"""The run-time tagger (ner_crf): crfsuite's weights scored in numpy give crfsuite's own labels."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pycrfsuite
import pytest

from akhbar.orthography import search_form
from akhbar_enrich import ner_crf, ner_training
from akhbar_enrich.ner_features import Lexicon, bio_spans, sentence_features, stem
from akhbar_testkit.data import SHARED, need

NER = SHARED / "data" / "ner"


def test_viterbi_finds_the_best_path_of_each_sequence() -> None:
    rng = np.random.default_rng(7)
    transitions = rng.normal(size=(3, 3)).astype(np.float32)
    emissions = [rng.normal(size=(n, 3)).astype(np.float32) for n in (4, 1, 6, 2, 6)]

    def total(e: np.ndarray, path: tuple[int, ...]) -> float:
        return float(sum(e[t, y] for t, y in enumerate(path))
                     + sum(transitions[a, b] for a, b in itertools.pairwise(path)))

    expected = [list(max(itertools.product(range(3), repeat=len(e)), key=lambda p: total(e, p)))
                for e in emissions]
    assert ner_crf.viterbi(emissions, transitions) == expected


def test_numpy_tagger_gives_crfsuites_labels(tmp_path: Path) -> None:
    """On real sentences the model never saw, tagged an article's worth at a time."""
    sentences = ner_training.read_conll(need(NER / "anercorp-train.conll"))
    train, test = sentences[:400], [tokens for tokens, _ in sentences[400:700]]
    lexicon = Lexicon(lists=ner_training.read_lists(need(NER / "ANERGazet")))
    trainer = pycrfsuite.Trainer(verbose=False)
    for tokens, tags in train:
        trainer.append(sentence_features(tokens, lexicon), tags)
    trainer.set_params(ner_training.PARAMS)
    trainer.train(str(tmp_path / "m.crfsuite"))
    ner_crf.export(tmp_path / "m.crfsuite", tmp_path / "m.zip")
    crfsuite = pycrfsuite.Tagger()
    crfsuite.open(str(tmp_path / "m.crfsuite"))
    expected = [crfsuite.tag(sentence_features(tokens, lexicon)) for tokens in test]
    tagger = ner_crf.Tagger(ner_crf.load(tmp_path / "m.zip"), lexicon)
    got = [tags for i in range(0, len(test), 20) for tags in tagger.tag([[], *test[i:i + 20]])[1:]]
    assert sum(t != "O" for tags in expected for t in tags) > 100  # it does find names
    assert got == expected
    # the same bytes again from the same model
    ner_crf.export(tmp_path / "m.crfsuite", tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "m.zip").read_bytes()


def test_an_articles_names_spread_to_their_untagged_repeats(tmp_path: Path) -> None:
    """tag_article keeps every name tag() finds and adds only repeats of them (by stems)."""
    sentences = ner_training.read_conll(need(NER / "anercorp-train.conll"))
    lexicon = Lexicon(lists=ner_training.read_lists(need(NER / "ANERGazet")))
    ner_training.train(sentences[:400], lexicon, tmp_path / "m.zip")
    tagger = ner_crf.Tagger(ner_crf.load(tmp_path / "m.zip"), lexicon)
    added = 0
    for i in range(400, 1000, 20):
        article = [tokens for tokens, _ in sentences[i:i + 20]]
        plain, spread = tagger.tag(article), tagger.tag_article(article)
        stems = [[stem(search_form(t) or t) for t in s] for s in article]
        found = {(tuple(w[a:b]), kind) for w, tags in zip(stems, plain, strict=True)
                 for a, b, kind in bio_spans(tags)}
        for w, before, after in zip(stems, plain, spread, strict=True):
            assert set(bio_spans(before)) <= set(bio_spans(after))
            new = set(bio_spans(after)) - set(bio_spans(before))
            assert all((tuple(w[a:b]), kind) in found for a, b, kind in new)
            added += len(new)
    assert added > 10


@pytest.mark.parametrize("sentences", [[], [[]], [["كلمة"]]])
def test_tagger_keeps_empty_sentences_in_place(tmp_path: Path, sentences: list[list[str]]
                                               ) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    trainer.append(sentence_features(["زار", "بوتين", "باريس"], Lexicon()),
                   ["O", "B-PERS", "B-LOC"])
    trainer.train(str(tmp_path / "m.crfsuite"))
    ner_crf.export(tmp_path / "m.crfsuite", tmp_path / "m.zip")
    tagger = ner_crf.Tagger(ner_crf.load(tmp_path / "m.zip"), Lexicon())
    for tagged in (tagger.tag(sentences), tagger.tag_article(sentences)):
        assert [len(t) for t in tagged] == [len(s) for s in sentences]
