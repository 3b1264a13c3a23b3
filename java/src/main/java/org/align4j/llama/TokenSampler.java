package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * align4j's own token sampler ({@code native/sampling.c}) over the logits of its context's last decode:
 * llama.cpp's sampler-chain semantics and order (suppressed tokens, repetition penalty, top-k, top-p,
 * min-p, temperature, draw), with each draw's seed supplied by the caller, so each completion's random
 * stream is its own and reproducible. The draw is an exponential race (Gumbel-max: the largest
 * logit / temperature - ln(-ln U), one U per token from the seed), so logits moved by floating-point
 * noise, as the shape of a batch moves them, almost never change a draw. One native call samples every draw of a step; the native
 * buffers (arguments and three vocabulary-sized scratch arrays) are allocated once, for up to
 * {@code capacity} draws of {@code maxWindow} window tokens each. Owns them; closed before its context.
 * Not thread-safe, like the context.
 */
public final class TokenSampler implements AutoCloseable {
    /**
     * @param temperature   0 = argmax after the suppression and the penalty; the other filters then change nothing
     * @param topK          keep the k most probable; 0 = off
     * @param topP          keep the smallest most-probable set with this much probability; 1 = off
     * @param minP          keep tokens at least minP times as probable as the most probable; 0 = off
     * @param repeatPenalty a window token's logit is divided by it (multiplied, when not positive); 1 = off
     */
    public record Filters(float temperature, int topK, float topP, float minP, float repeatPenalty) {}

    /** A draw's distribution: the tokens of non-zero probability and their probabilities, in no particular order. */
    public record Distribution(int[] ids, double[] probs) {}

    private final Context ctx;
    private final Filters filters;
    private final int capacity;
    private final int maxWindow;
    private final int nSuppressed;
    private Arena arena;
    private final MemorySegment suppressed;   // (nSuppressed,) int32
    private final MemorySegment rows;         // (capacity,) int32
    private final MemorySegment seeds;        // (capacity,) int64
    private final MemorySegment windowStart;  // (capacity + 1,) int32
    private final MemorySegment windowTokens; // (capacity * maxWindow,) int32
    private final MemorySegment vals;         // (n_vocab,) float32 scratch
    private final MemorySegment ids;          // (n_vocab,) int32 scratch
    private final MemorySegment cv;           // (n_vocab,) float32 scratch
    private final MemorySegment out;          // (capacity,) int32

