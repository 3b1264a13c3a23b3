package org.align4j.train;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The Llama operations besides matmuls ({@link Gemm}), forward and backward, over a batch of R rows
 * (the tokens of several sequences back to back; dimension letters in {@link org.align4j.train}).
 * Each forward matches the ggml operation llama.cpp uses (ggml-cpu/ops.cpp); where ggml's choice is a
 * convention rather than arithmetic (RoPE pairs, which query head reads which KV head) the method
 * says which. Sums are in double. Backward methods add into their gradient outputs.
 */
final class LlamaOps {
    private static final int ROWS_PER_TASK = 16;

    private LlamaOps() {}

    /** dst (N, M) = src (M, N) transposed, src starting at srcOff. */
    static void transpose(Parallel par, float[] src, int srcOff, int m, int n, float[] dst) {
        int block = 32;
        int bm = (m + block - 1) / block;
        int bn = (n + block - 1) / block;
        par.forEach(bm * bn, t -> {
            int i0 = (t / bn) * block;
            int j0 = (t % bn) * block;
            int i1 = Math.min(m, i0 + block);
            int j1 = Math.min(n, j0 + block);
            for (int i = i0; i < i1; i++) {
                for (int j = j0; j < j1; j++) {
                    dst[j * m + i] = src[srcOff + i * n + j];
                }
            }
        });
    }

    /**
     * ggml_rms_norm then the weight: out (R, C) = row of x (R, C) times scale, times weight (C,), with
     * scale (R,) = 1 / sqrt(mean(x^2) + eps), which is written too (backward needs it).
     */
    static void rmsNorm(Parallel par, float[] x, float[] weight, int rows, int c, float eps, float[] out, double[] scale) {
        forRows(par, rows, i -> {
            double sumSq = 0;
            for (int k = 0; k < c; k++) {
                sumSq += (double) x[i * c + k] * x[i * c + k];
            }
            double s = 1.0 / Math.sqrt(sumSq / c + eps);
            scale[i] = s;
            for (int k = 0; k < c; k++) {
                out[i * c + k] = (float) (x[i * c + k] * s) * weight[k];
            }
        });
    }

    /**
     * Backward of {@link #rmsNorm}: with xhat = x * scale, dx += scale * (dy*w - xhat * mean(dy*w*xhat))
     * per row, and dWeight (C,) += sum over rows of dy * xhat.
     */
    static void rmsNormBackward(Parallel par, float[] dy, float[] x, double[] scale, float[] weight, int rows, int c,
                                float[] dx, float[] dWeight) {
        forRows(par, rows, i -> {
            int at = i * c;
            double s = scale[i];
            double dot = 0;
            for (int k = 0; k < c; k++) {
                dot += (double) dy[at + k] * weight[k] * (float) (x[at + k] * s);
            }
            double mean = dot / c;
            for (int k = 0; k < c; k++) {
                double xhat = (float) (x[at + k] * s);
                dx[at + k] += (float) (s * ((double) dy[at + k] * weight[k] - xhat * mean));
            }
        });
        // Column blocks, each summing over all rows in order: no two tasks write the same dWeight entry.
        int block = 64;
        par.forEach((c + block - 1) / block, b -> {
            int k0 = b * block;
            int k1 = Math.min(c, k0 + block);
            for (int k = k0; k < k1; k++) {
                double sum = 0;
                for (int i = 0; i < rows; i++) {
                    sum += (double) dy[i * c + k] * (float) (x[i * c + k] * scale[i]);
                }
                dWeight[k] += (float) sum;
            }
        });
    }

