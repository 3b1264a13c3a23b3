package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@link Context#tokenLogProbs} for a caller that gathers after every decode: the native argument
 * buffers are allocated once, for up to {@code capacity} (row, target) pairs, and reused. Owns them;
 * closed before its context. Not thread-safe, like the context.
 */
public final class LogProbGather implements AutoCloseable {
    private final Context ctx;
    private final int capacity;
    private Arena arena;
    private final MemorySegment rows;    // (capacity,) int32
    private final MemorySegment targets; // (capacity,) int32
    private final MemorySegment out;     // (capacity,) float32

    public LogProbGather(Context ctx, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.ctx = ctx;
        this.capacity = capacity;
        this.arena = Arena.ofShared();
        this.rows = arena.allocate(JAVA_INT, capacity);
        this.targets = arena.allocate(JAVA_INT, capacity);
        this.out = arena.allocate(JAVA_FLOAT, capacity);
    }

    public int capacity() {
        return capacity;
    }

    /**
     * As {@link Context#tokenLogProbs}: raw log-probs of {@code targets[k]} at output row {@code rows[k]}, k < n.
     *
     * @throws NonFiniteLogitsException if a log-prob is not finite; its index is the k
     */
    public void gather(int[] rowsIn, int[] targetsIn, int n, float[] logps) {
        if (arena == null) {
            throw new IllegalStateException("log-prob gather is closed");
        }
        if (n > capacity) {
            throw new IllegalArgumentException(n + " targets, more than the capacity of " + capacity);
        }
        if (n == 0) {
            return;
        }
        MemorySegment.copy(rowsIn, 0, rows, JAVA_INT, 0, n);
        MemorySegment.copy(targetsIn, 0, targets, JAVA_INT, 0, n);
        check(Llama.align4j_token_logprobs(ctx.handle(), rows, targets, n, out), ctx, rowsIn, targetsIn, n);
        MemorySegment.copy(out, JAVA_FLOAT, 0, logps, 0, n);
    }

    /**
     * align4j_token_logprobs's negative return codes as exceptions naming the bad row or token.
     *
     * @throws NonFiniteLogitsException if a target's log-prob is not finite: NaN or infinite logits in its row
     */
    static void check(int rc, Context ctx, int[] rows, int[] targets, int n) {
        if (rc < 0) {
            int k = -rc - 1;
            throw k < n ? new IllegalArgumentException("no logits for output row " + rows[k] + " of the last batch")
                    : k < 2 * n ? new IllegalArgumentException("token " + targets[k - n] + " is outside the vocabulary (" + ctx.nVocab() + ")")
                    : new NonFiniteLogitsException(ctx.model().path(), rows[k - 2 * n], k - 2 * n);
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
