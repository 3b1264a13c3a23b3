package org.align4j.bench.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.GgmlQuantization;
import org.align4j.train.FrozenMatrix;
import org.align4j.train.Gemm;
import org.align4j.train.Parallel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The trainer's matrix kernels on one weight W (O, I): {@code forward} is Y (R, O) += X (R, I) . W^T,
 * {@code transposed} is dX (R, I) += dY (R, O) . W. {@code kernel} F32_GEMM is {@link Gemm} on an f32 W
 * (W^T materialised for forward, as the trainer does for trainable matrices); any other is a
 * {@link FrozenMatrix} of that ggml type, made by ggml's quantizer from the same gaussian values.
 * Default shape: Qwen2.5-0.5B's ffn_down (I 4864, a whole number of 256-blocks, O 896).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MatmulKernels {
    @Param({"F32_GEMM", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    public String kernel;
    @Param("128")
    public int rows;
    @Param("4864")
    public int in;
    @Param("896")
    public int out;
    @Param("1")
    public int threads;

    private Arena arena;
    private Parallel par;
    private FrozenMatrix frozen;
    private float[] w; // (O, I), F32_GEMM only
    private float[] wT; // (I, O), F32_GEMM only
    private float[] x; // (R, I)
    private float[] y; // (R, O)
    private float[] dy; // (R, O)
    private float[] dx; // (R, I)

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rng = new SplittableRandom(14);
        float[] wf = gaussian(rng, out * in, 0.05f);
        x = gaussian(rng, rows * in, 1f);
        dy = gaussian(rng, rows * out, 1f);
        y = new float[rows * out];
        dx = new float[rows * in];
        par = Parallel.ofThreads(threads);
        arena = Arena.ofShared();
        if (kernel.equals("F32_GEMM")) {
            w = wf;
            wT = new float[in * out];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    wT[i * out + o] = wf[o * in + i];
                }
            }
            return;
        }
        GgmlType type = GgmlType.valueOf(kernel);
        byte[] q = GgmlQuantization.quantize(type.id(), wf, in);
        MemorySegment data = arena.allocate(q.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(q), 0, data, 0, q.length);
        if (!GgmlQuants.DECODED.contains(type)) {
            throw new IllegalArgumentException(kernel + " is not a type FrozenMatrix reads");
        }
        frozen = FrozenMatrix.of(type, data, out, in);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    @Benchmark
    public float[] forward() {
        if (frozen == null) {
            Gemm.ab(par, rows, out, in, x, wT, y);
        } else {
            frozen.forward(par, rows, x, y);
        }
        return y;
    }

    @Benchmark
    public float[] transposed() {
        if (frozen == null) {
            Gemm.ab(par, rows, in, out, dy, w, dx);
        } else {
            frozen.backward(par, rows, dy, dx);
        }
        return dx;
    }

    private static float[] gaussian(SplittableRandom rng, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian() * scale;
        }
        return v;
    }
}
