package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.align4j.llama.LlamaLayouts.GGML_TYPE_TRAITS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Set;

/**
 * ggml's own quantizer ({@code ggml_quantize_chunk}) and decoders (each type's {@code to_float}, the
 * {@code dequantize_row_*} of ggml-quants.c) on Java arrays: the reference align4j's Java codecs are
 * checked against. Types are {@code enum ggml_type} ids. Arguments ggml would assert on (and abort the
 * process for) are refused here first.
 */
public final class GgmlQuantization {
    private static final VarHandle TYPE_NAME = LlamaLayouts.field(GGML_TYPE_TRAITS, "type_name");
    private static final VarHandle BLCK_SIZE = LlamaLayouts.field(GGML_TYPE_TRAITS, "blck_size");
    private static final VarHandle TYPE_SIZE = LlamaLayouts.field(GGML_TYPE_TRAITS, "type_size");
    private static final VarHandle TO_FLOAT = LlamaLayouts.field(GGML_TYPE_TRAITS, "to_float");

    // The types ggml_quantize_chunk's switch handles (ggml.c); any other fails an assertion there.
    private static final Set<Integer> CHUNK_TYPES = Set.of(
            0 /* F32 */, 1 /* F16 */, 30 /* BF16 */, 2 /* Q4_0 */, 3 /* Q4_1 */, 6 /* Q5_0 */, 7 /* Q5_1 */, 8 /* Q8_0 */,
            10 /* Q2_K */, 11 /* Q3_K */, 12 /* Q4_K */, 13 /* Q5_K */, 14 /* Q6_K */, 16 /* IQ2_XXS */, 17 /* IQ2_XS */,
            18 /* IQ3_XXS */, 19 /* IQ1_S */, 20 /* IQ4_NL */, 21 /* IQ3_S */, 22 /* IQ2_S */, 23 /* IQ4_XS */, 29 /* IQ1_M */,
            34 /* TQ1_0 */, 35 /* TQ2_0 */, 39 /* MXFP4 */, 40 /* NVFP4 */, 41 /* Q1_0 */, 42 /* Q2_0 */);

    private GgmlQuantization() {}

    /** ggml's name of the type ({@code "q4_K"}). */
    public static String typeName(int type) {
        return NativeStrings.cString((MemorySegment) TYPE_NAME.get(traits(type), 0L));
    }

    /** Values per block ({@code ggml_blck_size}). */
    public static long blockSize(int type) {
        return (long) BLCK_SIZE.get(traits(type), 0L);
    }

    /** Bytes per block ({@code ggml_type_size}). */
    public static long typeSize(int type) {
        return (long) TYPE_SIZE.get(traits(type), 0L);
    }

    /**
     * {@code ggml_quantize_chunk(type, x, dst, 0, x.length / nPerRow, nPerRow, NULL)}: encodes rows of
     * {@code nPerRow} values (a whole number of blocks) and returns their bytes.
     */
    public static byte[] quantize(int type, float[] x, int nPerRow) {
        long block = blockSize(type);
        if (!CHUNK_TYPES.contains(type) || Ggml.ggml_quantize_requires_imatrix(type)) {
            throw new IllegalArgumentException("ggml cannot quantize type " + typeName(type) + " without an importance matrix or at all");
        }
        if (nPerRow <= 0 || nPerRow % block != 0 || x.length % nPerRow != 0) {
            throw new IllegalArgumentException(typeName(type) + ": " + x.length + " values in rows of " + nPerRow
                    + " are not whole rows of whole blocks of " + block);
        }
        long bytes = x.length / block * typeSize(type);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(JAVA_FLOAT, x);
            MemorySegment dst = arena.allocate(Math.max(bytes, 1));
            long written = Ggml.ggml_quantize_chunk(type, src, dst, 0, x.length / nPerRow, nPerRow, MemorySegment.NULL);
            if (written != bytes) {
                throw new IllegalStateException("ggml_quantize_chunk wrote " + written + " bytes of " + typeName(type) + ", not " + bytes);
            }
            return dst.asSlice(0, bytes).toArray(JAVA_BYTE);
        }
    }

    /** The type's {@code to_float} on the first {@code n} values (whole blocks) of {@code data}. */
    public static float[] dequantize(int type, byte[] data, int n) {
        MemorySegment toFloat = (MemorySegment) TO_FLOAT.get(traits(type), 0L);
        long block = blockSize(type);
        if (toFloat.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("ggml has no to_float for type " + typeName(type));
        }
        if (n < 0 || n % block != 0 || (long) data.length < n / block * typeSize(type)) {
            throw new IllegalArgumentException(typeName(type) + ": " + n + " values are not whole blocks of " + block
                    + " within " + data.length + " bytes");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(JAVA_BYTE, data);
            MemorySegment dst = arena.allocate(JAVA_FLOAT, Math.max(n, 1));
            Ggml.to_float(toFloat, src, dst, n);
            return dst.asSlice(0, JAVA_FLOAT.byteSize() * n).toArray(JAVA_FLOAT);
        }
    }

    // A type ggml defines (removed ids have a zero block size); ggml_get_type_traits asserts the range.
    private static MemorySegment traits(int type) {
        if (type < 0 || type >= Ggml.GGML_TYPE_COUNT) {
            throw new IllegalArgumentException("ggml has no type " + type);
        }
        Llama.ensureLoaded();
        MemorySegment t = Ggml.ggml_get_type_traits(type).reinterpret(GGML_TYPE_TRAITS.byteSize());
        if ((long) BLCK_SIZE.get(t, 0L) <= 0) {
            throw new IllegalArgumentException("ggml has no type " + type + " (removed)");
        }
        return t;
    }
}
