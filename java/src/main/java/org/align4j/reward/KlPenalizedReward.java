package org.align4j.reward;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --kl-coef C}: any reward r penalised by the KL to a reference, {@code r - C * (log pi(y|x) - log
 * pi_ref(y|x))} of each sampled completion (InstructGPT's RLHF reward). The log-probs are sums over the
 * completion's tokens of raw log-probs, temperature 1 and no filter, whatever the sampling settings: log pi
 * as the sampler recorded it ({@link Completion#policyLogp()}), log pi_ref scored by llama.cpp on the same
 * tokens after the same prompt tokens ({@link ImplicitReward} with beta 1, so the reference shares the
 * policy's vocabulary).
 */
public final class KlPenalizedReward implements Reward {
    private final Reward raw;
    private final double coef;
    private final ImplicitReward kl;

    /** Takes ownership of {@code raw} (closed with this, and on failure here). */
    public KlPenalizedReward(Reward raw, KlPenalty penalty, RewardContext ctx) {
        try {
            this.kl = new ImplicitReward(penalty.reference(), 1, ctx);
        } catch (RuntimeException e) {
            raw.close();
            throw e;
        }
        this.raw = raw;
        this.coef = penalty.coef();
    }

    @Override
    public Identity identity() {
        Identity r = raw.identity();
        Identity k = kl.identity();
        List<Path> models = new ArrayList<>(r.models());
        models.addAll(k.models());
        return new Identity(r.spec() + " - " + coef + " * kl to " + k.models().getFirst(), models);
    }

    @Override
    public double[] score(RewardInput prompt) {
        return scores(prompt).rewards();
    }

    @Override
    public RewardScores scores(RewardInput prompt) {
        double[] r = raw.score(prompt);
        double[] d = kl.score(prompt);
        double[] penalised = new double[r.length];
        for (int i = 0; i < r.length; i++) {
            penalised[i] = r[i] - coef * d[i];
        }
        return new RewardScores(penalised, r, d);
    }

    @Override
    public void finish() {
        raw.finish();
    }

    @Override
    public void close() {
        try {
            raw.close();
        } finally {
            kl.close();
        }
    }
}
