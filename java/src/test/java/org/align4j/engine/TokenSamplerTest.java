package org.align4j.engine;

import org.align4j.TestModels;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.align4j.RepoFiles;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.SamplerChain;
import org.align4j.llama.TokenSampler;
import org.align4j.llama.TokenSampler.Filters;
import org.apache.commons.statistics.inference.ChiSquareTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * align4j's native token sampler against the distribution llama.cpp's sampler chain defines, written out
 * here in double precision from llama-sampler.cpp's semantics ({@link #expected}), and against draws of
 * llama.cpp's own chain: the support exactly (no token outside it drawn; with enough draws every token in
 * it drawn) and the probabilities by a chi-square goodness of fit.
 */
class TokenSamplerTest {
    @TempDir static Path tmp;

    /** One row of next-token logits of a decode kept in {@code ctx}: {@code x}, (V,), at batch row {@code row}. */
    record Logits(String name, Model model, Context ctx, int row, float[] x) implements AutoCloseable {
        static Logits after(String name, Path gguf, String prompt) {
            Model m = Model.load(gguf, ModelOptions.DEFAULT);
            Context c = Context.create(m, ContextOptions.single(64));
            int[] tokens = m.vocab().tokenize(prompt, true, false);
            try (Batch b = new Batch(64, 1)) {
                for (int i = 0; i < tokens.length; i++) {
                    b.add(tokens[i], i, 0, i == tokens.length - 1);
                }
                c.decode(b);
            }
            int row = tokens.length - 1;
            return new Logits(name, m, c, row, c.logits(row).toArray(JAVA_FLOAT));
        }

        int nVocab() {
            return x.length;
        }

        /** The tokens from most to least probable. */
        int[] ranked() {
            return IntStream.range(0, x.length).boxed().sorted(Comparator.comparingDouble((Integer t) -> -x[t]))
                    .mapToInt(Integer::intValue).toArray();
        }

        @Override
        public void close() {
            ctx.close();
            model.close();
        }
    }

    // A random synthetic model: a 32000-token vocabulary and a flat distribution (the lazily ranked top-p
    // path); and the committed demo model mid-answer: a peaked one, where each filter's edge token weighs.
    private static Logits flat;
    private static Logits peaked;

    @BeforeAll
    static void setUp() {
        flat = Logits.after("tiny, 32000 tokens", TestModels.tiny(tmp, GgmlType.F32, 11), "The sampler reads these logits in place.");
        peaked = Logits.after("demo, " + "mid-answer", RepoFiles.demoDir().resolve("demo.gguf"), "30+736=7");
    }

    @AfterAll
    static void tearDown() {
        flat.close();
        peaked.close();
    }

