package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * AdamW against the first step worked by hand and against a plain double-precision AdamW on a small
 * least-squares problem; and its state through a checkpoint.
 */
class AdamWTest {
    @Test
    void firstStepIsLrTimesSignOfGradient() {
        // step 1: m/(1 - beta1) = g and v/(1 - beta2) = g^2, so the update is lr * g / (|g| + eps) ~ lr * sign(g)
        float[] theta = {1.0f, -0.5f, 2.0f, 0.25f};
        float[] before = theta.clone();
        float[] g = {3.0f, -1e-3f, 100f, -0.2f};
        double lr = 1e-3;
        AdamW opt = AdamW.withDefaults(List.of(new AdamW.Param("w", theta, g, true)), 0);
        opt.step(lr);
        double maxDiff = 0;
        for (int i = 0; i < theta.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs((theta[i] - (double) before[i]) - -lr * Math.signum(g[i])));
        }
        // the update is lr * |g| / (|g| + 1e-8), within 1e-8 of lr for |g| >= 1e-3; theta rounds to f32 (ulp(2)/2 = 1.2e-7)
        System.out.printf("AdamW first step vs -lr * sign(g): max abs diff %.2e%n", maxDiff);
        assertThat(maxDiff).isLessThanOrEqualTo(1.3e-7);
        assertThat(opt.steps()).isEqualTo(1);
    }

    @Test
    void firstStepDecaysThenStepsBySign() {
        float[] theta = {1.5f, -2.0f};
        float[] g = {0.7f, 0.7f};
        float[] frozen = {1.5f, -2.0f};
        double lr = 0.01;
        double wd = 0.1;
        AdamW.withDefaults(List.of(new AdamW.Param("w", theta, g, true), new AdamW.Param("norm", frozen, g.clone(), false)), wd)
                .step(lr);
        double[] expected = {1.5 * (1 - lr * wd) - lr, -2.0 * (1 - lr * wd) - lr, 1.5 - lr, -2.0 - lr};
        double[] actual = {theta[0], theta[1], frozen[0], frozen[1]};
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
        }
        System.out.printf("AdamW first step with decay 0.1 (decayed and exempt): max abs diff %.2e%n", maxDiff);
        assertThat(maxDiff).isLessThanOrEqualTo(2.4e-7); // f32 rounding of values near 2
    }

    /** Least squares: minimise |X w - y|^2 / (2 R) over w (C,) with X (R, C); gradient X^T (X w - y) / R. */
    record Problem(double[][] x, double[] y) {
        double[] gradient(double[] w) {
            double[] grad = new double[w.length];
            for (int r = 0; r < x.length; r++) {
                double residual = -y[r];
                for (int c = 0; c < w.length; c++) {
                    residual += x[r][c] * w[c];
                }
                for (int c = 0; c < w.length; c++) {
                    grad[c] += x[r][c] * residual / x.length;
                }
            }
            return grad;
        }
    }

    @Test
    void matchesDoublePrecisionReferenceOnLeastSquares() {
        SplittableRandom rng = new SplittableRandom(11);
        int rows = 16;
        int cols = 8;
        double[][] x = new double[rows][cols];
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                x[r][c] = rng.nextGaussian();
            }
            y[r] = rng.nextGaussian();
        }
        Problem problem = new Problem(x, y);
        double lr = 0.02;
        double wd = 0.05;
        double b1 = 0.8;
        double b2 = 0.95;
        double eps = 1e-6;
        int steps = 60;

        // the first 5 weights are decayed, the last 3 are not
        float[] decayed = new float[5];
        float[] exempt = new float[3];
        float[] gDecayed = new float[5];
        float[] gExempt = new float[3];
        AdamW opt = new AdamW(List.of(new AdamW.Param("a", decayed, gDecayed, true),
                new AdamW.Param("b", exempt, gExempt, false)), b1, b2, eps, wd);

        double[] w = new double[cols];
        double[] m = new double[cols];
        double[] v = new double[cols];
        for (int t = 1; t <= steps; t++) {
            double[] wf = new double[cols];
            for (int c = 0; c < cols; c++) {
                wf[c] = c < 5 ? decayed[c] : exempt[c - 5];
            }
            double[] gf = problem.gradient(wf);
            for (int c = 0; c < cols; c++) {
                if (c < 5) {
                    gDecayed[c] = (float) gf[c];
                } else {
                    gExempt[c - 5] = (float) gf[c];
                }
            }
            opt.step(lr);

            double[] g = problem.gradient(w);
            for (int c = 0; c < cols; c++) {
                if (c < 5) {
                    w[c] -= lr * wd * w[c];
                }
                m[c] = b1 * m[c] + (1 - b1) * g[c];
                v[c] = b2 * v[c] + (1 - b2) * g[c] * g[c];
                double mHat = m[c] / (1 - Math.pow(b1, t));
                double vHat = v[c] / (1 - Math.pow(b2, t));
                w[c] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
        double maxW = 0;
        double maxM = 0;
        double maxV = 0;
        Map<String, float[]> state = opt.state();
        for (int c = 0; c < cols; c++) {
            String name = c < 5 ? "a" : "b";
            int i = c < 5 ? c : c - 5;
            maxW = Math.max(maxW, Math.abs((c < 5 ? decayed[i] : exempt[i]) - w[c]));
            maxM = Math.max(maxM, Math.abs(state.get(name + ".exp_avg")[i] - m[c]));
            maxV = Math.max(maxV, Math.abs(state.get(name + ".exp_avg_sq")[i] - v[c]) / v[c]);
        }
        System.out.printf("AdamW f32 vs double reference after %d steps: weights max abs %.2e, m max abs %.2e, v max rel %.2e%n",
                steps, maxW, maxM, maxV);
        // f32 storage of weights, moments and gradients (relative rounding 6e-8) compounding over 60 steps
        assertThat(maxW).isLessThanOrEqualTo(1e-6);
        assertThat(maxM).isLessThanOrEqualTo(1e-6);
        assertThat(maxV).isLessThanOrEqualTo(1e-5);
        assertThat(opt.steps()).isEqualTo(steps);
    }

    @Test
    void checkpointedStateResumesBitForBit() {
        SplittableRandom rng = new SplittableRandom(5);
        float[] theta = new float[100];
        float[] g = new float[100];
        for (int i = 0; i < theta.length; i++) {
            theta[i] = (float) rng.nextGaussian();
        }
        AdamW straight = AdamW.withDefaults(List.of(new AdamW.Param("w", theta, g, true)), 0.01);
        for (int t = 0; t < 5; t++) {
            fillGradients(g, rng);
            straight.step(1e-3);
        }
        Map<String, float[]> saved = new LinkedHashMap<>();
        straight.state().forEach((k, a) -> saved.put(k, a.clone()));
        float[] resumedTheta = theta.clone();
        float[] resumedG = new float[100];
        AdamW resumed = AdamW.withDefaults(List.of(new AdamW.Param("w", resumedTheta, resumedG, true)), 0.01);
        resumed.loadState(straight.steps(), saved);
        for (int t = 0; t < 5; t++) {
            fillGradients(g, rng);
            System.arraycopy(g, 0, resumedG, 0, g.length);
            straight.step(1e-3);
            resumed.step(1e-3);
        }
        assertThat(resumedTheta).containsExactly(theta);
        assertThat(resumed.steps()).isEqualTo(10);

        assertThatThrownBy(() -> resumed.loadState(3, Map.of("w.exp_avg", new float[100])))
                .hasMessageContaining("expected [w.exp_avg, w.exp_avg_sq]");
        assertThatThrownBy(() -> resumed.loadState(3, Map.of("w.exp_avg", new float[100], "w.exp_avg_sq", new float[99])))
                .hasMessageContaining("w.exp_avg_sq has 99 values, expected 100");
    }

    private static void fillGradients(float[] g, SplittableRandom rng) {
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) rng.nextGaussian();
        }
    }

    @Test
    void zeroGradsClearsEveryGradient() {
        float[] g = {1, 2, 3};
        AdamW opt = AdamW.withDefaults(List.of(new AdamW.Param("w", new float[3], g, true)), 0);
        opt.zeroGrads();
        assertThat(g).containsOnly(0f);
    }

    @Test
    void refusesMismatchedOrDuplicateParams() {
        assertThatThrownBy(() -> new AdamW.Param("w", new float[3], new float[2], true))
                .hasMessageContaining("w: 3 values but 2 gradients");
        assertThatThrownBy(() -> AdamW.withDefaults(List.of(new AdamW.Param("w", new float[1], new float[1], true),
                new AdamW.Param("w", new float[1], new float[1], true)), 0))
                .hasMessageContaining("distinct");
    }
}