    /**
     * @param suppressed tokens never sampled (a -infinity logit bias: {@code --ignore-eos} with the
     *                   end-of-generation tokens)
     * @param maxWindow  most repetition-window tokens per draw (the penalty's last-n); 0 without a penalty
     */
    public TokenSampler(Context ctx, Filters filters, int[] suppressed, int capacity, int maxWindow) {
        if (capacity < 1 || maxWindow < 0) {
            throw new IllegalArgumentException("capacity must be positive and maxWindow not negative");
        }
        this.ctx = ctx;
        this.filters = filters;
        this.capacity = capacity;
        this.maxWindow = maxWindow;
        this.nSuppressed = suppressed.length;
        int nVocab = ctx.nVocab();
        this.arena = Arena.ofShared();
        this.suppressed = arena.allocate(JAVA_INT, Math.max(1, suppressed.length));
        MemorySegment.copy(suppressed, 0, this.suppressed, JAVA_INT, 0, suppressed.length);
        this.rows = arena.allocate(JAVA_INT, capacity);
        this.seeds = arena.allocate(JAVA_LONG, capacity);
        this.windowStart = arena.allocate(JAVA_INT, capacity + 1);
        this.windowTokens = arena.allocate(JAVA_INT, Math.max(1, (long) capacity * maxWindow));
        this.vals = arena.allocate(JAVA_FLOAT, nVocab);
        this.ids = arena.allocate(JAVA_INT, nVocab);
        this.cv = arena.allocate(JAVA_FLOAT, nVocab);
        this.out = arena.allocate(JAVA_INT, capacity);
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Samples draws k < n into {@code tokens}: draw k from output row {@code rowsIn[k]} of the last decode
     * with the seed {@code seedsIn[k]}, its repetition window being
     * {@code windowTokensIn[windowStartIn[k], windowStartIn[k + 1])} (the last tokens of its prompt and
     * completion; {@code windowStartIn[0] == 0}). The same row, window and seed always give the same token.
     *
     * <p>A row whose logits are all NaN (nothing to draw) is a {@link NonFiniteLogitsException}; a row with
     * only some NaN or infinite logits may still give a token: the log-prob gather over the same rows
     * ({@link LogProbGather}) is what finds those, without a pass of its own here.
     *
     * @throws IllegalArgumentException for a row with no logits, a token outside the vocabulary, a window
     *                                  longer than maxWindow, or a draw with every token suppressed
     * @throws NonFiniteLogitsException for a draw with nothing to sample because its logits are NaN or
     *                                  infinite; its index is the draw's
     */
    public void sample(int n, int[] rowsIn, long[] seedsIn, int[] windowStartIn, int[] windowTokensIn, int[] tokens) {
        if (arena == null) {
            throw new IllegalStateException("token sampler is closed");
        }
        if (n > capacity) {
            throw new IllegalArgumentException(n + " draws, more than the capacity of " + capacity);
        }
        if (n == 0) {
            return;
        }
        if (windowStartIn[0] != 0) {
            throw new IllegalArgumentException("the first window must start at 0, not " + windowStartIn[0]);
        }
        for (int k = 0; k < n; k++) {
            if (windowStartIn[k + 1] - windowStartIn[k] > maxWindow) {
                throw new IllegalArgumentException("draw " + k + " has a window of " + (windowStartIn[k + 1] - windowStartIn[k])
                        + " tokens, more than " + maxWindow);
            }
        }
        MemorySegment.copy(rowsIn, 0, rows, JAVA_INT, 0, n);
        MemorySegment.copy(seedsIn, 0, seeds, JAVA_LONG, 0, n);
        MemorySegment.copy(windowStartIn, 0, windowStart, JAVA_INT, 0, n + 1);
        MemorySegment.copy(windowTokensIn, 0, windowTokens, JAVA_INT, 0, windowStartIn[n]);
        int rc = Llama.align4j_sample(ctx.handle(), filters.temperature(), filters.topK(), filters.topP(), filters.minP(),
                filters.repeatPenalty(), suppressed, nSuppressed, n, rows, seeds, windowStart, windowTokens, vals, ids, cv, out);
        if (rc < 0) {
            int k = -rc - 1;
            throw k < n ? new IllegalArgumentException("no logits for output row " + rowsIn[k] + " of the last batch")
                    : k < 2 * n ? new IllegalArgumentException("draw " + (k - n) + " names a suppressed or window token outside the vocabulary ("
                            + ctx.nVocab() + ")")
                    : k < 3 * n ? new IllegalArgumentException("draw " + (k - 2 * n) + " has every token suppressed: nothing to sample")
                    : new NonFiniteLogitsException(ctx.model().path(), rowsIn[k - 3 * n], k - 3 * n);
        }
        MemorySegment.copy(out, JAVA_INT, 0, tokens, 0, n);
    }

    /**
     * The distribution {@link #sample} draws from at output row {@code row} of the last decode with the
     * repetition window {@code window} (the filters applied, in double precision): what a draw is held to.
     *
     * @throws IllegalArgumentException for a row with no logits or a token outside the vocabulary
     * @throws NonFiniteLogitsException  if the row's logits hold a NaN or an infinity
     */
    public Distribution distribution(int row, int[] window) {
        if (arena == null) {
            throw new IllegalStateException("token sampler is closed");
        }
        int nVocab = ctx.nVocab();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment w = call.allocate(JAVA_INT, Math.max(1, window.length));
            MemorySegment.copy(window, 0, w, JAVA_INT, 0, window.length);
            MemorySegment ids = call.allocate(JAVA_INT, nVocab);
            MemorySegment probs = call.allocate(JAVA_DOUBLE, nVocab);
            int got = Llama.align4j_sample_distribution(ctx.handle(), filters.temperature(), filters.topK(), filters.topP(),
                    filters.minP(), filters.repeatPenalty(), suppressed, nSuppressed, row, w, window.length, vals, this.ids, cv, ids, probs);
            if (got < 0) {
                throw got == -1 ? new IllegalArgumentException("no logits for output row " + row + " of the last batch")
                        : got == -2 ? new IllegalArgumentException("a suppressed or window token is outside the vocabulary (" + nVocab + ")")
                        : new NonFiniteLogitsException(ctx.model().path(), row, 0);
            }
            return new Distribution(ids.asSlice(0, got * JAVA_INT.byteSize()).toArray(JAVA_INT),
                    probs.asSlice(0, got * JAVA_DOUBLE.byteSize()).toArray(JAVA_DOUBLE));
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
