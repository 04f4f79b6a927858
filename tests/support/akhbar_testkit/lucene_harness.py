"""Elasticsearch analysis settings run on real Lucene (no cluster): a helper, not a test module.

The Python side reads `template.settings.analysis` from the index template and translates each
Elasticsearch component into the Lucene factory that Elasticsearch itself wraps, with its
parameters (inline word lists and rules are written to files in Lucene's formats).
lucene/AkhbarLucene.java (beside this module) is compiled with `javac` into a cache directory on
first use and serves requests over stdin/stdout: build a `CustomAnalyzer`, analyze text, index
documents in memory with BM25 and run match / match_phrase / dis_max / bool queries, the first two
built by Lucene's `QueryBuilder`, which Elasticsearch's match query parser extends (tokens stacked
at one position become a SynonymQuery in both).

Elasticsearch name (params)                 -> Lucene 8 factory (params)
  char_filter mapping (mappings)              -> mapping (file of "a" => "b" lines)
  char_filter pattern_replace                 -> patternReplace (pattern, replacement)
  char_filter html_strip                      -> htmlStrip
  tokenizer standard / whitespace / keyword   -> standard (maxTokenLength) / whitespace / keyword
  filter lowercase / decimal_digit            -> lowercase / decimalDigit
  filter arabic_normalization                 -> arabicNormalization
  filter persian_normalization                -> persianNormalization
  filter arabic_stem, stemmer {arabic}        -> arabicStem
  filter stemmer {english, light_english,
         minimal_english}                     -> porterStem, kStem, englishMinimalStem
  filter snowball {language}                  -> snowballPorter (language)
  filter stop {stopwords: list, _arabic_,
         _persian_, _english_, _none_}        -> stop (words: a file, or the analyzer's set)
  filter stemmer_override {rules: "a, b => c"}-> stemmerOverride (dictionary: "a<TAB>c" lines)
  filter keyword_marker {keywords | pattern}  -> keywordMarker (protected | pattern)
  filter pattern_replace {all}                -> patternReplace (replace: all | first)
  filter pattern_capture {one pattern}        -> patternCaptureGroup (preserve_original)
  filter keyword_repeat / remove_duplicates   -> keywordRepeat / removeDuplicates
  filter unique {only_on_same_position: true} -> removeDuplicates (Elasticsearch's own filter;
                                                 a test checks the behaviour its docs give)
  filter length / truncate                    -> length (min, max) / truncate (prefixLength)
  analyzer arabic / english / persian         -> ArabicAnalyzer / EnglishAnalyzer / PersianAnalyzer
  analyzer standard                           -> standard tokenizer + lowercase (no stop words)

Anything else (multiplexer, condition, synonym, unique across positions, stemmer languages not
listed, several capture patterns, parameters not listed) raises `Unsupported`: the harness never
guesses. Custom analyzers get the position_increment_gap of 100 that text fields have.

Lucene 8.8 here, Lucene 10 inside Elasticsearch 9.5, for these components:
- StandardTokenizer implements UAX#29 word breaking for the Unicode version its grammar was
  generated from, which newer Lucene releases update; Arabic letters, harakat ("Extend") and
  tatweel break alike, characters added to Unicode since may not.
- lowercase, decimal_digit and the regular expressions of the pattern filters use the running
  JDK's Unicode tables; Elasticsearch bundles its own, newer JDK.
- ArabicNormalizer, ArabicStemmer, PersianNormalizer, the `_arabic_` stop set, MappingCharFilter,
  PatternReplaceFilter, PatternCaptureGroupTokenFilter, StopFilter and RemoveDuplicatesTokenFilter
  behave the same as far as we know. Snowball moved to Snowball 2 in Lucene 9, so its Arabic
  stemmer (not used by the template) can stem differently there.
- BM25Similarity (k1 1.2, b 0.75) ranks alike: Lucene 8 already dropped the constant (k1 + 1)
  factor, and norms use the same one-byte length encoding.
- The Java side uses Lucene 8 APIs (analysis.util.ResourceLoader moved in Lucene 9), so it needs
  the Lucene 8 jars of Debian's liblucene8-java.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from akhbar_testkit.data import REPO

TEMPLATE = REPO / "infra" / "elasticsearch" / "index-template.json"
JAVA_SOURCE = Path(__file__).resolve().parent / "lucene" / "AkhbarLucene.java"
JAR_DIRS = [Path(p) for p in os.environ.get("AKHBAR_LUCENE_JARS", "/usr/share/java").split(
    os.pathsep)]
# Debian's liblucene8-java names them lucene8-core.jar or lucene-core-8.x.jar depending on release.
JAR_PATTERNS = {"core": ["lucene8-core.jar", "lucene-core-8*.jar"],
                "analyzers-common": ["lucene8-analyzers-common.jar",
                                     "lucene-analyzers-common-8*.jar"]}
BUILTIN_ANALYZERS = {"arabic", "english", "persian"}


class Unsupported(ValueError):
    """An Elasticsearch component this harness cannot reproduce faithfully in Lucene."""


class LuceneError(RuntimeError):
    """The Java side refused a request (its exception text is the message)."""


def _find_jars() -> list[Path] | str:
    jars = []
    for name, patterns in JAR_PATTERNS.items():
        found = sorted(p for d in JAR_DIRS for pat in patterns for p in d.glob(pat))
        if not found:
            return (f"Lucene 8 {name} jar not found in {os.pathsep.join(map(str, JAR_DIRS))} "
                    "(apt-get install liblucene8-java, or set AKHBAR_LUCENE_JARS)")
        jars.append(found[-1])
    return jars


def unavailable_reason() -> str | None:
    """Why Lucene cannot run here, or None when it can."""
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed: the Lucene harness needs a JDK"
    jars = _find_jars()
    return jars if isinstance(jars, str) else None


def _compiled(jars: list[Path]) -> Path:
    """Classes compiled from AkhbarLucene.java, cached per source and jar set."""
    key = hashlib.sha256(JAVA_SOURCE.read_bytes() + str(jars).encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"akhbar-lucene-{key}"
    if not (out / "AkhbarLucene.class").is_file():
        build = Path(tempfile.mkdtemp(prefix="akhbar-lucene-build-"))
        done = subprocess.run(["javac", "-encoding", "UTF-8", "-cp",
                               os.pathsep.join(map(str, jars)), "-d", str(build),
                               str(JAVA_SOURCE)], capture_output=True, text=True)
        if done.returncode:
            shutil.rmtree(build, ignore_errors=True)
            raise RuntimeError(f"javac failed on {JAVA_SOURCE}:\n{done.stderr}")
        try:
            build.rename(out)  # atomic: a concurrent compile simply loses the race
        except OSError:
            shutil.rmtree(build, ignore_errors=True)
    return out


# --- Elasticsearch -> Lucene translation --------------------------------------------------


_JAVA_TRIM = "".join(map(chr, range(33)))  # what java.lang.String.trim() removes


def _es_unescape(s: str) -> str:
    # Elasticsearch's mapping/stemmer rule parser: \\ \" \n \t \r \b \f \uXXXX.
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5
                  else simple.get(m[1], m[1]), s)


def _mapping_rules(rules: list[str]) -> str:
    """Elasticsearch `a=>b` rules as Lucene's mapping file (`"a" => "b"`, escaped)."""
    lines = []
    for rule in rules:
        # As Elasticsearch parses a rule: Java's ASCII \s, String.trim(), then unescaping.
        m = re.match(r"(.*)\s*=>\s*(.*)\s*$", rule, re.ASCII)
        lhs, rhs = (_es_unescape(part.strip(_JAVA_TRIM)) for part in m.groups()) if m else ("", "")
        if not lhs:
            raise Unsupported(f"mapping rule {rule!r} is invalid in Elasticsearch")
        lhs, rhs = (json.dumps(part, ensure_ascii=False) for part in (lhs, rhs))
        lines.append(f"{lhs} => {rhs}")
    return "\n".join(lines) + "\n"


