package org.align4j.engine;

import org.align4j.llama.ContextOptions;

/**
 * @param maxSeqLen   longest prompt + completion accepted, in tokens
 * @param batchTokens tokens per llama_decode, at most maxSeqs x maxSeqLen (a larger value is lowered to that)
 * @param maxSeqs     sequence ids in use at once (completions scored side by side)
 * @param threads     CPU threads (--threads): at most {@link ContextOptions#MAX_THREADS}
 * @param sharePrefix decode each prompt once for all its completions (off: once per completion)
 * @param topK        also keep the K most probable tokens at every scored position (0: none)
 * @param flashAttention use llama.cpp's flash attention: faster. On or off, on the CPU backend a sequence's
 *                    log-probs move with what is batched beside it
 *                    (see {@link org.align4j.llama.ContextOptions.FlashAttention})
 */
public record ScorerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean sharePrefix, int topK,
                            boolean flashAttention) {
    public ScorerOptions {
        if (maxSeqLen < 2 || batchTokens < 1 || maxSeqs < 1 || threads < 1 || topK < 0) {
            throw new IllegalArgumentException("invalid scorer options " + this);
        }
        if (2L * maxSeqs * maxSeqLen > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--seqs " + maxSeqs + " x --ctx " + maxSeqLen + " KV cells is too many: lower either");
        }
        batchTokens = Math.min(batchTokens, maxSeqs * maxSeqLen); // no decode can take more than the context holds
        ContextOptions.checkThreads(threads, "--threads");
    }

    /** Options with no top-k alternatives and flash attention off. */
    public ScorerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean sharePrefix) {
        this(maxSeqLen, batchTokens, maxSeqs, threads, sharePrefix, 0, false);
    }
}
