package org.align4j.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.align4j.Align4jException;

/**
 * Encoders and decoders between float[] and ggml's on-disk types, bit for bit with ggml's reference code:
 * {@code ggml_compute_fp32_to_fp16} / {@code _fp16_to_fp32} (ggml-impl.h), {@code quantize_row_q8_0_ref}
 * and the {@code dequantize_row_*} of every type in {@link #DECODED} (ggml-quants.c). GGUF is little-endian.
 */
public final class GgmlQuants {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The types {@link #dequantize} decodes. */
    public static final Set<GgmlType> DECODED = Collections.unmodifiableSet(EnumSet.of(
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
            GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K));

    private static final int QK8_0 = 32;
    private static final int Q8_0_BLOCK_BYTES = 2 + QK8_0; // fp16 d, then 32 int8 qs

    private GgmlQuants() {}

    /**
     * ggml's fp32 -> fp16: round to nearest even, as {@link Float#floatToFloat16}, except that every
     * NaN becomes the canonical quiet NaN 0x7E00 (with its sign) as in ggml.
     */
    public static short fp32ToFp16(float f) {
        if (Float.isNaN(f)) {
            return (short) ((Float.floatToRawIntBits(f) >>> 16 & 0x8000) | 0x7E00);
        }
        return Float.floatToFloat16(f);
    }

    /** Decodes the first {@code dst.length} values of {@code src}, as {@link #dequantize(GgmlType, MemorySegment, long, float[], int, int)}. */
    public static void dequantize(GgmlType type, MemorySegment src, float[] dst) {
        dequantize(type, src, 0, dst, 0, dst.length);
    }

