package org.align4j.reward;

import java.util.Objects;

/**
 * One completion of a prompt.
 *
 * @param text       the completion as text (for a conversational prompt, the assistant's raw reply)
 * @param tokenIds   (L,) the completion's tokens under the policy
 * @param policyLogp sum of raw policy log-probs over {@code tokenIds}, in nats (NaN if unknown)
 */
public record Completion(String text, int[] tokenIds, double policyLogp) {
    public Completion {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(tokenIds, "tokenIds");
    }
}
