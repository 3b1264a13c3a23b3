package org.align4j.train;

import static org.align4j.train.Gemm.F;
import static org.align4j.train.Gemm.L;

import java.util.Arrays;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.align4j.gguf.Architecture;

/**
 * The Llama operations besides matmuls ({@link Gemm}), forward and backward, over a batch of R rows
 * (the tokens of several sequences back to back; dimension letters in {@link org.align4j.train}).
 * Each forward matches the ggml operation llama.cpp uses (ggml-cpu/ops.cpp); where ggml's choice is a
 * convention rather than arithmetic (RoPE pairs, which query head reads which KV head) the method
 * says which. Norms sum in double; attention and SwiGLU are f32 vector code. Backward methods add into
 * their gradient outputs.
 */
final class LlamaOps {
    private static final int ROWS_PER_TASK = 16;
    private static final int QUERY_BLOCK = 64; // queries per attention block

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
        if (dWeight == null) {
            return; // a frozen norm (LoRA): its weight has no gradient buffer
        }
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
     * RoPE angles for positions 0..maxT-1: (maxT, D/2) cosines and sines, and how pairs are formed.
     * Pair p of a head turns by pos / linearFactor * base^(-2p/D) / freqFactors[p] radians, which is
     * ggml_rope_ext with freq_scale = 1 / linearFactor, freq_factors = rope_freqs (1 when null) and no
     * YaRN (ext_factor 0, attn_factor 1). {@link Architecture.RopeMode#NORM} (llama) turns ADJACENT
     * pairs (2p, 2p+1), whose GGUF converters permute Q and K rows so that this equals Hugging Face's
     * rotate_half; {@link Architecture.RopeMode#NEOX} (qwen2, qwen3) turns (p, p + D/2), rotate_half itself.
     */
    record RopeTable(double[] cos, double[] sin, int halfDim, Architecture.RopeMode mode) {
        static RopeTable of(int maxT, int d, float base, float linearFactor, float[] freqFactors, Architecture.RopeMode mode) {
            int half = d / 2;
            double[] cos = new double[maxT * half];
            double[] sin = new double[maxT * half];
            for (int p = 0; p < half; p++) {
                double frequency = Math.pow(base, -2.0 * p / d) / linearFactor / (freqFactors == null ? 1 : freqFactors[p]);
                for (int i = 0; i < maxT; i++) {
                    double theta = i * frequency;
                    cos[i * half + p] = Math.cos(theta);
                    sin[i * half + p] = Math.sin(theta);
                }
            }
            return new RopeTable(cos, sin, half, mode);
        }
    }

    /**
     * In place on x (R, heads, D): row i is at position pos[i]. {@code inverse} turns the other way,
     * which is RoPE's backward (a rotation's transpose is its inverse).
     */
    static void rope(Parallel par, float[] x, int[] pos, int rows, int heads, RopeTable table, boolean inverse) {
        int half = table.halfDim();
        int d = 2 * half;
        boolean neox = table.mode() == Architecture.RopeMode.NEOX;
        int first = neox ? 1 : 2; // pair p's first value is at p * first
        int apart = neox ? half : 1; // and its second that many values later
        double sign = inverse ? -1 : 1;
        forRows(par, rows, i -> {
            int angles = pos[i] * half;
            for (int p = 0; p < half; p++) {
                double cos = table.cos()[angles + p];
                double sin = sign * table.sin()[angles + p];
                for (int h = 0; h < heads; h++) {
                    int at = (i * heads + h) * d + p * first;
                    double x0 = x[at];
                    double x1 = x[at + apart];
                    x[at] = (float) (x0 * cos - x1 * sin);
                    x[at + apart] = (float) (x0 * sin + x1 * cos);
                }
            }
        });
    }

    /** out (R, N) += bias (N,) on every row, as ggml_add broadcasts a bias. */
    static void addBias(Parallel par, float[] out, float[] bias, int rows, int n) {
        forRows(par, rows, i -> {
            for (int at = i * n; at < (i + 1) * n; at += L) {
                VectorMask<Float> m = F.indexInRange(at, (i + 1) * n);
                FloatVector.fromArray(F, out, at, m).add(FloatVector.fromArray(F, bias, at - i * n, m)).intoArray(out, at, m);
            }
        });
    }

    /** Backward of {@link #addBias}: dBias (N,) += the column sums of dOut (R, N), each over rows in order, in double. */
    static void addColumnSums(Parallel par, float[] dOut, int rows, int n, float[] dBias) {
        int block = 64;
        par.forEach((n + block - 1) / block, b -> {
            int k1 = Math.min(n, (b + 1) * block);
            for (int k = b * block; k < k1; k++) {
                double sum = 0;
                for (int i = 0; i < rows; i++) {
                    sum += dOut[i * n + k];
                }
                dBias[k] += (float) sum;
            }
        });
    }

    /**
     * Causal grouped-query attention within each sequence; sequence s is rows start[s]..start[s+1]-1.
     * q (R, H, D); k and v (R, G, D) with H a multiple of G; out (R, H, D), zero on entry. Query head
     * h reads KV head h / (H / G), as ggml's mul_mat broadcasts; scores are scaled by 1/sqrt(D). Also
     * writes lse (R, H), the log of each softmax's normaliser, from which backward recomputes the
     * weights. One task per (sequence, head); scores and outputs are {@link Gemm} products over blocks
     * of {@value #QUERY_BLOCK} queries, each against the keys up to its last query.
     */
    static void attention(Parallel par, float[] q, float[] k, float[] v, int[] start, int heads, int kvHeads, int d,
                          float[] out, double[] lse) {
        int group = heads / kvHeads;
        float scale = (float) (1.0 / Math.sqrt(d));
        int qStride = heads * d;
        int kvStride = kvHeads * d;
        par.forEach((start.length - 1) * heads, task -> {
            int s = task / heads;
            int h = task % heads;
            int g = h / group;
            int first = start[s];
            int t = start[s + 1] - first;
            float[] kT = headTransposed(k, first, t, kvStride, g * d, d); // (D, T)
            float[] p = new float[Math.min(QUERY_BLOCK, t) * t]; // (queries, keys): scores, then weights
            for (int i0 = 0; i0 < t; i0 += QUERY_BLOCK) {
                int ni = Math.min(QUERY_BLOCK, t - i0);
                int nj = i0 + ni;
                int qAt = (first + i0) * qStride + h * d;
                Arrays.fill(p, 0, ni * nj, 0f);
                Gemm.mulSerial(ni, nj, d, q, qAt, qStride, 1, kT, 0, t, p, 0, nj);
                for (int r = 0; r < ni; r++) {
                    lse[(first + i0 + r) * heads + h] = softmaxRow(p, r * nj, i0 + r + 1, nj, scale);
                }
                Gemm.mulSerial(ni, d, nj, p, 0, nj, 1, v, first * kvStride + g * d, kvStride, out, qAt, qStride);
            }
        });
    }

    /**
     * Backward of {@link #attention}, given dOut (R, H, D): adds into dq (R, H, D), dk and dv (R, G, D).
     * With P the recomputed weights, dP = dOut . v^T and dScore = P * (dP - rowsum(P * dP)); one task
     * per (sequence, KV head) owns that head's dk and dv rows.
     */
    static void attentionBackward(Parallel par, float[] dOut, float[] q, float[] k, float[] v, double[] lse, int[] start,
                                  int heads, int kvHeads, int d, float[] dq, float[] dk, float[] dv) {
        int group = heads / kvHeads;
        float scale = (float) (1.0 / Math.sqrt(d));
        int qStride = heads * d;
        int kvStride = kvHeads * d;
        par.forEach((start.length - 1) * kvHeads, task -> {
            int s = task / kvHeads;
            int g = task % kvHeads;
            int first = start[s];
            int t = start[s + 1] - first;
            int kvAt = first * kvStride + g * d;
            float[] kT = headTransposed(k, first, t, kvStride, g * d, d); // (D, T)
            float[] vT = headTransposed(v, first, t, kvStride, g * d, d); // (D, T)
            float[] p = new float[Math.min(QUERY_BLOCK, t) * t]; // (queries, keys) weights
            float[] ds = new float[p.length]; // dP, then d score
            for (int h = g * group; h < (g + 1) * group; h++) {
                for (int i0 = 0; i0 < t; i0 += QUERY_BLOCK) {
                    int ni = Math.min(QUERY_BLOCK, t - i0);
                    int nj = i0 + ni;
                    int qAt = (first + i0) * qStride + h * d;
                    Arrays.fill(p, 0, ni * nj, 0f);
                    Arrays.fill(ds, 0, ni * nj, 0f);
                    Gemm.mulSerial(ni, nj, d, q, qAt, qStride, 1, kT, 0, t, p, 0, nj);
                    Gemm.mulSerial(ni, nj, d, dOut, qAt, qStride, 1, vT, 0, t, ds, 0, nj);
                    for (int r = 0; r < ni; r++) {
                        scoreGradRow(p, ds, r * nj, i0 + r + 1, nj, scale, (float) lse[(first + i0 + r) * heads + h]);
                    }
                    Gemm.mulSerial(ni, d, nj, ds, 0, nj, 1, k, kvAt, kvStride, dq, qAt, qStride);
                    Gemm.mulSerial(nj, d, ni, ds, 0, 1, nj, q, qAt, qStride, dk, kvAt, kvStride);
                    Gemm.mulSerial(nj, d, ni, p, 0, 1, nj, dOut, qAt, qStride, dv, kvAt, kvStride);
                }
            }
        });
    }

    // One head's rows of x (R, ., D) for a sequence's t rows, transposed: (D, t).
    private static float[] headTransposed(float[] x, int first, int t, int stride, int headAt, int d) {
        float[] out = new float[d * t];
        for (int j = 0; j < t; j++) {
            int at = (first + j) * stride + headAt;
            for (int e = 0; e < d; e++) {
                out[e * t + j] = x[at + e];
            }
        }
        return out;
    }

    // Row x[at..at+n) of raw scores becomes softmax(scale * x), and x[at+n..at+width) zeros (the
    // causal mask); returns the log of the normaliser.
    private static double softmaxRow(float[] x, int at, int n, int width, float scale) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector s = FloatVector.fromArray(F, x, at + j, m).mul(scale);
            max = max.max(s.blend(Float.NEGATIVE_INFINITY, m.not()));
        }
        float rowMax = max.reduceLanes(VectorOperators.MAX);
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector e = VectorMath.exp(FloatVector.fromArray(F, x, at + j, m).mul(scale).sub(rowMax));
            e.intoArray(x, at + j, m);
            sum = sum.add(e, m);
        }
        float total = VectorMath.sum(sum);
        float inv = 1 / total;
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector.fromArray(F, x, at + j, m).mul(inv).intoArray(x, at + j, m);
        }
        Arrays.fill(x, at + n, at + width, 0f);
        return rowMax + Math.log(total);
    }

    // Row p[at..at+n) of raw scores becomes the weights exp(scale * p - lse), and row ds of dP becomes
    // scale * P * (dP - sum(P * dP)); both zero past n.
    private static void scoreGradRow(float[] p, float[] ds, int at, int n, int width, float scale, float lse) {
        FloatVector dot = FloatVector.zero(F);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector w = VectorMath.exp(FloatVector.fromArray(F, p, at + j, m).mul(scale).sub(lse));
            w.intoArray(p, at + j, m);
            dot = dot.add(w.mul(FloatVector.fromArray(F, ds, at + j, m)), m);
        }
        float rowDot = VectorMath.sum(dot);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector w = FloatVector.fromArray(F, p, at + j, m);
            w.mul(FloatVector.fromArray(F, ds, at + j, m).sub(rowDot)).mul(scale).intoArray(ds, at + j, m);
        }
        Arrays.fill(p, at + n, at + width, 0f);
        Arrays.fill(ds, at + n, at + width, 0f);
    }

    /** SwiGLU's gating over (R, F): out = silu(gate) * up, silu(z) = z / (1 + e^-z). */
    static void swiglu(Parallel par, float[] gate, float[] up, int rows, int f, float[] out) {
        forRows(par, rows, i -> {
            for (int at = i * f; at < (i + 1) * f; at += L) {
                VectorMask<Float> m = F.indexInRange(at, (i + 1) * f);
                FloatVector z = FloatVector.fromArray(F, gate, at, m);
                FloatVector silu = z.div(VectorMath.exp(z.neg()).add(1f));
                silu.mul(FloatVector.fromArray(F, up, at, m)).intoArray(out, at, m);
            }
        });
    }

    /** Backward of {@link #swiglu}: dGate += dOut * up * silu'(gate), dUp += dOut * silu(gate); silu'(z) = s(1 + z(1 - s)), s = sigmoid(z). */
    static void swigluBackward(Parallel par, float[] dOut, float[] gate, float[] up, int rows, int f, float[] dGate, float[] dUp) {
        forRows(par, rows, i -> {
            for (int at = i * f; at < (i + 1) * f; at += L) {
                VectorMask<Float> m = F.indexInRange(at, (i + 1) * f);
                FloatVector z = FloatVector.fromArray(F, gate, at, m);
                FloatVector dy = FloatVector.fromArray(F, dOut, at, m);
                FloatVector sig = FloatVector.broadcast(F, 1f).div(VectorMath.exp(z.neg()).add(1f));
                FloatVector dSilu = sig.mul(z.mul(sig.neg().add(1f)).add(1f));
                dy.mul(FloatVector.fromArray(F, up, at, m)).mul(dSilu).add(FloatVector.fromArray(F, dGate, at, m)).intoArray(dGate, at, m);
                dy.mul(z).mul(sig).add(FloatVector.fromArray(F, dUp, at, m)).intoArray(dUp, at, m);
            }
        });
    }

    /** Runs {@code row} for rows 0..rows-1, in tasks of {@value #ROWS_PER_TASK} rows. */
    static void forRows(Parallel par, int rows, IntConsumer row) {
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        par.forEach(tasks, t -> {
            int end = Math.min(rows, (t + 1) * ROWS_PER_TASK);
            for (int i = t * ROWS_PER_TASK; i < end; i++) {
                row.accept(i);
            }
        });
    }
}
