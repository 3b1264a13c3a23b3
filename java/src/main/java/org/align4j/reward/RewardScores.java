package org.align4j.reward;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The rewards of a prompt's completions, and for a KL-penalised reward ({@link KlPenalizedReward}) what
 * each is made of: {@code reward = raw - C * kl}.
 *
 * @param rewards (N,) the rewards
 * @param raw     (N,) the rewards before the penalty, or null without one
 * @param kl      (N,) log pi(y|x) - log pi_ref(y|x) of each completion, or null without a penalty
 */
public record RewardScores(double[] rewards, double[] raw, double[] kl) {
    public RewardScores {
        if ((raw == null) != (kl == null) || raw != null && (raw.length != rewards.length || kl.length != rewards.length)) {
            throw new IllegalArgumentException("raw rewards and KLs come together, one per reward");
        }
    }

    /** Rewards without parts. */
    public static RewardScores of(double[] rewards) {
        return new RewardScores(rewards, null, null);
    }

    /**
     * Writes completion {@code i}'s {@code PREFIXreward}, and under a penalty {@code PREFIXreward_raw} and
     * {@code PREFIXkl}, into {@code node} ({@code prefix} "" for a completion, "chosen_" for a pair's chosen).
     */
    public void put(ObjectNode node, String prefix, int i) {
        node.put(prefix + "reward", rewards[i]);
        if (raw != null) {
            node.put(prefix + "reward_raw", raw[i]);
            node.put(prefix + "kl", kl[i]);
        }
    }
}
