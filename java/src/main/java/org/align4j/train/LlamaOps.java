package org.align4j.train;

import java.util.stream.IntStream;

/**
 * The Llama forward operations over row-major f32 activations, with sums in double (dimension letters
 * in {@link org.align4j.train}; M and N are a matmul's input and output widths). Each matches the
 * ggml operation llama.cpp uses for it (ggml-cpu/ops.cpp); where ggml's choice is a convention rather
 * than arithmetic (RoPE pairs, which query head reads which KV head) the method says which.
 */
final class LlamaOps {
    private LlamaOps() {}

    /** out (T, N) = x (T, M) times w (N, M) transposed; parallel over the N weight rows, each read once. */
    static float[] matmul(float[] x, float[] w, int t, int m, int n) {
        float[] out = new float[t * n];
        IntStream.range(0, n).parallel().forEach(j -> {
            int row = j * m;
            for (int i = 0; i < t; i++) {
                int in = i * m;
                double sum = 0;
                for (int c = 0; c < m; c++) {
                    sum += (double) x[in + c] * w[row + c];
                }
                out[i * n + j] = (float) sum;
            }
        });
        return out;
    }

    /** ggml_rms_norm then the weight: each row of x (T, C) divided by sqrt(mean(x^2) + eps), times weight (C,). */
    static float[] rmsNorm(float[] x, float[] weight, int t, int c, float eps) {
        float[] out = new float[t * c];
        for (int i = 0; i < t; i++) {
            double sumSq = 0;
            for (int k = 0; k < c; k++) {
                sumSq += (double) x[i * c + k] * x[i * c + k];
            }
            double scale = 1.0 / Math.sqrt(sumSq / c + eps);
            for (int k = 0; k < c; k++) {
                out[i * c + k] = (float) (x[i * c + k] * scale) * weight[k];
            }
        }
        return out;
    }

    /**
     * In place on x (T, heads, D), token i at position i. GGML_ROPE_TYPE_NORMAL, the mode llama.cpp
     * uses for general.architecture = llama: ADJACENT pairs (2p, 2p+1) turn by i * base^(-2p/D) radians
     * (GGUF converters permute Q and K rows so that this equals Hugging Face's rotate_half).
     */
    static void rope(float[] x, int t, int heads, int d, float base) {
        for (int i = 0; i < t; i++) {
            for (int p = 0; p < d / 2; p++) {
                double theta = i * Math.pow(base, -2.0 * p / d);
                double cos = Math.cos(theta);
                double sin = Math.sin(theta);
                for (int h = 0; h < heads; h++) {
                    int at = (i * heads + h) * d + 2 * p;
                    double x0 = x[at];
                    double x1 = x[at + 1];
                    x[at] = (float) (x0 * cos - x1 * sin);
                    x[at + 1] = (float) (x0 * sin + x1 * cos);
                }
            }
        }
    }

    /**
     * Causal grouped-query attention: q (T, H, D); k and v (T, G, D) with H a multiple of G; returns
     * (T, H, D). Query head h reads KV head h / (H / G), as ggml's mul_mat broadcasts; scores are
     * scaled by 1/sqrt(D). Parallel over query tokens.
     */
    static float[] causalAttention(float[] q, float[] k, float[] v, int t, int heads, int kvHeads, int d) {
        float[] out = new float[t * heads * d];
        int group = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(d);
        IntStream.range(0, t).parallel().forEach(i -> {
            double[] p = new double[i + 1]; // (i + 1,) attention weights over tokens 0..i
            for (int h = 0; h < heads; h++) {
                int qAt = (i * heads + h) * d;
                int g = h / group;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    int kAt = (j * kvHeads + g) * d;
                    double dot = 0;
                    for (int e = 0; e < d; e++) {
                        dot += (double) q[qAt + e] * k[kAt + e];
                    }
                    p[j] = dot * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int e = 0; e < d; e++) {
                    double acc = 0;
                    for (int j = 0; j <= i; j++) {
                        acc += p[j] * v[(j * kvHeads + g) * d + e];
                    }
                    out[qAt + e] = (float) (acc / sum);
                }
            }
        });
        return out;
    }

    /** SwiGLU's gating, elementwise over equal-shaped gate and up: silu(gate) * up, silu(z) = z / (1 + e^-z). */
    static float[] swiglu(float[] gate, float[] up) {
        float[] out = new float[gate.length];
        for (int i = 0; i < out.length; i++) {
            double z = gate[i];
            out[i] = (float) (z / (1 + Math.exp(-z)) * up[i]);
        }
        return out;
    }

    /** x += y, elementwise: the residual connection. */
    static void addInPlace(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
