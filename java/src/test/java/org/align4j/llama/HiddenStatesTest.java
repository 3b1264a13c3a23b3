package org.align4j.llama;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hidden states captured at output rows (cb_eval on result_norm) against llama.cpp's own embeddings API
 * (embeddings mode, pooling NONE) on each sequence decoded alone.
 */
class HiddenStatesTest {
    static final double TOLERANCE = 1e-4;
    static final int[][] SEQS = {{1, 50, 60, 70, 80, 90}, {1, 50, 60, 71, 81}, {1, 50, 60, 72}, {1, 9, 8, 7, 6, 5, 4, 3}};
    static final int SHARED = 3; // the first three sequences share their first SHARED tokens
    @TempDir Path tmp;

    @Test
    void capturedRowsOfABatchWithASharedPrefixEqualTheEmbeddingsOfEachSequenceAlone() {
        Path file = TestModels.tiny(tmp, GgmlType.F32, 7);
        try (Model m = Model.load(file, ModelOptions.inference(0))) {
            int nEmbd = m.nEmbd();
            float[][] captured = new float[SEQS.length][nEmbd];
            // ubatches of 4 tokens, so the captured rows arrive over several graph computations
            ContextOptions batched = new ContextOptions(64, 32, 4, SEQS.length, 2, true).withHiddenStates(ContextOptions.HiddenStates.OUTPUT_ROWS);
            try (Context ctx = Context.create(m, batched); Batch b = new Batch(32, SEQS.length)) {
                int[] rows = new int[SEQS.length];
                for (int t = 0; t < SHARED; t++) {
                    b.add(SEQS[0][t], t, new int[] {0, 1, 2}, false);
                }
                for (int s = 0; s < SEQS.length; s++) {
                    for (int t = s < 3 ? SHARED : 0; t < SEQS[s].length; t++) {
                        boolean last = t == SEQS[s].length - 1;
                        if (last) {
                            rows[s] = b.size();
                        }
                        b.add(SEQS[s][t], t, s, last);
                    }
                }
                ctx.decode(b);
                for (int s = 0; s < SEQS.length; s++) {
                    ctx.hiddenState(rows[s], captured[s]);
                }
                assertThatThrownBy(() -> ctx.hiddenState(0, new float[nEmbd])).hasMessageContaining("asked for no output");
            }
            double maxDiff = 0;
            double spread = 0;
            for (int s = 0; s < SEQS.length; s++) {
                float[] alone = new float[nEmbd];
                ContextOptions one = new ContextOptions(64, 32, 32, 1, 2, true).withHiddenStates(ContextOptions.HiddenStates.EVERY_TOKEN);
                try (Context ctx = Context.create(m, one); Batch b = new Batch(32, 1)) {
                    for (int t = 0; t < SEQS[s].length; t++) {
                        b.add(SEQS[s][t], t, 0, true);
                    }
                    ctx.decode(b);
                    ctx.hiddenState(SEQS[s].length - 1, alone);
                }
                for (int i = 0; i < nEmbd; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(captured[s][i] - alone[i]));
                    spread = Math.max(spread, Math.abs(alone[i] - captured[0][i]));
                }
            }
            System.out.printf("captured vs embeddings API alone: max |diff| %.3g over %d sequences x %d (tolerance %.0e; spread between sequences %.3g)%n",
                    maxDiff, SEQS.length, nEmbd, TOLERANCE, spread);
            assertThat(maxDiff).isLessThan(TOLERANCE);
            assertThat(spread).isGreaterThan(100 * TOLERANCE);
        }
    }
}