    /**
     * Decodes rows {@code [firstRow, firstRow + rows)} of a row-major matrix of {@code cols} values a row
     * (a GGUF tensor with ne0 = cols: rows are contiguous, without padding) into
     * {@code dst[dstOffset, dstOffset + rows * cols)}; {@code cols} must be a multiple of the type's block.
     */
    public static void dequantizeRows(GgmlType type, MemorySegment src, int cols, long firstRow, int rows, float[] dst, int dstOffset) {
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " stores blocks of " + type.blockSize() + " values; rows of " + cols + " are not whole blocks");
        }
        dequantize(type, src, firstRow * cols, dst, dstOffset, Math.multiplyExact(rows, cols));
    }

    /**
     * Decodes values {@code [first, first + n)} of {@code src} (values counted from its start) into
     * {@code dst[dstOffset, dstOffset + n)}. {@code first} and {@code n} must be whole blocks of the type,
     * so any block-aligned tile of a matrix decodes on its own. Types: {@link #DECODED}.
     */
    public static void dequantize(GgmlType type, MemorySegment src, long first, float[] dst, int dstOffset, int n) {
        if (!DECODED.contains(type)) {
            throw new Align4jException("align4j cannot decode ggml type " + type + " (it decodes "
                    + DECODED.stream().map(GgmlType::name).collect(Collectors.joining(", ")) + ")");
        }
        int bs = type.blockSize();
        if (first % bs != 0 || n % bs != 0) {
            throw new IllegalArgumentException(type + " stores blocks of " + bs + " values; values " + first + ".." + (first + n)
                    + " do not start and end on a block");
        }
        Objects.checkFromIndexSize(dstOffset, n, dst.length);
        long from = type.byteSize(first);
        long need = Math.addExact(from, type.byteSize(n));
        if (src.byteSize() < need) {
            throw new IllegalArgumentException("values " + first + ".." + (first + n) + " of " + type + " need " + need
                    + " bytes; the data has " + src.byteSize());
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, from, dst, dstOffset, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + i] = fp16ToFp32(src.get(U16, from + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + i] = Float.intBitsToFloat(src.get(U16, from + 2L * i) << 16);
                }
            }
            default -> {
                BlockDecoder decoder = blockDecoder(type);
                int bpb = type.bytesPerBlock();
                for (int b = 0; b < n / bs; b++) {
                    decoder.decode(src, from + (long) b * bpb, dst, dstOffset + b * bs);
                }
            }
        }
    }

    /** Decodes one block at byte {@code at} of {@code src} into {@code y[o, o + blockSize)}. */
    @FunctionalInterface
    private interface BlockDecoder {
        void decode(MemorySegment src, long at, float[] y, int o);
    }

    private static BlockDecoder blockDecoder(GgmlType type) {
        return switch (type) {
            case Q4_0 -> GgmlQuants::decodeQ4_0;
            case Q4_1 -> GgmlQuants::decodeQ4_1;
            case Q5_0 -> GgmlQuants::decodeQ5_0;
            case Q5_1 -> GgmlQuants::decodeQ5_1;
            case Q8_0 -> GgmlQuants::decodeQ8_0;
            case Q4_K -> GgmlQuants::decodeQ4_K;
            case Q5_K -> GgmlQuants::decodeQ5_K;
            case Q6_K -> GgmlQuants::decodeQ6_K;
            default -> throw new IllegalStateException("no block decoder for " + type);
        };
    }

    /**
     * ggml's fp16 -> fp32 ({@code ggml_compute_fp16_to_fp32}): exact, and a signalling NaN comes out
     * quiet, as ggml's float multiply makes it ({@link Float#float16ToFloat} quiets it only where the JVM
     * uses the CPU's conversion instruction).
     */
    public static float fp16ToFp32(short h) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0) {
            return Float.intBitsToFloat((h & 0x8000) << 16 | 0x7FC00000 | (h & 0x03FF) << 13);
        }
        return Float.float16ToFloat(h);
    }

    // The block decoders follow ggml-quants.c's dequantize_row_* for one block at byte `at`, in float
    // arithmetic with C's order of operations (ggml-base is built without FMA contraction, so a*b - c
    // rounds twice there as here). Layouts are ggml-common.h's block_* structs; "d" etc. are fp16.
    // Bit for bit on any bytes but one case: where two NaN scales meet (d and m of Q4_1), which NaN's
    // payload survives is the first operand's in C and the JIT's choice in Java.

    // block_q4_0: d, qs[16]; values 0..15 are the low nibbles of qs, 16..31 the high ones, minus 8, times d.
    private static void decodeQ4_0(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 2 + j);
            y[o + j] = ((q & 0x0F) - 8) * d;
            y[o + j + 16] = ((q >>> 4) - 8) * d;
        }
    }

    // block_q4_1: d, m, qs[16]; nibble * d + m.
    private static void decodeQ4_1(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        float m = fp16ToFp32(s.get(U16, at + 2));
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 4 + j);
            y[o + j] = (q & 0x0F) * d + m;
            y[o + j + 16] = (q >>> 4) * d + m;
        }
    }

    // block_q5_0: d, qh (32 fifth bits, little-endian uint32), qs[16]; (nibble | fifth bit << 4) - 16, times d.
    private static void decodeQ5_0(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        int qh = s.get(U32, at + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 6 + j);
            y[o + j] = ((q & 0x0F | (qh >>> j << 4 & 0x10)) - 16) * d;
            y[o + j + 16] = ((q >>> 4 | (qh >>> (j + 12) & 0x10)) - 16) * d;
        }
    }

    // block_q5_1: d, m, qh, qs[16]; (nibble | fifth bit << 4) * d + m.
    private static void decodeQ5_1(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        float m = fp16ToFp32(s.get(U16, at + 2));
        int qh = s.get(U32, at + 4);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 8 + j);
            y[o + j] = (q & 0x0F | (qh >>> j << 4 & 0x10)) * d + m;
            y[o + j + 16] = (q >>> 4 | (qh >>> (j + 12) & 0x10)) * d + m;
        }
    }

    // block_q8_0: d, qs[32] int8; qs * d.
    private static void decodeQ8_0(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        for (int j = 0; j < QK8_0; j++) {
            y[o + j] = s.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
        }
    }

    // block_q4_K (144 bytes): d, dmin, scales[12] (8 six-bit scales and mins), qs[128]. Four groups of
    // 64 values; group g reads qs[32g, 32g + 32): its low nibbles are sub-block 2g, high nibbles 2g + 1.
    // Sub-block i decodes as (d * scale_i) * nibble - (dmin * min_i).
    private static void decodeQ4_K(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        float min = fp16ToFp32(s.get(U16, at + 2));
        long scales = at + 4;
        long qs = at + 16;
        for (int g = 0; g < 4; g++) {
            float d1 = d * scaleK4(s, scales, 2 * g);
            float m1 = min * minK4(s, scales, 2 * g);
            float d2 = d * scaleK4(s, scales, 2 * g + 1);
            float m2 = min * minK4(s, scales, 2 * g + 1);
            for (int l = 0; l < 32; l++) {
                int q = u8(s, qs + 32 * g + l);
                y[o + 64 * g + l] = d1 * (q & 0x0F) - m1;
                y[o + 64 * g + 32 + l] = d2 * (q >>> 4) - m2;
            }
        }
    }

    // block_q5_K (176 bytes): d, dmin, scales[12], qh[32], qs[128]. As Q4_K, plus a fifth bit: sub-block i
    // takes bit i of qh[l] as 16.
    private static void decodeQ5_K(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at));
        float min = fp16ToFp32(s.get(U16, at + 2));
        long scales = at + 4;
        long qh = at + 16;
        long qs = at + 48;
        for (int g = 0; g < 4; g++) {
            float d1 = d * scaleK4(s, scales, 2 * g);
            float m1 = min * minK4(s, scales, 2 * g);
            float d2 = d * scaleK4(s, scales, 2 * g + 1);
            float m2 = min * minK4(s, scales, 2 * g + 1);
            for (int l = 0; l < 32; l++) {
                int q = u8(s, qs + 32 * g + l);
                int h = u8(s, qh + l);
                y[o + 64 * g + l] = d1 * ((q & 0x0F) + (h >>> 2 * g & 1) * 16) - m1;
                y[o + 64 * g + 32 + l] = d2 * ((q >>> 4) + (h >>> 2 * g + 1 & 1) * 16) - m2;
            }
        }
    }

    // block_q6_K (210 bytes): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d. Two halves of
    // 128 values; in half n, value 32k + l (k = 0..3) takes its low bits from ql[64n + l + 32(k & 1)]
    // (low nibble for k < 2, high for k >= 2) and its high bits from bits 2k, 2k + 1 of qh[32n + l];
    // q - 32 is scaled by (d * scales[8n + l/16 + 2k]).
    private static void decodeQ6_K(MemorySegment s, long at, float[] y, int o) {
        float d = fp16ToFp32(s.get(U16, at + 208));
        for (int n = 0; n < 2; n++) {
            long ql = at + 64 * n;
            long qh = at + 128 + 32 * n;
            long sc = at + 192 + 8 * n;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int lo = u8(s, ql + l);
                int hi = u8(s, ql + l + 32);
                int h = u8(s, qh + l);
                int q1 = (lo & 0x0F | (h & 3) << 4) - 32;
                int q2 = (hi & 0x0F | (h >>> 2 & 3) << 4) - 32;
                int q3 = (lo >>> 4 | (h >>> 4 & 3) << 4) - 32;
                int q4 = (hi >>> 4 | (h >>> 6 & 3) << 4) - 32;
                int yo = o + 128 * n + l;
                y[yo] = d * s.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                y[yo + 32] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                y[yo + 64] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                y[yo + 96] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
        }
    }

    // get_scale_min_k4: 8 six-bit scales and 8 six-bit mins packed in 12 bytes. Scales and mins 0..3 are
    // the low 6 bits of bytes j and j + 4; 4..7 take their low 4 bits from byte j + 4 (low nibble: scale,
    // high: min) and their top 2 bits from the top of bytes j - 4 (scale) and j (min).
    private static int scaleK4(MemorySegment s, long q, int j) {
        return j < 4 ? u8(s, q + j) & 63 : u8(s, q + j + 4) & 0x0F | (u8(s, q + j - 4) >>> 6) << 4;
    }

    private static int minK4(MemorySegment s, long q, int j) {
        return j < 4 ? u8(s, q + j + 4) & 63 : u8(s, q + j + 4) >>> 4 | (u8(s, q + j) >>> 6) << 4;
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** Encodes all of {@code src} into the start of {@code dst}; F32, F16 and Q8_0 only. */
    public static void quantize(GgmlType type, float[] src, MemorySegment dst) {
        int n = src.length;
        requireBytes(type, dst, n);
        switch (type) {
            case F32 -> MemorySegment.copy(src, 0, dst, F32, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(U16, 2L * i, fp32ToFp16(src[i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / QK8_0; b++) {
                    quantizeBlockQ8_0(src, b * QK8_0, dst, (long) b * Q8_0_BLOCK_BYTES);
                }
            }
            default -> throw new IllegalArgumentException("align4j cannot encode ggml type " + type + " (it encodes F32, F16, Q8_0)");
        }
    }

    // quantize_row_q8_0_ref for one block: float arithmetic throughout, as in C.
    private static void quantizeBlockQ8_0(float[] x, int from, MemorySegment dst, long at) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            float v = Math.abs(x[from + j]);
            amax = amax > v ? amax : v; // C's MAX macro, not Math.max: they differ on NaN
        }
        float d = amax / ((1 << 7) - 1);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        dst.set(U16, at, fp32ToFp16(d));
        for (int j = 0; j < QK8_0; j++) {
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundf(x[from + j] * id));
        }
    }

    // C's roundf: halfway cases away from zero (Math.round goes towards +infinity). |v| <= 127.5
    // here, so the double sum is exact.
    private static float roundf(float v) {
        return (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static void requireBytes(GgmlType type, MemorySegment segment, int n) {
        long need = type.byteSize(n);
        if (segment.byteSize() < need) {
            throw new IllegalArgumentException(n + " values of " + type + " need " + need + " bytes; the segment has " + segment.byteSize());
        }
    }
}
