"""Train the Arabic entity model: `python -m akhbar_enrich.ner_training` (make train-ner).

Reads ANERcorp-style CoNLL (one `token TAG` per line, blank line between sentences, BIO tags
PERS/LOC/ORG/MISC), Benajiba's name lists and unlabelled Arabic news (SaudiNewsNet JSONL) for
word clusters, and writes the CRF weights (learnt by crfsuite, exported for ner_crf) and the
lexicon they were trained with (folded name lists, clusters, entity words) into
`akhbar_enrich/data/` — both derived, both loaded offline. Training needs the dev requirements
(python-crfsuite, gensim, scikit-learn); tagging needs numpy only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pycrfsuite

from akhbar.orthography import search_form
from akhbar_enrich import ner_crf
from akhbar_enrich.entities import LEXICON, MODEL
from akhbar_enrich.ner_features import (
    Lexicon,
    sentence_features,
    stem,
    tokenize,
    write_lexicon,
)

Sentence = tuple[list[str], list[str]]  # tokens, BIO tags

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"  # beside the repository
# ANERGazet file -> list kind; separators such as «====» are not names.
LIST_FILES = {"AlignedPersGazetteer.txt": "PERS", "AlignedLocGazetteer.txt": "LOC",
              "AlignedOrgGazetteer.txt": "ORG"}
# pycrfsuite.Trainer parameters by name: numbers, flags and a few names.
TrainParams = Mapping[str, float | bool | str]
# L1/L2 regularisation and iteration cap, chosen by 5-fold cross-validation (bench/ner.py).
# (Flat around this point: c1/c2 of 0.01-0.2 moved micro F1 by at most 0.01; 100 iterations
# score as 200 did on the held-out last fifth, in half the time.)
PARAMS: TrainParams = {"c1": 0.05, "c2": 0.05, "max_iterations": 100,
                       "feature.possible_transitions": True}
# Word clusters: skip-gram vectors of the folded words, k-means at three granularities (coarse
# classes generalise, fine ones separate); words seen fewer than MIN_COUNT times get none.
CLUSTER_SIZES = (64, 256, 1024)
VECTOR_SIZE = 100
MIN_COUNT = 3
SEED = 1
BATCH = 20  # sentences tagged together, about an article


def read_conll(path: Path) -> list[Sentence]:
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        if len(parts) < 2:
            raise ValueError(f"{path}:{n}: expected 'token TAG', got {line!r}")
        tokens.append(parts[0])
        tags.append(parts[-1])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def read_lists(directory: Path) -> dict[str, frozenset[str]]:
    """Folded single-word names, plus `<KIND>_part` for words of multi-word names."""
    lists: dict[str, set[str]] = {}
    for name, kind in LIST_FILES.items():
        for line in (directory / name).read_text(encoding="utf-8").splitlines():
            words = [stem(search_form(w)) for w in line.split()]
            words = [w for w in words if len(w) >= 2 and any(c.isalpha() for c in w)]
            if len(words) == 1:
                lists.setdefault(kind, set()).add(words[0])
            for w in words if len(words) > 1 else ():
                lists.setdefault(kind + "_part", set()).add(w)
    return {k: frozenset(v) for k, v in sorted(lists.items())}


def read_news(path: Path) -> Iterator[list[str]]:
    """Tokenised lines of title and content of every article of a SaudiNewsNet JSONL file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for text in f"{record['title']}\n{record['content']}".splitlines():
                if tokens := tokenize(text):
                    yield tokens


def word_clusters(texts: Iterable[Sequence[str]]) -> dict[str, list[int]]:
    """Folded word -> its cluster at each of CLUSTER_SIZES, from unlabelled token sequences."""
    import numpy as np  # training-only dependencies (the `train` extra)
    from gensim.models import Word2Vec
    from sklearn.cluster import KMeans

    corpus = [[search_form(t) or t for t in tokens] for tokens in texts]
    # One worker and a fixed hash make the vectors, hence the model, reproducible.
    w2v = Word2Vec(corpus, vector_size=VECTOR_SIZE, window=5, min_count=MIN_COUNT, sg=1,
                   workers=1, seed=SEED, epochs=10,
                   hashfxn=lambda w: zlib.crc32(w.encode("utf-8")))
    vectors = w2v.wv.vectors / np.linalg.norm(w2v.wv.vectors, axis=1, keepdims=True)
    labels = [KMeans(n_clusters=min(k, len(vectors)), n_init=1, random_state=SEED)
              .fit(vectors).labels_
              for k in CLUSTER_SIZES]
    return {w: [int(level[i]) for level in labels] for i, w in enumerate(w2v.wv.index_to_key)}


