package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.SplittableRandom;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.GgmlQuantization;
import org.junit.jupiter.api.Test;

/**
 * The frozen-weight products against a float64 loop over the same weights decoded by {@link GgmlQuants},
 * for every type it decodes, on shapes that cut tiles unevenly: rows not a multiple of 4 or of the
 * vector, I not a multiple of 256 where the type's block allows, O past one band, O past one backward
 * tile. Weights are made by ggml's own quantizer. Tolerance: each element's error over the sum of the
 * magnitudes of its terms ({@code |c0| + sum_k |x_k w_k|}) stays below 1e-5: f32 accumulation of at most
 * ~2000 terms rounds each partial sum by at most 6e-8 of it, a random walk far below that.
 */
class FrozenMatrixTest {
    static final GgmlType[] TYPES = {
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
        GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };
    static final double TOLERANCE = 1e-5;

    // {O, I, R} by block size: I a multiple of the block, and of 256 only where it must be.
    static int[][] shapes(int block) {
        return switch (block) {
            case 1 -> new int[][] {{37, 45, 5}, {70, 300, 19}, {300, 130, 3}, {2100, 64, 2}};
            case 32 -> new int[][] {{37, 96, 5}, {70, 288, 19}, {300, 64, 3}, {2100, 64, 2}};
            default -> new int[][] {{37, 256, 5}, {70, 512, 19}, {300, 256, 3}, {1100, 256, 2}};
        };
    }

    @Test
    void forwardAndBackwardMatchAFloat64LoopOverTheDecodedWeights() {
        SplittableRandom rng = new SplittableRandom(14);
        try (Parallel two = Parallel.ofThreads(2); Parallel one = Parallel.ofThreads(1); Arena arena = Arena.ofShared()) {
            for (GgmlType type : TYPES) {
                double worstForward = 0;
                double worstBackward = 0;
                for (int[] s : shapes(type.blockSize())) {
                    int out = s[0];
                    int in = s[1];
                    int rows = s[2];
                    MemorySegment bytes = weights(arena, rng, type, out, in);
                    float[] w = new float[out * in]; // (O, I) as GgmlQuants decodes it: the reference's weights
                    GgmlQuants.dequantize(type, bytes, w);
                    FrozenMatrix m = FrozenMatrix.of(type, bytes, out, in);

                    float[] x = random(rng, rows * in);
                    float[] y0 = random(rng, rows * out);
                    float[] y = y0.clone();
                    m.forward(two, rows, x, y);
                    float[] yOne = y0.clone();
                    m.forward(one, rows, x, yOne);
                    assertThat(yOne).as("%s forward (%d, %d) x %d rows: 1 thread vs 2", type, out, in, rows).isEqualTo(y);
                    float[] yGemm = y0.clone();
                    Gemm.ab(one, rows, out, in, x, transpose(w, out, in), yGemm);
                    assertThat(y).as("%s forward vs Gemm.ab on the decoded W^T", type).isEqualTo(yGemm);
                    worstForward = Math.max(worstForward, check(type + " forward", y, y0, x, w, rows, out, in, true));

                    float[] dy = random(rng, rows * out);
                    float[] dx0 = random(rng, rows * in);
                    float[] dx = dx0.clone();
                    m.backward(two, rows, dy, dx);
                    float[] dxOne = dx0.clone();
                    m.backward(one, rows, dy, dxOne);
                    assertThat(dxOne).as("%s backward (%d, %d) x %d rows: 1 thread vs 2", type, out, in, rows).isEqualTo(dx);
                    float[] dxGemm = dx0.clone();
                    Gemm.ab(one, rows, in, out, dy, w, dxGemm);
                    assertThat(dx).as("%s backward vs Gemm.ab on the decoded W", type).isEqualTo(dxGemm);
                    worstBackward = Math.max(worstBackward, check(type + " backward", dx, dx0, dy, w, rows, out, in, false));
                }
                System.out.printf("FrozenMatrix %-4s vs float64 loop: worst error / sum|terms| forward %.2e, backward %.2e (tolerance %.0e)%n",
                        type, worstForward, worstBackward, TOLERANCE);
            }
        }
    }

