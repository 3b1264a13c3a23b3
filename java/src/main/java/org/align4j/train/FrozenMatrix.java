package org.align4j.train;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;

/**
 * A frozen weight matrix W (O, I) left in its file's type, a view over the mapped GGUF tensor, and the
 * trainer's two products with it: {@code Y (R, O) += X (R, I) . W^T} forward and {@code dX (R, I) += dY (R, O) . W}
 * backward. Each task decodes one tile of W (at most {@link #TILE} values) at a time into a per-thread
 * f32 buffer and runs the {@link Gemm} kernel on it, so W is decoded once per product, never whole.
 *
 * <p>O and I are W's output and input widths (the GGUF tensor's ne1 and ne0). Each element of Y or dX
 * is Gemm's one fused multiply-add chain over the decoded W in increasing k: results equal
 * {@code Gemm.ab} on the decoded matrix bit for bit, for any number of threads.
 */
public final class FrozenMatrix implements WeightMatrix {
    /** Values of W one task decodes at a time: a (KC, JB) tile forward, (TILE / nj, nj) backward. */
    static final int TILE = 256 * 256;
    private static final int KC = 256; // k per tile: I forward, O backward
    private static final int JB = 256; // columns of the product per tile, at most
    private static final int STRIP = 16; // rows of W decoded before the forward tile's transpose
    // Per worker thread: the tile, and forward's strip of decoded rows. Bounded by TILE + STRIP * KC.
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[TILE], new float[STRIP * KC]});

    private final GgmlType type;
    private final MemorySegment data; // O rows of I values of `type`, row-major, as in the file
    private final int out;
    private final int in;

    private FrozenMatrix(GgmlType type, MemorySegment data, int out, int in) {
        this.type = type;
        this.data = data;
        this.out = out;
        this.in = in;
    }

    /**
     * W (out, in) over {@code data}: {@code out} rows of {@code in} values of {@code type} (a whole number
     * of blocks a row), which must be one of {@link GgmlQuants#DECODED}.
     */
    public static FrozenMatrix of(GgmlType type, MemorySegment data, int out, int in) {
        if (!GgmlQuants.DECODED.contains(type)) {
            throw new IllegalArgumentException("align4j's frozen products cannot read " + type + " weights");
        }
        if (out <= 0 || in <= 0 || in % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " matrix (" + out + ", " + in + "): sizes must be positive and rows whole blocks of "
                    + type.blockSize());
        }
        long need = Math.multiplyExact((long) out, type.byteSize(in));
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(type + " matrix (" + out + ", " + in + ") needs " + need + " bytes; the data have " + data.byteSize());
        }
        return new FrozenMatrix(type, data, out, in);
    }

    /** The 2-D tensor {@code name} of {@code file} (ne0 = in, ne1 = out), a view of the file's mapping. */
    public static FrozenMatrix of(GgufFile file, String name) {
        GgufTensorInfo t = file.tensor(name);
        long[] dims = t.dims();
        if (dims.length != 2 || dims[0] > Integer.MAX_VALUE || dims[1] > Integer.MAX_VALUE) {
            throw new Align4jException(file.path() + ": tensor '" + name + "' is not a matrix of int-sized dimensions: " + t);
        }
        if (!GgmlQuants.DECODED.contains(t.type())) {
            throw new Align4jException(file.path() + ": tensor '" + name + "' is " + t.type() + ", which align4j's trainer cannot read");
        }
        return of(t.type(), file.tensorData(name), (int) dims[1], (int) dims[0]);
    }

    public GgmlType type() {
        return type;
    }

    /** O: rows of W, columns of Y. */
    @Override
    public int out() {
        return out;
    }

    /** I: columns of W, columns of X. */
    @Override
    public int in() {
        return in;
    }

    /** {@code y (rows, O) += x (rows, I) . W^T}. */
    @Override
    public void forward(Parallel par, int rows, float[] x, float[] y) {
        Objects.checkFromIndexSize(0, (long) rows * in, x.length);
        Objects.checkFromIndexSize(0, (long) rows * out, y.length);
        if (rows == 0) {
            return;
        }
        int jb = bandWidth(out, 1, par.threads());
        int bands = tiles(out, jb);
        par.forEach(bands, t -> {
            int j0 = t * jb;
            int nj = Math.min(jb, out - j0);
            float[][] scratch = SCRATCH.get();
            float[] tile = scratch[0]; // (nk, nj): W^T's rows k0.. and columns j0..
            float[] strip = scratch[1]; // (STRIP, nk): rows of W as decoded
            for (int k0 = 0; k0 < in; k0 += KC) { // KC is a multiple of every block: tiles start on blocks
                int nk = Math.min(KC, in - k0);
                for (int s0 = 0; s0 < nj; s0 += STRIP) {
                    int ns = Math.min(STRIP, nj - s0);
                    for (int s = 0; s < ns; s++) {
                        GgmlQuants.dequantize(type, data, (long) (j0 + s0 + s) * in + k0, strip, s * nk, nk);
                    }
                    for (int k = 0; k < nk; k++) {
                        int to = k * nj + s0;
                        for (int s = 0; s < ns; s++) {
                            tile[to + s] = strip[s * nk + k];
                        }
                    }
                }
                Gemm.mulSerial(rows, nj, nk, x, k0, in, 1, tile, 0, nj, y, j0, out);
            }
        });
    }

    /** {@code dx (rows, I) += dy (rows, O) . W}. */
    @Override
    public void backward(Parallel par, int rows, float[] dy, float[] dx) {
        Objects.checkFromIndexSize(0, (long) rows * out, dy.length);
        Objects.checkFromIndexSize(0, (long) rows * in, dx.length);
        if (rows == 0) {
            return;
        }
        int jb = bandWidth(in, type.blockSize(), par.threads());
        int bands = tiles(in, jb);
        par.forEach(bands, t -> {
            int j0 = t * jb;
            int nj = Math.min(jb, in - j0);
            float[] tile = SCRATCH.get()[0]; // (nk, nj): W's rows k0.. and columns j0..
            int kc = TILE / nj;
            for (int k0 = 0; k0 < out; k0 += kc) {
                int nk = Math.min(kc, out - k0);
                for (int k = 0; k < nk; k++) {
                    GgmlQuants.dequantize(type, data, (long) (k0 + k) * in + j0, tile, k * nj, nj);
                }
                Gemm.mulSerial(rows, nj, nk, dy, k0, out, 1, tile, 0, nj, dx, j0, in);
            }
        });
    }

    @Override
    public void rows(int first, int n, float[] dst, int off) {
        Objects.checkFromIndexSize(first, n, out);
        GgmlQuants.dequantize(type, data, (long) first * in, dst, off, Math.multiplyExact(n, in));
    }

    /** The calling thread's scratch: all a task holds besides W's view (for tests). */
    static float[][] scratch() {
        return SCRATCH.get();
    }

    // Columns per task: at most JB, a multiple of `block` (and of the vector where the block allows),
    // narrow enough for 4 tasks a thread where the width allows.
    static int bandWidth(int width, int block, int threads) {
        int unit = block >= 2 * Gemm.L ? block : lcm(block, 2 * Gemm.L);
        int wanted = Math.ceilDiv(width, 4 * threads);
        int jb = Math.ceilDiv(wanted, unit) * unit;
        return Math.max(unit, Math.min(Math.max(JB / unit, 1) * unit, jb));
    }

    private static int lcm(int a, int b) {
        int x = a;
        int y = b;
        while (y != 0) {
            int r = x % y;
            x = y;
            y = r;
        }
        return a / x * b;
    }

    private static int tiles(int n, int block) {
        return (n + block - 1) / block;
    }
}
