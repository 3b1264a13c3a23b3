package org.align4j.train;

import java.util.Objects;
import java.util.SplittableRandom;
import org.align4j.gguf.LlamaTensor;

/**
 * A frozen weight W (O, I) with a trainable low-rank adapter (Hu et al. 2021, arXiv 2106.09685):
 * the product is taken with W + s B A, where A (r, I) and B (O, r) are f32 and s = alpha / r, without
 * ever forming B A:
 * <pre>
 *   forward   Y (R, O) += X W^T + s (X A^T) B^T
 *   backward  dX (R, I) += dY W + s (dY B) A
 *   gradients dB (O, r) += s dY^T (X A^T),  dA (r, I) += s (dY B)^T X
 * </pre>
 * which is how llama.cpp applies a loaded adapter (llm_graph_context::build_lora_mm: W x, plus
 * B (A x) times the scale). A and B are shared with the {@link LoraParams} that owns them (the
 * optimizer changes them between passes); W is never written. r is the rank.
 *
 * <p>An adapter trained with dropout p ({@link #dropout()}) applies it only as the view a training
 * pass takes ({@link #masked}): there X in the low-rank terms is drop(X) ({@link LoraDropout}), so
 * dB and dA are taken with drop(X) and the low-rank part of dX, s (dY B) A, passes back through the
 * same mask. The matrix itself, as scoring passes use it, has no dropout.
 */
public final class LoraMatrix implements WeightMatrix {
    private final WeightMatrix base;
    private final float[] a; // (r, I)
    private final float[] b; // (O, r)
    private final int rank;
    private final float scale;
    private final float dropout; // p of training passes
    private final LoraDropout mask; // this view's: NONE but in a training pass's view

    /** W + scale B A over {@code a} (rank, I) and {@code b} (O, rank), held by reference. */
    public LoraMatrix(WeightMatrix base, float[] a, float[] b, int rank, float scale) {
        this(base, a, b, rank, scale, 0, LoraDropout.NONE);
    }

    private LoraMatrix(WeightMatrix base, float[] a, float[] b, int rank, float scale, float dropout, LoraDropout mask) {
        this.base = Objects.requireNonNull(base);
        if (rank <= 0 || (long) rank * base.in() != a.length || (long) base.out() * rank != b.length) {
            throw new IllegalArgumentException("a rank-" + rank + " adapter of a (" + base.out() + ", " + base.in() + ") matrix needs A ("
                    + rank + ", " + base.in() + ") and B (" + base.out() + ", " + rank + "), not " + a.length + " and " + b.length + " values");
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("LoRA scale " + scale);
        }
        this.a = a;
        this.b = b;
        this.rank = rank;
        this.scale = scale;
        LoraDropout.checkProbability(dropout);
        this.dropout = dropout;
        this.mask = mask;
    }

    /** The same adapter (the same A and B arrays) trained with dropout {@code p} on its input, 0 <= p < 1. */
    public LoraMatrix withDropout(float p) {
        return new LoraMatrix(base, a, b, rank, scale, p, LoraDropout.NONE);
    }

    /**
     * The view of the training pass of {@code passKey} ({@link LoraDropout#passKey}) as block {@code layer}'s
     * matrix {@code kind}: its low-rank terms take drop(X) with this matrix's own mask; this matrix itself
     * without dropout.
     */
    LoraMatrix masked(long passKey, int layer, LlamaTensor kind) {
        return dropout == 0 ? this : new LoraMatrix(base, a, b, rank, scale, dropout, LoraDropout.of(dropout, passKey, layer, kind));
    }

