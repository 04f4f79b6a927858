"""Build akhbar_enrich/data/gazetteer.tsv.gz, the gazetteer `akhbar_enrich.places` geocodes with.

    python services/enrich/tools/build_gazetteer.py [DATA_DIR] [--out FILE] [--measure NEWS]

DATA_DIR (default ../shared/data/gazetteer beside the repository) holds
geonames-cities15000.txt (GeoNames, CC BY 4.0), countries_ar.tsv and
states_native_arabic_script.tsv (dr5hn/countries-states-cities-database, ODbL/DbCL); see
akhbar_enrich/data/LICENSES.md. The output has one row per lookup key and place: the key
(`place_key`), kind (city, region, country), id (GeoNames id, ISO 3166-2 or ISO 3166-1 code),
country, lat, lon (4 decimals, about 10 m), population (cities) and the place's Arabic label.
Rows are sorted and gzip gets mtime 0, so the same inputs give the same bytes.

Which names are kept:
- Arabic only: a name is kept when, after `search_form`, it has nothing but the 28 Arabic
  letters and hamza (spaces and hyphens aside). Latin, Cyrillic… names go, and so do names
  mixing scripts («Annaba - سياحة», «قرطبة، الأرجنتين»), numbered ones («سقّز (1)») and the
  Urdu, Pashto, Kurdish and Uyghur spellings with letters of their own (ٹ ڈ ە ې ۇ ڭ…), and
  Persian spellings with پ چ ژ گ: folded to ب ج ز ك they make words no Arabic text writes
  (پراگ would become براك, a Libyan town; Arabic writes Prague براغ). Persian spellings with
  only the Persian forms of ي and ك (ی ک) stay: they fold to the Arabic letters.
- A parenthesised Arabic part is a name of its own: «كوت ديفوار (ساحل العاج)».
- Countries and regions: the countries-states-cities labels are partly machine translations.
  Where the English name was translated as common words («ديك رومى» for Turkey, «جمع شمل»
  for Réunion, «يشيد» for Ha'il, «بير» for Beirut…) `FIXED` gives the usual Arabic name, or
  drops the label when there is none worth having; `ADDED` gives usual names the sources lack
  (السعودية, أمريكا, بريطانيا, إسطنبول…). Places at (0, 0) have no real coordinates and go.
- Keys shorter than `MIN_KEY_LEN` letters go (then «من», «في», «قد» cannot become places,
  at the price of قم and إب).
- City and region names spelled like an ordinary word or a person's name (`COMMON_WORDS` in
  akhbar_enrich/places.py, which refuses mentions so spelled too) go; country names stay, even
  مالي. `--measure NEWS` lists the words, word pairs and triples of a news file that keys
  would match without the list. On SaudiNewsNet 2015-08-10 (1,700 articles) they matched
  9,468 times, 482 spellings; read in context, most matches were not the places: كان
  (Cannes, 752), وفي (Alofi, 643), مدينة/المدينة (Medina, 583), أكد (Agde), بيان (Bayan,
  Kuwait), الجديدة (El Jadida), الداخلية (Ad Dakhiliyah), سنة (Sanandaj), بأنه (Baneh), عين
  (Al Ain), كيف (Kyiv), المنية (death, for El Minya), بن سليمان (Benslimane)… The 195
  spellings listed take 4,962 of the 9,468 matches; the top of what stays is الرياض, جدة,
  عسير, عدن, مكة, مكة المكرمة, الباحة, لندن, الطائف, نجران.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from akhbar.orthography import search_form
from akhbar_enrich.places import COLUMNS, COMMON_WORDS, place_key, spelling

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO.parent / "shared" / "data" / "gazetteer"
OUT = REPO / "services" / "enrich" / "akhbar_enrich" / "data" / "gazetteer.tsv.gz"
CITIES = "geonames-cities15000.txt"
COUNTRIES = "countries_ar.tsv"
REGIONS = "states_native_arabic_script.tsv"

MIN_KEY_LEN = 3
ARABIC_LETTERS = frozenset("ءابتثجحخدذرزسشصضطظعغفقكلمنهوي")  # as search_form leaves them
# Persian letters for sounds Arabic writes otherwise (براغ, not پراگ folded to براك).
FOREIGN_SOUNDS = frozenset("پچژگ")

# Source labels replaced (by the usual Arabic name) or dropped (empty), by place id.
FIXED: dict[str, tuple[str, ...]] = {
    # countries_ar.tsv
    "CK": ("جزر كوك",),  # «كوك جزر»
    "CM": ("الكاميرون",),  # blank
    "HK": ("هونغ كونغ",),  # «هونغ كونغ س.»
    "HM": ("جزيرة هيرد وجزر ماكدونالد",),  # «سمعت جزيرة…» (heard)
    "IM": ("جزيرة مان",),  # «رجل (جزيرة)» (man)
    "MO": ("ماكاو",),  # «ماكاو س.»
    "PH": ("الفلبين",),  # «فيلبيني»
    "PM": ("سان بيير وميكلون",),  # «القديس…» (a holy saint)
    "PS": ("فلسطين", "الأراضي الفلسطينية"),  # «احتلت الأراضي الفلسطينية» (a verb phrase)
    "RE": ("ريونيون",),  # «جمع شمل» (reunion)
    "TL": ("تيمور الشرقية",),  # «تيمور قراءة»
    "TR": ("تركيا",),  # «ديك رومى» (the bird)
    "VC": ("سانت فنسنت والغرينادين",),  # «القديس…»
    # «جزر فيرجن (البريطانية)», «جزر فيرجن (الولايات المتحدة)»: the asides made «البريطانية»
    # and «الولايات المتحدة» names of the islands
    "VG": ("جزر فيرجن البريطانية",),
    "VI": ("جزر فيرجن الأمريكية",),
    # states_native_arabic_script.tsv
    "AE-UQ": ("أم القيوين",),  # «أم القوي»
    "AF-FYB": (),  # «د فارماب»
    "AF-GHO": (),  # «جور» (injustice)
    "AF-KNR": (),  # «دری برابره»
    "AF-PAR": (),  # «ایوان» (hall)
    "AF-PIA": (),  # «بسته» (closed), also given to Paktika
    "AF-PKA": (),
    "AF-SAM": (),  # «خدايه»
    "BH-13": (),  # «عاصمة», «شمالي», «الجنوب»: a generic word for a governorate
    "BH-14": (),
    "BH-15": ("المحرق",),  # «محارق» (burners)
    "BH-17": (),
    "DZ-20": (),  # «صيدا» is Sidon; its Arabic name سعيدة is the word for happy
    "DZ-25": ("قسنطينة",),  # «قسطنطين» (Constantine the emperor)
    "DZ-26": ("المدية",),  # «ميديا» (media)
    "DZ-29": (),  # «ماسكارا» (mascara); its Arabic name معسكر is the word for a camp
    "DZ-45": ("النعامة",),  # «نعمة» (blessing)
    "DZ-50": ("المنيعة",),  # «المنيا» is in Egypt
    "DZ-57": ("عين صالح",),  # «في صلاح» (in)
    "DZ-58": ("عين قزام",),  # «في قزام»
    "IQ-KR": ("إقليم كردستان", "كردستان العراق"),  # Sorani only
    "KM-G": (),  # «قادم طويل القامة» (grand, come)
    "KW-KU": (),  # «العاصمة»
    "LB-AK": ("عكار",),  # «الحبار» (the squid)
    "LB-AS": (),  # «شمال», «جنوب»
    "LB-BA": ("بيروت",),  # «بير» (a well)
    "LB-BH": ("بعلبك الهرمل",),  # «بيل هيرميل»
    "LB-JA": (),
    "LB-NA": ("النبطية",),  # «ناباتيه»
    "MA-02": (),  # «لورينتال»
    "MA-SAL": ("سلا",),  # «أُوكَازيُون» (occasion)
    "OM-MA": ("مسقط",),  # «المسكات عنب طيب الشذا» (muscat grapes)
    "QA-MS": (),  # «مينات آش شوال»
    "QA-US": ("أم صلال",),  # «قاعدة أم» (base, mother)
    "QA-WA": ("الوكرة",),  # «واكرا»
    "QA-ZA": ("الضعاين",),  # «دايين»
    "SA-06": ("حائل",),  # «يشيد» (praises)
    "SD-NO": (),  # «شمالي»
}
# Usual Arabic names the sources lack, by place id. Cities: the places the dateline places and
# location mentions of SaudiNewsNet 2015-08-10 and 2015-07-21 named without finding them
# (bench/datelines.py, bench/places.py), and capitals of the Arab League and the G20 with no
# Arabic name in GeoNames; a city under 15,000 inhabitants is not in the source and stays out.
ADDED: dict[str, tuple[str, ...]] = {
    "AE": ("الإمارات",),
    "BH": ("المملكة",),
    "CD": ("الكونغو الديمقراطية",),
    "CZ": ("التشيك",),
    "GA": ("الغابون",),
    "GB": ("بريطانيا",),
    "HU": ("المجر",),
    "JO": ("المملكة", "المملكة الأردنية", "المملكة الأردنية الهاشمية"),
    "MA": ("المملكة", "المملكة المغربية"),
    "MK": ("مقدونيا",),
    "OM": ("سلطنة عمان",),
    # «المملكة» is the kingdom the article points at (akhbar_enrich.places.geocode)
    "SA": ("السعودية", "المملكة"),
    "US": ("أمريكا", "أميركا", "الولايات المتحدة الأمريكية", "الولايات المتحدة الأميركية"),
    "100425": ("ينبع",),  # Yanbu
    "102527": ("سكاكا",),  # Sakaka
    "104515": ("مكة المكرمة",),  # Mecca, not Makkah Region
    "105299": ("جازان", "جيزان"),  # Jizan
    "106281": ("حائل",),  # Ha'il
    "108927": ("القطيف",),  # Qatif
    "109101": ("المبرز",),  # Al Mubarraz
    "109323": ("الخبر",),  # Khobar; «خبر» (news) is in COMMON_WORDS
    "109571": ("الهفوف", "الأحساء"),  # Hofuf, the seat of Al-Ahsa
    "1735161": ("كوالالمبور", "كوالا لمبور"),  # Kuala Lumpur
    "1835848": ("سول", "سيول"),  # Seoul
    "2172517": ("كانبيرا", "كانبرا"),  # Canberra
    "223817": ("جيبوتي",),  # Djibouti (the city)
    "2657896": ("زيوريخ", "زوريخ"),  # Zürich
    "2761369": ("فيينا",),  # Vienna
    "281184": ("القدس المحتلة",),  # Jerusalem
    "4140963": ("واشنطن",),  # Washington, D.C.
    "745044": ("إسطنبول",),  # Istanbul
}


# The name a city is shown and counted by (its `label`) where its first name is not the usual
# one: GeoNames lists a city's names alphabetically (رم before روما, خارطوم before خرطوم).
LABELS: dict[str, str] = {
    "287286": "مسقط",  # «محافظة مسقط»
    "379252": "الخرطوم",  # «خارطوم»
    "1850147": "طوكيو",  # «توكيو»
    "2377450": "نواكشوط",  # «نوآ‌کشوت»
    "3169070": "روما",  # «رم»
    "3435910": "بوينس آيرس",  # «بوئنوس آیرس»
    "3530597": "مكسيكو سيتي",  # «مدينة مكسيكو»
    "6094817": "أوتاوا",  # «أوتوا»
    "1835848": "سول",  # «سئول»
    "344979": "أديس أبابا",  # «آدیس آبابا»
    "2172517": "كانبيرا",  # «كانبرا»
    "109223": "المدينة المنورة",  # «المدينة»
    "112931": "طهران",  # «تهران»
    "292223": "دبي",  # «دبى»
}
# Persian forms of ي and ك: a name written with them is not the one to show.
PERSIAN_FORMS = frozenset("یک")


@dataclass(frozen=True)
class Source:
    """A place as a source describes it, with its Arabic names in the source's order."""

    kind: str
    id: str
    country: str
    lat: float
    lon: float
    population: int | None
    names: tuple[str, ...]


