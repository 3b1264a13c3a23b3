package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into ggml.h's quantization API (in libggml-base, found through libllama's dependencies),
 * one static method per C function with C's name and argument order, as {@link Llama} does for llama.h.
 */
final class Ggml {
    private Ggml() {}

    /** {@code GGML_TYPE_COUNT} in ggml.h: ggml_get_type_traits asserts its argument is below it. */
    static final int GGML_TYPE_COUNT = 43;

    private static final class H {
        static final Linker LINKER = Linker.nativeLinker();

        static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
            return LINKER.downcallHandle(NativeLibraries.llama().find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libggml-base has no symbol " + name + " (llama.cpp version mismatch?)")),
                    FunctionDescriptor.of(ret, args));
        }

        static final MethodHandle get_type_traits = fn("ggml_get_type_traits", ADDRESS, JAVA_INT);
        static final MethodHandle quantize_requires_imatrix = fn("ggml_quantize_requires_imatrix", JAVA_BOOLEAN, JAVA_INT);
        static final MethodHandle quantize_chunk = fn("ggml_quantize_chunk", JAVA_LONG,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        // ggml_to_float_t, called through the pointer in ggml_type_traits.
        static final MethodHandle to_float = LINKER.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    static MemorySegment ggml_get_type_traits(int type) { try { return (MemorySegment) H.get_type_traits.invokeExact(type); } catch (Throwable t) { throw rethrow(t); } }
    static boolean ggml_quantize_requires_imatrix(int type) { try { return (boolean) H.quantize_requires_imatrix.invokeExact(type); } catch (Throwable t) { throw rethrow(t); } }
    static long ggml_quantize_chunk(int type, MemorySegment src, MemorySegment dst, long start, long nrows, long nPerRow, MemorySegment imatrix) {
        try {
            return (long) H.quantize_chunk.invokeExact(type, src, dst, start, nrows, nPerRow, imatrix);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
    /** Calls a {@code ggml_to_float_t}: decodes {@code k} values at {@code x} into {@code y}. */
    static void to_float(MemorySegment fn, MemorySegment x, MemorySegment y, long k) { try { H.to_float.invokeExact(fn, x, y, k); } catch (Throwable t) { throw rethrow(t); } }
}
