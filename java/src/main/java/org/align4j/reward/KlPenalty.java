package org.align4j.reward;

import java.nio.file.Path;
import java.util.Objects;

/**
 * {@code --kl-coef C} and the reference it measures the KL to ({@link KlPenalizedReward}).
 *
 * @param coef      C, finite and not negative
 * @param reference pi_ref's GGUF, sharing the policy's vocabulary
 */
public record KlPenalty(double coef, Path reference) {
    public KlPenalty {
        Objects.requireNonNull(reference, "reference");
        if (!(coef >= 0) || Double.isInfinite(coef)) {
            throw new IllegalArgumentException("--kl-coef must be a finite number >= 0, not " + coef);
        }
    }
}
