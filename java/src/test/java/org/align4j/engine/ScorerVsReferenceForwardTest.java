package org.align4j.engine;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.TopLogProbs;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine's per-token log-probs against the independent pure-Java forward pass, on a tiny F32 model. */
class ScorerVsReferenceForwardTest {
    @TempDir Path tmp;

    @Test
    void everyPerTokenLogProbAgreesWithTheJavaForwardWithin1e3() {
        Path file = TestModels.tiny(tmp, GgmlType.F32, 23);
        ReferenceForward reference = new ReferenceForward(LlamaWeights.load(file));
        List<ScoreRequest> requests = PrefixSharingScorerTest.mixedPairs(10, new Random(9), 32000);
        List<ScoreResult> results = new ArrayList<>();
        try (Model m = Model.load(file, ModelOptions.DEFAULT);
             PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(128, 64, 4, 2, true))) {
            for (ScoreRequest r : requests) {
                s.submit(r, results::add);
            }
            s.finish();
        }
        double maxDiff = 0;
        int compared = 0;
        for (int i = 0; i < requests.size(); i++) {
            ScoreRequest r = requests.get(i);
            for (int k = 0; k < r.completions().length; k++) {
                int[] c = r.completions()[k];
                if (c.length == 0) {
                    continue;
                }
                int[] seq = new int[r.prompt().length + c.length];
                System.arraycopy(r.prompt(), 0, seq, 0, r.prompt().length);
                System.arraycopy(c, 0, seq, r.prompt().length, c.length);
                double[] expected = reference.logProbs(seq, r.prompt().length);
                float[] got = results.get(i).tokenLogps()[k];
                assertThat(got).hasSameSizeAs(expected);
                for (int t = 0; t < got.length; t++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got[t] - expected[t]));
                    compared++;
                }
            }
        }
        System.out.printf("scorer vs Java reference forward: %d per-token log-probs, max |diff| = %.3g (tolerance 1e-3)%n", compared, maxDiff);
        assertThat(compared).isGreaterThan(100);
        assertThat(maxDiff).isLessThan(1e-3);
    }

    @Test
    void topKAlternativesAreTheJavaForwardsMostProbableTokens() {
        Path file = TestModels.tiny(tmp, GgmlType.F32, 29);
        ReferenceForward reference = new ReferenceForward(LlamaWeights.load(file));
        int k = 5;
        List<ScoreRequest> requests = PrefixSharingScorerTest.mixedPairs(4, new Random(11), 32000);
        List<ScoreResult> results = new ArrayList<>();
        try (Model m = Model.load(file, ModelOptions.DEFAULT);
             PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(128, 32, 2, 2, true, k, false))) {
            for (ScoreRequest r : requests) {
                s.submit(r, results::add);
            }
            s.finish();
        }
        double maxDiff = 0;
        int positions = 0;
        for (int i = 0; i < requests.size(); i++) {
            ScoreRequest r = requests.get(i);
            for (int c = 0; c < r.completions().length; c++) {
                int[] seq = concat(r.prompt(), r.completions()[c]);
                float[][] logits = reference.logits(seq);
                TopLogProbs[] top = results.get(i).topLogps()[c];
                assertThat(top).hasSize(r.completions()[c].length);
                for (int t = 0; t < top.length; t++) {
                    double[] expected = ReferenceForward.logSoftmax(logits[r.prompt().length - 1 + t]);
                    assertThat(top[t].ids()).hasSize(k);
                    for (int j = 0; j < k; j++) {
                        int id = top[t].ids()[j];
                        maxDiff = Math.max(maxDiff, Math.abs(top[t].logps()[j] - expected[id]));
                        if (j > 0) {
                            assertThat(top[t].logps()[j]).isLessThanOrEqualTo(top[t].logps()[j - 1]);
                        }
                    }
                    // Every token left out is no more probable than the last kept, up to the tolerance.
                    double kth = expected[top[t].ids()[k - 1]];
                    double bestLeftOut = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < expected.length; v++) {
                        if (!contains(top[t].ids(), v)) {
                            bestLeftOut = Math.max(bestLeftOut, expected[v]);
                        }
                    }
                    assertThat(bestLeftOut).isLessThanOrEqualTo(kth + 1e-3);
                    positions++;
                }
            }
        }
        System.out.printf("top-%d alternatives vs Java reference forward: %d positions, max |logp diff| = %.3g (tolerance 1e-3)%n",
                k, positions, maxDiff);
        assertThat(positions).isGreaterThan(20);
        assertThat(maxDiff).isLessThan(1e-3);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean contains(int[] ids, int v) {
        for (int id : ids) {
            if (id == v) {
                return true;
            }
        }
        return false;
    }
}
