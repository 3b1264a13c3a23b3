package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vectorised matmul against a scalar double loop, on shapes that hit every edge of its blocking
 * (rows not a multiple of 4, columns not a multiple of the vector, k past one sweep), for C += A . B
 * and C += A^T . B. Tolerance: f32 accumulation of K products of unit normals rounds K partial sums
 * of size about sqrt(K), each by up to 6e-8 of it: a random walk of about 6e-8 * K, below 1e-6 * K.
 */
class GemmTest {
    static final int[][] SHAPES = { // I, J, K
        {1, 1, 1}, {3, 5, 7}, {4, 2 * Gemm.L, 16}, {5, 2 * Gemm.L + 1, 300}, {37, 70, 513}, {64, 300, 64}, {130, 17, 1000},
    };

    @Test
    void productsMatchAScalarLoopAndDoNotDependOnThreads() {
        SplittableRandom rng = new SplittableRandom(1);
        double worst = 0;
        try (Parallel two = Parallel.ofThreads(2); Parallel one = Parallel.ofThreads(1)) {
            for (int[] s : SHAPES) {
                int i = s[0];
                int j = s[1];
                int k = s[2];
                float[] a = random(rng, i * k); // (I, K), and read as (K, I) for A^T
                float[] b = random(rng, k * j);
                float[] c0 = random(rng, i * j);

                float[] ab = c0.clone();
                Gemm.ab(two, i, j, k, a, b, ab);
                float[] abOne = c0.clone();
                Gemm.ab(one, i, j, k, a, b, abOne);
                assertThat(abOne).as("A.B on 1 thread vs 2, %dx%dx%d", i, j, k).isEqualTo(ab);
                worst = Math.max(worst, check(ab, c0, a, k, 1, b, i, j, k));

                float[] atb = c0.clone();
                Gemm.atb(two, i, j, k, a, b, atb);
                float[] atbOne = c0.clone();
                Gemm.atb(one, i, j, k, a, b, atbOne);
                assertThat(atbOne).as("A^T.B on 1 thread vs 2, %dx%dx%d", i, j, k).isEqualTo(atb);
                worst = Math.max(worst, check(atb, c0, a, 1, i, b, i, j, k));
            }
        }
        System.out.printf("Gemm vs scalar double loop: worst |diff| / K = %.2e (tolerance 1e-6)%n", worst);
    }

    // max |got - expected| / K, asserting it is below 1e-6; A's element (i, k) at a[i*aRs + k*aCs].
    private static double check(float[] got, float[] c0, float[] a, int aRs, int aCs, float[] b, int iN, int jN, int kN) {
        double worst = 0;
        for (int i = 0; i < iN; i++) {
            for (int j = 0; j < jN; j++) {
                double sum = c0[i * jN + j];
                for (int k = 0; k < kN; k++) {
                    sum += (double) a[i * aRs + k * aCs] * b[k * jN + j];
                }
                worst = Math.max(worst, Math.abs(got[i * jN + j] - sum) / kN);
            }
        }
        assertThat(worst).as("%dx%dx%d", iN, jN, kN).isLessThan(1e-6);
        return worst;
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