    /**
     * The probability of each token under llama.cpp's chain: suppressed tokens at -inf, the penalty once per
     * distinct window token, top-k, top-p on the softmax of what is left, min-p, temperature, softmax.
     */
    static double[] expected(float[] x, Filters f, int[] suppressed, int[] window) {
        float[] v = x.clone();
        for (int t : suppressed) {
            v[t] = Float.NEGATIVE_INFINITY;
        }
        if (f.repeatPenalty() != 1f) {
            for (int t : Arrays.stream(window).distinct().toArray()) {
                v[t] = v[t] <= 0 ? v[t] * f.repeatPenalty() : v[t] / f.repeatPenalty();
            }
        }
        double[] p = new double[v.length];
        Integer[] order = IntStream.range(0, v.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer t) -> -v[t]));
        if (f.temperature() == 0f) {
            p[order[0]] = 1;
            return p;
        }
        int n = v.length;
        if (f.topK() > 0 && f.topK() < n) {
            n = f.topK();
        }
        if (f.topP() < 1f) {
            double z = 0;
            for (int i = 0; i < n; i++) {
                z += Math.exp(v[order[i]] - v[order[0]]);
            }
            double cum = 0;
            for (int i = 0; i < n; i++) {
                cum += Math.exp(v[order[i]] - v[order[0]]) / z;
                if (cum >= f.topP()) {
                    n = i + 1;
                    break;
                }
            }
        }
        if (f.minP() > 0f) {
            float floor = v[order[0]] + (float) Math.log(f.minP());
            int i = 1;
            while (i < n && v[order[i]] >= floor) {
                i++;
            }
            n = i;
        }
        double z = 0;
        for (int i = 0; i < n; i++) {
            p[order[i]] = Math.exp((v[order[i]] - v[order[0]]) / f.temperature());
            z += p[order[i]];
        }
        for (int i = 0; i < n; i++) {
            p[order[i]] /= z;
        }
        return p;
    }

    /** Draw counts per token for M draws from the row, one window for all, seeds from {@code seed}'s stream. */
    private static long[] drawCounts(Logits l, Filters f, int[] suppressed, int[] window, int m, long seed) {
        long[] counts = new long[l.nVocab()];
        int chunk = 1000;
        int[] rows = new int[chunk];
        Arrays.fill(rows, l.row());
        long[] seeds = new long[chunk];
        int[] windowStart = new int[chunk + 1];
        int[] windowTokens = new int[chunk * window.length];
        for (int k = 0; k < chunk; k++) {
            windowStart[k + 1] = (k + 1) * window.length;
            System.arraycopy(window, 0, windowTokens, k * window.length, window.length);
        }
        int[] tokens = new int[chunk];
        SplittableRandom rng = new SplittableRandom(seed);
        try (TokenSampler s = new TokenSampler(l.ctx(), f, suppressed, chunk, window.length)) {
            for (int from = 0; from < m; from += chunk) {
                int n = Math.min(chunk, m - from);
                for (int k = 0; k < n; k++) {
                    seeds[k] = rng.nextLong();
                }
                s.sample(n, rows, seeds, windowStart, windowTokens, tokens);
                for (int k = 0; k < n; k++) {
                    counts[tokens[k]]++;
                }
            }
        }
        return counts;
    }

    /**
     * Asserts no token outside {@code p}'s support was drawn, every token whose expected count is at least
     * 20 was, and the counts fit {@code p}: chi-square over bins of tokens taken from the most probable
     * down, each bin closed once it expects 5 draws (a token of its own when it does), p-value above 0.001.
     * Prints the figures.
     */
    private static void assertFits(String what, double[] p, long[] counts, long draws) {
        Integer[] order = IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble((Integer t) -> -p[t])).toArray(Integer[]::new);
        List<Double> expectedBins = new ArrayList<>();
        List<Long> observedBins = new ArrayList<>();
        double binExpected = 0;
        long binObserved = 0;
        int support = 0;
        for (int t : order) {
            if (p[t] == 0) {
                assertThat(counts[t]).as("%s: token %d is outside the filtered support but was drawn", what, t).isZero();
                continue;
            }
            support++;
            if (p[t] * draws >= 20) {
                assertThat(counts[t]).as("%s: token %d, expected %.1f times, never drawn", what, t, p[t] * draws).isPositive();
            }
            binExpected += p[t];
            binObserved += counts[t];
            if (binExpected * draws >= 5) {
                expectedBins.add(binExpected);
                observedBins.add(binObserved);
                binExpected = 0;
                binObserved = 0;
            }
        }
        if (binExpected > 0) { // the tail: into the last bin
            int last = expectedBins.size() - 1;
            expectedBins.set(last, expectedBins.get(last) + binExpected);
            observedBins.set(last, observedBins.get(last) + binObserved);
        }
        double pValue = expectedBins.size() < 2 ? 1 : ChiSquareTest.withDefaults().test(
                expectedBins.stream().mapToDouble(Double::doubleValue).toArray(), observedBins.stream().mapToLong(Long::longValue).toArray())
                .getPValue();
        System.out.printf("%s: %d tokens in the support, %d draws in %d bins, chi-square p = %.3f (fails below 0.001)%n",
                what, support, draws, expectedBins.size(), pValue);
        assertThat(expectedBins.size()).as(what + ": bins").isGreaterThan(1);
        assertThat(pValue).as(what).isGreaterThan(0.001);
    }

    /** One setting of the filters on one row of logits, and how many draws to hold it to. */
    record Case(Logits l, String what, Filters f, int[] suppressed, int[] window, int draws) {
        String name() {
            return l.name() + ", " + what;
        }

        double[] expected() {
            return TokenSamplerTest.expected(l.x(), f, suppressed, window);
        }
    }

    /** Every filter's path: the flat distribution over a large vocabulary, and the peaked one, where each filter cuts at a token that weighs. */
    static List<Case> cases() {
        int[] none = new int[0];
        int[] top = flat.ranked();
        int[] best = peaked.ranked();
        assertThat(peaked.x()[best[best.length - 1]]).as("the demo row's lowest logit, penalised by multiplying").isNegative();
        List<Case> cases = new ArrayList<>(List.of(
                new Case(flat, "temperature 1, no filter", new Filters(1f, 0, 1f, 0f, 1f), none, none, 20_000),
                new Case(flat, "temperature 0.7, top-k 40", new Filters(0.7f, 40, 1f, 0f, 1f), none, none, 20_000),
                new Case(flat, "top-p 0.001 (within the top 256)", new Filters(1f, 0, 0.001f, 0f, 1f), none, none, 20_000),
                new Case(flat, "top-p 0.3 (value buckets)", new Filters(1f, 0, 0.3f, 0f, 1f), none, none, 20_000),
                new Case(flat, "top-p 0.95 (value buckets)", new Filters(1f, 0, 0.95f, 0f, 1f), none, none, 20_000),
                new Case(flat, "min-p 0.5", new Filters(1f, 0, 1f, 0.5f, 1f), none, none, 20_000),
                new Case(flat, "top-p 0.6, min-p 0.7", new Filters(1f, 0, 0.6f, 0.7f, 1f), none, none, 20_000),
                new Case(flat, "temperature 0.5, top-k 300, top-p 0.5, min-p 0.6", new Filters(0.5f, 300, 0.5f, 0.6f, 1f), none, none, 20_000),
                new Case(flat, "penalty 1.5 over a window with repeats, top 2 suppressed, top-k 20", new Filters(1f, 20, 1f, 0f, 1.5f),
                        new int[] {top[1], top[2]}, new int[] {top[0], top[3], top[0], 17, top[5], top[3]}, 20_000),
                new Case(flat, "penalty 1.5, top 2 suppressed, top-p 0.5 (value buckets)", new Filters(1f, 0, 0.5f, 0f, 1.5f),
                        new int[] {top[1], top[2]}, new int[] {top[0], top[3], 17}, 20_000),
                new Case(peaked, "temperature 1, no filter", new Filters(1f, 0, 1f, 0f, 1f), none, none, 50_000),
                new Case(peaked, "temperature 2, top-k 5", new Filters(2f, 5, 1f, 0f, 1f), none, none, 50_000),
                new Case(peaked, "penalty 3 on the top 2, third suppressed, top-k 8, top-p 0.95", new Filters(1f, 8, 0.95f, 0f, 3f),
                        new int[] {best[2]}, new int[] {best[0], best[1], best[0]}, 50_000),
                new Case(peaked, "penalty 1.3 on the second best, three times in the window (penalised once), and on a negative logit",
                        new Filters(1f, 0, 1f, 0f, 1.3f), none, new int[] {best[1], best[1], best[1], best[best.length - 1]}, 50_000),
                new Case(peaked, "temperature 1.5, top-k 8, min-p 0.01 (the sorted path)", new Filters(1.5f, 8, 1f, 0.01f, 1f), none, none,
                        50_000)));
        for (float topP : new float[] {0.5f, 0.9f, 0.99f}) {
            cases.add(new Case(peaked, "temperature 1.5, top-p " + topP, new Filters(1.5f, 0, topP, 0f, 1f), none, none, 50_000));
        }
        for (float minP : new float[] {0.001f, 0.01f, 0.1f}) {
            cases.add(new Case(peaked, "temperature 1.5, min-p " + minP, new Filters(1.5f, 0, 1f, minP, 1f), none, none, 50_000));
        }
        return cases;
    }

    @Test
    void eachFilterKeepsExactlyTheTokensAndProbabilitiesLlamaCppsChainDefines() {
        for (Case c : cases()) {
            double[] p = c.expected();
            TokenSampler.Distribution d;
            try (TokenSampler s = new TokenSampler(c.l().ctx(), c.f(), c.suppressed(), 1, c.window().length)) {
                d = s.distribution(c.l().row(), c.window());
            }
            double[] got = new double[p.length];
            for (int i = 0; i < d.ids().length; i++) {
                assertThat(got[d.ids()[i]]).as("%s: token %d listed twice", c.name(), d.ids()[i]).isZero();
                got[d.ids()[i]] = d.probs()[i];
            }
            double worst = 0;
            int support = 0;
            for (int t = 0; t < p.length; t++) {
                assertThat(got[t] > 0).as("%s: token %d in the support (expected p %.3g, got %.3g)", c.name(), t, p[t], got[t])
                        .isEqualTo(p[t] > 0);
                worst = Math.max(worst, Math.abs(got[t] - p[t]));
                support += p[t] > 0 ? 1 : 0;
            }
            System.out.printf("token sampler distribution, %s: the same %d of %d tokens kept, max |p - expected| = %.2g (tolerance 1e-6)%n",
                    c.name(), support, p.length, worst);
            assertThat(worst).as(c.name()).isLessThan(1e-6);
        }
    }

    @Test
    void drawsFollowThatDistribution() {
        for (Case c : cases()) {
            assertFits("token sampler draws, " + c.name(), c.expected(), drawCounts(c.l(), c.f(), c.suppressed(), c.window(), c.draws(), 42),
                    c.draws());
        }
    }

    @Test
    void temperatureZeroIsTheArgmaxAfterSuppressionAndPenalty() {
        int[] top = peaked.ranked();
        int[] none = new int[0];
        assertThat(drawCounts(peaked, new Filters(0f, 0, 1f, 0f, 1f), none, none, 10, 1)[top[0]]).isEqualTo(10);
        // top[0] suppressed, top[1] penalised: top[2] is the argmax when the penalty is large enough
        Filters f = new Filters(0f, 0, 1f, 0f, 50f);
        double[] p = expected(peaked.x(), f, new int[] {top[0]}, new int[] {top[1]});
        assertThat(p[top[2]]).as("the reference's argmax").isEqualTo(1);
        assertThat(drawCounts(peaked, f, new int[] {top[0]}, new int[] {top[1]}, 10, 1)[top[2]]).isEqualTo(10);
    }

    @Test
    void theSameSeedsGiveTheSameDrawsAndOtherSeedsOtherOnes() {
        Filters plain = new Filters(1f, 0, 1f, 0f, 1f);
        int m = 2000;
        assertThat(drawCounts(flat, plain, new int[0], new int[0], m, 7)).containsExactly(drawCounts(flat, plain, new int[0], new int[0], m, 7));
        assertThat(drawCounts(flat, plain, new int[0], new int[0], m, 8)).isNotEqualTo(drawCounts(flat, plain, new int[0], new int[0], m, 7));
    }

    @Test
    void llamaCppsOwnChainDrawsFromTheSameDistribution() {
        // llama.cpp's chain sampling the same row, with the same filters, against the distribution the
        // native sampler is held to above.
        record ChainCase(Logits l, Filters f) {}
        for (ChainCase c : List.of(new ChainCase(flat, new Filters(0.7f, 40, 1f, 0f, 1f)),
                new ChainCase(flat, new Filters(0.5f, 300, 0.5f, 0.6f, 1f)),
                new ChainCase(peaked, new Filters(1.5f, 0, 0.9f, 0.01f, 1f)))) {
            Logits l = c.l();
            long[] counts = new long[l.nVocab()];
            int draws = 4000;
            try (SamplerChain chain = SamplerChain.builder().topK(c.f().topK()).topP(c.f().topP()).minP(c.f().minP())
                    .temperature(c.f().temperature()).dist(12345, l.nVocab())) {
                for (int i = 0; i < draws; i++) {
                    counts[chain.sample(l.ctx(), l.row())]++;
                }
            }
            assertFits("llama.cpp chain, " + l.name() + ", " + c.f(), expected(l.x(), c.f(), new int[0], new int[0]), counts, draws);
        }
    }

    @Test
    void badInputIsRefusedNamingTheDraw() {
        Filters plain = new Filters(1f, 0, 1f, 0f, 1f);
        int row = peaked.row();
        try (TokenSampler s = new TokenSampler(peaked.ctx(), plain, new int[0], 2, 2)) {
            int[] out = new int[2];
            assertThatThrownBy(() -> s.sample(1, new int[] {row + 1}, new long[] {5}, new int[] {0, 0}, new int[0], out))
                    .hasMessageContaining("no logits for output row " + (row + 1));
            assertThatThrownBy(() -> s.sample(3, new int[3], new long[3], new int[4], new int[0], new int[3]))
                    .hasMessageContaining("capacity of 2");
        }
        try (TokenSampler s = new TokenSampler(peaked.ctx(), new Filters(1f, 0, 1f, 0f, 1.2f), new int[0], 1, 1)) {
            assertThatThrownBy(() -> s.sample(1, new int[] {row}, new long[] {5}, new int[] {0, 1}, new int[] {peaked.nVocab()}, new int[1]))
                    .hasMessageContaining("outside the vocabulary");
        }
        try (TokenSampler s = new TokenSampler(peaked.ctx(), plain, IntStream.range(0, peaked.nVocab()).toArray(), 1, 0)) {
            assertThatThrownBy(() -> s.sample(1, new int[] {row}, new long[] {5}, new int[] {0, 0}, new int[0], new int[1]))
                    .hasMessageContaining("every token suppressed");
        }
    }
}
