package org.align4j.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.align4j.Align4jException;

/**
 * Row encoders and decoders between float[] and ggml's on-disk types, matching ggml's reference code
 * bit for bit: {@code ggml_compute_fp32_to_fp16} / {@code _fp16_to_fp32} (ggml-impl.h) and
 * {@code quantize_row_q8_0_ref} / {@code dequantize_row_q8_0} (ggml-quants.c). GGUF is little-endian.
 */
public final class GgmlQuants {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
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

    /** Decodes the first {@code dst.length} values of {@code src}; F32, F16, BF16 and Q8_0 only. */
    public static void dequantize(GgmlType type, MemorySegment src, float[] dst) {
        int n = dst.length;
        requireBytes(type, src, n);
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, 0, dst, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = Float.float16ToFloat(src.get(U16, 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = Float.intBitsToFloat(src.get(U16, 2L * i) << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / QK8_0; b++) {
                    long base = (long) b * Q8_0_BLOCK_BYTES;
                    float d = Float.float16ToFloat(src.get(U16, base));
                    for (int j = 0; j < QK8_0; j++) {
                        dst[b * QK8_0 + j] = src.get(ValueLayout.JAVA_BYTE, base + 2 + j) * d;
                    }
                }
            }
            default -> throw new Align4jException("align4j cannot decode ggml type " + type + " (it decodes F32, F16, BF16, Q8_0)");
        }
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
