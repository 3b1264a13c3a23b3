package org.align4j.engine;

/**
 * @param maxSeqLen   longest prompt + completion accepted, in tokens
 * @param batchTokens tokens per llama_decode
 * @param maxSeqs     sequence ids in use at once (completions scored side by side)
 * @param threads     CPU threads
 * @param sharePrefix decode each prompt once for all its completions (off: once per completion)
 */
public record ScorerOptions(int maxSeqLen, int batchTokens, int maxSeqs, int threads, boolean sharePrefix) {
    public ScorerOptions {
        if (maxSeqLen < 2 || batchTokens < 1 || maxSeqs < 1 || threads < 1) {
            throw new IllegalArgumentException("invalid scorer options " + this);
        }
    }
}
