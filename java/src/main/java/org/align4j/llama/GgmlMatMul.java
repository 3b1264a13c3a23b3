package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.align4j.llama.LlamaLayouts.GGML_INIT_PARAMS;
import static org.align4j.llama.LlamaLayouts.GGML_TENSOR;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * ggml's own CPU kernels for the two products with a weight matrix W (out, in) that stays where it is
 * (a GGUF tensor's mapped bytes, in its file type): {@code ggml_mul_mat} for Y = X . W^T, which first
 * converts X to the type's vec_dot type (q8_0 for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0, q8_K for the K-quants, f16
 * and bf16 for F16 and BF16), and {@code ggml_out_prod} for dX = dY . W, which decodes a row of W per
 * row of dY and accumulates in f32. Each call builds a one-node graph in a {@code no_alloc} ggml context
 * over memory of its own confined arena, points the tensors' {@code data} at W's bytes and at native
 * copies of the activations, and runs {@code ggml_graph_compute_with_ctx}. Types are {@code enum
 * ggml_type} ids; arguments ggml would assert on (and abort the process for) are refused first.
 */
public final class GgmlMatMul {
    private static final int GGML_TYPE_F32 = 0;
    private static final int GGML_TYPE_BF16 = 30;
    private static final VarHandle MEM_SIZE = LlamaLayouts.field(GGML_INIT_PARAMS, "mem_size");
    private static final VarHandle MEM_BUFFER = LlamaLayouts.field(GGML_INIT_PARAMS, "mem_buffer");
    private static final VarHandle NO_ALLOC = LlamaLayouts.field(GGML_INIT_PARAMS, "no_alloc");
    private static final VarHandle DATA = LlamaLayouts.field(GGML_TENSOR, "data");

    private static boolean cpuReady;

    private GgmlMatMul() {}

    /**
     * {@code y (rows, out) = x (rows, in) . W^T} ({@code ggml_mul_mat(W, x)}), overwriting the first
     * {@code rows * out} values of y. W is {@code out} rows of {@code in} values of {@code type}.
     */
    public static void mulMat(int type, MemorySegment w, int out, int in, float[] x, int rows, float[] y, int threads) {
        check(type, w, out, in, rows, threads);
        Objects.checkFromIndexSize(0, (long) rows * in, x.length);
        Objects.checkFromIndexSize(0, (long) rows * out, y.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocate(JAVA_FLOAT, (long) rows * in);
            MemorySegment.copy(x, 0, xs, JAVA_FLOAT, 0, rows * in);
            MemorySegment ys = arena.allocate(JAVA_FLOAT, (long) rows * out);
            MemorySegment ctx = context(arena, rows, in, out, threads);
            try {
                MemorySegment wt = tensor(ctx, type, in, out, w);
                MemorySegment xt = tensor(ctx, GGML_TYPE_F32, in, rows, xs);
                MemorySegment yt = Ggml.ggml_mul_mat(ctx, wt, xt); // ne (out, rows)
                compute(ctx, yt, ys, threads);
            } finally {
                Ggml.ggml_free(ctx);
            }
            MemorySegment.copy(ys, JAVA_FLOAT, 0, y, 0, rows * out);
        }
    }

