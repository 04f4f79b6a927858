"""Named entities of an article: the CRF model on Arabic text, capitalised names in English.

Arabic sentences are tagged with the packaged model (data/ner-crf.zip, trained by
`make train-ner`, scored by ner_crf); English paragraphs and photo captions get persons and
organisations from capitalised word runs. Mentions are normalised (marks and tatweel removed,
proclitics cut: «بالرقة» → «الرقة», «لبوتين» → «بوتين»), then made canonical
(akhbar_enrich.canonical): one entry per entity with its id, canonical name and the article's
spellings, junk left out.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from importlib.resources import as_file, files

from akhbar.contract import Entities, EntityKind
from akhbar.orthography import search_form
from akhbar_enrich import ner_crf
from akhbar_enrich.canonical import canonical
from akhbar_enrich.ner_features import Lexicon, bio_spans, read_lexicon, tokenize
from akhbar_enrich.places import lookup as place_lookup

MODEL = "ner-crf.zip"
LEXICON = "ner-lexicon.json.gz"
KINDS: dict[str, EntityKind] = {"PERS": "persons", "ORG": "organizations",
                                "LOC": "locations", "MISC": "misc"}
# Sentences are cut at these marks, and anyway every MAX_TOKENS tokens: the model was trained
# on sentences of about 30 tokens and a CRF's cost grows with the sequence.
_SENTENCE_END = re.compile(r"(?<=[.!?؟؛])\s+|\n+")
MAX_TOKENS = 120
MAX_NAME_CHARS = 200  # the contract's limit for a mention

@cache
def _model() -> tuple[ner_crf.Tagger, Lexicon]:
    """The packaged model and lexicon, loaded once per process."""
    data = files("akhbar_enrich").joinpath("data")
    with as_file(data.joinpath(MODEL)) as path:
        weights = ner_crf.load(path)
    with as_file(data.joinpath(LEXICON)) as path:
        lexicon = read_lexicon(path)
    return ner_crf.Tagger(weights, lexicon), lexicon


def sentences(text: str) -> list[list[str]]:
    out = []
    for part in _SENTENCE_END.split(text):
        tokens = tokenize(part)
        out += [tokens[i:i + MAX_TOKENS] for i in range(0, len(tokens), MAX_TOKENS)]
    return out


def arabic_mentions(texts: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(type, tokens) of every entity the model finds in `texts`."""
    tagger = _model()[0]
    found = []
    article = [s for text in texts for s in sentences(text)]
    for tokens, tags in zip(article, tagger.tag_article(article), strict=True):
        found += [(kind, tokens[a:b]) for a, b, kind in bio_spans(tags)]
    return found


# English: a run of capitalised words; titles and demonyms before a name are not part of it.
_CAPITALISED = re.compile(r"\b(?:[A-Z][a-z]+(?:[-'][A-Za-z]+)*|[A-Z]{2,6})\b")
_ORG_WORDS = frozenset("""Agency Army Assembly Association Bank Brigade Brigades Council Committee
    Commission Company Corporation Court Forces Front Government Group Guard Institute League
    Ministry Movement Navy Organisation Organization Parliament Party Police Press Service State
    Union University""".split())
_TITLES = frozenset("""President Prime Minister Foreign Defence Defense Interior Deputy First
    Chief General King Prince Princess Queen Crown Sheikh Emir Sultan Mr Mrs Ms Dr Colonel
    Lieutenant Major Commander Secretary Spokesman Spokeswoman Ambassador Envoy Senator Pope
    Army Staff Federal Security Head Leader Director Vice Mayor Governor Judge""".split())
_NOT_NAMES = frozenset("""A An The In On At For Of And Or But By With From To As This That These
    Those His Her Their Its It He She They We Our I Photo Media Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday January February March April May June July August
    September October November December MANDATORY CREDIT POOL""".split())
# Leading modifiers: demonyms and possessives (Russian, Saudi, Russia's).
_MODIFIER = re.compile(r"(?:an|ese|ish|i|'s)$|^(?:French|British|Dutch|Swiss|Greek)$")


