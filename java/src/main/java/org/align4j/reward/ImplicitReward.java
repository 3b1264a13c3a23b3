package org.align4j.reward;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.VocabCompatibility;

/**
 * {@code implicit:REF.gguf[:BETA]}: the DPO implicit reward, {@code beta * (log pi(y|x) - log pi_ref(y|x))},
 * each log-prob the sum over the completion's tokens of raw log-probs (temperature 1) with the prompt
 * tokens as context, exactly as {@code align4j score} computes {@code completion_logps}. beta defaults to
 * 0.1, TRL's DPOConfig default.
 *
 * <p>The reference scores {@code promptTokens + tokenIds} (the policy's tokens, so the reference must share
 * the policy's vocabulary, checked when the reward opens). The policy's log-prob is
 * {@link Completion#policyLogp()} when known; completions where it is NaN are scored with the policy model
 * itself, loaded at the first such completion.
 */
final class ImplicitReward implements Reward {
    private final double beta;
    private final Path policyPath;
    private final RewardContext ctx;
    private final ScoringModel reference;
    private ScoringModel policy; // loaded when a policyLogp is unknown

    ImplicitReward(Path referencePath, double beta, RewardContext ctx) {
        if (ctx.policy() == null) {
            throw new Align4jException("reward implicit:" + referencePath + " needs the policy model, and none was given");
        }
        VocabCompatibility.check(ctx.policy(), referencePath);
        this.beta = beta;
        this.policyPath = ctx.policy();
        this.ctx = ctx;
        this.reference = ScoringModel.load(referencePath, ctx);
    }

    @Override
    public Identity identity() {
        return new Identity("implicit:" + reference.model().path() + ":" + beta, List.of(reference.model().path()));
    }

    @Override
    public double[] score(RewardInput in) {
        List<Completion> cs = in.completions();
        int n = cs.size();
        if (n == 0) {
            return new double[0];
        }
        int[][] all = new int[n][];
        List<Integer> unknown = new ArrayList<>(); // completions whose policy log-prob is to be scored
        for (int i = 0; i < n; i++) {
            all[i] = cs.get(i).tokenIds();
            if (Double.isNaN(cs.get(i).policyLogp())) {
                unknown.add(i);
            }
        }
        ScoreResult ref = reference.scoreAll(in.id(), "reference log-probs", List.of(new ScoreRequest(in.id(), in.promptTokens(), all)))[0];
        double[] policyLogps = new double[n];
        for (int i = 0; i < n; i++) {
            policyLogps[i] = cs.get(i).policyLogp();
        }
        if (!unknown.isEmpty()) {
            int[][] missing = unknown.stream().map(i -> all[i]).toArray(int[][]::new);
            ScoreResult pol = policy().scoreAll(in.id(), "policy log-probs", List.of(new ScoreRequest(in.id(), in.promptTokens(), missing)))[0];
            for (int j = 0; j < missing.length; j++) {
                policyLogps[unknown.get(j)] = pol.sum(j);
            }
        }
        double[] rewards = new double[n];
        for (int i = 0; i < n; i++) {
            rewards[i] = beta * (policyLogps[i] - ref.sum(i));
        }
        return rewards;
    }

    private ScoringModel policy() {
        if (policy == null) {
            policy = ScoringModel.load(policyPath, ctx);
        }
        return policy;
    }

    @Override
    public void close() {
        if (policy != null) {
            policy.close();
            policy = null;
        }
        reference.close();
    }
}
