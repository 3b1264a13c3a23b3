package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.llama.GgmlQuantization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * GgmlQuants' decoders against ggml's own, called through the bindings: rows quantized by
 * {@code ggml_quantize_chunk}, then decoded by Java and by the type's {@code to_float}
 * ({@code dequantize_row_*}), compared as raw float bits. No tolerance: the decoders are exact.
 */
class GgmlQuantsBitExactTest {
    static final int COLS = 512; // two 256-value super-blocks, sixteen 32-value blocks a row
    static final long[] SEEDS = {1, 2, 3};

    @Test
    void blockSizesAndBytesPerBlockAreGgmlsForEveryType() {
        List<String> mismatches = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            String ggml = GgmlQuantization.typeName(t.id()) + " " + GgmlQuantization.blockSize(t.id()) + "/" + GgmlQuantization.typeSize(t.id());
            String ours = t.name() + " " + t.blockSize() + "/" + t.bytesPerBlock();
            if (!ggml.equalsIgnoreCase(ours)) {
                mismatches.add("ours " + ours + ", ggml " + ggml);
            }
        }
        System.out.printf("ggml type traits: %d types compared (name, block size, bytes per block)%n", GgmlType.values().length);
        assertThat(mismatches).isEmpty();
    }

    /**
     * Rows of one seed, (rows, COLS): Gaussians at several scales, and the edge cases a decoder can get
     * wrong: zeros, negative zeros, values near the fp16 limit and beyond it, tiny and subnormal values,
     * one huge outlier among small values, a constant row, and alternating signs.
     */
    static float[] rows(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<float[]> rows = new ArrayList<>();
        for (double scale : new double[] {0.02, 1, 300}) {
            rows.add(gaussian(rng, scale));
        }
        rows.add(new float[COLS]);
        float[] negativeZero = new float[COLS];
        Arrays.fill(negativeZero, -0.0f);
        negativeZero[7] = 0.0f;
        rows.add(negativeZero);
        float[] large = gaussian(rng, 1);
        for (int i = 0; i < COLS; i++) {
            large[i] = Math.copySign(60_000f + 5_000f * (float) rng.nextDouble(), large[i]);
        }
        rows.add(large);
        float[] beyondFp16 = gaussian(rng, 1e30);
        rows.add(beyondFp16);
        float[] tiny = gaussian(rng, 1e-30);
        tiny[3] = Float.MIN_VALUE;
        tiny[4] = -Float.MIN_NORMAL / 3;
        rows.add(tiny);
        float[] outlier = gaussian(rng, 0.02);
        outlier[rng.nextInt(COLS)] = 1e4f;
        rows.add(outlier);
        float[] negativeOutlier = gaussian(rng, 0.02);
        negativeOutlier[rng.nextInt(COLS)] = -1e4f;
        rows.add(negativeOutlier);
        float[] constant = new float[COLS];
        Arrays.fill(constant, 0.75f);
        rows.add(constant);
        float[] alternating = new float[COLS];
        for (int i = 0; i < COLS; i++) {
            alternating[i] = (i % 2 == 0 ? 1 : -1) * (1 + i % 7);
        }
        rows.add(alternating);
        float[] x = new float[rows.size() * COLS];
        for (int r = 0; r < rows.size(); r++) {
            System.arraycopy(rows.get(r), 0, x, r * COLS, COLS);
        }
        return x;
    }

    static float[] gaussian(SplittableRandom rng, double scale) {
        float[] x = new float[COLS];
        for (int i = 0; i < COLS; i++) {
            x[i] = (float) (rng.nextGaussian() * scale);
        }
        return x;
    }

    /** Index of the first value whose bits differ, or -1. */
    static int firstBitDifference(float[] expected, float[] actual) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                return i;
            }
        }
        return -1;
    }

    static String describe(float[] expected, float[] actual, int i) {
        return i < 0 ? "identical" : String.format("value %d (row %d): ggml %s (0x%08x), Java %s (0x%08x)", i, i / COLS, expected[i],
                Float.floatToRawIntBits(expected[i]), actual[i], Float.floatToRawIntBits(actual[i]));
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void decodesRowsGgmlQuantizedAsGgmlsDequantizeRowDoes(GgmlType type) {
        long compared = 0;
        Set<Integer> distinct = new HashSet<>();
        for (long seed : SEEDS) {
            float[] x = rows(seed);
            byte[] q = GgmlQuantization.quantize(type.id(), x, COLS);
            // F32 has no to_float in ggml (its rows are the values themselves).
            float[] ggml = type == GgmlType.F32 ? x : GgmlQuantization.dequantize(type.id(), q, x.length);
            float[] java = new float[x.length];
            GgmlQuants.dequantize(type, MemorySegment.ofArray(q), java);
            int diff = firstBitDifference(ggml, java);
            assertThat(diff).as("%s seed %d: %s", type, seed, describe(ggml, java, diff)).isEqualTo(-1);
            compared += x.length;
            for (float v : java) {
                distinct.add(Float.floatToRawIntBits(v));
            }
        }
        System.out.printf("%s: %d values (%d seeds x %d rows x %d) bit-identical to ggml's decoder, %d distinct%n",
                type, compared, SEEDS.length, compared / SEEDS.length / COLS, COLS, distinct.size());
        assertThat(distinct).as("a test that decodes too few distinct values proves little").hasSizeGreaterThan(1000);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void decodesRandomBytesAsGgmlDoes(GgmlType type) {
        // Every byte random: scale bits and high bits a quantizer rarely sets, fp16 scales of every exponent,
        // infinities included. NaN scales become infinities: where two NaNs meet (d * q + m in Q4_1), C keeps
        // the first operand's payload and the JIT may keep either; no quantizer writes NaN from finite input.
        int blocks = 4096;
        byte[] q = new byte[blocks * type.bytesPerBlock()];
        new SplittableRandom(17).nextBytes(q);
        int infinities = 0;
        for (int b = 0; b < blocks; b++) {
            for (int at : scaleOffsets(type)) {
                int i = b * type.bytesPerBlock() + at; // little-endian: q[i] mantissa low bits, q[i + 1] sign, exponent, mantissa high
                if ((q[i + 1] & 0x7C) == 0x7C) {
                    q[i + 1] &= (byte) 0xFC;
                    q[i] = 0;
                    infinities++;
                }
            }
        }
        int n = blocks * type.blockSize();
        float[] ggml = GgmlQuantization.dequantize(type.id(), q, n);
        float[] java = new float[n];
        GgmlQuants.dequantize(type, MemorySegment.ofArray(q), java);
        int diff = firstBitDifference(ggml, java);
        assertThat(diff).as("%s: %s", type, describe(ggml, java, diff)).isEqualTo(-1);
        System.out.printf("%s: %d values of %d random blocks (%d infinite scales) bit-identical to ggml's decoder%n", type, n, blocks, infinities);
    }

    // Byte offsets of the fp16 scales in a block (ggml-common.h).
    static int[] scaleOffsets(GgmlType type) {
        return switch (type) {
            case Q4_0, Q5_0, Q8_0 -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(type.name());
        };
    }

    @Test
    void everyFp16AndBf16BitPatternDecodesAsGgmlDoes() {
        byte[] all = new byte[2 * 65536];
        for (int h = 0; h < 65536; h++) {
            all[2 * h] = (byte) h;
            all[2 * h + 1] = (byte) (h >>> 8);
        }
        for (GgmlType type : List.of(GgmlType.F16, GgmlType.BF16)) {
            float[] ggml = GgmlQuantization.dequantize(type.id(), all, 65536);
            float[] java = new float[65536];
            GgmlQuants.dequantize(type, MemorySegment.ofArray(all), java);
            int diff = firstBitDifference(ggml, java);
            assertThat(diff).as("%s: %s", type, describe(ggml, java, diff)).isEqualTo(-1);
        }
        System.out.println("F16, BF16: all 65536 bit patterns each (NaNs and infinities included) bit-identical to ggml's decoder");
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "Q8_0"})
    void encodesAsGgmlQuantizeChunkDoes(GgmlType type) {
        long compared = 0;
        for (long seed : SEEDS) {
            float[] x = rows(seed);
            byte[] ggml = GgmlQuantization.quantize(type.id(), x, COLS);
            byte[] java = new byte[ggml.length];
            GgmlQuants.quantize(type, x, MemorySegment.ofArray(java));
            assertThat(java).as("%s seed %d: first differing byte %d", type, seed, Arrays.mismatch(ggml, java)).isEqualTo(ggml);
            compared += ggml.length;
        }
        System.out.printf("%s encoder: %d bytes identical to ggml_quantize_chunk's%n", type, compared);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "Q4_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void rowsAndBlockRangesDecodeAsTheWholeDoes(GgmlType type) {
        float[] x = rows(5);
        int rows = x.length / COLS;
        MemorySegment q = MemorySegment.ofArray(GgmlQuantization.quantize(type.id(), x, COLS));
        float[] whole = new float[x.length];
        GgmlQuants.dequantize(type, q, whole);

        // Rows 3..8 into the middle of a larger buffer.
        float[] tile = new float[7 * COLS];
        GgmlQuants.dequantizeRows(type, q, COLS, 3, 6, tile, COLS);
        assertThat(Arrays.copyOfRange(tile, COLS, 7 * COLS)).isEqualTo(Arrays.copyOfRange(whole, 3 * COLS, 9 * COLS));
        assertThat(Arrays.copyOfRange(tile, 0, COLS)).containsOnly(0f);

        // Every block on its own, last row first.
        float[] byBlock = new float[x.length];
        int bs = type.blockSize();
        for (int first = x.length - bs; first >= 0; first -= bs) {
            GgmlQuants.dequantize(type, q, first, byBlock, first, bs);
        }
        int diff = firstBitDifference(whole, byBlock);
        assertThat(diff).as("%s block by block: %s", type, describe(whole, byBlock, diff)).isEqualTo(-1);
        System.out.printf("%s: %d rows of %d decoded as a tile and block by block, identical to the whole%n", type, rows, COLS);
    }
}
