package org.align4j.engine;

/**
 * @param maxSeqLen   longest prompt + completion accepted, in tokens
 * @param batchTokens tokens per llama_decode
 * @param maxSeqs     sequence ids in use at once (completions scored side by side)
 * @param threads     CPU threads
 * @param sharePrefix decode each prompt once for all its completions (off: once per completion)
 * @param topK        also keep the K most probable tokens at every scored position (0: none)
 */
public record ScorerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean sharePrefix, int topK) {
    public ScorerOptions {
        if (maxSeqLen < 2 || batchTokens < 1 || maxSeqs < 1 || threads < 1 || topK < 0) {
            throw new IllegalArgumentException("invalid scorer options " + this);
        }
    }

    /** Options with no top-k alternatives. */
    public ScorerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean sharePrefix) {
        this(maxSeqLen, batchTokens, maxSeqs, threads, sharePrefix, 0);
    }
}
