"""Named entities: BIO reading, name normalisation, the packaged model on the seeds, English
caption names, places in enriched documents, and the training script."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from akhbar.contract import Article
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar_enrich import ner_training
from akhbar_enrich.entities import (
    LEXICON,
    MODEL,
    _strip_proclitics,
    bio_spans,
    english_mentions,
    entities,
    raw_mentions,
)
from akhbar_enrich.ner_features import read_lexicon
from akhbar_enrich.stage import process
from akhbar_enrich.store import MemoryStore
from akhbar_ingest.formats import read_file
from akhbar_normalize.stage import process as normalize
from akhbar_testkit.data import SHARED, need
from akhbar_testkit.places import SEED_PLACES, km

DATA = files("akhbar_enrich").joinpath("data")
NER = SHARED / "data" / "ner"


@pytest.mark.parametrize(("tags", "spans"), [
    (["B-PERS", "I-PERS", "O", "B-LOC"], [(0, 2, "PERS"), (3, 4, "LOC")]),
    (["O", "I-ORG", "I-ORG"], [(1, 3, "ORG")]),  # I- after O opens an entity
    (["B-PERS", "I-LOC"], [(0, 1, "PERS"), (1, 2, "LOC")]),  # a type change closes one
    (["B-LOC", "B-LOC"], [(0, 1, "LOC"), (1, 2, "LOC")]),
    (["O", "O"], []),
    (["I-MISC"], [(0, 1, "MISC")]),
])
def test_bio_spans_follow_conll_rules(tags: list[str], spans: list[tuple[int, int, str]]) -> None:
    assert bio_spans(tags) == spans


@pytest.mark.parametrize(("mention", "name"), [
    ("بالرقة", "الرقة"), ("والحكومة", "الحكومة"), ("للبنك المركزي", "البنك المركزي"),
    ("لبوتين", "بوتين"), ("وبوتين", "بوتين"), ("وحمص", "حمص"), ("ودير الزور", "دير الزور"),
    ("لبنان", "لبنان"), ("بغداد", "بغداد"), ("بوتين", "بوتين"), ("كندا", "كندا"),
    ("الرقة", "الرقة"), ("وليد المعلم", "وليد المعلم"), ("لله", "الله"), ("ولله", "الله"),
])
def test_proclitics_are_cut_from_names_only(mention: str, name: str) -> None:
    names = read_lexicon(Path(str(DATA.joinpath(LEXICON)))).names

    def known(word: str) -> int:
        return names.get(word, 0)

    assert " ".join(_strip_proclitics(mention.split(), known)) == name


def test_the_pronoun_la_hu_is_no_name_beside_allah() -> None:
    # «له» and «الله» share a stem: spreading the MISC name «الله» made «له» a name.
    line = "والتصدي بكل حزم لجميع من تسول له نفسه العبث بأمن الوطن وحفظه الله"
    assert raw_mentions([line], []) == [("misc", "الله")]


def test_english_caption_names() -> None:
    caption = ("Russian President Vladimir Putin (C), Army General Valery Gerasimov (L), "
               "Russian Foreign Minister Sergei Lavrov and Russia's Foreign Intelligence "
               "Service (SVR) chief Mikhail Fradkov attend a meeting at the Kremlin in Moscow, "
               "Russia, 17 November 2015. EPA/ALEXEY NIKOLSKY / SPUTNIK MANDATORY CREDIT")
    found = {(k, " ".join(w)) for k, w in english_mentions([caption])}
    assert {("PERS", "Vladimir Putin"), ("PERS", "Valery Gerasimov"), ("PERS", "Sergei Lavrov"),
            ("PERS", "Mikhail Fradkov"), ("ORG", "Foreign Intelligence Service"),
            ("ORG", "SVR")} <= found
    names = {n for _, n in found}
    assert not names & {"Moscow", "Russia", "November", "MANDATORY CREDIT", "Kremlin"}
    assert not any("General" in n or "Minister" in n for _, n in found)


@pytest.fixture(scope="module")
def enriched(seeds: list[Path]) -> dict[str, Article]:
    settings = Settings()
    store = MemoryStore()
    return {p.name[:3]: process(normalize(read_file(p).articles[0], settings), store)
            for p in seeds}


def test_seed_entities_are_normalised_and_counted(enriched: dict[str, Article]) -> None:
    putin = enriched["004"].entities.persons[0]  # «بوتين يأمر بالتنسيق مع فرنسا…»
    assert (putin.name, putin.count > 3) == ("فلاديمير بوتين", True)
    assert {"بوتين", "فلاديمير بوتين"} <= set(putin.aliases)
    for a in enriched.values():
        for kind in ("persons", "organizations", "locations", "misc"):
            mentions = getattr(a.entities, kind)
            keys = [search_form(m.name) for m in mentions]
            assert len(keys) == len(set(keys)), (a.title, kind)  # one entry per name
            assert [m.count for m in mentions] == sorted((m.count for m in mentions),
                                                         reverse=True)
            # no conjunction or preposition left before the article
            assert not [a for m in mentions for a in m.aliases if search_form(a)[:3] in
                        ("وال", "بال", "لال", "فال", "كال")]
    organizations = {m.name for a in enriched.values() for m in a.entities.organizations}
    assert {"الكرملين", "حزب الله"} <= organizations


def test_english_captions_give_names(enriched: dict[str, Article]) -> None:
    a = enriched["004"]
    persons = {alias for m in a.entities.persons for alias in m.aliases}
    assert {"Vladimir Putin", "Sergei Lavrov", "Sergei Shoigu", "Alexander Bortnikov"} <= persons
    assert "Federal Security Service" in {m.name for m in a.entities.organizations}


def test_seed_places_are_geocoded_in_documents(enriched: dict[str, Article]) -> None:
    places = {search_form(p.label): p for a in enriched.values() for p in a.places}
    for name, country, lat, lon in SEED_PLACES:
        p = places.get(search_form(name))
        assert p is not None, f"{name} not among the places of the seeds"
        assert p.country_code == country
        assert km(p.location.lat, p.location.lon, lat, lon) < 30, name
    for a in enriched.values():  # one place per gazetteer entry (سورية and سوريا are one)
        labels = [p.label for p in a.places]
        assert len(labels) == len(set(labels))


def test_an_article_without_arabic_names() -> None:
    assert entities(["هذا نص قصير بلا أسماء."], []).persons == []


def test_packaged_model_is_small() -> None:
    sizes = {name: Path(str(DATA.joinpath(name))).stat().st_size for name in (MODEL, LEXICON)}
    assert sum(sizes.values()) < 30 * 2**20, sizes


def test_training_script_builds_a_model_that_tags(tmp_path: Path) -> None:
    conll = need(NER / "anercorp-train.conll")
    lines = conll.read_text(encoding="utf-8").split("\n\n")[:300]  # a slice: seconds, not minutes
    small = tmp_path / "small.conll"
    small.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    ner_training.main(["--data", str(small), "--gazet", str(need(NER / "ANERGazet")),
                       "--news", "", "--out", str(tmp_path / "out")])
    lexicon = read_lexicon(tmp_path / "out" / LEXICON)
    assert lexicon.clusters and lexicon.lists["PERS"] and lexicon.names
    sentences = ner_training.read_conll(small)
    tagged = ner_training.tag([t for t, _ in sentences[:50]], lexicon, tmp_path / "out" / MODEL)
    gold = [tags for _, tags in sentences[:50]]
    # on sentences it was trained on, most entities come back
    hits = sum(len(set(bio_spans(g)) & set(bio_spans(p))) for g, p in zip(gold, tagged,
                                                                         strict=True))
    assert hits > 0.8 * sum(len(bio_spans(g)) for g in gold)
