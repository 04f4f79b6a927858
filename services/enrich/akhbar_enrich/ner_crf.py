"""The entity model at run time: crfsuite's linear-chain CRF weights, scored in numpy.

crfsuite learns the weights (ner_training); tagging with them here gives crfsuite's own Viterbi
path while scoring each word type once: a word's features (ner_features) are the same wherever
it stands, so their weighted sum is cached per word type, as its own and as each neighbour's
contribution, and a sentence only adds its positional features (edges, stem bigrams) and
decodes. The sentences of an article are decoded together, one numpy step per token position.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from akhbar_enrich.ner_features import (
    PAIR_AFTER,
    PAIR_BEFORE,
    WINDOW,
    Features,
    Lexicon,
    bio_spans,
    edge_features,
    pair,
    word_features,
)

CACHE_WORDS = 100_000  # word types scored and kept; past that the cache starts again
MIN_SPREAD_STEM = 3  # letters of a one-word name's stem for tag_article to spread it
REACH = max(abs(d) for d in WINDOW)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

Floats = NDArray[np.float32]


def attributes(features: Features) -> Iterator[tuple[str, float]]:
    """crfsuite's attributes of a feature dict, as python-crfsuite names them: a string value
    is part of the name (weight 1), a number is the weight."""
    for key, value in features.items():
        if isinstance(value, str):
            yield attribute(key, value), 1.0
        else:
            yield key, float(value)


def attribute(key: str, value: str) -> str:
    return f"{key}:{value}"


@dataclass(frozen=True)
class Weights:
    labels: list[str]
    index: dict[str, int]  # attribute -> row of `state`
    state: Floats  # attribute x label, and a last row of zeros for any other attribute
    transitions: Floats  # from label x to label

    def score(self, features: Features) -> Floats:
        """The features' weighted sum for each label (attributes the model never kept add 0)."""
        out = np.zeros(len(self.labels), dtype=np.float32)
        for name, value in attributes(features):
            if (row := self.index.get(name)) is not None:
                out += value * self.state[row]
        return out


def export(crfsuite_model: Path, out: Path) -> None:
    """Write a crfsuite model's weights as a zip of numpy arrays and the attribute names (fixed
    timestamps: the same model gives the same bytes)."""
    import pycrfsuite  # training only

    tagger = pycrfsuite.Tagger()
    tagger.open(str(crfsuite_model))
    try:
        info = tagger.info()
        labels = sorted(tagger.labels())
    finally:
        tagger.close()
    label = {name: i for i, name in enumerate(labels)}
    names = sorted({a for a, _ in info.state_features})
    row = {a: i for i, a in enumerate(names)}
    state = np.zeros((len(names), len(labels)), dtype=np.float32)
    for (a, y), w in info.state_features.items():
        state[row[a], label[y]] = w
    transitions = np.zeros((len(labels), len(labels)), dtype=np.float32)
    for (y0, y1), w in info.transitions.items():
        transitions[label[y0], label[y1]] = w
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("labels.txt", labels), ("attributes.txt", names)):
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), "\n".join(text).encode("utf-8"),
                       zipfile.ZIP_DEFLATED)
        for name, array in (("state.npy", state), ("transitions.npy", transitions)):
            buffer = io.BytesIO()
            np.save(buffer, array)
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), buffer.getvalue(),
                       zipfile.ZIP_DEFLATED)


def load(path: Path) -> Weights:
    with zipfile.ZipFile(path) as z:
        labels, names = (z.read(name).decode("utf-8").split("\n")
                         for name in ("labels.txt", "attributes.txt"))
        state, transitions = (np.load(io.BytesIO(z.read(name)))
                              for name in ("state.npy", "transitions.npy"))
    return Weights(labels=labels, index={a: i for i, a in enumerate(names)},
                   state=np.vstack([state, np.zeros_like(state[:1])]), transitions=transitions)


