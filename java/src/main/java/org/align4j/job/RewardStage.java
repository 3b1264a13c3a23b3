package org.align4j.job;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.data.PromptRecord;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.reward.Completion;
import org.align4j.reward.KlPenalizedReward;
import org.align4j.reward.KlPenalty;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardException;
import org.align4j.reward.RewardInput;
import org.align4j.reward.RewardScores;
import org.align4j.reward.RewardSpec;

/**
 * The reward stage of every job that rewards samples ({@code bon}, {@code rso}, {@code loop}): a prompt
 * record's sampled completions to one {@link Reward} call, and back one finite reward per completion.
 * Whatever goes wrong is a {@link RewardException} naming the record and, where it is one completion's
 * fault, "completion K of N".
 */
public final class RewardStage {
    private final Reward reward;
    private long nanos;

    public RewardStage(Reward reward) {
        this.reward = reward;
    }

    /**
     * Opens {@code spec} for a job sampling from {@code policy} with {@code engine}'s capacity: reward models
     * ({@code implicit:}, {@code judge:}, {@code rm:}) score with the sampler's batch, sequences, threads and
     * attention. With {@code kl} (null: none) the reward is penalised by the KL to its reference.
     */
    public static Reward open(String spec, KlPenalty kl, Path policy, SamplerOptions engine, int gpuLayers, Duration timeout) {
        RewardContext ctx = new RewardContext(policy, engine.scorer(engine.maxSeqLen()), gpuLayers, timeout);
        Reward raw = RewardSpec.parse(spec).open(ctx);
        return kl == null ? raw : new KlPenalizedReward(raw, kl, ctx);
    }

    /** {@link #open(String, KlPenalty, Path, SamplerOptions, int, Duration)} without a KL penalty. */
    public static Reward open(String spec, Path policy, SamplerOptions engine, int gpuLayers, Duration timeout) {
        return open(spec, null, policy, engine, gpuLayers, timeout);
    }

    /** The rewards of {@code sampled}'s completions, in order, with their parts under a KL penalty. */
    public RewardScores score(PromptRecord record, SampleResult sampled) {
        List<Completion> completions = new ArrayList<>(sampled.completions().size());
        for (org.align4j.engine.Completion c : sampled.completions()) {
            completions.add(new Completion(c.text(), c.tokenIds(), c.logps()));
        }
        String id = record.id().toString();
        RewardInput input = new RewardInput(id, record.node(), sampled.request().promptText(), sampled.request().prompt(),
                completions);
        RewardScores scores;
        long t0 = System.nanoTime();
        try {
            scores = reward.scores(input);
        } catch (RewardException e) {
            throw e;
        } catch (Align4jException e) {
            throw new RewardException(e.getMessage(), e);
        } finally {
            nanos += System.nanoTime() - t0;
        }
        check(id, scores.rewards(), completions.size());
        return scores;
    }

    /** {@code rewards}, if it is {@code n} finite values for record {@code id}. */
    static double[] check(String id, double[] rewards, int n) {
        if (rewards == null || rewards.length != n) {
            throw new RewardException("record " + id + ": the reward gave " + (rewards == null ? "no" : rewards.length)
                    + " values for " + n + " completions");
        }
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(rewards[i])) {
                throw new RewardException("record " + id + ": the reward of completion " + (i + 1) + " of " + n + " is "
                        + rewards[i] + ", not a finite number");
            }
        }
        return rewards;
    }

    /** After the run's last prompt: see {@link Reward#finish()}. */
    public void finish() {
        reward.finish();
    }

    /** Wall time spent inside the reward. */
    public double seconds() {
        return nanos / 1e9;
    }
}
