package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.align4j.gguf.LlamaTensor;
import org.junit.jupiter.api.Test;

/**
 * {@link LoraMatrix} against the dense matrix W + s B A it stands for ({@link F32Matrix} on the merged
 * array, computed by a scalar loop): forward, backward and rows within 1e-5 (f32 sums of a few dozen
 * terms of size ~1), and with dropout against a float64 loop; and PEFT's initialisation bound for A.
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

    /**
     * With dropout p = 0.3 in a training pass's view, forward, backward and the A and B gradients against
     * a float64 loop of PEFT's formulas with the view's mask: y = W x + s B A drop(x), dx = W^T dy + drop(s A^T B^T dy),
     * dA = s (dY B)^T drop(X), dB = s dY^T (drop(X) A^T); within 1e-5 of the largest value. The matrix
     * itself (a scoring pass) has no dropout.
     */
    @Test
    void dropoutProductsAndGradientsEqualAFloat64Loop() {
        int out = 24;
        int in = 40;
        int r = 3;
        int rows = 7;
        float s = 1.5f;
        float p = 0.3f;
        SplittableRandom rng = new SplittableRandom(5);
        float[] w = gaussian(rng, out * in);
        float[] a = gaussian(rng, r * in);
        float[] b = gaussian(rng, out * r);
        LoraMatrix plain = new LoraMatrix(new F32Matrix(w, out, in), a, b, r, s).withDropout(p);
        LoraMatrix lora = plain.masked(LoraDropout.passKey(3, 2, 1), 1, LlamaTensor.ATTN_V);
        LoraDropout mask = LoraDropout.of(p, LoraDropout.passKey(3, 2, 1), 1, LlamaTensor.ATTN_V);
        float[] x = gaussian(rng, rows * in);
        float[] dy = gaussian(rng, rows * out);

        double[] xd = new double[rows * in]; // drop(X)
        int kept = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < in; j++) {
                boolean keep = mask.keeps(i, j);
                xd[i * in + j] = keep ? x[i * in + j] / (1.0 - p) : 0;
                kept += keep ? 1 : 0;
            }
        }
        double[] y = new double[rows * out];
        double[] dx = new double[rows * in];
        double[] da = new double[r * in];
        double[] db = new double[out * r];
        for (int i = 0; i < rows; i++) {
            double[] h = new double[r]; // s A drop(x)
            double[] g = new double[r]; // s B^T dy
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < in; j++) {
                    h[k] += s * (double) a[k * in + j] * xd[i * in + j];
                }
                for (int o = 0; o < out; o++) {
                    g[k] += s * (double) b[o * r + k] * dy[i * out + o];
                }
            }
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < in; j++) {
                    y[i * out + o] += (double) w[o * in + j] * x[i * in + j];
                }
                for (int k = 0; k < r; k++) {
                    y[i * out + o] += (double) b[o * r + k] * h[k];
                    db[o * r + k] += dy[i * out + o] * h[k];
                }
            }
            for (int j = 0; j < in; j++) {
                double low = 0;
                for (int k = 0; k < r; k++) {
                    low += g[k] * a[k * in + j];
                    da[k * in + j] += g[k] * xd[i * in + j];
                }
                dx[i * in + j] = (mask.keeps(i, j) ? low / (1.0 - p) : 0);
                for (int o = 0; o < out; o++) {
                    dx[i * in + j] += (double) w[o * in + j] * dy[i * out + o];
                }
            }
        }

        float[] y1 = new float[rows * out];
        float[] dx1 = new float[rows * in];
        lora.forward(Parallel.common(), rows, x, y1);
        lora.backward(Parallel.common(), rows, dy, dx1);
        LoraMatrix grads = new LoraMatrix(plain.base(), new float[a.length], new float[b.length], r, s);
        lora.addGradients(Parallel.common(), rows, x, dy, grads);
        float[] y0 = new float[rows * out];
        plain.forward(Parallel.common(), rows, x, y0);
        double fwd = maxDiff(y1, y);
        double bwd = maxDiff(dx1, dx);
        double gA = maxDiff(grads.a(), da);
        double gB = maxDiff(grads.b(), db);
        double scoring = maxDiff(y0, y);
        System.out.printf("LoraMatrix with dropout %.1f (%d of %d inputs kept) vs a float64 loop: forward %.2e, backward %.2e, dA %.2e,"
                + " dB %.2e (tolerance 1e-5 relative to the largest value); the unmasked matrix differs by %.2e%n",
                p, kept, rows * in, fwd, bwd, gA, gB, scoring);
        assertThat(fwd).isLessThanOrEqualTo(1e-5 * max(y));
        assertThat(bwd).isLessThanOrEqualTo(1e-5 * max(dx));
        assertThat(gA).isLessThanOrEqualTo(1e-5 * max(da));
        assertThat(gB).isLessThanOrEqualTo(1e-5 * max(db));
        assertThat(scoring).as("a scoring pass has no dropout").isGreaterThan(1e-2 * max(y));
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

    static double maxDiff(float[] a, double[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    static double max(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static double max(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
