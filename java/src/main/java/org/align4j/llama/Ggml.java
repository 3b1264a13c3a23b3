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
 * Downcalls into ggml.h (quantization, and the context / graph API for one matrix product, in
 * libggml-base), ggml-backend.h (reading a tensor) and ggml-cpu.h (graph computation, in libggml-cpu), found through libllama's
 * dependencies; one static method per C function with C's name and argument order, as {@link Llama}
 * does for llama.h.
 */
final class Ggml {
    private Ggml() {}

    /** {@code GGML_TYPE_COUNT} in ggml.h: ggml_get_type_traits asserts its argument is below it. */
    static final int GGML_TYPE_COUNT = 43;

    private static final class H {
        static final Linker LINKER = Linker.nativeLinker();

        // ret null: a void function.
        static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
            return LINKER.downcallHandle(NativeLibraries.llama().find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libggml-base / libggml-cpu have no symbol " + name + " (llama.cpp version mismatch?)")),
                    ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args));
        }

        static final MethodHandle get_type_traits = fn("ggml_get_type_traits", ADDRESS, JAVA_INT);
        static final MethodHandle quantize_requires_imatrix = fn("ggml_quantize_requires_imatrix", JAVA_BOOLEAN, JAVA_INT);
        static final MethodHandle quantize_chunk = fn("ggml_quantize_chunk", JAVA_LONG,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        static final MethodHandle init = fn("ggml_init", ADDRESS, LlamaLayouts.GGML_INIT_PARAMS);
        static final MethodHandle free = fn("ggml_free", null, ADDRESS);
        static final MethodHandle tensor_overhead = fn("ggml_tensor_overhead", JAVA_LONG);
        static final MethodHandle graph_overhead = fn("ggml_graph_overhead", JAVA_LONG);
        static final MethodHandle row_size = fn("ggml_row_size", JAVA_LONG, JAVA_INT, JAVA_LONG);
        static final MethodHandle new_tensor_2d = fn("ggml_new_tensor_2d", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG);
        static final MethodHandle transpose = fn("ggml_transpose", ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle mul_mat = fn("ggml_mul_mat", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle out_prod = fn("ggml_out_prod", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle new_graph = fn("ggml_new_graph", ADDRESS, ADDRESS);
        static final MethodHandle build_forward_expand = fn("ggml_build_forward_expand", null, ADDRESS, ADDRESS);
        static final MethodHandle cpu_init = fn("ggml_cpu_init", null);
        static final MethodHandle graph_compute_with_ctx = fn("ggml_graph_compute_with_ctx", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle backend_tensor_get = fn("ggml_backend_tensor_get", null, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG);

        // ggml_to_float_t, called through the pointer in ggml_type_traits.
        static final MethodHandle to_float = LINKER.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
    }

    static MemorySegment ggml_get_type_traits(int type) { try { return (MemorySegment) H.get_type_traits.invokeExact(type); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static boolean ggml_quantize_requires_imatrix(int type) { try { return (boolean) H.quantize_requires_imatrix.invokeExact(type); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static long ggml_quantize_chunk(int type, MemorySegment src, MemorySegment dst, long start, long nrows, long nPerRow, MemorySegment imatrix) {
        try {
            return (long) H.quantize_chunk.invokeExact(type, src, dst, start, nrows, nPerRow, imatrix);
        } catch (Throwable t) {
            throw Llama.rethrow(t);
        }
    }
    /** Calls a {@code ggml_to_float_t}: decodes {@code k} values at {@code x} into {@code y}. */
    static void to_float(MemorySegment fn, MemorySegment x, MemorySegment y, long k) { try { H.to_float.invokeExact(fn, x, y, k); } catch (Throwable t) { throw Llama.rethrow(t); } }

    static MemorySegment ggml_init(MemorySegment params) { try { return (MemorySegment) H.init.invokeExact(params); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static void ggml_free(MemorySegment ctx) { try { H.free.invokeExact(ctx); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static long ggml_tensor_overhead() { try { return (long) H.tensor_overhead.invokeExact(); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static long ggml_graph_overhead() { try { return (long) H.graph_overhead.invokeExact(); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static long ggml_row_size(int type, long ne) { try { return (long) H.row_size.invokeExact(type, ne); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static MemorySegment ggml_new_tensor_2d(MemorySegment ctx, int type, long ne0, long ne1) {
        try {
            return (MemorySegment) H.new_tensor_2d.invokeExact(ctx, type, ne0, ne1);
        } catch (Throwable t) {
            throw Llama.rethrow(t);
        }
    }
    static MemorySegment ggml_transpose(MemorySegment ctx, MemorySegment a) { try { return (MemorySegment) H.transpose.invokeExact(ctx, a); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static MemorySegment ggml_mul_mat(MemorySegment ctx, MemorySegment a, MemorySegment b) { try { return (MemorySegment) H.mul_mat.invokeExact(ctx, a, b); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static MemorySegment ggml_out_prod(MemorySegment ctx, MemorySegment a, MemorySegment b) { try { return (MemorySegment) H.out_prod.invokeExact(ctx, a, b); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static MemorySegment ggml_new_graph(MemorySegment ctx) { try { return (MemorySegment) H.new_graph.invokeExact(ctx); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static void ggml_build_forward_expand(MemorySegment graph, MemorySegment tensor) { try { H.build_forward_expand.invokeExact(graph, tensor); } catch (Throwable t) { throw Llama.rethrow(t); } }
    static void ggml_cpu_init() { try { H.cpu_init.invokeExact(); } catch (Throwable t) { throw Llama.rethrow(t); } }
    /** Returns an {@code enum ggml_status}: 0 is GGML_STATUS_SUCCESS. */
    static int ggml_graph_compute_with_ctx(MemorySegment ctx, MemorySegment graph, int nThreads) {
        try {
            return (int) H.graph_compute_with_ctx.invokeExact(ctx, graph, nThreads);
        } catch (Throwable t) {
            throw Llama.rethrow(t);
        }
    }

    /** ggml-backend.h: copies {@code size} bytes from {@code offset} of a tensor on any backend into host memory. */
    static void ggml_backend_tensor_get(MemorySegment tensor, MemorySegment data, long offset, long size) {
        try {
            H.backend_tensor_get.invokeExact(tensor, data, offset, size);
        } catch (Throwable t) {
            throw Llama.rethrow(t);
        }
    }
}