    /**
     * RoPE angles for positions 0..maxT-1: (maxT, D/2) cosines and sines. GGML_ROPE_TYPE_NORMAL, the
     * mode llama.cpp uses for general.architecture = llama: ADJACENT pairs (2p, 2p+1) of each head
     * turn by pos * base^(-2p/D) radians (GGUF converters permute Q and K rows so that this equals
     * Hugging Face's rotate_half).
     */
    record RopeTable(double[] cos, double[] sin, int halfDim) {
        static RopeTable of(int maxT, int d, float base) {
            int half = d / 2;
            double[] cos = new double[maxT * half];
            double[] sin = new double[maxT * half];
            for (int i = 0; i < maxT; i++) {
                for (int p = 0; p < half; p++) {
                    double theta = i * Math.pow(base, -2.0 * p / d);
                    cos[i * half + p] = Math.cos(theta);
                    sin[i * half + p] = Math.sin(theta);
                }
            }
            return new RopeTable(cos, sin, half);
        }
    }

    /**
     * In place on x (R, heads, D): row i is at position pos[i]. {@code inverse} turns the other way,
     * which is RoPE's backward (a rotation's transpose is its inverse).
     */
    static void rope(Parallel par, float[] x, int[] pos, int rows, int heads, RopeTable table, boolean inverse) {
        int half = table.halfDim();
        int d = 2 * half;
        double sign = inverse ? -1 : 1;
        forRows(par, rows, i -> {
            int angles = pos[i] * half;
            for (int p = 0; p < half; p++) {
                double cos = table.cos()[angles + p];
                double sin = sign * table.sin()[angles + p];
                for (int h = 0; h < heads; h++) {
                    int at = (i * heads + h) * d + 2 * p;
                    double x0 = x[at];
                    double x1 = x[at + 1];
                    x[at] = (float) (x0 * cos - x1 * sin);
                    x[at + 1] = (float) (x0 * sin + x1 * cos);
                }
            }
        });
    }

