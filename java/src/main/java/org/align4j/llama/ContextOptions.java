package org.align4j.llama;

/**
 * How to make a context.
 *
 * @param nCtx           KV-cache cells (tokens) across all sequences; 0 = the model's training context
 * @param nBatch         most tokens one {@code llama_decode} may take
 * @param nUbatch        most tokens one compute graph takes (nBatch is split into ubatches of this size)
 * @param nSeqMax        distinct sequence ids usable at once
 * @param nThreads       CPU threads for generation and batch processing
 * @param kvUnified      one KV buffer shared by all sequences (needed for prefix sharing with seq_cp)
 * @param flashAttention llama.cpp's flash_attn_type
 * @param hiddenStates   what a decode yields besides logits: final hidden states, and at which rows
 */
public record ContextOptions(int nCtx, int nBatch, int nUbatch, int nSeqMax, int nThreads, boolean kvUnified,
                             FlashAttention flashAttention, HiddenStates hiddenStates) {
    /**
     * ggml's GGML_MAX_N_THREADS, the most threads its CPU backend is built for (its CPU masks have this many
     * entries). llama.cpp checks nothing, and far more threads crash the process: OpenMP's team start keeps
     * per-thread data on the calling thread's stack, and about 7,600 overflowed a 1 MiB Java thread stack.
     */
    public static final int MAX_THREADS = 512;

    /**
     * llama_flash_attn_type. On the CPU backend of the pinned llama.cpp a sequence's logits depend on what
     * is decoded beside it with flash attention on or off: ggml picks kernels by the number of rows (and
     * flash attention a one-query, per-row or tiled path by the number of tokens) and sums attention over
     * KV cells in an order set by where they lie. About 1e-5 in a log-prob with F32 weights; F16 and Q8_0
     * weights, to whose type activations are rounded before each matmul, make it 1e-4 to 1e-3 (README,
     * "Resume and batch shape").
     */
    public enum FlashAttention {
        AUTO(-1), OFF(0), ON(1);

        final int code;

        FlashAttention(int code) {
            this.code = code;
        }
    }

    /**
     * The final hidden state (after the output norm, the input of the vocabulary projection; shape (n_embd,)
     * per row) a decode makes readable through {@link Context#hiddenState}.
     */
    public enum HiddenStates {
        /** None: logits only. */
        NONE,
        /**
         * At the rows that ask for output, copied out of the compute graph as its {@code result_norm} node is
         * computed (llama.cpp's {@code cb_eval}). The vocabulary projection runs on those rows only, as for
         * logits. Needs {@code kvUnified}: llama.cpp then splits a batch into ubatches in order, so the
         * node's rows are the output rows in batch order.
         */
        OUTPUT_ROWS,
        /**
         * llama.cpp's embeddings mode ({@code embeddings = true}, pooling NONE): every token of a batch is an
         * output whatever it asked for, so the vocabulary projection runs on every token.
         */
        EVERY_TOKEN
    }

    public ContextOptions {
        if (nCtx < 0 || nBatch < 1 || nUbatch < 1 || nSeqMax < 1 || nThreads < 1 || flashAttention == null || hiddenStates == null) {
            throw new IllegalArgumentException("invalid context options " + this);
        }
        if (hiddenStates == HiddenStates.OUTPUT_ROWS && !kvUnified) {
            throw new IllegalArgumentException("hidden states at output rows need a unified KV cache: " + this);
        }
        checkThreads(nThreads, "nThreads");
    }

    /** No hidden states. */
    public ContextOptions(int nCtx, int nBatch, int nUbatch, int nSeqMax, int nThreads, boolean kvUnified,
                          FlashAttention flashAttention) {
        this(nCtx, nBatch, nUbatch, nSeqMax, nThreads, kvUnified, flashAttention, HiddenStates.NONE);
    }

    public ContextOptions withHiddenStates(HiddenStates h) {
        return new ContextOptions(nCtx, nBatch, nUbatch, nSeqMax, nThreads, kvUnified, flashAttention, h);
    }

    /**
     * Checks a thread count for llama.cpp: 1 to {@link #MAX_THREADS}.
     *
     * @param option the name the caller's user knows it by ({@code --threads}), named in the message
     * @throws IllegalArgumentException saying what to change
     */
    public static void checkThreads(int threads, String option) {
        if (threads < 1) {
            throw new IllegalArgumentException(option + " must be positive, not " + threads);
        }
        if (threads > MAX_THREADS) {
            throw new IllegalArgumentException(option + " " + threads + " is more than the " + MAX_THREADS
                    + " threads llama.cpp's CPU backend can run (ggml's GGML_MAX_N_THREADS): lower " + option
                    + " (this machine has " + Runtime.getRuntime().availableProcessors() + " cores)");
        }
    }

    /** Flash attention as llama.cpp decides ({@link FlashAttention#AUTO}). */
    public ContextOptions(int nCtx, int nBatch, int nUbatch, int nSeqMax, int nThreads, boolean kvUnified) {
        this(nCtx, nBatch, nUbatch, nSeqMax, nThreads, kvUnified, FlashAttention.AUTO);
    }

    /** One sequence, the given context, batch = context, all available cores (at most {@link #MAX_THREADS}). */
    public static ContextOptions single(int nCtx) {
        return new ContextOptions(nCtx, nCtx, Math.min(nCtx, 512), 1, defaultThreads(), true);
    }

    /** All available cores, at most {@link #MAX_THREADS}. */
    public static int defaultThreads() {
        return Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS);
    }
}
