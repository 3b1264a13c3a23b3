package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GgmlQuantsTest {

    /** ggml_compute_fp32_to_fp16 (ggml-impl.h) transcribed literally: the reference for fp32ToFp16. */
    private static short ggmlFp32ToFp16(float f) {
        float base = (Math.abs(f) * 0x1.0p+112f) * 0x1.0p-110f;
        int w = Float.floatToRawIntBits(f);
        int shl1W = w + w;
        int sign = w & 0x80000000;
        int bias = shl1W & 0xFF000000;
        if (Integer.compareUnsigned(bias, 0x71000000) < 0) {
            bias = 0x71000000;
        }
        base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
        int bits = Float.floatToRawIntBits(base);
        int expBits = (bits >>> 13) & 0x00007C00;
        int mantissaBits = bits & 0x00000FFF;
        int nonsign = expBits + mantissaBits;
        return (short) ((sign >>> 16) | (Integer.compareUnsigned(shl1W, 0xFF000000) > 0 ? 0x7E00 : nonsign));
    }

    @Test
    void fp16MatchesGgmlBitForBitOnSpecialsAndRandomBitPatterns() {
        float[] specials = {0f, -0f, 1f, -2f, 0.1f, 65504f, 65519.99f, 65520f, 1e9f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0xFFC00001), 5.9604645e-8f, 2.9802322e-8f,
                2.9802326e-8f, 6.097555e-5f, 1e-8f, Float.MIN_VALUE};
        for (float f : specials) {
            assertThat(GgmlQuants.fp32ToFp16(f)).as("fp16 of %s", f).isEqualTo(ggmlFp32ToFp16(f));
        }
        SplittableRandom rng = new SplittableRandom(7);
        int mismatches = 0;
        for (int i = 0; i < 1_000_000; i++) {
            float f = Float.intBitsToFloat(rng.nextInt());
            if (GgmlQuants.fp32ToFp16(f) != ggmlFp32ToFp16(f)) {
                mismatches++;
            }
        }
        System.out.println("fp16: mismatches vs ggml reference over 1e6 random bit patterns = " + mismatches);
        assertThat(mismatches).isZero();
    }

    @Test
    void q8_0HandWorkedBlocksAreBitExact() {
        float[] x = new float[64]; // two blocks of 32
        // Block 0: amax 127 -> d = 1, id = 1; roundf sends halves away from zero (Math.round would not).
        x[0] = 127f;
        x[1] = -127f;
        x[2] = 2.5f;
        x[3] = -2.5f;
        x[4] = 0.49999997f;
        x[5] = -0.5f;
        // Block 1: amax 1 -> d = 1/127 = 0.007874016f, whose fp16 is 2^-7 * (1 + 8/1024) = 0x2008; id = 127.
        x[32] = 1f;
        x[33] = -0.5f; // -63.5 -> -64
        x[34] = 0.25f; // 31.75 -> 32
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(GgmlType.Q8_0.byteSize(64));
            GgmlQuants.quantize(GgmlType.Q8_0, x, q);
            String expected = "003c" + "7f8103fd00ff" + "00".repeat(26)
                    + "0820" + "7fc020" + "00".repeat(29);
            assertThat(HexFormat.of().formatHex(q.toArray(ValueLayout.JAVA_BYTE))).isEqualTo(expected);

            float[] back = new float[64];
            GgmlQuants.dequantize(GgmlType.Q8_0, q, back);
            assertThat(back[2]).isEqualTo(3f);
            assertThat(back[3]).isEqualTo(-3f);
            assertThat(back[33]).isEqualTo(-64 * 0.00787353515625f);
        }
    }

    @Test
    void q8_0AllZeroBlockHasZeroScale() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(34);
            GgmlQuants.quantize(GgmlType.Q8_0, new float[32], q);
            assertThat(q.toArray(ValueLayout.JAVA_BYTE)).containsOnly((byte) 0);
        }
    }

    @Test
    void bf16AndF16DecodeHandWorkedBits() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(4);
            s.copyFrom(MemorySegment.ofArray(HexFormat.of().parseHex("803f40c0"))); // 0x3F80, 0xC040 little-endian
            float[] bf16 = new float[2];
            GgmlQuants.dequantize(GgmlType.BF16, s, bf16);
            assertThat(bf16).containsExactly(1f, -3f);

            s.copyFrom(MemorySegment.ofArray(HexFormat.of().parseHex("003c00c0"))); // 0x3C00, 0xC000
            float[] f16 = new float[2];
            GgmlQuants.dequantize(GgmlType.F16, s, f16);
            assertThat(f16).containsExactly(1f, -2f);
        }
    }

    @Test
    void randomDataRoundTripsWithinStatedTolerance() {
        SplittableRandom rng = new SplittableRandom(11);
        float[] x = new float[32 * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextGaussian() * 0.02);
        }
        try (Arena arena = Arena.ofConfined()) {
            // Q8_0: rounding to the nearest step d = amax/127 errs by at most d/2; fp16 rounding of d
            // (relative 2^-11) adds at most 127 * d * 2^-11 ~ d/16. Bound: 0.57 * d per block.
            MemorySegment q = arena.allocate(GgmlType.Q8_0.byteSize(x.length));
            GgmlQuants.quantize(GgmlType.Q8_0, x, q);
            float[] back = new float[x.length];
            GgmlQuants.dequantize(GgmlType.Q8_0, q, back);
            double worstRatio = 0;
            double maxAbs = 0;
            for (int b = 0; b < x.length / 32; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[b * 32 + j]));
                }
                float d = amax / 127;
                for (int j = 0; j < 32; j++) {
                    double err = Math.abs(x[b * 32 + j] - back[b * 32 + j]);
                    maxAbs = Math.max(maxAbs, err);
                    worstRatio = Math.max(worstRatio, err / d);
                }
            }
            System.out.printf("Q8_0 random N(0, 0.02): max abs diff %.3g, worst error/step %.4f (tolerance 0.57)%n", maxAbs, worstRatio);
            assertThat(worstRatio).isLessThanOrEqualTo(0.57);

            // F16: round to nearest, relative error <= 2^-11 for normal values.
            MemorySegment h = arena.allocate(GgmlType.F16.byteSize(x.length));
            GgmlQuants.quantize(GgmlType.F16, x, h);
            GgmlQuants.dequantize(GgmlType.F16, h, back);
            double worstRel = 0;
            double maxAbsF16 = 0;
            for (int i = 0; i < x.length; i++) {
                if (Math.abs(x[i]) >= 6.1035156e-5f) { // smallest normal fp16
                    worstRel = Math.max(worstRel, Math.abs(x[i] - back[i]) / Math.abs(x[i]));
                }
                maxAbsF16 = Math.max(maxAbsF16, Math.abs(x[i] - back[i]));
            }
            System.out.printf("F16 random N(0, 0.02): max abs diff %.3g, worst relative %.3g (tolerance 2^-11 = %.3g)%n",
                    maxAbsF16, worstRel, Math.scalb(1.0, -11));
            assertThat(worstRel).isLessThanOrEqualTo(Math.scalb(1.0, -11));
            assertThat(maxAbsF16).isCloseTo(0, within(1e-4));
        }
    }
}