    /**
     * {@code dx (rows, in) = dy (rows, out) . W} ({@code ggml_out_prod(W, dy^T)}), overwriting the first
     * {@code rows * in} values of dx. ggml has no out_prod for BF16 weights.
     */
    public static void outProd(int type, MemorySegment w, int out, int in, float[] dy, int rows, float[] dx, int threads) {
        check(type, w, out, in, rows, threads);
        if (type == GGML_TYPE_BF16) {
            throw new IllegalArgumentException("ggml's CPU backend has no out_prod for bf16 weights");
        }
        Objects.checkFromIndexSize(0, (long) rows * out, dy.length);
        Objects.checkFromIndexSize(0, (long) rows * in, dx.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dys = arena.allocate(JAVA_FLOAT, (long) rows * out);
            MemorySegment.copy(dy, 0, dys, JAVA_FLOAT, 0, rows * out);
            MemorySegment dxs = arena.allocate(JAVA_FLOAT, (long) rows * in);
            MemorySegment ctx = context(arena, rows, in, out, threads);
            try {
                MemorySegment wt = tensor(ctx, type, in, out, w);
                MemorySegment dyt = tensor(ctx, GGML_TYPE_F32, out, rows, dys);
                // out_prod(a, b)[i0, i1] = sum_j a[i0, j] * b[i1, j]: b is dy^T, ne (rows, out), a strided view.
                MemorySegment dxt = Ggml.ggml_out_prod(ctx, wt, Ggml.ggml_transpose(ctx, dyt)); // ne (in, rows)
                compute(ctx, dxt, dxs, threads);
            } finally {
                Ggml.ggml_free(ctx);
            }
            MemorySegment.copy(dxs, JAVA_FLOAT, 0, dx, 0, rows * in);
        }
    }

    private static void check(int type, MemorySegment w, int out, int in, int rows, int threads) {
        long block = GgmlQuantization.blockSize(type); // loads the libraries; refuses unknown types
        if (out <= 0 || in <= 0 || rows <= 0 || in % block != 0) {
            throw new IllegalArgumentException(GgmlQuantization.typeName(type) + ": W (" + out + ", " + in + ") and " + rows
                    + " rows: sizes must be positive and rows of W whole blocks of " + block);
        }
        ContextOptions.checkThreads(threads, "threads");
        long need = out * Ggml.ggml_row_size(type, in);
        if (w.byteSize() < need) {
            throw new IllegalArgumentException("W (" + out + ", " + in + ") of " + GgmlQuantization.typeName(type) + " needs "
                    + need + " bytes; the segment has " + w.byteSize());
        }
    }

    // A no_alloc context in the arena, big enough for four tensors, the graph and the work buffer
    // ggml_graph_plan asks for: at most 4 bytes a value of the converted activations, plus per-thread rows
    // and cache lines.
    private static MemorySegment context(Arena arena, int rows, int in, int out, int threads) {
        synchronized (GgmlMatMul.class) {
            if (!cpuReady) {
                Ggml.ggml_cpu_init();
                cpuReady = true;
            }
        }
        long work = 4L * rows * Math.max(in, out) + 4L * (in + out + 64) * threads + 65536;
        long size = 4 * Ggml.ggml_tensor_overhead() + Ggml.ggml_graph_overhead() + work;
        MemorySegment params = arena.allocate(GGML_INIT_PARAMS);
        MEM_SIZE.set(params, 0L, size);
        MEM_BUFFER.set(params, 0L, arena.allocate(size, 64));
        NO_ALLOC.set(params, 0L, true);
        MemorySegment ctx = Ggml.ggml_init(params);
        if (ctx.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("ggml_init failed for a context of " + size + " bytes");
        }
        return ctx;
    }

    // A 2-D tensor (ne0, ne1) of the type whose data are `data`: set before any view of it is made.
    private static MemorySegment tensor(MemorySegment ctx, int type, long ne0, long ne1, MemorySegment data) {
        MemorySegment t = Ggml.ggml_new_tensor_2d(ctx, type, ne0, ne1);
        DATA.set(t.reinterpret(GGML_TENSOR.byteSize()), 0L, data);
        return t;
    }

    private static void compute(MemorySegment ctx, MemorySegment result, MemorySegment resultData, int threads) {
        DATA.set(result.reinterpret(GGML_TENSOR.byteSize()), 0L, resultData);
        MemorySegment graph = Ggml.ggml_new_graph(ctx);
        Ggml.ggml_build_forward_expand(graph, result);
        int status = Ggml.ggml_graph_compute_with_ctx(ctx, graph, threads);
        if (status != 0) {
            throw new IllegalStateException("ggml_graph_compute_with_ctx failed with status " + status);
        }
    }
}
