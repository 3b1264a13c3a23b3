package org.align4j.engine;

import org.align4j.TestModels;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.TopLogProbs;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native log-softmax + gather against a plain double-precision loop over the same logits. */
class LogProbKernelTest {
    @TempDir Path tmp;

    @Test
    void matchesADoubleLogSoftmaxAndIsNormalisedAtEveryPosition() {
        try (Model m = Model.load(TestModels.tiny(tmp, GgmlType.F32, 3), ModelOptions.DEFAULT);
             Context c = Context.create(m, ContextOptions.single(64));
             Batch b = new Batch(64, 1)) {
            int[] tokens = m.vocab().tokenize("Normalisation holds at every position of this sentence.", true, false);
            for (int i = 0; i < tokens.length; i++) {
                b.add(tokens[i], i, 0, true);
            }
            c.decode(b);
            int v = c.nVocab();
            int[] all = IntStream.range(0, v).toArray();
            float[] got = new float[v];
            double maxDiff = 0;
            double maxNorm = 0;
            for (int row = 0; row < tokens.length; row++) {
                float[] logits = c.logits(row).toArray(JAVA_FLOAT);
                double[] expected = ReferenceForward.logSoftmax(logits);
                int[] rows = new int[v];
                Arrays.fill(rows, row);
                c.tokenLogProbs(rows, all, v, got);
                double norm = 0;
                for (int t = 0; t < v; t++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got[t] - expected[t]));
                    norm += Math.exp(got[t]);
                }
                maxNorm = Math.max(maxNorm, Math.abs(Math.log(norm)));

                TopLogProbs top = c.topLogProbs(row, 5);
                int[] expectedTop = IntStream.range(0, v).boxed()
                        .sorted(Comparator.comparingDouble((Integer t) -> -logits[t])).limit(5).mapToInt(Integer::intValue).toArray();
                assertThat(top.ids()).containsExactly(expectedTop);
                for (int j = 0; j < 5; j++) {
                    assertThat((double) top.logps()[j]).isCloseTo(expected[expectedTop[j]], org.assertj.core.data.Offset.offset(1e-5));
                }
            }
            System.out.printf("log-prob kernel vs double reference over %d positions x %d tokens: max |diff| = %.3g, max |logsumexp| = %.3g%n",
                    tokens.length, v, maxDiff, maxNorm);
            assertThat(maxDiff).isLessThan(1e-5);
            assertThat(maxNorm).isLessThan(1e-5);
        }
    }
}