def _override_rules(rules: list[str]) -> str:
    """Elasticsearch stemmer_override rules (`a, b => c`) as Lucene's `word<TAB>stem` lines."""
    lines = []
    for rule in rules:
        sides = rule.split("=>")
        words = [w.strip() for w in sides[0].split(",")]
        if len(sides) != 2 or not sides[1].strip() or "," in sides[1] or not all(words):
            raise Unsupported(f"stemmer_override rule {rule!r} is invalid in Elasticsearch")
        lines += [f"{w}\t{sides[1].strip()}" for w in words]
    return "\n".join(lines) + "\n"


class _Translator:
    """Translates one analysis section; inline lists become files in `resources`."""

    def __init__(self, analysis: dict[str, Any], resources: Path) -> None:
        self.analysis = analysis
        self.resources = resources

    def _file(self, text: str) -> str:
        fd, path = tempfile.mkstemp(suffix=".txt", dir=self.resources)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return Path(path).name

    def _words(self, value: str | list[str]) -> str:
        if isinstance(value, str):  # a predefined set such as _arabic_
            if value not in ("_arabic_", "_persian_", "_english_"):
                raise Unsupported(f"predefined word list {value!r}")
            return value
        return self._file("".join(w + "\n" for w in value))

    def _component(self, kind: str, ref: str | dict[str, Any]) -> list[Any]:
        factory, params = self._lucene(kind, ref)
        # Lucene factories take string parameters only.
        return [factory, {k: str(v).lower() if isinstance(v, bool) else str(v)
                          for k, v in params.items()}]

    def _lucene(self, kind: str, ref: str | dict[str, Any]) -> list[Any]:
        spec = ref if isinstance(ref, dict) else self.analysis.get(kind, {}).get(ref, {"type": ref})
        t = spec["type"]
        extra = set(spec) - {"type"}

        def only(*allowed: str) -> None:
            if extra - set(allowed):
                raise Unsupported(f"{kind} {t}: parameters {sorted(extra - set(allowed))}")

        if kind == "char_filter":
            if t == "mapping":
                only("mappings")
                return ["mapping", {"mapping": self._file(_mapping_rules(spec["mappings"]))}]
            if t == "pattern_replace":
                only("pattern", "replacement")
                return ["patternReplace", {"pattern": spec["pattern"],
                                           "replacement": spec.get("replacement", "")}]
            if t == "html_strip":
                only()
                return ["htmlStrip", {}]
        elif kind == "tokenizer":
            if t == "standard":
                only("max_token_length")
                return ["standard", {"maxTokenLength": spec.get("max_token_length", 255)}]
            if t in ("whitespace", "keyword"):
                only()
                return [t, {}]
        else:
            simple = {"lowercase": "lowercase", "decimal_digit": "decimalDigit",
                      "arabic_normalization": "arabicNormalization", "arabic_stem": "arabicStem",
                      "persian_normalization": "persianNormalization",
                      "keyword_repeat": "keywordRepeat", "remove_duplicates": "removeDuplicates"}
            if t in simple:
                only()
                return [simple[t], {}]
            if t == "stop":
                only("stopwords", "ignore_case")
                words = spec.get("stopwords", "_english_")  # Elasticsearch's default
                params = {"ignoreCase": spec.get("ignore_case", False)}
                return ["stop", params | {"words": self._file("") if words == "_none_"
                                          else self._words(words)}]
            if t == "stemmer":
                only("language")
                stems = {"arabic": "arabicStem", "english": "porterStem",
                         "light_english": "kStem", "minimal_english": "englishMinimalStem"}
                if spec["language"] not in stems:
                    raise Unsupported(f"stemmer language {spec['language']!r}")
                return [stems[spec["language"]], {}]
            if t == "snowball":
                only("language")
                return ["snowballPorter", {"language": spec["language"]}]
            if t == "stemmer_override":
                only("rules")
                return ["stemmerOverride",
                        {"dictionary": self._file(_override_rules(spec["rules"]))}]
            if t == "keyword_marker":
                only("keywords", "keywords_pattern", "ignore_case")
                params = {"ignoreCase": spec.get("ignore_case", False)}
                if "keywords_pattern" in spec:
                    return ["keywordMarker", params | {"pattern": spec["keywords_pattern"]}]
                return ["keywordMarker", params | {"protected": self._words(spec["keywords"])}]
            if t == "pattern_replace":
                only("pattern", "replacement", "all")
                return ["patternReplace", {"pattern": spec["pattern"],
                                           "replacement": spec.get("replacement", ""),
                                           "replace": "all" if spec.get("all", True) else "first"}]
            if t == "pattern_capture" and len(spec.get("patterns", [])) == 1:
                only("patterns", "preserve_original")
                return ["patternCaptureGroup", {
                    "pattern": spec["patterns"][0],
                    "preserve_original": spec.get("preserve_original", True)}]
            if t == "unique" and spec.get("only_on_same_position"):
                only("only_on_same_position")
                return ["removeDuplicates", {}]
            if t == "length":
                only("min", "max")
                return ["length", {"min": spec.get("min", 0),
                                   "max": spec.get("max", 2**31 - 1)}]
            if t == "truncate":
                only("length")
                return ["truncate", {"prefixLength": spec.get("length", 10)}]
        raise Unsupported(f"{kind} type {t!r} has no faithful Lucene equivalent in this harness")

    def analyzer(self, name: str) -> dict[str, Any]:
        spec = self.analysis.get("analyzer", {}).get(name, {"type": name})
        t = spec.get("type", "custom")
        if t == "standard" and set(spec) <= {"type"}:
            return {"resources": str(self.resources), "tokenizer": ["standard", {}],
                    "filters": [["lowercase", {}]], "position_increment_gap": 100}
        if t in BUILTIN_ANALYZERS and set(spec) <= {"type"}:
            return {"builtin": t}
        if t != "custom":
            raise Unsupported(f"analyzer {name!r} of type {t!r} (or with parameters)")

        def refs(key: str) -> list[Any]:
            value = spec.get(key, [])
            return [value] if isinstance(value, str) else value

        return {"resources": str(self.resources),
                "char_filters": [self._component("char_filter", c) for c in refs("char_filter")],
                "tokenizer": self._component("tokenizer", spec["tokenizer"]),
                "filters": [self._component("filter", f) for f in refs("filter")],
                "position_increment_gap": spec.get("position_increment_gap", 100)}


