package org.align4j.engine;

import org.align4j.llama.ContextOptions;

/**
 * The sampler's capacity, fixed when it is made. The KV cache holds {@code maxSeqs * maxSeqLen} cells:
 * each live sequence's prompt and completion, a shared prompt counted once per sequence at most.
 *
 * @param maxSeqLen      longest prompt + completion, in tokens (--ctx)
 * @param batchTokens    tokens per llama_decode (--batch-tokens): at least {@code maxSeqs}, so that one
 *                       token of every live sequence goes into each decode, with the rest for prompts;
 *                       at most the context's cells (a larger value is lowered to that)
 * @param maxSeqs        sequences sampled side by side (--seqs), llama.cpp's n_seq_max: at most 256
 * @param threads        CPU threads (--threads): at most {@link ContextOptions#MAX_THREADS}
 * @param flashAttention use llama.cpp's flash attention (--flash-attn), off by default; a GPU may want it on
 *                       for speed. On or off, on the CPU backend a sequence's log-probs move with what is
 *                       batched beside it ({@link ContextOptions.FlashAttention})
 */
public record SamplerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean flashAttention) {
    /** llama.cpp's LLAMA_MAX_SEQ. */
    public static final int LLAMA_MAX_SEQ = 256;

    /** @throws IllegalArgumentException saying which option to change */
    public SamplerOptions {
        if (maxSeqLen < 2 || batchTokens < 1 || maxSeqs < 1 || threads < 1) {
            throw new IllegalArgumentException("--ctx must be at least 2, and --batch-tokens, --seqs and --threads positive");
        }
        if (maxSeqs > LLAMA_MAX_SEQ) {
            throw new IllegalArgumentException("--seqs " + maxSeqs + " is more than llama.cpp's " + LLAMA_MAX_SEQ
                    + " sequences per context: lower --seqs");
        }
        if (batchTokens < maxSeqs) {
            throw new IllegalArgumentException("--batch-tokens " + batchTokens + " is less than --seqs " + maxSeqs
                    + ": each decode carries one token of every live sequence, so raise --batch-tokens to at least "
                    + maxSeqs + " or lower --seqs");
        }
        if ((long) maxSeqs * maxSeqLen > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--seqs " + maxSeqs + " x --ctx " + maxSeqLen + " KV cells is too many: lower either");
        }
        batchTokens = Math.min(batchTokens, maxSeqs * maxSeqLen); // no decode can take more than the context holds
        ContextOptions.checkThreads(threads, "--threads");
    }

    /** Flash attention off. */
    public SamplerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads) {
        this(maxSeqLen, batchTokens, maxSeqs, threads, false);
    }

    /**
     * A scorer with this capacity (batch, sequences, threads, attention) for sequences of up to
     * {@code maxSeqLen} tokens, sharing prompts, without top-k alternatives.
     */
    public ScorerOptions scorer(int maxSeqLen) {
        return new ScorerOptions(maxSeqLen, batchTokens, maxSeqs, threads, true, 0, flashAttention);
    }

    /** KV-cache cells of the sampler's context. */
    public int kvCells() {
        return maxSeqs * maxSeqLen;
    }
}