    @Test
    void noCopyOfTheMatrixIsMade() throws Exception {
        for (Field f : FrozenMatrix.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers())) {
                assertThat(f.getType().isArray()).as("instance field %s", f.getName()).isFalse();
            }
        }
        int out = 1024;
        int in = 1024;
        SplittableRandom rng = new SplittableRandom(2);
        try (Parallel one = Parallel.ofThreads(1); Arena arena = Arena.ofShared()) {
            FrozenMatrix m = FrozenMatrix.of(GgmlType.Q8_0, weights(arena, rng, GgmlType.Q8_0, out, in), out, in);
            m.forward(one, 3, random(rng, 3 * in), new float[3 * out]);
            m.backward(one, 3, random(rng, 3 * out), new float[3 * in]);
            long scratch = 0;
            for (float[] a : FrozenMatrix.scratch()) {
                scratch += a.length;
            }
            System.out.printf("FrozenMatrix scratch per thread: %d floats for a (%d, %d) matrix; a tile is %d%n", scratch, out, in, FrozenMatrix.TILE);
            assertThat(scratch).isLessThanOrEqualTo(FrozenMatrix.TILE + 16L * 256).isLessThan((long) out * in / 8);
        }
    }

    @Test
    void refusesWhatItCannotRead() {
        MemorySegment empty = MemorySegment.ofArray(new byte[64]);
        assertThatThrownBy(() -> FrozenMatrix.of(GgmlType.Q2_K, empty, 1, 256)).hasMessageContaining("Q2_K");
        assertThatThrownBy(() -> FrozenMatrix.of(GgmlType.Q4_K, empty, 1, 96)).hasMessageContaining("whole blocks of 256");
        assertThatThrownBy(() -> FrozenMatrix.of(GgmlType.Q8_0, empty, 2, 32)).hasMessageContaining("needs 68 bytes");
    }

    // W (O, I) of gaussian values, encoded by ggml's quantizer (F32 as is), in native memory as a mapping is.
    static MemorySegment weights(Arena arena, SplittableRandom rng, GgmlType type, int out, int in) {
        float[] w = random(rng, out * in);
        MemorySegment seg = arena.allocate(type.byteSize((long) out * in), 64);
        if (type == GgmlType.F32) {
            MemorySegment.copy(w, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, w.length);
        } else {
            MemorySegment.copy(MemorySegment.ofArray(GgmlQuantization.quantize(type.id(), w, in)), 0, seg, 0, seg.byteSize());
        }
        return seg;
    }

    // max over elements of |got - expected| / (|c0| + sum_k |a_k b_k|), asserted below TOLERANCE.
    // forward: got (R, O) = c0 + a (R, I) . w^T; backward: got (R, I) = c0 + a (R, O) . w.
    static double check(String what, float[] got, float[] c0, float[] a, float[] w, int rows, int out, int in, boolean forward) {
        int cols = forward ? out : in;
        int kN = forward ? in : out;
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                double sum = c0[r * cols + j];
                double mag = Math.abs(sum);
                for (int k = 0; k < kN; k++) {
                    double term = (double) a[r * kN + k] * (forward ? w[j * in + k] : w[k * in + j]);
                    sum += term;
                    mag += Math.abs(term);
                }
                worst = Math.max(worst, Math.abs(got[r * cols + j] - sum) / mag);
            }
        }
        assertThat(worst).as("%s (%d, %d) x %d rows", what, out, in, rows).isLessThan(TOLERANCE);
        return worst;
    }

    static float[] transpose(float[] w, int out, int in) {
        float[] t = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                t[i * out + o] = w[o * in + i];
            }
        }
        return t;
    }

    static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
