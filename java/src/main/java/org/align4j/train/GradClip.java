package org.align4j.train;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Clipping by the global L2 norm of all gradients, as torch.nn.utils.clip_grad_norm_ (which Hugging
 * Face's Trainer calls with max_grad_norm, default 1.0, and whose return value it logs as grad_norm).
 */
public final class GradClip {
    /** Hugging Face TrainingArguments' max_grad_norm. */
    public static final double DEFAULT_MAX_NORM = 1.0;
    /** torch adds this to the norm before dividing, so a zero gradient never divides by zero. */
    private static final double NORM_EPS = 1e-6;
    private static final int CHUNK = 1 << 15; // elements per parallel partial sum

    private GradClip() {}

    /**
     * sqrt of the sum of squares of every gradient element, summed in double. Partial sums over fixed
     * chunks are added in order, so the result does not depend on the thread count.
     */
    public static double globalNorm(List<AdamW.Param> params) {
        double sumSq = 0;
        for (AdamW.Param p : params) {
            float[] g = p.grads();
            int chunks = (g.length + CHUNK - 1) / CHUNK;
            double[] partial = new double[chunks];
            IntStream.range(0, chunks).parallel().forEach(c -> {
                double s = 0;
                for (int i = c * CHUNK, end = Math.min(g.length, i + CHUNK); i < end; i++) {
                    s += (double) g[i] * g[i];
                }
                partial[c] = s;
            });
            for (double s : partial) {
                sumSq += s;
            }
        }
        return Math.sqrt(sumSq);
    }

    /**
     * Scales every gradient by maxNorm / (norm + 1e-6) when that is below 1, and returns the norm from
     * before clipping. A non-finite norm is an error naming the first parameter with a non-finite
     * gradient: scaling by it (what torch does by default) would turn every parameter into NaN.
     */
    public static double clipByGlobalNorm(List<AdamW.Param> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("max gradient norm must be positive, not " + maxNorm);
        }
        double norm = globalNorm(params);
        if (!Double.isFinite(norm)) {
            for (AdamW.Param p : params) {
                for (int i = 0; i < p.grads().length; i++) {
                    if (!Float.isFinite(p.grads()[i])) {
                        throw new ArithmeticException("gradient of " + p.name() + "[" + i + "] is " + p.grads()[i]);
                    }
                }
            }
            throw new ArithmeticException("gradient norm overflowed: " + norm);
        }
        double scale = maxNorm / (norm + NORM_EPS);
        if (scale < 1) {
            for (AdamW.Param p : params) {
                float[] g = p.grads();
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) (g[i] * scale);
                }
            }
        }
        return norm;
    }
}
