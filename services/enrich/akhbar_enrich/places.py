"""Geocoding: location mentions resolved to places of the packaged gazetteer.

The gazetteer (data/gazetteer.tsv.gz, built by tools/build_gazetteer.py from GeoNames and
countries-states-cities) maps `place_key` of every Arabic name it keeps to the places of that
name. The key absorbs what spellings of one name differ in: the article (الرقة, رقة), hamza
seats, ta marbuta and alef maqsura (through `search_form`), -ية/-يا (سورية, سوريا), a dropped
final hamza (صنعاء, صنعا) and a space inside a name (أبو ظبي, أبوظبي). A mention that is not
found is tried again without a leading «مدينة», «محافظة»… (مدينة حلب).
"""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from akhbar.contract import GeoPoint, Mention, Place
from akhbar.orthography import search_form

GAZETTEER = "gazetteer.tsv.gz"
COLUMNS = ("key", "kind", "id", "country", "lat", "lon", "population", "label")
# Arab League members: the prior when places in and outside the Arab world share a name.
ARAB_LEAGUE = frozenset(
    "AE BH DJ DZ EG IQ JO KM KW LB LY MA MR OM PS QA SA SD SO SY TN YE".split())
# A name shared by a country and a place in it means the country (الكويت, تونس); a city
# named like its region means the city, which is more precise than the region's centroid.
KIND_RANK = {"region": 0, "city": 1, "country": 2}
# A dateline says where a report is filed from: a city before a country of that name.
DATELINE_RANK = {"region": 0, "country": 1, "city": 2}
# Words that may stand before a name without changing the place (مدينة حمص, محافظة إدلب).
DESCRIPTORS = frozenset({"مدينه", "محافظه", "ولايه", "منطقه", "اقليم"})


@dataclass(frozen=True)
class Entry:
    """One place of the gazetteer."""

    kind: str  # city, region or country
    id: str  # GeoNames id (cities), ISO 3166-2 code (regions), ISO 3166-1 alpha-2 (countries)
    country: str
    lat: float
    lon: float
    population: int  # 0 when unknown (countries and regions)
    label: str  # the Arabic name the key comes from


def spelling(name: str) -> str:
    """A name as written (article and ending included): folded, letters only, no spaces."""
    return "".join(_words(name))


def place_key(name: str) -> str:
    """The lookup key of a place name: its spelling without the article, endings unified."""
    return _key(_words(name))


def _words(name: str) -> list[str]:
    words = ["".join(c for c in w if c.isalpha())
             for w in search_form(name).replace("-", " ").split()]
    return [w for w in words if w]


def _ending(word: str) -> str:
    """Endings written two ways: سورية/سوريا, صنعاء/صنعا (search_form has made ة into ه)."""
    if word.endswith("يه"):
        return word[:-1] + "ا"
    if word.endswith("اء"):
        return word[:-1]
    return word


def _key(words: list[str]) -> str:
    first, *rest = words or [""]
    if first.startswith("ال") and len(first) > 2:
        first = first[2:]
    return "".join(_ending(w) for w in [first, *rest])


# Spellings (article and ending as written) that are ordinary words (first lines) or names of
# people (last lines) far more often than the places of their key: neither a gazetteer name nor
# a mention spelled so is a place, so «عين» and «خليل» find nothing while «العين» and «الخليل»
# find Al Ain and Hebron. Chosen by reading in context the words of a day of Saudi news that
# keys matched (tools/build_gazetteer.py --measure).
_COMMON_WORDS = """
    إبراء أقصر أكد أمل إبر إبرا إلينا الأمل الإبر الباب الباري البحيرة البستان البسيط البشري البلاء
    البلد البند البني البورصة البيان البيض البيضاء التفت الثورة الجدة الجديدة الجزيرة الجنة الحجة
    الحراك الحمأة الخالص الخصب الخفي الخمس الداخلية الديربي الرابية الرطبة الزاوية الزرقاء الساري
    السعيدة السفيرة السنة السيول الشامية الشرقية الصافي الصور الطبقة الظاهرة العزيزية العصابة
    العمارة العمران العيون الغربية الفارسان القارة القبة القبلي القرارة القصبة القصير الكبرى
    الكوادر الكوري الكيف الكيل الليل المتون المدينة المركزي المساكن المشهد المنية الهام الوسطى
    بأجور بأنه بأيه باب بحيرة برز بسيط بشري بلا بلاء بلد بلقاء بني بورصة بيان بيض بيضاء تفت ثورة
    جديدة جزيرة جنة حراك حلة خبر حولي خالص خفي خمس داخليا داخلية دورا دوما ديربي ربك رطبة رياض زاوية
    زرقاء ساري سعيدة سفيرة سنة سيان شرقية صافي صبية صور طبقة ظاهرة ظاهريا عصابة عصب عمارة عين عيون
    غربية فارسا قارة قبة قبلي قراره قصبة قصير قوله كاف كان كبرى كفرة كفره كوادر كوبري كوري كيف كيل
    لومه ليل مدية مدينة مركزي مشهد معان منية ميادين ميلا نارا نبل هام واد واو وفي ويدين
    أبي أحمدي أشرف الأحمدي البخاري الجاسم العبدان الفارس القاسم باري بخاري بشار بنسليمان جاسم
    جاكسون جيان خليل روسو ريان سلوى عمران فارس قاسم مارشال نانسي
"""
COMMON_WORDS = frozenset(map(spelling, _COMMON_WORDS.split()))


