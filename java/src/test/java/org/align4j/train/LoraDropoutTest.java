package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.align4j.gguf.LlamaTensor;
import org.junit.jupiter.api.Test;

/**
 * {@link LoraDropout}'s masks: the keep rate is 1 - p, masks of different matrices, steps and
 * micro-batches are independent (they agree on about p^2 + (1-p)^2 of the elements, as independent
 * Bernoulli masks do), the same on any number of threads, and applied as PEFT's dropout applies them
 * (kept elements times 1 / (1 - p), the rest 0). Tolerances are 5 standard deviations of the binomial
 * count over the elements of a mask.
 */
class LoraDropoutTest {
    static final int ROWS = 128;
    static final int COLS = 512;
    static final float P = 0.3f;
    static final long SEED = 42;

    static boolean[] mask(LoraDropout d) {
        boolean[] m = new boolean[ROWS * COLS];
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                m[r * COLS + c] = d.keeps(r, c);
            }
        }
        return m;
    }

    static double keepRate(boolean[] m) {
        int kept = 0;
        for (boolean k : m) {
            kept += k ? 1 : 0;
        }
        return (double) kept / m.length;
    }

    static double agreement(boolean[] a, boolean[] b) {
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            same += a[i] == b[i] ? 1 : 0;
        }
        return (double) same / a.length;
    }

    @Test
    void masksKeepOneMinusPAndAreIndependentAcrossMatricesStepsAndMicroBatches() {
        long pass = LoraDropout.passKey(SEED, 5, 0);
        boolean[] q = mask(LoraDropout.of(P, pass, 0, LlamaTensor.ATTN_Q));
        boolean[] k = mask(LoraDropout.of(P, pass, 0, LlamaTensor.ATTN_K));
        boolean[] nextLayer = mask(LoraDropout.of(P, pass, 1, LlamaTensor.ATTN_Q));
        boolean[] nextStep = mask(LoraDropout.of(P, LoraDropout.passKey(SEED, 6, 0), 0, LlamaTensor.ATTN_Q));
        boolean[] nextMicroBatch = mask(LoraDropout.of(P, LoraDropout.passKey(SEED, 5, 1), 0, LlamaTensor.ATTN_Q));
        boolean[] otherSeed = mask(LoraDropout.of(P, LoraDropout.passKey(SEED + 1, 5, 0), 0, LlamaTensor.ATTN_Q));
        int n = ROWS * COLS;
        double keepTol = 5 * Math.sqrt(P * (1 - P) / n);
        double independent = P * P + (1 - P) * (1 - P);
        double agreeTol = 5 * Math.sqrt(independent * (1 - independent) / n);
        double rate = keepRate(q);
        double[] agreements = {agreement(q, k), agreement(q, nextLayer), agreement(q, nextStep), agreement(q, nextMicroBatch),
            agreement(q, otherSeed)};
        System.out.printf("LoRA dropout p %.1f over %d elements: keep rate %.4f (1 - p = %.4f, tolerance %.4f); q's mask agrees with"
                + " k's %.4f, the next block's %.4f, the next step's %.4f, the next micro-batch's %.4f, another seed's %.4f"
                + " (independent masks: %.4f, tolerance %.4f)%n", P, n, rate, 1 - P, keepTol, agreements[0], agreements[1],
                agreements[2], agreements[3], agreements[4], independent, agreeTol);
        assertThat(rate).isCloseTo(1 - P, within(keepTol));
        for (boolean[] other : new boolean[][] {k, nextLayer, nextStep, nextMicroBatch, otherSeed}) {
            assertThat(keepRate(other)).isCloseTo(1 - P, within(keepTol));
        }
        for (double a : agreements) {
            assertThat(a).isCloseTo(independent, within(agreeTol));
        }
        assertThat(mask(LoraDropout.of(P, LoraDropout.passKey(SEED, 5, 0), 0, LlamaTensor.ATTN_Q)))
                .as("the same step, micro-batch and matrix: the same mask").isEqualTo(q);
    }

    @Test
    void applyScalesKeptElementsAndIsTheSameOnOneAndTwoThreads() {
        LoraDropout d = LoraDropout.of(P, LoraDropout.passKey(SEED, 0, 0), 3, LlamaTensor.FFN_UP);
        float[] x = LoraMatrixTest.gaussian(new SplittableRandom(1), ROWS * COLS);
        float[] one;
        float[] two;
        try (Parallel p1 = Parallel.ofThreads(1); Parallel p2 = Parallel.ofThreads(2)) {
            one = d.apply(p1, ROWS, COLS, x);
            two = d.apply(p2, ROWS, COLS, x);
        }
        float scale = 1 / (1 - P);
        int wrong = 0;
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                int i = r * COLS + c;
                wrong += one[i] == (d.keeps(r, c) ? x[i] * scale : 0) ? 0 : 1;
            }
        }
        System.out.printf("LoRA dropout applied to (%d, %d): %d elements differ from x * mask / (1 - p); 1 and 2 threads %s%n",
                ROWS, COLS, wrong, Arrays.equals(one, two) ? "identical" : "different");
        assertThat(wrong).isZero();
        assertThat(two).isEqualTo(one);
        assertThat(LoraDropout.NONE.apply(Parallel.common(), ROWS, COLS, x)).as("p = 0: the input itself").isSameAs(x);
    }

    @Test
    void pMustBeInZeroToOne() {
        for (float p : new float[] {1f, -0.1f, Float.NaN}) {
            assertThatThrownBy(() -> new LoraDropout(p, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("LoRA dropout must be at least 0 and below 1, not " + p);
            assertThatThrownBy(() -> LoraConfig.ofRank(4).withDropout(p)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