def entity_words(sentences: Iterable[Sentence]) -> dict[str, int]:
    """How often each folded word stands inside a name in training: tells «لبوتين» (a clitic on
    the far more frequent «بوتين») from «لبنان» (not a clitic on «بنان»)."""
    words = Counter(search_form(t) for tokens, tags in sentences
                    for t, tag in zip(tokens, tags, strict=True) if tag != "O")
    return {w: n for w, n in sorted(words.items()) if len(w) > 1}


def build_lexicon(sentences: Sequence[Sentence], gazet: Path, news: Path | None) -> Lexicon:
    lists = read_lists(gazet)
    texts: list[Sequence[str]] = [tokens for tokens, _ in sentences]
    if news is not None:
        texts += read_news(news)
    return Lexicon(lists=lists, clusters=word_clusters(texts), names=entity_words(sentences))


def train(sentences: Iterable[Sentence], lexicon: Lexicon, model_file: Path,
          params: TrainParams = PARAMS) -> None:
    """Learn the weights with crfsuite and write them for ner_crf to `model_file`."""
    trainer = pycrfsuite.Trainer(verbose=False)
    for tokens, tags in sentences:
        trainer.append(sentence_features(tokens, lexicon), tags)
    trainer.set_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        crfsuite_model = Path(tmp) / "model.crfsuite"
        trainer.train(str(crfsuite_model))
        ner_crf.export(crfsuite_model, model_file)


def tag(sentences: Sequence[list[str]], lexicon: Lexicon, model_file: Path
        ) -> list[list[str]]:
    """Tags of each sentence as the enrich stage tags an article's (ner_crf), in batches of
    about an article (ANERcorp marks no article boundaries)."""
    tagger = ner_crf.Tagger(ner_crf.load(model_file), lexicon)
    return [tags for i in range(0, len(sentences), BATCH)
            for tags in tagger.tag_article(sentences[i:i + BATCH])]


def _fold(args: tuple[Sequence[Sentence], Sequence[Sentence], Lexicon, TrainParams]
          ) -> list[list[str]]:
    train_part, test_part, lexicon, params = args
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / MODEL
        train(train_part, lexicon, model, params)
        return tag([tokens for tokens, _ in test_part], lexicon, model)


def cross_validate(sentences: Sequence[Sentence], lexicon: Lexicon, folds: int = 5,
                   params: TrainParams = PARAMS, processes: int | None = None,
                   ) -> list[list[str]]:
    """Predicted tags for every sentence, each from a model that did not see it.

    Folds are contiguous blocks: ANERcorp sentences of one article are adjacent, and
    interleaved folds would let an article's names leak into its own test fold. The lexicon's
    clusters come from unlabelled text and its lists from the name lists, not from the labels.
    """
    size = -(-len(sentences) // folds)
    bounds = [(k * size, min((k + 1) * size, len(sentences))) for k in range(folds)]
    jobs = [([*sentences[:lo], *sentences[hi:]], sentences[lo:hi], lexicon, params)
            for lo, hi in bounds]
    with multiprocessing.Pool(processes) as pool:
        return [tags for fold in pool.map(_fold, jobs) for tags in fold]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "ner" / "anercorp-train.conll",
                    help="the labelled sentences (CoNLL: token TAG)")
    ap.add_argument("--gazet", type=Path, default=SHARED / "ner" / "ANERGazet",
                    help="directory of Benajiba's name lists")
    ap.add_argument("--news", type=lambda v: Path(v) if v else None,
                    default=SHARED / "news" / "saudinewsnet-2015-08-10.jsonl",
                    help="unlabelled articles (JSONL with title, content) for word clusters; "
                         "'' for none")
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args(argv)
    sentences = read_conll(args.data)
    lexicon = build_lexicon(sentences, args.gazet, args.news)
    args.out.mkdir(parents=True, exist_ok=True)
    train(sentences, lexicon, args.out / MODEL)
    write_lexicon(lexicon, args.out / LEXICON)
    size = (args.out / MODEL).stat().st_size
    print(f"trained on {len(sentences)} sentences -> {args.out / MODEL} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
