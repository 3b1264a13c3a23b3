package org.align4j.engine;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Vocab;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContinuousBatchSamplerTest {
    static final double TOLERANCE = 1e-3;
    @TempDir static Path tmp;
    static Path modelFile;
    static Model model;
    static List<SampleRequest> requests;

    static final List<String> PROMPTS = List.of(
            "The quick brown fox",
            "Once upon a time, in a land far away, there lived",
            "2 + 2 =",
            "Q: What is the capital of France?\nA:",
            "word ".repeat(70).trim(), // longer than the small batches below: its prompt spans decodes
            "Hello");

    @BeforeAll
    static void setUp() {
        modelFile = TestModels.tiny(tmp, GgmlType.F32, 11);
        model = Model.load(modelFile, ModelOptions.DEFAULT);
        requests = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
            String p = PROMPTS.get(i);
            requests.add(new SampleRequest("r" + i, p, model.vocab().tokenize(p, true, true), 4 + (i % 3)));
        }
    }

    @AfterAll
    static void tearDown() {
        model.close();
    }

    /** One thread: ggml's spinning thread barrier is slow on a busy shared machine, and results do not depend on it. */
    static SamplerOptions options(int batchTokens, int seqs) {
        return new SamplerOptions(256, batchTokens, seqs, 1);
    }

    static List<SampleResult> sampleAll(Model m, List<SampleRequest> rs, SamplerOptions o, SamplingParams p) {
        List<SampleResult> out = new ArrayList<>();
        try (ContinuousBatchSampler s = new ContinuousBatchSampler(m, o, p)) {
            for (SampleRequest r : rs) {
                s.submit(r, out::add);
            }
            s.finish();
        }
        assertThat(out).extracting(r -> r.request().key()).containsExactlyElementsOf(rs.stream().map(SampleRequest::key).toList());
        for (int i = 0; i < rs.size(); i++) {
            assertThat(out.get(i).completions()).hasSize(rs.get(i).n()).doesNotContainNull();
        }
        return out;
    }

    static List<SampleResult> sampleAll(List<SampleRequest> rs, SamplerOptions o, SamplingParams p) {
        return sampleAll(model, rs, o, p);
    }

    /** Token ids must be equal; returns the max |difference| of their log-probs. */
    static double assertSameTokens(List<SampleResult> a, List<SampleResult> b) {
        assertThat(a).hasSameSizeAs(b);
        double d = 0;
        for (int i = 0; i < a.size(); i++) {
            List<Completion> x = a.get(i).completions();
            List<Completion> y = b.get(i).completions();
            assertThat(x).hasSameSizeAs(y);
            for (int k = 0; k < x.size(); k++) {
                assertThat(y.get(k).tokenIds()).as("request %s completion %d", a.get(i).request().key(), k)
                        .containsExactly(x.get(k).tokenIds());
                assertThat(y.get(k).text()).isEqualTo(x.get(k).text());
                assertThat(y.get(k).finishReason()).isEqualTo(x.get(k).finishReason());
                for (int t = 0; t < x.get(k).length(); t++) {
                    d = Math.max(d, Math.abs(x.get(k).tokenLogps()[t] - y.get(k).tokenLogps()[t]));
                }
            }
        }
        return d;
    }

    @Test
    void sampledLogProbsAreTheTeacherForcedScoresOfTheSameTokens() {
        // Filters and temperature shape the draw, not the recorded log-probs: they stay raw.
        SamplingParams p = new SamplingParams(0.8f, 50, 0.95f, 0.02f, 1.1f, 16, 24, List.of(), 7);
        List<SampleResult> sampled = sampleAll(requests, options(64, 5), p);
        List<ScoreResult> scored = new ArrayList<>();
        try (PrefixSharingScorer scorer = new PrefixSharingScorer(model, new ScorerOptions(256, 512, 16, 2, true))) {
            for (SampleResult r : sampled) {
                int[][] ids = r.completions().stream().map(Completion::tokenIds).toArray(int[][]::new);
                scorer.submit(new ScoreRequest(r.request().prompt(), ids), scored::add);
            }
            scorer.finish();
        }
        double d = 0;
        double dSum = 0;
        int tokens = 0;
        for (int i = 0; i < sampled.size(); i++) {
            for (int k = 0; k < sampled.get(i).completions().size(); k++) {
                Completion c = sampled.get(i).completions().get(k);
                float[] teacher = scored.get(i).tokenLogps()[k];
                assertThat(c.tokenLogps()).hasSameSizeAs(teacher);
                for (int t = 0; t < teacher.length; t++) {
                    d = Math.max(d, Math.abs(c.tokenLogps()[t] - teacher[t]));
                }
                double sum = 0;
                for (float v : c.tokenLogps()) {
                    sum += v;
                }
                dSum = Math.max(dSum, Math.abs(sum - c.logps()));
                tokens += c.length();
            }
        }
        System.out.printf("sampled vs teacher-forced (PrefixSharingScorer) log-probs over %d tokens: max |diff| = %.3g (tolerance %.0e);"
                + " logps vs sum of token_logps: %.3g%n", tokens, d, TOLERANCE, dSum);
        assertThat(tokens).isGreaterThan(100);
        assertThat(d).isLessThan(TOLERANCE);
        assertThat(dSum).isLessThan(1e-9);
    }

    @Test
    void theSameSeedGivesTheSameCompletionsWhateverIsBatchedBeside() {
        SamplingParams p = SamplingParams.plain(20, 1234);
        List<SampleResult> together = sampleAll(requests, options(64, 8), p);
        // 3 sequences for 4..6 completions: later completions start from a sibling's cells; 16-token batches split the long prompt.
        List<SampleResult> cramped = sampleAll(requests, options(16, 3), p);
        List<SampleResult> alone = new ArrayList<>();
        for (SampleRequest r : requests) {
            alone.addAll(sampleAll(List.of(r), options(64, 8), p));
        }
        List<SampleRequest> reversed = new ArrayList<>(requests.reversed());
        // Two threads: decodes split over two threads.
        List<SampleResult> others = sampleAll(reversed, new SamplerOptions(256, 32, 7, 2), p).reversed();
        double dCramped = assertSameTokens(together, cramped);
        double dAlone = assertSameTokens(together, alone);
        double dOthers = assertSameTokens(together, others);
        System.out.printf("same seed, different batching: identical token ids; log-prob max |diff| vs cramped %.3g, alone %.3g, reversed on 2 threads %.3g%n",
                dCramped, dAlone, dOthers);
        assertThat(Math.max(dCramped, Math.max(dAlone, dOthers))).isLessThan(TOLERANCE);

        for (SampleResult r : together) {
            Set<List<Integer>> distinct = new HashSet<>();
            r.completions().forEach(c -> distinct.add(Arrays.stream(c.tokenIds()).boxed().toList()));
            assertThat(distinct).as("completions of %s at temperature 1", r.request().key()).hasSizeGreaterThan(1);
        }
        List<SampleResult> otherSeed = sampleAll(requests, options(64, 8), SamplingParams.plain(20, 1235));
        assertThat(otherSeed.getFirst().completions().getFirst().tokenIds())
                .isNotEqualTo(together.getFirst().completions().getFirst().tokenIds());
    }

    @Test
    void greedyCompletionsOfOnePromptAreAllTheArgmaxPath() {
        SamplingParams greedy = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 12, List.of(), 1);
        List<SampleResult> r = sampleAll(requests.subList(0, 2), options(64, 4), greedy);
        for (SampleResult x : r) {
            for (Completion c : x.completions()) {
                assertThat(c.tokenIds()).containsExactly(x.completions().getFirst().tokenIds());
            }
        }
    }

    static byte[] piece(Vocab v, int token) {
        return v.isEog(token) ? new byte[0] : v.tokenToPieceBytes(token, false);
    }

    static int indexOf(byte[] text, byte[] p) {
        outer:
        for (int i = 0; i + p.length <= text.length; i++) {
            for (int j = 0; j < p.length; j++) {
                if (text[i + j] != p[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** A stop string made of the end of one token's text and the start of the next's, both plain ASCII letters. */
    static String spanningStop(Vocab v, List<SampleResult> rs) {
        for (SampleResult r : rs) {
            for (Completion c : r.completions()) {
                int[] t = c.tokenIds();
                for (int i = 2; i + 1 < t.length; i++) {
                    String a = new String(piece(v, t[i]), StandardCharsets.UTF_8);
                    String b = new String(piece(v, t[i + 1]), StandardCharsets.UTF_8);
                    if (a.matches(".*[a-z]{2}") && b.matches("[a-z]{2}.*")) {
                        return a.substring(a.length() - 2) + b.substring(0, 2);
                    }
                }
            }
        }
        throw new AssertionError("no two adjacent sampled tokens with ASCII letters at the seam: pick another seed");
    }

    @Test
    void stopStringsAndMaxTokensEndCompletionsWhereTheyShould() {
        Vocab v = model.vocab();
        SamplingParams free = SamplingParams.plain(40, 99);
        List<SampleResult> unstopped = sampleAll(requests, options(64, 8), free);
        String stop = spanningStop(v, unstopped);
        String never = "\u0000never";
        SamplingParams stopping = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 40, List.of(never, stop), 99);
        List<SampleResult> stopped = sampleAll(requests, options(64, 8), stopping);
        int nStopped = 0;
        byte[] stopBytes = stop.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < requests.size(); i++) {
            for (int k = 0; k < requests.get(i).n(); k++) {
                Completion full = unstopped.get(i).completions().get(k);
                Completion got = stopped.get(i).completions().get(k);
                ByteArrayOutputStream text = new ByteArrayOutputStream();
                int end = full.length();
                int at = -1;
                for (int t = 0; t < full.length() && at < 0; t++) {
                    text.writeBytes(piece(v, full.tokenIds()[t]));
                    at = indexOf(text.toByteArray(), stopBytes);
                    if (at >= 0) {
                        end = t + 1;
                    }
                }
                assertThat(got.tokenIds()).containsExactly(Arrays.copyOf(full.tokenIds(), end));
                if (at >= 0) {
                    nStopped++;
                    assertThat(got.finishReason()).isEqualTo(FinishReason.STOP);
                    assertThat(got.text()).isEqualTo(new String(text.toByteArray(), 0, at, StandardCharsets.UTF_8));
                    assertThat(got.text()).doesNotContain(stop);
                } else {
                    assertThat(got.finishReason()).isEqualTo(full.finishReason());
                    assertThat(got.text()).isEqualTo(full.text());
                }
            }
        }
        System.out.printf("stop string \"%s\" (spans two tokens) ended %d of %d completions%n", stop, nStopped,
                requests.stream().mapToInt(SampleRequest::n).sum());
        assertThat(nStopped).isPositive();

        List<SampleResult> short5 = sampleAll(requests, options(64, 8), SamplingParams.plain(5, 99));
        for (int i = 0; i < requests.size(); i++) {
            for (int k = 0; k < requests.get(i).n(); k++) {
                Completion full = unstopped.get(i).completions().get(k);
                Completion got = short5.get(i).completions().get(k);
                assertThat(got.tokenIds()).containsExactly(Arrays.copyOf(full.tokenIds(), Math.min(5, full.length())));
                assertThat(got.finishReason()).isEqualTo(full.length() < 5 ? full.finishReason() : FinishReason.LENGTH);
            }
        }
        assertThat(unstopped.stream().flatMap(r -> r.completions().stream()).filter(c -> c.finishReason() == FinishReason.LENGTH))
                .allSatisfy(c -> assertThat(c.length()).isEqualTo(40));
    }

    /** A copy of {@code src} whose tokenizer names {@code eos} as its end-of-sequence token; the weights are the same. */
    static Path withEos(Path src, int eos) {
        Path out = tmp.resolve("tiny-eos-" + eos + ".gguf");
        try (GgufFile f = GgufFile.open(src)) {
            SequencedMap<String, GgufValue> meta = new LinkedHashMap<>(f.metadata());
            meta.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(eos));
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                MemorySegment data = f.tensorData(t.name());
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> dst.copyFrom(data)));
            }
            GgufWriter.write(out, meta, tensors);
        }
        return out;
    }

    /** The first index from {@code from} whose token does not occur earlier in {@code t}, or t.length. */
    static int firstNew(int[] t, int from) {
        for (int j = from; j < t.length; j++) {
            int tj = t[j];
            if (Arrays.stream(t, 0, j).noneMatch(x -> x == tj)) {
                return j;
            }
        }
        return t.length;
    }

    @Test
    void anEndOfGenerationTokenEndsTheCompletionAndIsKeptOutOfItsText() {
        SamplingParams greedy = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 10, List.of(), 1);
        List<SampleRequest> one = List.of(requests.get(1));
        Completion path = sampleAll(one, options(64, 4), greedy).getFirst().completions().getFirst();
        int[] t = path.tokenIds();
        int j = firstNew(t, 2);
        assertThat(j).as("a token of the greedy path that does not occur before it").isLessThan(t.length);
        int eos = t[j];
        try (Model m = Model.load(withEos(modelFile, eos), ModelOptions.DEFAULT)) {
            assertThat(m.vocab().isEog(eos)).isTrue();
            SampleResult r = sampleAll(m, one, options(64, 4), greedy).getFirst();
            for (Completion c : r.completions()) {
                assertThat(c.finishReason()).isEqualTo(FinishReason.EOS);
                assertThat(c.tokenIds()).containsExactly(Arrays.copyOf(t, j + 1));
                ByteArrayOutputStream before = new ByteArrayOutputStream();
                for (int x = 0; x < j; x++) {
                    before.writeBytes(piece(m.vocab(), t[x]));
                }
                assertThat(c.text()).isEqualTo(before.toString(StandardCharsets.UTF_8));
                assertThat(c.tokenLogps()).hasSize(j + 1);
            }
        }
    }

    @Test
    void ignoreEosNeverSamplesAnEndOfGenerationTokenAndKeepsTheLogProbsRaw() {
        SamplingParams greedy = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 10, List.of(), 1);
        SamplingParams ignoring = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 10, List.of(), 1, true);
        List<SampleRequest> one = List.of(requests.get(1));
        int[] t = sampleAll(one, options(64, 4), greedy).getFirst().completions().getFirst().tokenIds();
        int j = firstNew(t, 2);
        assertThat(j).as("a token of the greedy path that does not occur before it").isLessThan(t.length);
        int eos = t[j];
        Path eosModel = withEos(modelFile, eos);
        try (Model m = Model.load(eosModel, ModelOptions.DEFAULT)) {
            int[] eog = m.vocab().eogTokens();
            assertThat(eog).contains(eos);
            SampleResult r = sampleAll(m, one, options(64, 4), ignoring).getFirst();
            List<ScoreResult> scored = new ArrayList<>();
            try (PrefixSharingScorer scorer = new PrefixSharingScorer(m, new ScorerOptions(256, 512, 16, 1, true))) {
                scorer.submit(new ScoreRequest(r.request().prompt(), r.completions().stream().map(Completion::tokenIds)
                        .toArray(int[][]::new)), scored::add);
                scorer.finish();
            }
            double d = 0;
            for (int k = 0; k < r.completions().size(); k++) {
                Completion c = r.completions().get(k);
                assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(c.tokenIds()).hasSize(10).doesNotContain(eog);
                assertThat(Arrays.copyOf(c.tokenIds(), j)).as("the greedy path up to where it sampled EOS").containsExactly(Arrays.copyOf(t, j));
                for (int x = 0; x < c.length(); x++) {
                    d = Math.max(d, Math.abs(c.tokenLogps()[x] - scored.getFirst().tokenLogps()[k][x]));
                }
            }
            System.out.printf("--ignore-eos: greedy path passes EOS (token %d) at position %d and runs to --max-tokens;"
                    + " log-probs vs teacher-forced: max |diff| = %.3g%n", eos, j, d);
            assertThat(d).isLessThan(TOLERANCE);
        }
    }

    @Test
    void timingsAccountForDecodeSamplingAndLogProbs() {
        SamplingParams p = SamplingParams.plain(16, 3);
        long generatedFedBack = 0;
        long promptTokens = 0;
        long promptTokensPerCompletion = 0;
        EngineTimings timings;
        long t0 = System.nanoTime();
        try (ContinuousBatchSampler s = new ContinuousBatchSampler(model, options(64, 5), p)) {
            List<SampleResult> out = new ArrayList<>();
            for (SampleRequest r : requests) {
                s.submit(r, out::add);
            }
            s.finish();
            timings = s.timings();
            for (SampleResult r : out) {
                promptTokens += r.request().prompt().length;
                promptTokensPerCompletion += (long) r.request().prompt().length * r.request().n();
                for (Completion c : r.completions()) {
                    generatedFedBack += c.length() - 1; // the last token of a completion is never decoded
                }
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        String line = timings.describe(wall);
        System.out.println("sampler timings: " + line);
        assertThat(timings.decodes()).isPositive();
        // A prompt is decoded once for the completions that start together, and at most once per completion.
        assertThat(timings.tokensDecoded()).isBetween(generatedFedBack + promptTokens, generatedFedBack + promptTokensPerCompletion);
        assertThat(timings.decodeSeconds()).isPositive();
        assertThat(timings.samplingSeconds()).isPositive();
        assertThat(timings.logProbSeconds()).isPositive();
        assertThat(timings.decodeSeconds() + timings.samplingSeconds() + timings.logProbSeconds()).isLessThan(wall);
        assertThat(line).containsPattern("decode [0-9.]+%, sampling [0-9.]+%, log-probs [0-9.]+%, other [0-9.]+%");
    }

    @Test
    void capacityIsCheckedUpFrontSayingWhatToChange() {
        assertThatThrownBy(() -> new SamplerOptions(256, 8, 16, 2)).hasMessageContaining("--batch-tokens").hasMessageContaining("--seqs");
        assertThatThrownBy(() -> new SamplerOptions(256, 512, 300, 2)).hasMessageContaining("--seqs");
        assertThatThrownBy(() -> new ContinuousBatchSampler(model, new SamplerOptions(32, 64, 2, 2), SamplingParams.plain(32, 0)))
                .hasMessageContaining("--max-tokens").hasMessageContaining("--ctx");
        assertThatThrownBy(() -> new SamplingParams(1f, 0, 1.5f, 0f, 1f, 64, 8, List.of(), 0)).hasMessageContaining("--top-p");
        try (ContinuousBatchSampler s = new ContinuousBatchSampler(model, new SamplerOptions(32, 64, 2, 2), SamplingParams.plain(16, 0))) {
            SampleRequest tooLong = new SampleRequest("x", "", new int[20], 2);
            assertThat(s.checkFits(tooLong)).contains("20 tokens", "--max-tokens 16", "36", "--ctx 32");
            assertThatThrownBy(() -> s.submit(tooLong, r -> {})).hasMessageContaining("--ctx");
        }
    }

    @Test
    void completionSeedsDependOnSeedKeyAndIndexOnly() {
        SamplingParams a = SamplingParams.plain(8, 5);
        assertThat(a.keySeed("r1", 0)).isEqualTo(SamplingParams.plain(99, 5).keySeed("r1", 0));
        Set<Long> seeds = new HashSet<>();
        for (String key : List.of("r1", "r2", "1", "\"1\"")) {
            for (int k = 0; k < 50; k++) {
                seeds.add(a.keySeed(key, k));
            }
        }
        seeds.add(SamplingParams.plain(8, 6).keySeed("r1", 0));
        assertThat(seeds).hasSize(201);
    }
}
