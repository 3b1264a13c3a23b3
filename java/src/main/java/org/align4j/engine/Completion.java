package org.align4j.engine;

/**
 * One sampled completion. Its tokens are every token sampled, in order, the end-of-generation token or
 * the token that completed a stop string included: they are what the model chose, so their log-probs
 * are what DPO and RSO need. Its text is the tokens' pieces joined, without an end-of-generation token
 * and cut before a stop string.
 *
 * @param tokenIds     (L,) sampled token ids
 * @param text         the completion as text (see above)
 * @param tokenLogps   (L,) raw log p(token_t | prompt, token_&lt;t): log-softmax of the unmodified logits at
 *                     temperature 1, before any sampler (penalty, filter, temperature) touched them
 * @param logps        sum of {@code tokenLogps}, accumulated in double
 * @param finishReason why sampling stopped
 */
public record Completion(int[] tokenIds, String text, float[] tokenLogps, double logps, FinishReason finishReason) {
    public int length() {
        return tokenIds.length;
    }
}