@dataclass
class Tagger:
    """Tags tokenised sentences with `weights`, computing features with `lexicon`."""

    weights: Weights
    lexicon: Lexicon
    # word -> row of `table`: its own score, then its score as the neighbour at each WINDOW offset
    rows: dict[str, int] = field(default_factory=dict)
    stems: list[str] = field(default_factory=list)
    table: Floats = field(init=False)
    # score of edge_features by (tokens before, tokens after) up to the window's reach
    edges: Floats = field(init=False)

    def __post_init__(self) -> None:
        self.table = np.zeros((CACHE_WORDS, 1 + len(WINDOW), len(self.weights.labels)),
                              dtype=np.float32)
        self.edges = np.array([[self.weights.score(edge_features(before, before + after + 1))
                                for after in range(REACH + 1)] for before in range(REACH + 1)])

    def _learn(self, tokens: Iterable[str]) -> None:
        """Score the word types not seen yet, all in one numpy step."""
        new = [t for t in dict.fromkeys(tokens) if t not in self.rows]
        if not new:
            return
        index, parts = self.weights.index, 1 + len(WINDOW)
        slots: list[int] = []  # row of the word in `table` x parts + part
        kept: list[int] = []  # row of the attribute in `state`
        values: list[float] = []
        for token in new:
            w = word_features(token, self.lexicon)
            row = self.rows[token] = len(self.stems)
            self.stems.append(w.stem)
            for part, features in enumerate((w.own, *(w.as_neighbour[d] for d in WINDOW))):
                for name, value in attributes(features):
                    if (a := index.get(name)) is not None:  # the rest weigh nothing
                        slots.append(row * parts + part)
                        kept.append(a)
                        values.append(value)
        self.table[len(self.stems) - len(new):len(self.stems)] = 0
        np.add.at(self.table.reshape(-1, len(self.weights.labels)), slots,
                  np.asarray(values, dtype=np.float32)[:, None] * self.weights.state[kept])

    def emissions(self, sentences: Sequence[Sequence[str]]) -> Floats:
        """Each token's score for each label, the sentences one after the other: exactly what
        crfsuite sums for each sentence."""
        tokens = [t for s in sentences for t in s]
        if len(self.rows) + len(tokens) > CACHE_WORDS:  # start again, not within an article
            self.rows.clear()
            self.stems.clear()
        self._learn(tokens)
        rows = [self.rows[t] for t in tokens]
        words = self.table[rows]
        out = words[:, 0].copy()
        # tokens before and after each one in its sentence
        lengths = np.array([len(s) for s in sentences])
        ends = np.repeat(np.cumsum(lengths), lengths)
        after = ends - 1 - np.arange(len(tokens))
        before = np.repeat(lengths, lengths) - 1 - after
        for k, d in enumerate(WINDOW, 1):
            inside = (before >= -d) if d < 0 else (after >= d)
            out += np.roll(words[:, k], -d, axis=0) * inside[:, None]
        out += self.edges[np.minimum(before, REACH), np.minimum(after, REACH)]
        # stem bigrams: each pair is PAIR_BEFORE of its right word, PAIR_AFTER of its left one
        # (attributes the model never kept find the zero row at the end of `state`)
        index, state, none = self.weights.index, self.weights.state, len(self.weights.index)
        stems = [self.stems[r] for r in rows]
        pairs = [pair(a, b) for a, b in itertools.pairwise(stems)]
        joined = after[:-1, None] > 0
        out[1:] += joined * state[[index.get(attribute(PAIR_BEFORE, p), none) for p in pairs]]
        out[:-1] += joined * state[[index.get(attribute(PAIR_AFTER, p), none) for p in pairs]]
        return out

    def tag(self, sentences: Iterable[Sequence[str]]) -> list[list[str]]:
        """Each sentence's labels (sentences of one article at a time: they are scored and
        decoded together)."""
        sentences = list(sentences)
        filled = [s for s in sentences if s]
        if not filled:
            return [[] for _ in sentences]
        scores = np.split(self.emissions(filled), np.cumsum([len(s) for s in filled])[:-1])
        labels = self.weights.labels
        paths = iter(viterbi(scores, self.weights.transitions))
        return [[labels[y] for y in next(paths)] if s else [] for s in sentences]


    def tag_article(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Each sentence's labels, and a name the article tags somewhere also where it repeats
        untagged (the same stems, any clitics: «بوتين» … «لبوتين»), with its most frequent type:
        one mention without the context that gave the others away is still a name. A
        one-word name spreads only when its stem has MIN_SPREAD_STEM letters: «الله» and the
        pronoun «له» share the stem «له».
        (+0.016 micro F1 on the last fifth of ANERcorp, tagged 20 sentences at a time.)"""
        tagged = self.tag(sentences)
        stems = [[self.stems[self.rows[t]] for t in s] for s in sentences]
        kinds: dict[tuple[str, ...], Counter[str]] = {}
        for words, tags in zip(stems, tagged, strict=True):
            for a, b, kind in bio_spans(tags):
                kinds.setdefault(tuple(words[a:b]), Counter())[kind] += 1
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for name in sorted(kinds, key=len, reverse=True):  # the longest name first
            if len(name) > 1 or len(name[0]) >= MIN_SPREAD_STEM:
                by_first.setdefault(name[0], []).append(name)
        for words, tags in zip(stems, tagged, strict=True):
            for i, word in enumerate(words):
                for name in by_first.get(word, ()):
                    end = i + len(name)
                    if (tuple(words[i:end]) == name and all(t == "O" for t in tags[i:end])
                            and not (end < len(tags) and tags[end].startswith("I-"))):
                        kind = kinds[name].most_common(1)[0][0]
                        tags[i:end] = [f"B-{kind}", *[f"I-{kind}"] * (len(name) - 1)]
                        break
        return tagged


def viterbi(emissions: Sequence[Floats], transitions: Floats) -> list[list[int]]:
    """The best label path of each sequence, all sequences stepped together (longest first,
    so that the ones still going at a step are a prefix)."""
    order = sorted(range(len(emissions)), key=lambda s: -len(emissions[s]))
    lengths = [len(emissions[s]) for s in order]
    going = np.searchsorted(-np.array(lengths), -np.arange(lengths[0]), side="left").tolist()
    padded = np.zeros((len(order), lengths[0], transitions.shape[0]), dtype=np.float32)
    for i, s in enumerate(order):
        padded[i, :lengths[i]] = emissions[s]
    best = padded[:, 0].copy()
    back = []
    for t, k in enumerate(going[1:], 1):
        candidates = best[:k, :, None] + transitions  # sequence x from x to
        back.append(candidates.argmax(axis=1))
        best[:k] = candidates.max(axis=1) + padded[:k, t]
    label = best.argmax(axis=1)
    path = np.empty((lengths[0], len(order)), dtype=np.intp)
    for t in range(lengths[0] - 1, 0, -1):
        k = going[t]
        path[t, :k] = label[:k]
        label[:k] = back[t - 1][np.arange(k), label[:k]]
    path[0] = label
    paths = [path[:n, i].tolist() for i, n in enumerate(lengths)]
    return [paths[i] for i in np.argsort(order)]
