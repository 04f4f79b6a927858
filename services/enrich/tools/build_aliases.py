"""Build akhbar_enrich/data/entity-aliases.json.gz, the alias table of akhbar_enrich.canonical.

    python services/enrich/tools/build_aliases.py [--news DIR] [--days N] [--out FILE]

The recogniser (akhbar_enrich.entities) tags every article of the SaudiNewsNet files in DIR
(default ../shared/data/news: the developers' day, then the N latest crawl days of more/*.zip,
all 16 by default; title and content lines, a line without Arabic letters read as English).
The shipped table is `make build-aliases` (--days 1: the developers' day and 2015-08-09, 2,976
articles, about 8 minutes; the whole crawl takes hours on one shared core). Rebuild it when
the recogniser is retrained: the table holds what the model tags. Only derived names and
words are written, no text:

- `persons`: a short form of a person's name (its key: «بوتين», «سلمان», «منصور هادي») → the
  key of the fuller form it stands for: the fuller forms it joins in an article
  (canonical.article_persons) and the fuller names it begins or ends (weighed by their
  articles), when they count at least MIN_ARTICLES and one has DOMINANT of them; a short
  form of several words only to a fuller one written in at least RARER as many articles
  («عبدالله صالح» → «علي عبدالله صالح», but «نوري المالكي» not to a slip of the recogniser's
  written in a few, «شيعيان نوري المالكي»).
- `names`: by kind, a key → the name shown for it, for keys found in MIN_ARTICLES articles: a
  person's fullest title-free form among those written in at least two articles and
  COMMON_FORM of the key's (the most written among equals; a rarer longer form is mostly a
  span the recogniser ran on: «محمد بن سلمان بن عبدالعزيز الخيرية»); an organisation's or
  misc name's most written spelling (الأمم المتحدة, not الامم المتحدة).
- `first_names`: single words that join MIN_FULLER different fuller names and none of them in
  DOMINANT of the articles: first names («محمد», «عبدالعزيز») and surnames many people share
  («المالكي»); alone, they name no one in particular.
- `common`: words the recogniser puts inside a name in fewer than COMMON_RATE of the places
  they are written (at least MIN_WRITTEN times) but tags now and then: common nouns and
  adjectives («وكيل», «دولار»), never counted as a person or a misc name on their own.
- `outlets`: the keys of the outlets akhbar_normalize.datelines lists (the own-outlet rule).

Keys are sorted and gzip gets mtime 0: the same news and model give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from akhbar.orthography import search_form
from akhbar_enrich.canonical import (
    ALIASES,
    article_persons,
    fullness,
    junk_rule,
    name_key,
    part_of,
)
from akhbar_enrich.entities import raw_mentions
from akhbar_normalize.datelines import BYLINE_OUTLETS, OUTLETS

REPO = Path(__file__).resolve().parents[3]
NEWS = REPO.parent / "shared" / "data" / "news"
OUT = REPO / "services" / "enrich" / "akhbar_enrich" / "data" / ALIASES
MIN_ARTICLES = 3
DOMINANT = 0.7
MIN_FULLER = 3
COMMON_FORM = 0.2
RARER = 0.5
COMMON_RATE = 0.1
MIN_WRITTEN = 30
_ARABIC = re.compile("[\u0621-\u064a]")
_WORD = re.compile(r"\w+")
_CLITICS = ("وب", "ول", "فب", "فل", "و", "ف", "ب", "ل", "ك")


def rows(news: Path, days: int | None) -> Iterator[dict[str, Any]]:
    with (news / "saudinewsnet-2015-08-10.jsonl").open(encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())
    for path in sorted((news / "more").glob("*.zip"), reverse=True)[:days]:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".json"):
                    yield from json.loads(z.read(name))


def written(texts: list[str]) -> Counter[str]:
    """Folded words of the texts, each also without a proclitic (لبوتين counts for بوتين)."""
    words: Counter[str] = Counter()
    for w in _WORD.findall(search_form("\n".join(texts))):
        words[w] += 1
        for p in _CLITICS:
            if w.startswith(p) and len(w) - len(p) >= 2:
                words[w[len(p):]] += 1
                break
    return words


def build(news: Path, days: int | None) -> dict[str, Any]:
    joined: dict[str, Counter[str]] = defaultdict(Counter)  # short key -> fuller keys
    shown: dict[str, Counter[str]] = defaultdict(Counter)  # key -> title-free forms
    spelled: dict[str, dict[str, Counter[str]]] = {  # kind -> key -> spellings
        kind: defaultdict(Counter) for kind in ("organizations", "misc")}
    tagged: Counter[str] = Counter()  # word -> times written inside a name
    written_words: Counter[str] = Counter()
    for n, row in enumerate(rows(news, days), 1):
        lines = [row.get("title") or "", *(row.get("content") or "").split("\n")]
        arabic = [t for t in lines if _ARABIC.search(t)]
        english = [t for t in lines if t.strip() and not _ARABIC.search(t)]
        written_words.update(written(arabic))
        persons = []
        found = raw_mentions(arabic, english)
        tagged.update(w for _, name in found for w in _WORD.findall(search_form(name)))
        for kind, name in set(found):
            key = name_key(name.split())
            if name.isascii() or junk_rule(kind, key, set()) is not None:
                continue
            if kind == "persons":
                persons.append(name)
            elif kind in spelled:
                spelled[kind][" ".join(key)][name] += 1
        groups, _ = article_persons(persons)
        for root, g in groups.items():
            for form in set(g.display):
                shown[" ".join(root)][form] += 1
            for key in g.keys - {root}:
                joined[" ".join(key)][" ".join(root)] += 1
        if n % 2000 == 0:
            print(f"{n} articles", flush=True)
    # A short form stands for the fuller names it begins or ends (not after بن), weighed by
    # the articles naming them: the recogniser seldom tags «سلمان» of «الملك سلمان» alone, and
    # «عبدالله صالح» and «علي عبدالله صالح» rarely meet in one article.
    for full, forms in shown.items():
        words = tuple(full.split())
        for i in range(1, len(words)):
            for part in (words[:i], words[-i:]):
                if part_of(part, words):
                    joined[" ".join(part)][full] += sum(forms.values())
    persons_map: dict[str, str] = {}
    first_names = []
    df = {key: sum(forms.values()) for key, forms in shown.items()}
    for short, fuller in joined.items():
        (top, top_n), total = fuller.most_common(1)[0], sum(fuller.values())
        if total >= MIN_ARTICLES and top_n >= DOMINANT * total and (
                " " not in short or df.get(top, 0) >= RARER * df.get(short, 0)):
            persons_map[short] = top
        elif len(fuller) >= MIN_FULLER and " " not in short:
            first_names.append(short)
    for short, full in persons_map.items():  # a fuller form that is itself short for another
        seen = {short}
        while full in persons_map and full not in seen:
            seen.add(full)
            full = persons_map[full]
        persons_map[short] = full
    names: dict[str, dict[str, str]] = {"persons": {}}
    for key, forms in shown.items():
        if sum(forms.values()) >= MIN_ARTICLES:
            total = sum(forms.values())  # a form in few articles is often a tagging slip
            often = {f: c for f, c in forms.items() if c >= max(2, COMMON_FORM * total)}
            names["persons"][key] = max((often or forms).items(),
                                        key=lambda kv: (fullness(kv[0]), kv[1], kv[0]))[0]
    for kind, keys in spelled.items():
        names[kind] = {key: max(forms.items(), key=lambda kv: (kv[1], kv[0]))[0]
                       for key, forms in keys.items() if sum(forms.values()) >= MIN_ARTICLES}
    common = [w for w, c in written_words.items()
              if c >= MIN_WRITTEN and tagged[w] < COMMON_RATE * c and tagged[w] > 0
              and w not in persons_map]
    outlets = {" ".join(name_key(s.split())) for table in (OUTLETS, BYLINE_OUTLETS)
               for spellings in table.values() for s in spellings}
    return {"persons": dict(sorted(persons_map.items())),
            "names": {kind: dict(sorted(keys.items())) for kind, keys in names.items()},
            "first_names": sorted(first_names), "common": sorted(common),
            "outlets": sorted(outlets)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--days", type=int, default=None,
                    help="crawl days to read besides the developers' day, latest first (all)")
    args = ap.parse_args(argv)
    table = build(args.news, args.days)
    data = json.dumps(table, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
    args.out.write_bytes(gzip.compress(data, mtime=0))
    print(f"{args.out}: " + ", ".join(f"{len(v)} {k}" for k, v in table.items()))


if __name__ == "__main__":
    main()
