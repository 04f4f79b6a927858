"""Canonical entities: one entry per person, organisation, place or other name of an article,
with an id that is the same in every article, and the junk a reader would not count as one.

A name's key is its search form (hamza seats, alef and ya forms folded) with the spellings of
one name unified: ابن → بن inside a name, «عبد ربه» → «عبدربه» (عبد and أبو join the next
word), and after a nasab the آل family name and the grandfathers left out («سلمان بن
عبدالعزيز آل سعود» → «سلمان بن عبدالعزيز», «محمد بن نايف بن عبدالعزيز» → «محمد بن نايف»).
Titles before a person's name go (الملك، الأمير، ولي العهد، الرئيس الروسي …).

Within an article a person's shorter form joins the one fuller form it begins or ends
(«بوتين» after «فلاديمير بوتين»; «محمد» next to «محمد بن نايف» and «محمد بن سلمان» joins
neither and is dropped), and a Latin-script name of a caption joins the Arabic name with the
same consonant skeleton («Vladimir Putin» = «فلاديمير بوتين»). Across articles the alias
table (data/entity-aliases.json.gz, built from the news by tools/build_aliases.py) takes a
short form to the full form it stands for in most articles («بوتين», «سلمان») and a full
form to its display name, so every article gives the same id and the same `name`.

The id is the first 16 hex digits of BLAKE2b over "kind:key": deterministic, the same on every
worker and in every run. A location's key is its gazetteer entry (places.lookup, read as
places.geocode reads it: the countries of the article's other places first), so السعودية and
المملكة العربية السعودية are one location when the gazetteer knows both; its name stays the
article's most written spelling, which places.geocode reads (the place's own name is
Place.label).

Junk rules (RULES, counted per dropped mention when a tally is given): the word الله, titles
and job words alone (وزير، وكيل), a region or city tagged as a person (moved to locations), a
person's name only ever written after an institution word (دوري عبداللطيف جميل: an
organisation), the outlet's own name where it quotes itself («الشرق الأوسط» in «قال
لـ«الشرق الأوسط»»), common words the recogniser rarely tags (from the alias table), and bare
names (a first name, a shared surname) that stand for no one person.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from akhbar.contract import Entities, EntityKind, Mention
from akhbar.orthography import search_form
from akhbar_enrich.places import lookup, resolve

# The gazetteer's places of a name, cached: an article looks each of its names up several times.
_places = lru_cache(maxsize=65536)(lookup)

ALIASES = "entity-aliases.json.gz"
ID_DIGITS = 16
MAX_ALIASES = 20

# Titles and offices before a person's name; the longest match is cut first.
_TITLES = """خادم الحرمين الشريفين|صاحب السمو الملكي|السمو الملكي|صاحب السمو|ولي ولي العهد
    |ولي العهد|نائب خادم الحرمين الشريفين|رئيس مجلس الوزراء|رئيس الوزراء|رئيس الحكومة|نائب الرئيس
    |وزير الدولة|الملك|الملكة|الأمير|الأميرة|الرئيس|الشيخ|الشيخة|السلطان|الإمام|السيد|السيدة|سمو
    |جلالة|فخامة|معالي|سعادة|دولة|الدكتور|الدكتورة|د|المهندس|الأستاذ|الأستاذة|الوزير|وزير|وزيرة
    |نائب|رئيس|مدير|وكيل|أمين|محافظ|المحافظ|أمير|اللواء|العميد|العقيد|المقدم|الرائد|النقيب|الفريق
    |الفريق أول|المشير|الجنرال|القاضي|المستشار|النائب|السفير|المفتي|البابا|الحاج|المواطن|الفنان
    |الفنانة|اللاعب|المدرب|الكابتن|الزميل|الراحل|الفقيد|المرحوم|الشهيد|الداعية|الروائي|العلامة
    |الصحفي|الكاتب"""
TITLES = sorted((tuple(search_form(t).split()) for t in _TITLES.replace("\n", "").split("|")),
                key=len, reverse=True)
TITLE_WORDS = frozenset(w for t in TITLES for w in t)
TITLES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _title in TITLES:
    TITLES_BY_FIRST.setdefault(_title[0], []).append(_title)
# Words that name an institution after them: a person's name there names the institution.
INSTITUTIONS = {search_form(w): w for w in """دوري كأس جائزة شركة شركات مجموعة مؤسسة بنك
    مصرف مستشفى مستشفيات جامعة كلية مدرسة مركز صندوق برنامج مشروع""".split()}
GOD = frozenset({"الله", "لله", "بالله", "ولله", "والله", "تالله", "فالله"})
# Common nouns the recogniser tags as misc names: currencies (with the article, accusative or
# dual endings cut before the lookup: الدولار، دولارا، دولاران).
CURRENCIES = frozenset(search_form(w) for w in """دولار ريال يورو جنيه درهم دينار فرنك ين
    يوان روبل ليرة روبية استرليني""".split())
# Outlets that name themselves in guillemets («قال لـ«الشرق الأوسط»»): from normalize's list.
_QUOTED = re.compile(r"«([^«»]{2,40})»")

RULES = ("god", "title", "place as person", "institution", "own outlet", "common word",
         "bare name")


@dataclass
class Group:
    """One entity of an article while its mentions are gathered."""

    key: tuple[str, ...]
    display: Counter[str] = field(default_factory=Counter)  # names without titles
    aliases: Counter[str] = field(default_factory=Counter)  # as written
    count: int = 0
    keys: set[tuple[str, ...]] = field(default_factory=set)  # the keys gathered here
    name: str | None = None  # the canonical name, when known beyond the article

    def add(self, other: Group) -> None:
        self.display.update(other.display)
        self.aliases.update(other.aliases)
        self.count += other.count
        self.keys |= other.keys


@cache
def alias_table() -> dict[str, Any]:
    """The packaged alias table (tools/build_aliases.py), read once per process."""
    data = files("akhbar_enrich").joinpath("data", ALIASES).read_bytes()
    table: dict[str, Any] = json.loads(gzip.decompress(data))
    return table


def entity_id(kind: EntityKind, key: Iterable[str]) -> str:
    """The id of the entity of this kind and key: the same in every article and run."""
    text = f"{kind}:{' '.join(key)}"
    return hashlib.blake2b(text.encode("utf-8"), digest_size=ID_DIGITS // 2).hexdigest()


def strip_titles(words: list[str]) -> list[str]:
    """A person's name without the titles before it, nor the words that complete a title
    («الرئيس الروسي فلاديمير بوتين» → «فلاديمير بوتين»); the last word always stays."""
    folded = [_fold(w) for w in words]
    cut = 0
    while cut < len(words) - 1:
        title = next((t for t in TITLES_BY_FIRST.get(folded[cut], ())
                      if tuple(folded[cut:cut + len(t)]) == t
                      and cut + len(t) < len(words)), None)
        if title is None:
            break
        cut += len(title)
        while cut < len(words) - 1 and folded[cut].startswith("ال") and folded[cut] != "ال":
            cut += 1  # الروسي، الخارجية: what the title is of
    return words[cut:]


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """A word's search form, letters and digits only."""
    return "".join(c for c in search_form(word) if c.isalnum())


