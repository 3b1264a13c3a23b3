package org.align4j.reward;

import java.nio.file.Path;
import java.util.List;

/**
 * Rewards for the completions of one prompt, batched: a job hands over a prompt with all its
 * completions at once, so a reward process sees them back to back and a reward model scores them with
 * one shared prompt prefix. Made from a {@code --reward SPEC} by {@link RewardSpec#parse(String)} and
 * {@link RewardSpec#open(RewardContext)}. Not thread-safe: one job thread calls it.
 */
public interface Reward extends AutoCloseable {
    /**
     * What a reward computes, for a run's fingerprint: its SPEC (a judge's with its rubric's text) and the
     * models it loads (recorded by content).
     */
    record Identity(String spec, List<Path> models) {
        public Identity {
            models = List.copyOf(models);
        }
    }

    Identity identity();

    /** One reward per completion of {@code prompt}, in order. Failures are Align4jException naming the record id. */
    double[] score(RewardInput prompt);

    /**
     * {@link #score} with what the rewards are made of, for a job to write beside them: a
     * {@link KlPenalizedReward}'s raw rewards and KLs; none for the others.
     */
    default RewardScores scores(RewardInput prompt) {
        return RewardScores.of(score(prompt));
    }

    /**
     * The run's last prompt is scored: a reward process is stopped and its output drained, so that an answer
     * line beyond the last request is found while the job still holds its output
     * ({@link RewardProtocolException}). Nothing to do for other rewards.
     */
    default void finish() {}

    /** Frees the models and stops the processes this reward owns; safe to call twice. */
    @Override
    void close();
}