    /**
     * A's initial values as PEFT draws them (peft/tuners/lora/layer.py, LoraLayer.reset_lora_parameters
     * with init_lora_weights=True: {@code nn.init.kaiming_uniform_(lora_A.weight, a=math.sqrt(5))}, then
     * {@code nn.init.zeros_(lora_B.weight)}): Kaiming-uniform with negative slope sqrt(5) has gain
     * sqrt(2 / (1 + 5)), so the bound gain * sqrt(3 / fan_in) is 1 / sqrt(I), fan_in being A's I columns.
     * Uniform in [-1/sqrt(I), 1/sqrt(I)) from {@code rng}; B starts at zero, so the adapter starts as
     * the identity update.
     */
    static void initA(float[] a, int in, SplittableRandom rng) {
        double bound = 1 / Math.sqrt(in);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextDouble(-bound, bound);
        }
    }

    public WeightMatrix base() {
        return base;
    }

    /** (r, I), the live array. */
    public float[] a() {
        return a;
    }

    /** (O, r), the live array. */
    public float[] b() {
        return b;
    }

    public int rank() {
        return rank;
    }

    /** s = alpha / r (times an adapter scale, as llama.cpp's). */
    public float scale() {
        return scale;
    }

    /** p, the dropout of training passes on the adapter's input; 0 for none. */
    public float dropout() {
        return dropout;
    }

    @Override
    public int out() {
        return base.out();
    }

    @Override
    public int in() {
        return base.in();
    }

    @Override
    public void forward(Parallel par, int rows, float[] x, float[] y) {
        base.forward(par, rows, x, y);
        if (scale == 0) {
            return;
        }
        float[] h = lowRank(par, rows, mask.apply(par, rows, in(), x)); // (R, r) s drop(X) A^T
        float[] bT = new float[b.length]; // (r, O)
        LlamaOps.transpose(par, b, 0, out(), rank, bT);
        Gemm.ab(par, rows, out(), rank, h, bT, y);
    }

    @Override
    public void backward(Parallel par, int rows, float[] dy, float[] dx) {
        base.backward(par, rows, dy, dx);
        if (scale == 0) {
            return;
        }
        float[] g = upstream(par, rows, dy);
        if (mask.p() == 0) {
            Gemm.ab(par, rows, in(), rank, g, a, dx);
            return;
        }
        float[] dxLow = new float[rows * in()]; // (R, I) s (dY B) A, the gradient by drop(X)
        Gemm.ab(par, rows, in(), rank, g, a, dxLow);
        mask.addApplied(par, rows, in(), dxLow, dx);
    }

    /**
     * Adds the gradients of A and B for the product with input {@code x} (R, I) whose output gradient
     * is {@code dy} (R, O) into {@code into}'s A and B (a gradient buffer of this matrix's shape).
     */
    void addGradients(Parallel par, int rows, float[] x, float[] dy, LoraMatrix into) {
        if (into.rank != rank || into.in() != in() || into.out() != out()) {
            throw new IllegalArgumentException("gradient buffer of another shape");
        }
        float[] dropped = mask.apply(par, rows, in(), x); // (R, I)
        Gemm.atb(par, out(), rank, rows, dy, lowRank(par, rows, dropped), into.b);
        Gemm.atb(par, rank, in(), rows, upstream(par, rows, dy), dropped, into.a);
    }

    /** Rows of W + s B A, decoded: W's rows plus s B[first..first+n] A. */
    @Override
    public void rows(int first, int n, float[] dst, int off) {
        base.rows(first, n, dst, off);
        int in = in();
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < rank; k++) {
                float coef = scale * b[(first + i) * rank + k];
                for (int j = 0; j < in; j++) {
                    dst[off + i * in + j] += coef * a[k * in + j];
                }
            }
        }
    }

    // s X A^T: (R, r).
    private float[] lowRank(Parallel par, int rows, float[] x) {
        float[] aT = new float[a.length]; // (I, r)
        LlamaOps.transpose(par, a, 0, rank, in(), aT);
        float[] h = new float[rows * rank];
        Gemm.ab(par, rows, rank, in(), x, aT, h);
        scaleInPlace(h);
        return h;
    }

    // s dY B: (R, r).
    private float[] upstream(Parallel par, int rows, float[] dy) {
        float[] g = new float[rows * rank];
        Gemm.ab(par, rows, rank, out(), dy, b, g);
        scaleInPlace(g);
        return g;
    }

    private void scaleInPlace(float[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
    }
}
