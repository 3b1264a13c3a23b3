package org.align4j.llama;

/**
 * How to make a context.
 *
 * @param nCtx      KV-cache cells (tokens) across all sequences; 0 = the model's training context
 * @param nBatch    most tokens one {@code llama_decode} may take
 * @param nUbatch   most tokens one compute graph takes (nBatch is split into ubatches of this size)
 * @param nSeqMax   distinct sequence ids usable at once
 * @param nThreads  CPU threads for generation and batch processing
 * @param kvUnified one KV buffer shared by all sequences (needed for prefix sharing with seq_cp)
 */
public record ContextOptions(int nCtx, int nBatch, int nUbatch, int nSeqMax, int nThreads, boolean kvUnified) {
    public ContextOptions {
        if (nCtx < 0 || nBatch < 1 || nUbatch < 1 || nSeqMax < 1 || nThreads < 1) {
            throw new IllegalArgumentException("invalid context options " + this);
        }
    }

    /** One sequence, the given context, batch = context, all available cores. */
    public static ContextOptions single(int nCtx) {
        return new ContextOptions(nCtx, nCtx, Math.min(nCtx, 512), 1, Runtime.getRuntime().availableProcessors(), true);
    }
}
