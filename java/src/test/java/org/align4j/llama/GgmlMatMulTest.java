package org.align4j.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * ggml's products through the bindings against a float64 loop over W as ggml decodes it (its own
 * to_float). Backward ({@code ggml_out_prod}) decodes W and accumulates in f32: error over the sum of the
 * terms' magnitudes below 1e-5. Forward ({@code ggml_mul_mat}) first converts x to the weight type's
 * vec_dot type, so its tolerance adds that conversion's bound, {@code sum_k |w_k| * delta_k}: for q8_0,
 * q8_1 and q8_K, delta_k = amax of x's block (32 values; 256 for q8_K) / 200 (half a step of amax / 127,
 * plus q8_0's fp16 scale); for f16 |x_k| 2^-11, for bf16 |x_k| 2^-8, for f32 none.
 */
class GgmlMatMulTest {
    // enum ggml_type ids: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K
    static final int[] TYPES = {0, 1, 30, 2, 3, 6, 7, 8, 12, 13, 14};
    static final int[][] SHAPES = {{37, 256, 5}, {70, 512, 19}}; // O, I, R

    @Test
    void productsMatchAFloat64LoopWithinTheActivationConversion() {
        SplittableRandom rng = new SplittableRandom(14);
        try (Arena arena = Arena.ofConfined()) {
            for (int type : TYPES) {
                double worstForward = 0;
                double worstBackward = 0;
                double worstConversion = 0;
                for (int[] s : SHAPES) {
                    int out = s[0];
                    int in = s[1];
                    int rows = s[2];
                    float[] wf = random(rng, out * in);
                    byte[] q = type == 0 ? floatBytes(wf) : GgmlQuantization.quantize(type, wf, in);
                    float[] w = type == 0 ? wf : GgmlQuantization.dequantize(type, q, out * in); // (O, I)
                    MemorySegment seg = arena.allocate(q.length, 64);
                    MemorySegment.copy(MemorySegment.ofArray(q), 0, seg, 0, q.length);

                    float[] x = random(rng, rows * in);
                    float[] y = new float[rows * out];
                    GgmlMatMul.mulMat(type, seg, out, in, x, rows, y, 2);
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < out; o++) {
                            double sum = 0;
                            double mag = 0;
                            double conversion = 0;
                            for (int i = 0; i < in; i++) {
                                double term = (double) x[r * in + i] * w[o * in + i];
                                sum += term;
                                mag += Math.abs(term);
                                conversion += Math.abs(w[o * in + i]) * delta(type, x, r * in, i);
                            }
                            double err = Math.abs(y[r * out + o] - sum);
                            assertThat(err).as("%s forward (%d, %d) row %d col %d", GgmlQuantization.typeName(type), out, in, r, o)
                                    .isLessThanOrEqualTo(conversion + 1e-5 * mag);
                            worstForward = Math.max(worstForward, (err - 1e-5 * mag) / Math.max(conversion, 1e-30));
                            worstConversion = Math.max(worstConversion, conversion / mag);
                        }
                    }

                    float[] dy = random(rng, rows * out);
                    float[] dx = new float[rows * in];
                    if (type == 30) {
                        assertThatThrownBy(() -> GgmlMatMul.outProd(type, seg, out, in, dy, rows, dx, 2)).hasMessageContaining("bf16");
                        continue;
                    }
                    GgmlMatMul.outProd(type, seg, out, in, dy, rows, dx, 2);
                    for (int r = 0; r < rows; r++) {
                        for (int i = 0; i < in; i++) {
                            double sum = 0;
                            double mag = 0;
                            for (int o = 0; o < out; o++) {
                                double term = (double) dy[r * out + o] * w[o * in + i];
                                sum += term;
                                mag += Math.abs(term);
                            }
                            double rel = Math.abs(dx[r * in + i] - sum) / mag;
                            assertThat(rel).as("%s backward (%d, %d)", GgmlQuantization.typeName(type), out, in).isLessThan(1e-5);
                            worstBackward = Math.max(worstBackward, rel);
                        }
                    }
                }
                System.out.printf("ggml %-5s forward: worst error / conversion bound %.2f (bound <= %.1e of sum|terms|); backward: %s%n",
                        GgmlQuantization.typeName(type), Math.max(worstForward, 0), worstConversion,
                        type == 30 ? "refused (ggml has no bf16 out_prod)" : String.format("worst error / sum|terms| %.2e (tolerance 1e-5)", worstBackward));
            }
        }
    }

    @Test
    void refusesWhatGgmlWouldAbortOn() {
        MemorySegment small = MemorySegment.ofArray(new byte[64]);
        assertThatThrownBy(() -> GgmlMatMul.mulMat(12, small, 1, 96, new float[96], 1, new float[1], 1))
                .hasMessageContaining("whole blocks of 256");
        assertThatThrownBy(() -> GgmlMatMul.mulMat(8, small, 2, 32, new float[32], 1, new float[2], 1))
                .hasMessageContaining("needs 68 bytes");
        assertThatThrownBy(() -> GgmlMatMul.mulMat(8, small, 1, 32, new float[31], 1, new float[1], 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    // The bound on |x_k - converted x_k| for the weight type's vec_dot type.
    static double delta(int type, float[] x, int rowStart, int i) {
        return switch (type) {
            case 0 -> 0;
            case 1 -> Math.abs(x[rowStart + i]) * 0x1p-11;
            case 30 -> Math.abs(x[rowStart + i]) * 0x1p-8;
            default -> {
                int block = type >= 10 ? 256 : 32;
                int from = i / block * block;
                double amax = 0;
                for (int k = from; k < from + block; k++) {
                    amax = Math.max(amax, Math.abs(x[rowStart + k]));
                }
                yield amax / 200;
            }
        };
    }

    static byte[] floatBytes(float[] w) {
        byte[] b = new byte[4 * w.length];
        MemorySegment.copy(w, 0, MemorySegment.ofArray(b), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, w.length);
        return b;
    }

    static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