def translate(analysis: dict[str, Any], name: str, resources: Path) -> dict[str, Any]:
    """The Lucene spec of Elasticsearch analyzer `name`; word lists are written to `resources`.
    Raises Unsupported for anything without a faithful Lucene equivalent."""
    return _Translator(analysis, resources).analyzer(name)


def template_analysis(template: Path = TEMPLATE) -> dict[str, Any]:
    analysis: dict[str, Any] = json.loads(template.read_text(encoding="utf-8"))[
        "template"]["settings"]["analysis"]
    return analysis


# --- the Java process ---------------------------------------------------------------------


class Lucene:
    """One Java process; use as a context manager or call close()."""

    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        jars = _find_jars()
        assert isinstance(jars, list)
        classpath = os.pathsep.join(map(str, [_compiled(jars), *jars]))
        self._resources = Path(tempfile.mkdtemp(prefix="akhbar-lucene-res-"))
        self._proc = subprocess.Popen(
            ["java", "-Xss4m", "-cp", classpath, "AkhbarLucene"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.version = self.request(op="version")["lucene"]

    def request(self, **req: Any) -> dict[str, Any]:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise LuceneError(f"the Java process exited (code {self._proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise LuceneError(answer["error"])
        return answer

    def define(self, name: str, analysis: dict[str, Any], es_name: str | None = None) -> None:
        """Defines Lucene analyzer `name` from Elasticsearch analyzer `es_name` (default name)."""
        spec = translate(analysis, es_name or name, self._resources)
        self.request(op="analyzer", name=name, **spec)

    def define_template(self, template: Path = TEMPLATE) -> list[str]:
        """Defines every analyzer of the template's analysis section under its own name."""
        analysis = template_analysis(template)
        for name in analysis.get("analyzer", {}):
            self.define(name, analysis)
        return list(analysis.get("analyzer", {}))

    def tokens(self, analyzer: str, text: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]],
                    self.request(op="analyze", analyzer=analyzer, text=text)["tokens"])

    def terms(self, analyzer: str, text: str) -> list[str]:
        return [t["token"] for t in self.tokens(analyzer, text)]

    def index(self, fields: dict[str, str], docs: Iterable[dict[str, Any]]) -> int:
        """Indexes `docs` ({"id", field: text}); `fields` maps each field (a sub-field such as
        body.exact reads its parent's text) to a defined analyzer. Replaces any earlier index."""
        path = self._resources / "docs.jsonl"
        with path.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs)
        return int(self.request(op="index", fields=fields, path=str(path))["docs"])

    def search(self, queries: list[dict[str, Any]], k: int = 100) -> list[list[str]]:
        """Ids of the top `k` documents for each query (Elasticsearch query DSL subset)."""
        return [[doc for doc, _ in hits] for hits in self.scored_search(queries, k)]

    def scored_search(self, queries: list[dict[str, Any]],
                      k: int = 100) -> list[list[tuple[str, float]]]:
        """(id, BM25 score) of the top `k` documents for each query, best first."""
        hits = self.request(op="search", queries=queries, k=k)["hits"]
        return [[(str(doc), float(score)) for doc, score in q] for q in hits]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._resources, ignore_errors=True)

    def __enter__(self) -> Lucene:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mapping_analyzers(template: Path = TEMPLATE) -> dict[str, str]:
    """Text field path (sub-fields included) -> analyzer, from the template mapping."""
    props = json.loads(template.read_text(encoding="utf-8"))["template"]["mappings"]["properties"]
    out: dict[str, str] = {}
    for name in ("title", "body", "captions"):
        out[name] = props[name]["analyzer"]
        out |= {f"{name}.{sub}": m["analyzer"] for sub, m in props[name]["fields"].items()}
    return out


def lucene_query(q: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch query DSL (the types akhbar.search.search_body uses) -> the harness's query
    objects: a best_fields multi_match becomes the DisjunctionMax of one boosted match per field
    that Elasticsearch builds."""
    (kind, body), = q.items()
    if kind == "bool" and set(body) <= {"must", "should"}:
        return {"bool": {occur: [lucene_query(c) for c in body.get(occur, [])]
                         for occur in ("must", "should")}}
    if kind == "multi_match" and body.get("type", "best_fields") == "best_fields":
        parts = []
        for field in body["fields"]:
            name, _, boost = field.partition("^")
            parts.append({"match": {"field": name, "query": body["query"],
                                    "boost": float(boost or 1)}})
        return {"dis_max": {"queries": parts, "tie_breaker": body.get("tie_breaker", 0.0)}}
    if kind in ("match", "match_phrase"):
        (field, params), = body.items()
        params = params if isinstance(params, dict) else {"query": params}
        return {kind: {"field": field, **params}}
    raise ValueError(f"query {q} is not translated")