def parse(text: str) -> dict[str, tuple[Entry, ...]]:
    """The gazetteer TSV (header, then one row per key and place) as key -> places."""
    lines = text.splitlines()
    if tuple(lines[0].split("\t")) != COLUMNS:
        raise ValueError(f"gazetteer columns are not {COLUMNS}")
    index: dict[str, list[Entry]] = defaultdict(list)
    for line in lines[1:]:
        key, kind, ident, country, lat, lon, population, label = line.split("\t")
        index[key].append(Entry(kind, ident, country, float(lat), float(lon),
                                int(population or 0), label))
    return {key: tuple(entries) for key, entries in index.items()}


@cache
def gazetteer() -> dict[str, tuple[Entry, ...]]:
    """The packaged gazetteer, read once per process."""
    data = files("akhbar_enrich").joinpath("data", GAZETTEER).read_bytes()
    return parse(gzip.decompress(data).decode("utf-8"))


def lookup(name: str) -> tuple[Entry, ...]:
    """The places a name may stand for (none for an ordinary word)."""
    return lookup_words(_words(name))


def lookup_words(words: list[str]) -> tuple[Entry, ...]:
    """`lookup` of a name already folded (search form, letters only) and cut into words."""
    while words and "".join(words) not in COMMON_WORDS:
        found = gazetteer().get(_key(words))
        if found:
            return found
        words = words[1:] if len(words) > 1 and words[0] in DESCRIPTORS else []
    return ()


def geocode(locations: list[Mention], dateline: str | None = None, *,
            home: str | None = None) -> list[Place]:
    """The places of the mentions found in the gazetteer, in mention order (see `resolve`)."""
    return [_place(e, ms, dateline=filed) for e, ms, filed in resolve(locations, dateline,
                                                                        home=home)]


def resolve(locations: list[Mention], dateline: str | None = None, *,
            home: str | None = None) -> list[tuple[Entry, list[Mention], bool]]:
    """The gazetteer entry of each place the mentions name, with the mentions that name it and
    whether it is the dateline's place, in mention order.

    A name with several places is resolved by, in turn: the countries the article's other
    mentions point at (weighted by their counts), the `home` country (where the news comes
    from, AKHBAR_HOME_COUNTRY), the Arab world, the kind (country, then city, then region) and
    the population. A name standing for several countries (المملكة: Saudi Arabia, Jordan,
    Morocco, Bahrain) is the one the other mentions point at most, else `home` if it is one of
    them, else no place. Mentions of one place (سورية, سوريا; السعودية, المملكة
    العربية السعودية) become one place with their counts added, named as its most mentioned
    form, with every form in `aliases`.

    The `dateline` place (as written) is read first, by the other mentions and then a city
    before a country of that name: a report is filed from a city («عمان» is Amman, not Oman).
    Its country then points as one more mention for the others; it is added last, and its place
    is marked `dateline`. A name is no context for itself, however spelled.
    """
    found = [(m, entries) for m in locations if (entries := lookup(m.name))]
    pointed = [_country_pointed(entries) for _, entries in found]
    filed = Mention(name=search_form(dateline), count=1) if dateline else None
    filed_entries = lookup(filed.name) if filed else ()
    filed_at = None
    if filed_entries:
        filed_at = _best(filed_entries, _support(found, pointed, filed_entries), home,
                         DATELINE_RANK)
    merged: dict[tuple[str, str], tuple[Entry, list[Mention]]] = {}
    for mention, entries in found:
        support = _support(found, pointed, entries)
        if filed_at is not None:
            support[filed_at.country] += 1
        best = _best(entries, support, home, KIND_RANK)
        if best is not None:
            merged.setdefault((best.kind, best.id), (best, []))[1].append(mention)
    if filed and filed_at:
        merged.setdefault((filed_at.kind, filed_at.id), (filed_at, []))[1].append(filed)
    filed_key = (filed_at.kind, filed_at.id) if filed_at else None
    return [(e, ms, key == filed_key) for key, (e, ms) in merged.items()]


def _support(found: list[tuple[Mention, tuple[Entry, ...]]], pointed: list[str | None],
             entries: tuple[Entry, ...]) -> Counter[str]:
    """Mentions per country that the article's other names point at (a name is no context
    for itself, however spelled)."""
    support: Counter[str] = Counter()
    for (other, other_entries), country in zip(found, pointed, strict=True):
        if country is not None and other_entries != entries:
            support[country] += other.count
    return support


def _best(entries: tuple[Entry, ...], support: Counter[str], home: str | None,
          rank: dict[str, int]) -> Entry | None:
    countries = {e.country for e in entries if e.kind == "country"}
    if len(countries) > 1 and home not in countries and not any(support[c] for c in countries):
        return None
    return max(entries, key=lambda e: (support[e.country], e.country == home,
                                       e.country in ARAB_LEAGUE, rank[e.kind], e.population))


def _country_pointed(entries: tuple[Entry, ...]) -> str | None:
    """The country a mention stands for or lies in, when that is clear from its places."""
    countries = {e.country for e in entries if e.kind == "country"}
    if not countries:
        countries = {e.country for e in entries}
    return countries.pop() if len(countries) == 1 else None


def _place(e: Entry, mentions: list[Mention], *, dateline: bool) -> Place:
    ranked = sorted(mentions, key=lambda m: -m.count)  # stable: mention order among equals
    # An entity mention carries the forms it was written in; the dateline's only its name.
    forms = list(dict.fromkeys(f for m in ranked for f in (m.aliases or [m.name])))
    return Place(name=ranked[0].name, label=e.label, aliases=forms, dateline=dateline,
                 geonames_id=e.id if e.kind == "city" else None,
                 location=GeoPoint(lat=e.lat, lon=e.lon), country_code=e.country or None,
                 kind=e.kind, count=sum(m.count for m in mentions))