def name_key(words: Iterable[str], *, whole: bool = False) -> tuple[str, ...]:
    """The key of a name: folded, ابن → بن, عبد/أبو joined to the next word, and after a
    nasab no آل family name and no grandfathers before a family name or surname («محمد بن
    نايف بن عبدالعزيز آل سعود» → «محمد بن نايف»; «عبدالله بن محمد بن أحمد العنقري» →
    «عبدالله بن محمد العنقري»). A chain that ends on a grandfather keeps it: «عبدالله بن صالح
    بن جمعة» and «عبدالله بن صالح بن عبدالرحمن» are two men (the alias table joins «محمد بن
    نايف» to «محمد بن نايف بن عبدالعزيز»). With `whole`, all its parts."""
    folded = [_fold(w) for w in words]
    out: list[str] = []
    for w in filter(None, folded):
        if out and out[-1] in ("عبد", "ابو"):
            out[-1] += w
        elif out and w == "ابن":
            out.append("بن")
        else:
            out.append(w)
    if whole or "بن" not in out[1:]:
        return tuple(out)  # «خالد آل دغيم»: آل is the surname's, not a family after a nasab
    first = out.index("بن", 1)
    if "ال" in out[first:]:
        out = out[:out.index("ال", first)]
    rest = out[first + 2:]
    while rest[:1] == ["بن"] and rest[2:]:  # grandfathers, before a surname or family name
        rest = rest[2:]
    return tuple(out[:first + 2] + rest)


