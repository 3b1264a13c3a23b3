package org.align4j.engine;

import org.align4j.TestModels;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrefixSharingScorerTest {
    static final double TOLERANCE = 1e-3;
    @TempDir static Path tmp;
    static Model model;
    static List<ScoreRequest> requests;

    @BeforeAll
    static void setUp() {
        model = Model.load(TestModels.tiny(tmp, GgmlType.F32, 11), ModelOptions.DEFAULT);
        requests = mixedPairs(64, new Random(5), model.vocab().nTokens());
    }

    @AfterAll
    static void tearDown() {
        model.close();
    }

    /** Pairs with prompts of 1..40 tokens and completions of 1..24 tokens; a few share a prompt, one is empty. */
    static List<ScoreRequest> mixedPairs(int n, Random rnd, int vocab) {
        List<ScoreRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = i % 9 == 1 ? out.get(i - 1).prompt() : randomTokens(rnd, 1 + rnd.nextInt(40), vocab);
            int[] chosen = randomTokens(rnd, 1 + rnd.nextInt(24), vocab);
            int[] rejected = i == 7 ? new int[0] : randomTokens(rnd, 1 + rnd.nextInt(24), vocab);
            out.add(new ScoreRequest(prompt, new int[][] {chosen, rejected}));
        }
        return out;
    }

    static int[] randomTokens(Random rnd, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rnd.nextInt(vocab - 3);
        }
        return t;
    }

    static List<ScoreResult> scoreAll(List<ScoreRequest> rs, ScorerOptions o) {
        List<ScoreResult> out = new ArrayList<>();
        try (PrefixSharingScorer s = new PrefixSharingScorer(model, o)) {
            for (ScoreRequest r : rs) {
                s.submit(r, out::add);
            }
            s.finish();
        }
        assertThat(out).hasSameSizeAs(rs);
        return out;
    }

    /** Plain teacher forcing, one sequence, logits at every position, log-softmax in double in Java. */
    static float[] directLogProbs(int[] prompt, int[] completion) {
        int n = prompt.length + completion.length;
        float[] out = new float[completion.length];
        try (Context c = Context.create(model, ContextOptions.single(Math.max(n, 8)));
             Batch b = new Batch(n, 1)) {
            for (int i = 0; i < n; i++) {
                b.add(i < prompt.length ? prompt[i] : completion[i - prompt.length], i, 0, true);
            }
            c.decode(b);
            for (int t = 0; t < completion.length; t++) {
                out[t] = (float) ReferenceForward.logSoftmax(c.logits(prompt.length - 1 + t).toArray(JAVA_FLOAT))[completion[t]];
            }
        }
        return out;
    }

    static double maxDiff(List<ScoreResult> a, List<ScoreResult> b) {
        double d = 0;
        for (int i = 0; i < a.size(); i++) {
            float[][] x = a.get(i).tokenLogps();
            float[][] y = b.get(i).tokenLogps();
            assertThat(x.length).isEqualTo(y.length);
            for (int k = 0; k < x.length; k++) {
                assertThat(x[k]).hasSameSizeAs(y[k]);
                for (int t = 0; t < x[k].length; t++) {
                    d = Math.max(d, Math.abs(x[k][t] - y[k][t]));
                }
            }
        }
        return d;
    }

    @Test
    void batchedSharedUnsharedAndAloneAgree() {
        List<ScoreResult> batched = scoreAll(requests, new ScorerOptions(128, 512, 16, 2, true));
        List<ScoreResult> unshared = scoreAll(requests, new ScorerOptions(128, 512, 16, 2, false));
        // 7-token batches make requests straddle decodes; one sequence at a time splits every pair in two groups.
        List<ScoreResult> straddling = scoreAll(requests, new ScorerOptions(128, 7, 1, 2, true));
        List<ScoreResult> alone = new ArrayList<>();
        for (ScoreRequest r : requests) {
            alone.addAll(scoreAll(List.of(r), new ScorerOptions(128, 512, 2, 2, true)));
        }
        double dUnshared = maxDiff(batched, unshared);
        double dStraddling = maxDiff(batched, straddling);
        double dAlone = maxDiff(batched, alone);
        System.out.printf("64 mixed pairs: batched vs unshared %.3g, vs straddling %.3g, vs alone %.3g (tolerance %.0e)%n",
                dUnshared, dStraddling, dAlone, TOLERANCE);
        assertThat(dUnshared).isLessThan(TOLERANCE);
        assertThat(dStraddling).isLessThan(TOLERANCE);
        assertThat(dAlone).isLessThan(TOLERANCE);
        assertThat(batched.get(7).tokenLogps()[1]).isEmpty();
    }

    @Test
    void aSharedPromptRowScoringManyCompletionsFitsAFullBatch() {
        // An 8-token batch filled by an 8-token prompt whose last row scores the first token of 8 completions:
        // 15 targets for one decode (the target arrays were sized to the batch, and overflowed).
        Random rnd = new Random(11);
        int vocab = model.vocab().nTokens();
        int[][] completions = new int[8][];
        for (int j = 0; j < completions.length; j++) {
            completions[j] = randomTokens(rnd, 1 + j % 3, vocab);
        }
        List<ScoreRequest> one = List.of(new ScoreRequest(randomTokens(rnd, 8, vocab), completions));
        double d = maxDiff(scoreAll(one, new ScorerOptions(64, 8, 8, 2, true)), scoreAll(one, new ScorerOptions(64, 512, 8, 2, true)));
        System.out.printf("8 completions on a full 8-token batch vs a roomy one: max |diff| %.3g (tolerance %.0e)%n", d, TOLERANCE);
        assertThat(d).isLessThan(TOLERANCE);
    }

    @Test
    void matchesPlainTeacherForcingOfEachSequence() {
        List<ScoreRequest> some = requests.subList(0, 12);
        List<ScoreResult> batched = scoreAll(some, new ScorerOptions(128, 256, 8, 2, true));
        double d = 0;
        for (int i = 0; i < some.size(); i++) {
            for (int k = 0; k < 2; k++) {
                float[] direct = directLogProbs(some.get(i).prompt(), some.get(i).completions()[k]);
                float[] got = batched.get(i).tokenLogps()[k];
                for (int t = 0; t < direct.length; t++) {
                    d = Math.max(d, Math.abs(direct[t] - got[t]));
                }
            }
        }
        System.out.printf("scorer vs plain teacher forcing: max |diff| = %.3g%n", d);
        assertThat(d).isLessThan(TOLERANCE);
    }

    @Test
    void callbacksRunInSubmissionOrder() {
        List<Integer> order = new ArrayList<>();
        try (PrefixSharingScorer s = new PrefixSharingScorer(model, new ScorerOptions(128, 16, 3, 2, true))) {
            for (int i = 0; i < 20; i++) {
                int id = i;
                s.submit(requests.get(i), r -> order.add(id));
            }
            s.finish();
        }
        assertThat(order).containsExactlyElementsOf(java.util.stream.IntStream.range(0, 20).boxed().toList());
    }

    @Test
    void aSequenceLongerThanTheContextIsRefusedUpFrontSayingWhatToChange() {
        try (PrefixSharingScorer s = new PrefixSharingScorer(model, new ScorerOptions(16, 64, 2, 2, true))) {
            ScoreRequest tooLong = new ScoreRequest(new int[10], new int[][] {new int[7], new int[2]});
            assertThat(s.checkFits(tooLong)).contains("17 tokens", "16", "--ctx");
            assertThatThrownBy(() -> s.submit(tooLong, r -> {})).hasMessageContaining("--ctx");
        }
    }
}