    /**
     * Causal grouped-query attention within each sequence; sequence s is rows start[s]..start[s+1]-1.
     * q (R, H, D); k and v (R, G, D) with H a multiple of G; out (R, H, D). Query head h reads KV head
     * h / (H / G), as ggml's mul_mat broadcasts; scores are scaled by 1/sqrt(D). Also writes
     * lse (R, H), the log of each softmax's normaliser, from which backward recomputes the weights.
     */
    static void attention(Parallel par, float[] q, float[] k, float[] v, int[] start, int heads, int kvHeads, int d,
                          float[] out, double[] lse) {
        int seqs = start.length - 1;
        int group = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(d);
        par.forEach(seqs * heads, task -> {
            int s = task / heads;
            int h = task % heads;
            int g = h / group;
            int first = start[s];
            double[] p = new double[start[s + 1] - first]; // attention weights over the sequence's rows
            for (int i = first; i < start[s + 1]; i++) {
                int qAt = (i * heads + h) * d;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = first; j <= i; j++) {
                    double score = score(q, qAt, k, (j * kvHeads + g) * d, d, scale);
                    p[j - first] = score;
                    max = Math.max(max, score);
                }
                double sum = 0;
                for (int j = first; j <= i; j++) {
                    p[j - first] = Math.exp(p[j - first] - max);
                    sum += p[j - first];
                }
                lse[i * heads + h] = max + Math.log(sum);
                for (int e = 0; e < d; e++) {
                    double acc = 0;
                    for (int j = first; j <= i; j++) {
                        acc += p[j - first] * v[(j * kvHeads + g) * d + e];
                    }
                    out[qAt + e] = (float) (acc / sum);
                }
            }
        });
    }

    /**
     * Backward of {@link #attention}, given dOut (R, H, D): adds into dq (R, H, D), dk and dv (R, G, D).
     * With P the recomputed weights, dP = dOut . v and dScore = P * (dP - sum_j P dP); one task per
     * (sequence, KV head) owns that head's dk and dv rows.
     */
    static void attentionBackward(Parallel par, float[] dOut, float[] q, float[] k, float[] v, double[] lse, int[] start,
                                  int heads, int kvHeads, int d, float[] dq, float[] dk, float[] dv) {
        int seqs = start.length - 1;
        int group = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(d);
        par.forEach(seqs * kvHeads, task -> {
            int s = task / kvHeads;
            int g = task % kvHeads;
            int first = start[s];
            int t = start[s + 1] - first;
            double[] dkAcc = new double[t * d]; // (T, D) for this KV head
            double[] dvAcc = new double[t * d];
            double[] p = new double[t];
            double[] dp = new double[t];
            double[] dqRow = new double[d];
            for (int h = g * group; h < (g + 1) * group; h++) {
                for (int i = first; i < first + t; i++) {
                    int qAt = (i * heads + h) * d;
                    double rowLse = lse[i * heads + h];
                    double pDotDp = 0;
                    for (int j = first; j <= i; j++) {
                        int kvAt = (j * kvHeads + g) * d;
                        double pj = Math.exp(score(q, qAt, k, kvAt, d, scale) - rowLse);
                        double dpj = 0;
                        for (int e = 0; e < d; e++) {
                            dpj += (double) dOut[qAt + e] * v[kvAt + e];
                        }
                        p[j - first] = pj;
                        dp[j - first] = dpj;
                        pDotDp += pj * dpj;
                    }
                    Arrays.fill(dqRow, 0);
                    for (int j = first; j <= i; j++) {
                        int kvAt = (j * kvHeads + g) * d;
                        int local = (j - first) * d;
                        double pj = p[j - first];
                        double dScore = pj * (dp[j - first] - pDotDp) * scale;
                        for (int e = 0; e < d; e++) {
                            dqRow[e] += dScore * k[kvAt + e];
                            dkAcc[local + e] += dScore * q[qAt + e];
                            dvAcc[local + e] += pj * dOut[qAt + e];
                        }
                    }
                    for (int e = 0; e < d; e++) {
                        dq[qAt + e] += (float) dqRow[e];
                    }
                }
            }
            for (int j = 0; j < t; j++) {
                int kvAt = ((first + j) * kvHeads + g) * d;
                for (int e = 0; e < d; e++) {
                    dk[kvAt + e] += (float) dkAcc[j * d + e];
                    dv[kvAt + e] += (float) dvAcc[j * d + e];
                }
            }
        });
    }

    private static double score(float[] q, int qAt, float[] k, int kAt, int d, double scale) {
        double dot = 0;
        for (int e = 0; e < d; e++) {
            dot += (double) q[qAt + e] * k[kAt + e];
        }
        return dot * scale;
    }

    /** SwiGLU's gating over (R, F): out = silu(gate) * up, silu(z) = z / (1 + e^-z). */
    static void swiglu(Parallel par, float[] gate, float[] up, int rows, int f, float[] out) {
        forRows(par, rows, i -> {
            for (int at = i * f; at < (i + 1) * f; at++) {
                double z = gate[at];
                out[at] = (float) (z / (1 + Math.exp(-z)) * up[at]);
            }
        });
    }

    /** Backward of {@link #swiglu}: dGate += dOut * up * silu'(gate), dUp += dOut * silu(gate); silu'(z) = s(1 + z(1 - s)), s = sigmoid(z). */
    static void swigluBackward(Parallel par, float[] dOut, float[] gate, float[] up, int rows, int f, float[] dGate, float[] dUp) {
        forRows(par, rows, i -> {
            for (int at = i * f; at < (i + 1) * f; at++) {
                double z = gate[at];
                double sig = 1 / (1 + Math.exp(-z));
                dGate[at] += (float) (dOut[at] * up[at] * sig * (1 + z * (1 - sig)));
                dUp[at] += (float) (dOut[at] * z * sig);
            }
        });
    }

    /** Rows 0..rows-1 in tasks of {@value #ROWS_PER_TASK} rows. */
    private static void forRows(Parallel par, int rows, IntConsumer row) {
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        par.forEach(tasks, t -> {
            int end = Math.min(rows, (t + 1) * ROWS_PER_TASK);
            for (int i = t * ROWS_PER_TASK; i < end; i++) {
                row.accept(i);
            }
        });
    }
}