def is_arabic(name: str) -> bool:
    """Written in Arabic letters only (see the module's docstring)."""
    letters = [c for c in search_form(name) if c not in " -"]
    return (bool(letters) and all(c in ARABIC_LETTERS for c in letters)
            and not FOREIGN_SOUNDS.intersection(name))


def arabic_names(text: str, aside: bool = True) -> list[str]:
    """The Arabic names in a label; a parenthesised aside is a name of its own if `aside`."""
    parts = [re.sub(r"\([^)]*\)", " ", text)]
    if aside:
        parts += re.findall(r"\(([^)]*)\)", text)
    names = [" ".join(p.split()).strip(" -") for p in parts]
    return [n for n in names if is_arabic(n)]


def display(name: str) -> str:
    """A label as shown: without harakat, tatweel and invisible marks («اَلْكُوَيْت» → «الكويت»)."""
    return "".join(c for c in name
                   if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")


def read_tsv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def cities(path: Path) -> Iterator[Source]:
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            # GeoNames asides qualify a name («ابي الجعد (البلدية)»): not names of their own
            names = [n for alt in row[3].split(",") for n in arabic_names(alt, aside=False)]
            yield Source("city", row[0], row[8], float(row[4]), float(row[5]),
                         int(row[14] or 0), tuple(names))


def countries(path: Path) -> Iterator[Source]:
    for row in read_tsv(path):
        names = arabic_names(row["name_ar"]) + arabic_names(row["native"])
        yield Source("country", row["iso2"], row["iso2"], float(row["latitude"]),
                     float(row["longitude"]), None, tuple(names))


def regions(path: Path) -> Iterator[Source]:
    for row in read_tsv(path):
        yield Source("region", row["iso3166_2"], row["country_code"], float(row["latitude"]),
                     float(row["longitude"]), None, tuple(arabic_names(row["native"])))


def sources(data_dir: Path) -> Iterator[Source]:
    yield from countries(data_dir / COUNTRIES)
    yield from regions(data_dir / REGIONS)
    yield from cities(data_dir / CITIES)


def corrected(src: Source) -> tuple[str, ...]:
    label = (LABELS[src.id],) if src.id in LABELS else ()
    names = label + FIXED.get(src.id, src.names) + ADDED.get(src.id, ())
    return tuple(dict.fromkeys(names))


def label(names: tuple[str, ...]) -> str:
    """The name a place is shown by: the first of its names (LABELS first) not written with
    Persian letters."""
    return display(next((n for n in names if not PERSIAN_FORMS.intersection(n)), names[0]))


def keys(src: Source, common: frozenset[str]) -> list[str]:
    """The keys the place keeps, from its names."""
    found = [place_key(name) for name in corrected(src)
             if src.kind == "country" or spelling(name) not in common]
    return list(dict.fromkeys(k for k in found if len(k) >= MIN_KEY_LEN))


def rows(data_dir: Path, common: frozenset[str] = COMMON_WORDS) -> list[tuple[str, ...]]:
    """The gazetteer's rows, sorted (COLUMNS). Every row of a place has its one label (`label`):
    what the place is shown and counted by."""
    out = []
    for src in sources(data_dir):
        names = corrected(src)
        if not names or (src.lat == 0 and src.lon == 0):
            continue
        population = "" if src.population is None else str(src.population)
        out += [(key, src.kind, src.id, src.country, f"{src.lat:.4f}", f"{src.lon:.4f}",
                 population, label(names)) for key in keys(src, common)]
    return sorted(out)


def tsv_gz(table: list[tuple[str, ...]]) -> bytes:
    text = "".join("\t".join(r) + "\n" for r in [COLUMNS, *table])
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def measure(news: Path, table: list[tuple[str, ...]], top: int = 250) -> str:
    """The spellings in a news file (words, pairs, triples) most matched by city or region keys.

    `table` is built without COMMON_WORDS, so the report shows what the list takes out.
    """
    labels: dict[str, set[str]] = {}
    for key, kind, _, country, *_, label in table:
        if kind != "country":
            labels.setdefault(key, set()).add(f"{label} {country}")
    hits: Counter[str] = Counter()
    key_of: dict[str, str] = {}
    with news.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            words = re.findall(r"\w+", f"{doc['title']} {doc['content']}")
            for n in (1, 2, 3):
                for i in range(len(words) - n + 1):
                    text = " ".join(words[i:i + n])
                    key = place_key(text)
                    if key in labels:
                        hits[spelling(text)] += 1
                        key_of[spelling(text)] = key
    lines = [f"{'common' if form in COMMON_WORDS else 'kept':6} {count:6} {form}  "
             + ", ".join(sorted(labels[key_of[form]])) for form, count in hits.most_common(top)]
    common = sum(c for form, c in hits.items() if form in COMMON_WORDS)
    lines.append(f"{sum(hits.values())} matches of {len(hits)} spellings; {common} of them "
                 f"by spellings in COMMON_WORDS ({len(COMMON_WORDS)} spellings)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--measure", type=Path, metavar="NEWS_JSONL",
                    help="print the keys a news file matches (before COMMON_WORDS) and stop")
    args = ap.parse_args(argv)
    if args.measure:
        print(measure(args.measure, rows(args.data_dir, frozenset())))
        return 0
    table = rows(args.data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(tsv_gz(table))
    places = {(r[1], r[2]) for r in table}
    print(f"{args.out}: {len(table)} rows (key, place), {len(places)} places: "
          + ", ".join(f"{k} {sum(1 for p in places if p[0] == k)}"
                      for k in ("city", "region", "country")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