def english_mentions(texts: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Persons (two to four capitalised words, after any title) and organisations (a run
    holding an organisation word, or an acronym in parentheses) of English text."""
    found: list[tuple[str, list[str]]] = []
    for text in texts:
        for run in _capitalised_runs(text):
            words = [w for w in run if w not in _NOT_NAMES or w in _ORG_WORDS]
            while len(words) > 1 and _MODIFIER.search(words[0]):
                words = words[1:]  # «Russian Defence Ministry» → «Defence Ministry»
            titled = max((i + 1 for i, w in enumerate(words) if w in _TITLES), default=0)
            name = words[titled:]
            if 2 <= len(name) <= 4 and not any(w in _ORG_WORDS or w.isupper() for w in name):
                found.append(("PERS", name))  # «Army General Valery Gerasimov» → a person
            elif any(w in _ORG_WORDS for w in words):
                found.append(("ORG", words))
        found += [("ORG", [m]) for m in re.findall(r"\(([A-Z]{2,6})\)", text)]
    return found


def _capitalised_runs(text: str) -> Iterable[list[str]]:
    run: list[str] = []
    end = 0
    for m in _CAPITALISED.finditer(text):
        gap = text[end:m.start()]
        if run and (gap.strip() or "\n" in gap):  # anything but a space ends a run
            yield run
            run = []
        if m.group().isupper() and len(m.group()) > 1:  # acronyms end runs (AP, EPA, SVR)
            if run:
                yield run
            run, end = [], m.end()
            continue
        run.append(m.group())
        end = m.end()
    if run:
        yield run


def _clean(token: str) -> str:
    """A token for display: NFKC, without harakat, tatweel and invisible format characters."""
    text = unicodedata.normalize("NFKC", token)
    return "".join(c for c in text
                   if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")


_ARTICLE_CLITIC = re.compile(r"^([وف]?[بكل]?)ال..")
_TO_GOD = re.compile(r"^[وف]?لله$")  # ل + الله is written «لله», never «لالله»
_BARE_CLITICS = ("وب", "ول", "وك", "فب", "فل", "فك", "و", "ف", "ب", "ل", "ك")


def _strip_proclitics(tokens: list[str], known: Callable[[str], int]) -> list[str]:
    """A mention without the conjunction or preposition written onto its first word.

    Before the article the cut is always right (بالرقة, والحكومة → الرقة, الحكومة; للبنك →
    البنك; لله → الله). A bare conjunction (و ف) is cut when what remains is a known name or a place
    (وحمص, ودير الزور); a bare preposition (ب ل ك) only when what remains is the more frequent
    name (لبوتين → بوتين, but لبنان and بغداد stay). `known`: times a word stands in a name.
    """
    word, rest_tokens = tokens[0], tokens[1:]
    folded = search_form(word)
    if len(folded) != len(word):  # not aligned with its folded form: leave it as it is
        return tokens
    if _TO_GOD.match(folded):
        return ["الله", *rest_tokens]
    if folded.startswith("لل") and len(folded) >= 4:
        return ["ال" + word[2:], *rest_tokens]
    if (m := _ARTICLE_CLITIC.match(folded)) and m[1]:
        return [word[len(m[1]):], *rest_tokens]
    for p in _BARE_CLITICS:
        rest = folded[len(p):]
        if not folded.startswith(p) or len(rest) < 2:
            continue
        place = bool(place_lookup(" ".join([rest, *rest_tokens])))
        if (known(rest) > 0 or place) if p[0] in "وف" else (
                known(rest) > known(folded) or (place and not place_lookup(" ".join(tokens)))):
            return [word[len(p):], *rest_tokens]
    return tokens


def entities(arabic: Iterable[str], english: Iterable[str], *,
             home: str | None = None) -> Entities:
    """Entities of an article's Arabic and English texts, one per person, organisation,
    place or other name (akhbar_enrich.canonical), most mentioned first. `home`: the country
    the news comes from, for names of several places (see places.resolve)."""
    arabic, english = list(arabic), list(english)
    return canonical(raw_mentions(arabic, english), [*arabic, *english], home=home)


def raw_mentions(arabic: list[str], english: list[str]) -> list[tuple[EntityKind, str]]:
    """(kind, name as written without proclitics) of every mention, in text order."""
    mentions = [(k, [_clean(t) for t in tokens]) for k, tokens in arabic_mentions(arabic)]
    # How often a word stands in a name, in training and in this article: decides bare clitics.
    names = _model()[1].names
    own = Counter(search_form(tokens[0]) for _, tokens in mentions if tokens)

    def known(word: str) -> int:
        return names.get(word, 0) + own[word]

    found: list[tuple[EntityKind, str]] = []
    for lang, (kind, tokens) in [*(("ar", m) for m in mentions),
                                 *(("en", m) for m in english_mentions(english))]:
        if not tokens:
            continue
        tokens = _strip_proclitics(tokens, known) if lang == "ar" else tokens
        name = " ".join(t for t in tokens if t).strip()[:MAX_NAME_CHARS]
        key = search_form(name)
        if len(key) >= 2 and any(c.isalpha() for c in key):
            found.append((KINDS[kind], name))
    return found
