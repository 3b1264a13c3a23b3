package org.align4j.reward;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.align4j.engine.ScorerOptions;

/**
 * What some kinds of reward need from the job that runs them.
 *
 * @param policy    the policy GGUF: {@code implicit:} checks the reference's vocabulary against it and
 *                  scores with it the completions whose {@code policyLogp} is NaN; null where no policy exists
 * @param scorer    how reward models ({@code implicit:}, {@code judge:}, {@code rm:}) score: {@code maxSeqLen} is the
 *                  longest judge prompt + rating or prompt + completion accepted ({@code --ctx}), plus batch
 *                  tokens, sequences side by side and threads
 * @param gpuLayers layers of each reward model to offload to a GPU (-1 = all)
 * @param timeout   {@code cmd:}: the longest wait for one answer ({@code --reward-timeout})
 */
public record RewardContext(Path policy, ScorerOptions scorer, int gpuLayers, Duration timeout) {
    /** {@code --reward-timeout}'s default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public RewardContext {
        Objects.requireNonNull(scorer, "scorer");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the reward timeout must be positive, not " + timeout);
        }
    }
}
