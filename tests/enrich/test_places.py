"""Geocoding against the packaged gazetteer, and the gazetteer rebuilt from ../shared."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from akhbar.contract import Article, ContractError, Mention, Source, utcnow
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_enrich.bylines import settle_byline
from akhbar_enrich.places import COLUMNS, gazetteer, geocode, place_key
from akhbar_normalize.stage import process as normalize
from akhbar_testkit.data import REPO, SHARED, need
from akhbar_testkit.places import SEED_PLACES, km

BUILD = REPO / "services" / "enrich" / "tools" / "build_gazetteer.py"
PACKAGED = files("akhbar_enrich").joinpath("data", "gazetteer.tsv.gz")

def one(name: str, *context: str) -> tuple[str | None, float, float, str]:
    """(country, lat, lon, kind) of `name` geocoded among `context` (other mentions)."""
    places = geocode([Mention(name=name, count=1), *(Mention(name=c, count=1) for c in context)])
    assert places and places[0].name == name, f"{name} not geocoded"
    p = places[0]
    return p.country_code, p.location.lat, p.location.lon, p.kind


def test_the_seeds_name_these_places(seeds: list[Path]) -> None:
    text = search_form(" ".join(p.read_text(encoding="utf-8") for p in seeds))
    assert [n for n, *_ in SEED_PLACES if search_form(n) not in text] == []


@pytest.mark.parametrize(("name", "country", "lat", "lon"), SEED_PLACES)
def test_seed_places_alone_and_in_their_article(name: str, country: str, lat: float,
                                                 lon: float) -> None:
    for context in ((), ("سوريا", "روسيا", "فرنسا")):
        code, plat, plon, kind = one(name, *context)
        assert (code, kind) == (country, "city")
        assert km(lat, lon, plat, plon) < 30


def test_places_carry_the_mention_name_count_and_ids() -> None:
    raqqa, syria = geocode([Mention(name="الرقه", count=4), Mention(name="سوريا", count=2)])
    assert (raqqa.name, raqqa.count, raqqa.label, raqqa.geonames_id) == ("الرقه", 4, "الرقة",
                                                                         "172955")
    assert (syria.kind, syria.country_code, syria.geonames_id, syria.count) == (
        "country", "SY", None, 2)


def test_the_home_country_comes_before_the_arab_world() -> None:
    # الرقة: ar-Raqqa of Syria or ar-Riqqa of Kuwait, alone and with Kuwait as home
    assert one("الرقة")[0] == "SY"
    riqqa, = geocode([Mention(name="الرقة", count=1)], home="KW")
    assert riqqa.country_code == "KW"


def test_names_not_in_the_gazetteer_give_nothing() -> None:
    assert geocode([Mention(name="كمبيوتر", count=3), Mention(name="زززز", count=1)]) == []


@pytest.mark.parametrize("name", ["المدينة", "مدينة", "عين", "كان", "بيان", "صور", "دوما",
                                  "خليل", "في", "من", "قم"])
def test_common_words_and_short_words_are_not_places(name: str) -> None:
    assert geocode([Mention(name=name, count=1)]) == []


def test_the_article_is_optional_both_ways() -> None:
    # GeoNames writes الرقة with the article and موصل, خرطوم without it.
    assert one("رقة")[0] == one("الرقة")[0] == "SY"
    assert one("الموصل")[0] == one("موصل")[0] == "IQ"
    assert one("الخرطوم")[0] == "SD"
    # The article decides where the bare word is an ordinary word or a name.
    assert one("العين")[0] == "AE"
    assert one("الخليل")[0] == "PS"


@pytest.mark.parametrize(("variant", "name"), [
    ("ادلب", "إدلب"),  # hamza
    ("حماه", "حماة"),  # ta marbuta
    ("اللاذقيه", "اللاذقية"),
    ("ديالي", "ديالى"),  # alef maqsura
    ("سورية", "سوريا"),  # -ية / -يا
    ("صنعا", "صنعاء"),  # final hamza dropped
    ("أبو ظبي", "أبوظبي"),  # a space inside a name
    ("مُوسْكُو", "موسكو"),  # harakat
])
def test_spelling_variants_meet(variant: str, name: str) -> None:
    assert place_key(variant) == place_key(name)
    assert one(variant)[:2] == one(name)[:2]


def test_a_descriptor_before_a_name_is_skipped() -> None:
    assert one("مدينة حلب")[:3] == one("حلب")[:3]
    assert one("محافظة إدلب")[0] == "SY"
    assert one("مدينة باريس")[0] == "FR"


def test_countries_and_regions_are_places() -> None:
    assert one("السعودية")[::3] == ("SA", "country")
    assert one("تركيا")[::3] == ("TR", "country")  # the source's label is «ديك رومى»
    assert one("ريف دمشق")[::3] == ("SY", "region")
    assert one("القصيم")[::3] == ("SA", "region")


def test_context_resolves_a_name_shared_by_two_countries() -> None:
    # طرابلس: Tripoli of Libya (the larger) or of Lebanon.
    assert one("طرابلس")[0] == "LY"
    code, lat, lon, _ = one("طرابلس", "لبنان")
    assert code == "LB" and km(lat, lon, 34.437, 35.850) < 30
    # عمان: Oman the country, or Amman, capital of Jordan.
    assert one("عمان")[::3] == ("OM", "country")
    assert one("عمان", "مسقط")[::3] == ("OM", "country")
    code, lat, lon, kind = one("عمان", "الأردن")
    assert (code, kind) == ("JO", "city") and km(lat, lon, 31.955, 35.945) < 30
    # An unambiguous city points at its country as a country does.
    assert one("الرقة")[0] == "SY"
    assert one("الرقة", "الجهراء")[0] == "KW"  # ar-Riqqa, Kuwait


def test_one_place_per_country_with_its_forms_and_summed_count() -> None:
    saudi, riyadh = geocode([Mention(name="السعودية", count=3), Mention(name="الرياض", count=1),
                             Mention(name="المملكة العربية السعودية", count=2),
                             Mention(name="السعوديه", count=1), Mention(name="المملكة", count=4)])
    assert (saudi.kind, saudi.country_code, saudi.count) == ("country", "SA", 10)
    assert saudi.aliases == ["المملكة", "السعودية", "المملكة العربية السعودية", "السعوديه"]
    assert (saudi.name, saudi.label) == ("المملكة", "المملكة العربية السعودية")
    assert (riyadh.aliases, riyadh.count) == (["الرياض"], 1)


def test_one_place_per_city_and_region_id_with_one_label() -> None:
    mecca, = geocode([Mention(name="مكة", count=2), Mention(name="مكة المكرمة", count=1),
                      Mention(name="مكه", count=1)])
    assert (mecca.kind, mecca.geonames_id, mecca.count, mecca.label) == ("city", "104515", 4,
                                                                         "مكة")
    ahsa, = geocode([Mention(name="الأحساء", count=1), Mention(name="الهفوف", count=1)])
    assert (ahsa.geonames_id, ahsa.aliases) == ("109571", ["الأحساء", "الهفوف"])
    labels = {(e.kind, e.id): e.label for es in gazetteer().values() for e in es}
    assert len(labels) == len({(e.kind, e.id, e.label) for es in gazetteer().values()
                               for e in es}), "a place with two labels"


@pytest.mark.parametrize(("context", "home", "country"), [
    (("الرياض",), None, "SA"),  # a city points at its kingdom
    (("الأردن", "الزرقاء"), None, "JO"),
    (("الرباط",), "SA", "MA"),  # the article's places before the home country
    ((), "SA", "SA"),
    (("لندن",), "SA", "SA"),
])
def test_the_kingdom_is_the_one_the_article_points_at(context: tuple[str, ...],
                                                      home: str | None, country: str) -> None:
    mentions = [Mention(name="المملكة", count=1), *(Mention(name=c, count=1) for c in context)]
    kingdom = next(p for p in geocode(mentions, home=home) if "المملكة" in p.aliases)
    assert (kingdom.kind, kingdom.country_code) == ("country", country)


def test_the_kingdom_alone_is_no_place() -> None:
    assert geocode([Mention(name="المملكة", count=2)]) == []
    assert [p.label for p in geocode([Mention(name="المملكة", count=1),
                                      Mention(name="لندن", count=1)])] == ["لندن"]
    assert one("المملكة المتحدة")[::3] == ("GB", "country")
    assert one("المملكة الأردنية الهاشمية")[::3] == ("JO", "country")


def test_oman_and_amman() -> None:
    assert one("سلطنة عمان")[::3] == ("OM", "country")
    assert one("عمان")[::3] == ("OM", "country")  # no context: the country
    amman, = geocode([], "عمان")  # a report is filed from a city
    assert (amman.country_code, amman.kind, amman.geonames_id) == ("JO", "city", "250441")
    # The dateline's reading is context for the body: «عمان» is Amman there too
    amman, = geocode([Mention(name="عمان", count=2)], "عمان")
    assert (amman.country_code, amman.count, amman.dateline) == ("JO", 3, True)
    # …unless the article points at Oman
    muscat, oman = geocode([Mention(name="مسقط", count=2)], "عمان")
    assert (muscat.label, oman.country_code, oman.kind, oman.dateline) == (
        "مسقط", "OM", "country", True)


# The places the dateline places and location mentions of the developers' day and 2015-07-21
# named without finding them, with their GeoNames ids (ISO code for a country).
ADDED_PLACES = [
    ("واشنطن", "US", "4140963"), ("الأحساء", "SA", "109571"), ("الهفوف", "SA", "109571"),
    ("جازان", "SA", "105299"), ("جيزان", "SA", "105299"), ("ينبع", "SA", "100425"),
    ("القطيف", "SA", "108927"), ("زوريخ", "CH", "2657896"), ("زيوريخ", "CH", "2657896"),
    ("فيينا", "AT", "2761369"), ("كوالالمبور", "MY", "1735161"), ("سول", "KR", "1835848"),
    ("سيول", "KR", "1835848"), ("الخبر", "SA", "109323"), ("القدس المحتلة", "IL", "281184"),
    ("سكاكا", "SA", "102527"), ("كانبيرا", "AU", "2172517"), ("مكة المكرمة", "SA", "104515"),
]


@pytest.mark.parametrize(("name", "country", "geonames_id"), ADDED_PLACES)
def test_the_days_missed_places_are_found(name: str, country: str, geonames_id: str) -> None:
    for place in (geocode([Mention(name=name, count=1)])[0], geocode([], name)[0]):
        assert (place.country_code, place.geonames_id) == (country, geonames_id)


def test_khobar_is_not_the_news() -> None:
    assert geocode([Mention(name="خبر", count=1)]) == []


# Capitals of the Arab League and of the G20 (the European Union's and African Union's seats),
# as news writes them: each is found, in its country, under its usual name.
CAPITALS = [
    ("الرياض", "SA"), ("أبوظبي", "AE"), ("المنامة", "BH"), ("الكويت", "KW"), ("الدوحة", "QA"),
    ("مسقط", "OM"), ("صنعاء", "YE"), ("بغداد", "IQ"), ("دمشق", "SY"), ("بيروت", "LB"),
    ("عمان", "JO"), ("رام الله", "PS"), ("القاهرة", "EG"), ("الخرطوم", "SD"), ("طرابلس", "LY"),
    ("تونس", "TN"), ("الجزائر", "DZ"), ("الرباط", "MA"), ("نواكشوط", "MR"), ("مقديشو", "SO"),
    ("جيبوتي", "DJ"), ("موروني", "KM"), ("واشنطن", "US"), ("أوتاوا", "CA"),
    ("مكسيكو سيتي", "MX"), ("برازيليا", "BR"), ("بوينس آيرس", "AR"), ("لندن", "GB"),
    ("باريس", "FR"), ("برلين", "DE"), ("روما", "IT"), ("موسكو", "RU"), ("بكين", "CN"),
    ("طوكيو", "JP"), ("سول", "KR"), ("نيودلهي", "IN"), ("جاكرتا", "ID"), ("كانبيرا", "AU"),
    ("بريتوريا", "ZA"), ("أنقرة", "TR"), ("بروكسل", "BE"), ("أديس أبابا", "ET"),
]


@pytest.mark.parametrize(("name", "country"), CAPITALS)
def test_capitals_resolve(name: str, country: str) -> None:
    """Alone, and as a dateline: a capital named like its country (الكويت, تونس, جيبوتي) is
    the country in the body and the city as a dateline; عمان as a dateline is Amman."""
    filed, = geocode([], name)
    assert filed.country_code == country
    if filed.kind == "city":
        assert filed.label.replace("أ", "ا") == name.replace("أ", "ا") or name in (
            "جاكرتا", "الكويت", "تونس", "جيبوتي"), filed.label
    if name != "عمان":
        alone, = geocode([Mention(name=name, count=1)])
        assert alone.country_code == country


def test_the_arab_world_comes_before_size() -> None:
    # بابل: Babil governorate (Iraq) or Babol, a larger Iranian city.
    assert one("بابل")[::3] == ("IQ", "region")
    assert one("بابل", "إيران")[::3] == ("IR", "city")


def test_context_counts_weigh() -> None:
    mentions = [Mention(name="طرابلس", count=1), Mention(name="لبنان", count=1),
                Mention(name="ليبيا", count=5)]
    assert geocode(mentions)[0].country_code == "LY"


def test_packaged_gazetteer_shape() -> None:
    index = gazetteer()
    entries = [e for es in index.values() for e in es]
    assert min(len(k) for k in index) >= 3
    assert {e.kind for e in entries} == {"city", "region", "country"}
    assert all(e.country.isupper() and len(e.country) == 2 for e in entries)
    assert len({(e.kind, e.id) for e in entries}) > 1500
    assert PACKAGED.read_bytes()[:2] == b"\x1f\x8b"
    header = gzip.decompress(PACKAGED.read_bytes()).decode().split("\n", 1)[0]
    assert tuple(header.split("\t")) == COLUMNS


def test_build_script_reproduces_the_packaged_gazetteer(tmp_path: Path) -> None:
    data = need(SHARED / "data" / "gazetteer")
    out = tmp_path / "gazetteer.tsv.gz"
    subprocess.run([sys.executable, str(BUILD), str(data), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == PACKAGED.read_bytes(), (
        "the packaged gazetteer is stale: python services/enrich/tools/build_gazetteer.py")


def test_the_dateline_place_counts_once_more_and_is_marked() -> None:
    mentioned, = geocode([Mention(name="جنيف", count=2)], "جنيف")
    assert (mentioned.count, mentioned.dateline) == (3, True)
    syria, geneva = geocode([Mention(name="سوريا", count=2)], "جنيف")
    assert (syria.dateline, geneva.dateline, geneva.count, geneva.country_code) == (
        False, True, 1, "CH")
    assert [p.dateline for p in geocode([Mention(name="سوريا", count=1)], "زززز")] == [False]


DAY = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"


def test_the_days_dateline_places_resolve() -> None:
    """The places of the day's body datelines (read by normalize, checked by enrich's byline
    reader) found in the gazetteer: the misses are names the gazetteer lacks."""
    places: list[str] = []
    for r in map(json.loads, need(DAY).read_text("utf-8").splitlines()):
        try:
            a = normalize(Article(id="0" * 32, source=Source(name=r["source"], kind="inbox"),
                                ingested_at=utcnow(), title=r["title"], body=r["content"]),
                        Settings())
        except ContractError:
            continue
        dateline, _author = settle_byline(a.dateline, a.author)
        if dateline is not None and dateline.place is not None:
            places.append(dateline.place)
    missed = sorted({p for p in places if not geocode([], p)})
    # Towns under 15,000 inhabitants (not in the source), a governorate, two places in one
    assert missed == sorted([
        "أسطنبول/ديار بكر", "أملج", "العارضة", "بيش", "وادي الدواسر", "السيح"])
    assert (len(places), sum(p not in missed for p in places)) == (225, 218)
    for name, country in [("الرياض", "SA"), ("جنيف", "CH"), ("بريدة", "SA"),
                          ("مكة المكرمة", "SA"), ("المنامة", "BH")]:
        assert name in places
        place, = geocode([], name)
        assert (place.country_code, place.dateline) == (country, True)


def test_the_days_saudi_arabia_is_one_place() -> None:
    """Articles of the day naming Saudi Arabia both ways, through normalize and enrich: one
    place, named by every form, «المملكة» among them when the recogniser finds it."""
    full, short = "المملكة العربية السعودية", "السعودية"
    rows = [r for r in map(json.loads, need(DAY).read_text("utf-8").splitlines())
            if full in r["content"] and short in r["content"].replace(full, "")][:15]
    pipeline = InProcessPipeline(StageContext(Settings(route=["normalize", "enrich"],
                                                       home_country="SA")))
    articles = [Article(id=f"{i:032x}", source=Source(name=r["source"], kind="inbox"),
                        ingested_at=utcnow(), title=r["title"], body=r["content"])
                for i, r in enumerate(rows)]
    forms: set[str] = set()
    for a in pipeline.run(articles):
        saudi = [p for p in a.places if p.kind == "country" and p.country_code == "SA"]
        assert len(saudi) == 1, [p.aliases for p in saudi]
        assert saudi[0].label == full
        assert saudi[0].count == sum(m.count for m in a.entities.locations
                                     if m.name in saudi[0].aliases)
        forms.update(saudi[0].aliases)
    assert {full, short, "المملكة"} <= forms