def part_of(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """`short` begins `full`, or ends it where no بن stands before (سلمان ends محمد بن سلمان
    as his father's name, not as his own)."""
    n = len(short)
    if n >= len(full):
        return False
    return full[:n] == short or (full[-n:] == short and full[-n - 1] != "بن")


# --------------------------------------------------------------------------- Latin names

_LATIN_DIGRAPHS = [("sh", "s"), ("ch", "s"), ("kh", "k"), ("gh", "k"), ("th", "t"), ("ph", "f"),
                   ("ck", "k"), ("ce", "se"), ("ci", "si"), ("cy", "sy")]
_LATIN = str.maketrans({"p": "b", "v": "f", "c": "k", "q": "k", "g": "k", "j": "k", "x": "k",
                        "z": "s", "a": None, "e": None, "i": None, "o": None, "u": None,
                        "y": None, "w": None, "h": None})
_ARABIC = str.maketrans({"ب": "b", "ت": "t", "ث": "t", "ط": "t", "د": "d", "ذ": "d", "ض": "d",
                         "ج": "k", "ك": "k", "ق": "k", "غ": "k", "خ": "k", "ر": "r", "ز": "s",
                         "ظ": "s", "س": "s", "ش": "s", "ص": "s", "ف": "f", "ل": "l", "م": "m",
                         "ن": "n"})


def skeleton(name: str) -> str:
    """The consonants of a name in either script, in coarse classes (p=b, v=f, c=k=q=g=j,
    s=sh=z; vowels, w, y, h, ʿayn and hamza dropped; a doubled class once): «Vladimir Putin»
    and «فلاديمير بوتين» are both "fldmr btn"."""
    out = []
    for word in search_form(name).split():
        if word.isascii():
            for a, b in _LATIN_DIGRAPHS:
                word = word.replace(a, b)
            letters = word.translate(_LATIN)
        else:
            letters = "".join(c for c in word.translate(_ARABIC) if c.isascii())
        out.append(re.sub(r"(.)\1+", r"\1", "".join(c for c in letters if c.isalpha())))
    return " ".join(w for w in out if w)


# --------------------------------------------------------------------------- the article


def canonical(found: list[tuple[EntityKind, str]], texts: list[str],
              junk: Counter[str] | None = None, *, home: str | None = None) -> Entities:
    """The entities of an article from its mentions (kind, name as written, clitics cut) and
    its texts (for the institution and own-outlet rules). `junk` counts dropped mentions by
    rule."""
    tally: Counter[str] = Counter() if junk is None else junk
    text = "\n".join(texts)
    table = alias_table()
    outlets = {tuple(o.split()) for o in table["outlets"]}
    quoted = {name_key(q.split()) for q in _QUOTED.findall(text)} & outlets
    common = frozenset(table["common"])
    by_kind: dict[EntityKind, list[str]] = {"persons": [], "organizations": [],
                                            "locations": [], "misc": []}
    for kind, name in found:
        key = name_key(name.split())
        if not key:
            continue  # only marks or punctuation
        rule = junk_rule(kind, key, quoted)
        if rule is not None:
            tally[rule] += 1
            continue
        if kind == "persons" and not name.isascii():
            if "بن" not in key and _places(" ".join(strip_titles(name.split()))):
                tally["place as person"] += 1
                kind = "locations"
            elif (institution := _institution(name, text)) is not None:
                tally["institution"] += 1
                kind, name = "organizations", f"{institution} {name}"
        if kind == "misc" and (len(key) == 1 and key[0] in common or _currency(key)):
            tally["common word"] += 1
            continue
        by_kind[kind].append(name)
    return Entities(
        persons=_mentions("persons", _persons(by_kind["persons"], table, tally)),
        organizations=_mentions("organizations", _name(_by_key(by_kind["organizations"]),
                                                       table["names"]["organizations"])),
        locations=_mentions("locations", _locations(by_kind["locations"], home)),
        misc=_mentions("misc", _name(_by_key(by_kind["misc"]), table["names"]["misc"])))


def junk_rule(kind: EntityKind, key: tuple[str, ...], quoted: set[tuple[str, ...]]
              ) -> str | None:
    """The rule that drops a mention whatever else the article says, if one does."""
    if key[0] in GOD:
        return "god"
    if kind != "locations" and all(w in TITLE_WORDS for w in key):
        return "title"
    if kind != "locations" and key in quoted:
        return "own outlet"
    return None


def _currency(key: tuple[str, ...]) -> bool:
    """«دولار», «الدولار», «دولارا», «ريالا سعوديا», «جنيه استرليني»: an amount's unit."""
    word = key[0].removeprefix("ال")
    return any(word in (c, c + "ا", c + "ان", c + "ات") for c in CURRENCIES)


def _institution(name: str, text: str) -> str | None:
    """The institution word before every occurrence of `name` (as written) in the article's
    text, if one always stands there."""
    before = set()
    i = text.find(name)
    while i >= 0:
        end = i + len(name)
        if (not i or not text[i - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            word = text[max(0, i - 40):i].split()
            before.add(_without_clitic(_fold(word[-1])) if word and text[i - 1].isspace() else "")
        i = text.find(name, end)
    if len(before) == 1 and before <= INSTITUTIONS.keys():
        return INSTITUTIONS[before.pop()]
    return None


def _without_clitic(word: str) -> str:
    for p in ("وب", "ول", "فب", "فل", "و", "ف", "ب", "ل"):
        if word.startswith(p) and word[len(p):] in INSTITUTIONS:
            return word[len(p):]
    return word


def fullness(name: str) -> int:
    """How many parts a name has («عبد ربه» is one, as «عبدربه» is)."""
    return len(name_key(name.split(), whole=True))


def _display(g: Group) -> str:
    """The fullest name the article writes, the most written among equals."""
    return max(g.display.items(), key=lambda kv: (fullness(kv[0]), kv[1], kv[0]))[0]


def article_persons(names: list[str]) -> tuple[dict[tuple[str, ...], Group], int]:
    """The persons of an article's Arabic person mentions, each shorter form in the one fuller
    form it begins or ends, and the mentions of bare names that fit several."""
    groups: dict[tuple[str, ...], Group] = {}
    for name in names:
        shown = " ".join(strip_titles(name.split()))
        key = name_key(shown.split())
        g = groups.setdefault(key, Group(key, keys={key}))
        g.display[shown] += 1
        g.aliases[name] += 1
        g.count += 1
    into: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key in sorted(groups, key=len, reverse=True):
        fuller = {_root(k, into) for k in groups if part_of(key, k)}
        if len(fuller) == 1:
            into[key] = fuller.pop()
        elif len(fuller) > 1 and len(key) == 1:
            into[key] = ()  # «محمد» beside two Mohammeds: no one in particular
    kept: dict[tuple[str, ...], Group] = {}
    dropped = 0
    for key, g in groups.items():
        root = _root(key, into)
        if root:
            kept.setdefault(root, Group(root)).add(g)
        else:
            dropped += g.count
    return kept, dropped


def _persons(names: list[str], table: dict[str, Any], tally: Counter[str]
             ) -> dict[tuple[str, ...], Group]:
    kept, dropped = article_persons([n for n in names if not n.isascii()])
    tally["bare name"] += dropped
    # Across articles: a short form to the full form it stands for.
    full: dict[tuple[str, ...], Group] = {}
    for key, g in kept.items():
        target = tuple(table["persons"].get(" ".join(key), " ".join(key)).split())
        if len(target) == 1 and target[0] in table["first_names"]:
            tally["bare name"] += g.count
            continue
        if len(target) == 1 and target[0] in table["common"]:
            tally["common word"] += g.count
            continue
        full.setdefault(target, Group(target)).add(g)
    _name(full, table["names"]["persons"])
    for name in (n for n in names if n.isascii()):
        _add_latin(full, name)
    return full


def _add_latin(groups: dict[tuple[str, ...], Group], name: str) -> None:
    """A Latin-script name into the Arabic person with its consonant skeleton (whole, else the
    surname's when only one person has it), else a person of its own."""
    sk = skeleton(name)
    whole = {k for k, g in groups.items() if any(skeleton(d) == sk for d in g.display)}
    last = {k for k, g in groups.items()
            if any(skeleton(d).split()[-1:] == sk.split()[-1:] for d in g.display)}
    match = whole if len(whole) == 1 else last if len(last) == 1 and not whole else set()
    if match:
        g = groups[match.pop()]
    else:
        key = tuple(search_form(name).split())
        g = groups.setdefault(key, Group(key))
        g.display[name] += 1
    g.aliases[name] += 1
    g.count += 1


def _name(groups: dict[tuple[str, ...], Group], names: dict[str, str]
          ) -> dict[tuple[str, ...], Group]:
    """The groups with the names the alias table gives their keys."""
    for key, g in groups.items():
        g.name = names.get(" ".join(key))
    return groups


def _root(key: tuple[str, ...], into: dict[tuple[str, ...], tuple[str, ...]]
          ) -> tuple[str, ...]:
    while key in into:
        key = into[key]
    return key


def _by_key(names: list[str]) -> dict[tuple[str, ...], Group]:
    groups: dict[tuple[str, ...], Group] = {}
    for name in names:
        key = tuple(search_form(name).split()) if name.isascii() else name_key(name.split())
        g = groups.setdefault(key, Group(key))
        g.display[name] += 1
        g.aliases[name] += 1
        g.count += 1
    return groups


def _locations(names: list[str], home: str | None) -> dict[tuple[str, ...], Group]:
    """Location names grouped by the place `places.resolve` reads them as (one group per
    gazetteer id), else by name."""
    by_name = _by_key(names)
    shown = {_display(g): key for key, g in by_name.items()}
    place_of = {shown[m.name]: ("geo", e.kind, e.id)
                for e, ms, _ in resolve([Mention(name=name, count=by_name[key].count)
                                         for name, key in shown.items()], home=home)
                for m in ms}
    groups: dict[tuple[str, ...], Group] = {}
    for key, g in by_name.items():
        place = place_of.get(key, key)
        groups.setdefault(place, Group(place)).add(g)
    return groups


def _mentions(kind: EntityKind, groups: dict[tuple[str, ...], Group]) -> list[Mention]:
    """Most mentioned first, then by name."""
    found = [Mention(id=entity_id(kind, key), name=g.name or _display(g),
                     aliases=[a for a, _ in g.aliases.most_common(MAX_ALIASES)], count=g.count)
             for key, g in groups.items()]
    return sorted(found, key=lambda m: (-m.count, m.name))
