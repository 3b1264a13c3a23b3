package org.align4j.llama;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.align4j.llama.LlamaLayouts.GGML_TENSOR;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;

/**
 * A context's {@code cb_eval} callback (an upcall): while {@code llama_decode} computes the graph, copies the
 * rows of its {@code result_norm} node, the final hidden state after the output norm at the batch's output
 * rows, into memory this owns. Every architecture llama.cpp builds names that node so. Owned by its
 * {@link Context}, which frees the context before closing this.
 */
final class HiddenStateCapture implements AutoCloseable {
    private static final byte[] NODE = "result_norm\0".getBytes(StandardCharsets.US_ASCII);
    private static final long TYPE = GGML_TENSOR.byteOffset(groupElement("type"));
    private static final long NE = GGML_TENSOR.byteOffset(groupElement("ne"));
    private static final long NB = GGML_TENSOR.byteOffset(groupElement("nb"));
    private static final long NAME = GGML_TENSOR.byteOffset(groupElement("name"));
    private static final int GGML_TYPE_F32 = 0;
    private static final MethodHandle ON_EVAL;

    static {
        try {
            ON_EVAL = MethodHandles.lookup().findVirtual(HiddenStateCapture.class, "onEval",
                    MethodType.methodType(boolean.class, MemorySegment.class, boolean.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int nEmbd;
    private final int capacity;
    private Arena arena;
    private final MemorySegment callback;
    private final MemorySegment rows; // (capacity, n_embd) float32: the captured rows, in the order computed
    private int nRows;
    private String failure; // why the last decode's capture is unusable, or null

    HiddenStateCapture(int nEmbd, int capacity) {
        this.nEmbd = nEmbd;
        this.capacity = capacity;
        this.arena = Arena.ofShared();
        this.rows = arena.allocate(JAVA_FLOAT, (long) capacity * nEmbd);
        this.callback = Linker.nativeLinker().upcallStub(ON_EVAL.bindTo(this),
                FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_BOOLEAN, ADDRESS), arena);
    }

    /** The {@code ggml_backend_sched_eval_callback} to set as the context's cb_eval. */
    MemorySegment callback() {
        return callback;
    }

    /** Before each decode. */
    void reset() {
        nRows = 0;
        failure = null;
    }

    /** Rows captured by the last decode. */
    int rows() {
        return nRows;
    }

    /** Why the last decode's capture is unusable, or null. */
    String failure() {
        return failure;
    }

    /** Copies captured row {@code i} (n_embd floats) into {@code dst}. */
    void copyRow(int i, float[] dst) {
        MemorySegment.copy(rows, JAVA_FLOAT, (long) i * nEmbd * JAVA_FLOAT.byteSize(), dst, 0, nEmbd);
    }

    /**
     * ggml's scheduler asks ({@code ask}) for every node whether we want its data, then calls again once a
     * wanted node is computed. Returning false from that second call stops the graph, so a bad node is
     * recorded for the decode to report rather than thrown (an exception must not leave an upcall).
     */
    private boolean onEval(MemorySegment tensor, boolean ask, MemorySegment userData) {
        MemorySegment t = tensor.reinterpret(GGML_TENSOR.byteSize());
        if (ask) {
            return MemorySegment.mismatch(t, NAME, NAME + NODE.length, MemorySegment.ofArray(NODE), 0, NODE.length) == -1;
        }
        try {
            long ne0 = t.get(JAVA_LONG, NE);
            long ne1 = t.get(JAVA_LONG, NE + JAVA_LONG.byteSize());
            long nb1 = t.get(JAVA_LONG, NB + JAVA_LONG.byteSize());
            if (t.get(JAVA_INT, TYPE) != GGML_TYPE_F32 || ne0 != nEmbd || nb1 != ne0 * JAVA_FLOAT.byteSize()) {
                failure = "result_norm is not a contiguous float32 matrix of " + nEmbd + " columns (type " + t.get(JAVA_INT, TYPE)
                        + ", " + ne0 + " columns)";
                return false;
            }
            if (nRows + ne1 > capacity) {
                failure = "result_norm has " + (nRows + ne1) + " rows in one decode, more than the batch's " + capacity;
                return false;
            }
            long bytes = ne1 * nb1;
            Ggml.ggml_backend_tensor_get(tensor, rows.asSlice((long) nRows * nb1, bytes), 0, bytes);
            nRows += (int) ne1;
            return true;
        } catch (Throwable e) {
            failure = "reading result_norm failed: " + e;
            return false;
        }
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
            arena = null;
        }
    }
}
