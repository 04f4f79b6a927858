// Lucene side of akhbar_testkit.lucene_harness: builds analyzers, analyzes text, indexes documents
// with BM25 and runs queries. One JSON request per stdin line, one JSON answer per stdout line.
// The Python side has already translated Elasticsearch names into Lucene factories; this file
// knows nothing of Elasticsearch except the handful of query types the benchmark sends.

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

import org.apache.lucene.analysis.*;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.analysis.custom.CustomAnalyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.fa.PersianAnalyzer;
import org.apache.lucene.analysis.miscellaneous.PerFieldAnalyzerWrapper;
import org.apache.lucene.analysis.tokenattributes.*;
import org.apache.lucene.analysis.util.ClasspathResourceLoader;
import org.apache.lucene.analysis.util.ResourceLoader;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.QueryBuilder;

public final class AkhbarLucene {
    private final Map<String, Analyzer> analyzers = new HashMap<>();
    private final Map<String, String> fieldAnalyzers = new HashMap<>();
    private IndexSearcher searcher;

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
        AkhbarLucene lucene = new AkhbarLucene();
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) continue;
            String answer;
            try {
                answer = lucene.handle(map(new Json(line).value()));
            } catch (Exception | Error e) {  // report and keep serving: the caller raises
                answer = "{\"error\":" + Json.quote(e.toString()) + "}";
            }
            out.println(answer);
            out.flush();
        }
    }

    private String handle(Map<String, Object> req) throws IOException {
        switch ((String) req.get("op")) {
            case "version":
                return "{\"lucene\":" + Json.quote(org.apache.lucene.util.Version.LATEST.toString()) + "}";
            case "analyzer":
                analyzers.put((String) req.get("name"), build(req));
                return "{}";
            case "analyze":
                return analyze(analyzer((String) req.get("analyzer")), (String) req.get("text"));
            case "index":
                return index(map(req.get("fields")), Paths.get((String) req.get("path")));
            case "search":
                return search(list(req.get("queries")), ((Number) req.get("k")).intValue());
            default:
                throw new IllegalArgumentException("unknown op " + req.get("op"));
        }
    }

    private Analyzer analyzer(String name) {
        Analyzer a = analyzers.get(name);
        if (a == null) throw new IllegalArgumentException("no analyzer " + name);
        return a;
    }

    // --- analyzers ---------------------------------------------------------------------------

    private static Analyzer build(Map<String, Object> spec) throws IOException {
        Object builtin = spec.get("builtin");
        if (builtin != null) {
            switch ((String) builtin) {
                case "arabic": return new ArabicAnalyzer();
                case "english": return new EnglishAnalyzer();
                case "persian": return new PersianAnalyzer();
                default: throw new IllegalArgumentException("no built-in analyzer " + builtin);
            }
        }
        CustomAnalyzer.Builder b = CustomAnalyzer.builder(new Resources(Paths.get((String) spec.get("resources"))));
        for (Object c : list(spec.get("char_filters"))) b.addCharFilter(factory(c), params(c));
        b.withTokenizer(factory(spec.get("tokenizer")), params(spec.get("tokenizer")));
        for (Object f : list(spec.get("filters"))) b.addTokenFilter(factory(f), params(f));
        Object gap = spec.get("position_increment_gap");
        if (gap != null) b.withPositionIncrementGap(((Number) gap).intValue());
        return b.build();
    }

    private static String factory(Object component) {
        return (String) list(component).get(0);
    }

    private static Map<String, String> params(Object component) {
        Map<String, String> out = new HashMap<>();
        map(list(component).get(1)).forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    /** Files written by the Python side, plus the stop sets Elasticsearch names `_arabic_` etc. */
    private static final class Resources implements ResourceLoader {
        private final Path dir;
        private final ClasspathResourceLoader classpath = new ClasspathResourceLoader(AkhbarLucene.class);

        Resources(Path dir) { this.dir = dir; }

        @Override public InputStream openResource(String name) throws IOException {
            switch (name) {
                case "_arabic_": return words(ArabicAnalyzer.getDefaultStopSet());
                case "_persian_": return words(PersianAnalyzer.getDefaultStopSet());
                case "_english_": return words(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET);
                default: return Files.newInputStream(dir.resolve(name));
            }
        }

        private static InputStream words(CharArraySet set) {
            StringBuilder sb = new StringBuilder();
            for (Object w : set) sb.append((char[]) w).append('\n');
            return new ByteArrayInputStream(sb.toString().getBytes(StandardCharsets.UTF_8));
        }

        @Override public <T> Class<? extends T> findClass(String cname, Class<T> expectedType) {
            return classpath.findClass(cname, expectedType);
        }

        @Override public <T> T newInstance(String cname, Class<T> expectedType) {
            return classpath.newInstance(cname, expectedType);
        }
    }

    private static String analyze(Analyzer a, String text) throws IOException {
        StringBuilder sb = new StringBuilder("{\"tokens\":[");
        try (TokenStream ts = a.tokenStream("f", text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            PositionIncrementAttribute inc = ts.addAttribute(PositionIncrementAttribute.class);
            OffsetAttribute off = ts.addAttribute(OffsetAttribute.class);
            KeywordAttribute kw = ts.addAttribute(KeywordAttribute.class);
            ts.reset();
            int pos = -1;
            for (boolean first = true; ts.incrementToken(); first = false) {
                pos += inc.getPositionIncrement();
                if (!first) sb.append(',');
                sb.append("{\"token\":").append(Json.quote(term.toString()))
                  .append(",\"position\":").append(pos)
                  .append(",\"start_offset\":").append(off.startOffset())
                  .append(",\"end_offset\":").append(off.endOffset())
                  .append(",\"keyword\":").append(kw.isKeyword()).append('}');
            }
            ts.end();
        }
        return sb.append("]}").toString();
    }

    // --- BM25 index and queries --------------------------------------------------------------

    /** Indexes a JSON-lines file of {"id": .., field: text, ..} into memory (BM25, the default). */
    private String index(Map<String, Object> fields, Path docs) throws IOException {
        Map<String, Analyzer> perField = new HashMap<>();
        fieldAnalyzers.clear();
        fields.forEach((f, a) -> {
            fieldAnalyzers.put(f, (String) a);
            perField.put(f, analyzer((String) a));
        });
        ByteBuffersDirectory dir = new ByteBuffersDirectory();
        int n = 0;
        try (IndexWriter w = new IndexWriter(dir, new IndexWriterConfig(
                new PerFieldAnalyzerWrapper(new KeywordAnalyzer(), perField)));
             BufferedReader r = Files.newBufferedReader(docs, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) continue;
                Map<String, Object> src = map(new Json(line).value());
                Document doc = new Document();
                doc.add(new StringField("_id", (String) src.get("id"), Field.Store.YES));
                for (String f : fields.keySet()) {
                    // A sub-field (body.exact) indexes its parent's text, as a multi-field does.
                    Object text = src.get(f.contains(".") ? f.substring(0, f.indexOf('.')) : f);
                    if (text != null) doc.add(new TextField(f, (String) text, Field.Store.NO));
                }
                w.addDocument(doc);
                n++;
            }
        }
        searcher = new IndexSearcher(DirectoryReader.open(dir));  // BM25Similarity(1.2, 0.75)
        return "{\"docs\":" + n + "}";
    }

    private String search(List<Object> queries, int k) throws IOException {
        if (searcher == null) throw new IllegalStateException("no index");
        StringBuilder sb = new StringBuilder("{\"hits\":[");
        for (int i = 0; i < queries.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append('[');
            ScoreDoc[] hits = searcher.search(query(queries.get(i)), k).scoreDocs;
            for (int j = 0; j < hits.length; j++) {
                if (j > 0) sb.append(',');
                sb.append('[').append(Json.quote(searcher.doc(hits[j].doc).get("_id")))
                  .append(',').append(hits[j].score).append(']');
            }
            sb.append(']');
        }
        return sb.append("]}").toString();
    }

    /** The Elasticsearch query types the benchmark needs, built as Elasticsearch builds them:
     *  match / match_phrase through Lucene's QueryBuilder (which ES's MatchQueryParser extends). */
    private Query query(Object node) {
        Map<String, Object> q = map(node);
        if (q.size() != 1) throw new IllegalArgumentException("one query type per object: " + q.keySet());
        String type = q.keySet().iterator().next();
        Map<String, Object> body = map(q.get(type));
        Query built;
        switch (type) {
            case "match":
            case "match_phrase": {
                String field = (String) body.get("field");
                String a = fieldAnalyzers.get(field);
                if (a == null) throw new IllegalArgumentException("field not indexed: " + field);
                QueryBuilder qb = new QueryBuilder(analyzer(a));
                String text = (String) body.get("query");
                built = type.equals("match")
                        ? qb.createBooleanQuery(field, text, BooleanClause.Occur.SHOULD)
                        : qb.createPhraseQuery(field, text, ((Number) body.getOrDefault("slop", 0)).intValue());
                if (built == null) built = new MatchNoDocsQuery();  // zero_terms_query: none
                break;
            }
            case "dis_max": {
                List<Query> parts = new ArrayList<>();
                for (Object sub : list(body.get("queries"))) parts.add(query(sub));
                built = new DisjunctionMaxQuery(parts,
                        ((Number) body.getOrDefault("tie_breaker", 0)).floatValue());
                break;
            }
            case "bool": {
                BooleanQuery.Builder b = new BooleanQuery.Builder();
                for (Object sub : list(body.getOrDefault("must", List.of()))) b.add(query(sub), BooleanClause.Occur.MUST);
                for (Object sub : list(body.getOrDefault("should", List.of()))) b.add(query(sub), BooleanClause.Occur.SHOULD);
                built = b.build();
                break;
            }
            default:
                throw new IllegalArgumentException("unsupported query type " + type);
        }
        Object boost = body.get("boost");
        return boost == null ? built : new BoostQuery(built, ((Number) boost).floatValue());
    }

    // --- minimal JSON ------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) { return (Map<String, Object>) o; }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) { return o == null ? List.of() : (List<Object>) o; }

    /** Just enough JSON for the requests the Python side writes (json.dumps output). */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) { this.s = s; }

        Object value() {
            skip();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                for (skip(); s.charAt(i) != '}'; skip()) {
                    String k = string();
                    skip();
                    expect(':');
                    m.put(k, value());
                    skip();
                    if (s.charAt(i) == ',') i++;
                }
                i++;
                return m;
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                for (skip(); s.charAt(i) != ']'; skip()) {
                    l.add(value());
                    skip();
                    if (s.charAt(i) == ',') i++;
                }
                i++;
                return l;
            }
            if (c == '"') return string();
            for (String lit : new String[] {"true", "false", "null"}) {
                if (s.startsWith(lit, i)) {
                    i += lit.length();
                    return lit.equals("null") ? null : Boolean.valueOf(lit);
                }
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            return Double.valueOf(s.substring(start, i));
        }

        private String string() {
            expect('"');
            StringBuilder sb = new StringBuilder();
            for (char c; (c = s.charAt(i++)) != '"'; ) {
                if (c != '\\') { sb.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'u': sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: sb.append(e);  // \" \\ \/
                }
            }
            return sb.toString();
        }

        private void skip() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }

        private void expect(char c) {
            if (s.charAt(i++) != c) throw new IllegalArgumentException("JSON: expected " + c + " at " + (i - 1));
        }

        static String quote(String v) {
            StringBuilder sb = new StringBuilder("\"");
            for (char c : v.toCharArray()) {
                if (c == '"' || c == '\\') sb.append('\\').append(c);
                else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            return sb.append('"').toString();
        }
    }
}
