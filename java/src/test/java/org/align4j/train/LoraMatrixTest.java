package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link LoraMatrix} against the dense matrix W + s B A it stands for ({@link F32Matrix} on the merged
 * array, computed by a scalar loop): forward, backward and rows within 1e-5 (f32 sums of a few dozen
 * terms of size ~1); and PEFT's initialisation bound for A.
 */
class LoraMatrixTest {
    static float[] gaussian(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    @Test
    void productsEqualTheMergedMatrix() {
        int out = 24;
        int in = 40;
        int r = 3;
        int rows = 5;
        float s = 2.5f;
        SplittableRandom rng = new SplittableRandom(1);
        float[] w = gaussian(rng, out * in);
        float[] a = gaussian(rng, r * in);
        float[] b = gaussian(rng, out * r);
        float[] merged = w.clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += (double) b[o * r + k] * a[k * in + i];
                }
                merged[o * in + i] += (float) (s * d);
            }
        }
        LoraMatrix lora = new LoraMatrix(new F32Matrix(w, out, in), a, b, r, s);
        F32Matrix dense = new F32Matrix(merged, out, in);
        float[] x = gaussian(rng, rows * in);
        float[] dy = gaussian(rng, rows * out);
        float[] y1 = new float[rows * out];
        float[] y2 = new float[rows * out];
        lora.forward(Parallel.common(), rows, x, y1);
        dense.forward(Parallel.common(), rows, x, y2);
        float[] dx1 = new float[rows * in];
        float[] dx2 = new float[rows * in];
        lora.backward(Parallel.common(), rows, dy, dx1);
        dense.backward(Parallel.common(), rows, dy, dx2);
        float[] r1 = new float[3 * in];
        float[] r2 = new float[3 * in];
        lora.rows(7, 3, r1, 0);
        dense.rows(7, 3, r2, 0);
        double fwd = maxDiff(y1, y2);
        double bwd = maxDiff(dx1, dx2);
        double rws = maxDiff(r1, r2);
        System.out.printf("LoraMatrix vs merged W + sBA: forward %.2e, backward %.2e, rows %.2e (tolerance 1e-5 relative to the largest value)%n",
                fwd, bwd, rws);
        assertThat(fwd).isLessThanOrEqualTo(1e-5 * max(y2));
        assertThat(bwd).isLessThanOrEqualTo(1e-5 * max(dx2));
        assertThat(rws).isLessThanOrEqualTo(1e-5 * max(r2));
    }

    @Test
    void aIsDrawnWithinPeftsKaimingBound() {
        float[] a = new float[8 * 400];
        LoraMatrix.initA(a, 400, new SplittableRandom(2));
        double bound = 1 / Math.sqrt(400);
        double maxAbs = max(a);
        double var = 0;
        for (float v : a) {
            var += v * v;
        }
        var /= a.length;
        assertThat(maxAbs).isLessThan(bound).isGreaterThan(0.95 * bound);
        // Uniform on (-b, b): variance b^2 / 3.
        assertThat(var).isCloseTo(bound * bound / 3, org.assertj.core.data.Percentage.withPercentage(5));
    }

    static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    static double max(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
