package org.align4j.loop;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.bon.SampleJob;
import org.align4j.data.ErrorPolicy;
import org.align4j.data.PromptRecord;
import org.align4j.data.RunSummary;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScorerOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.reward.Completion;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardInput;
import org.align4j.reward.Rewards;

/**
 * N completions of every prompt record, each with its reward: the {@code sample} job ({@link SampleJob})
 * with a reward added to each completion as it is written. At temperature 0 and N = 1 it is a greedy
 * evaluation, whose mean reward under a 0/1 reward such as {@code match:answer} is the accuracy. What
 * was sampled is kept (token ids and raw log-probs), so that the same completions can be paired for
 * DPO and scored under a reference ({@link #klTo}).
 */
public final class RewardedSampling {
    /**
     * One prompt record as sampled.
     *
     * @param record  the input record, every field kept
     * @param result  its prompt tokens and completions
     * @param rewards (N,) the completions' rewards
     */
    public record Sampled(PromptRecord record, SampleResult result, double[] rewards) {}

    /** What a run gave: the prompts in input order. */
    public record Result(RunSummary summary, List<Sampled> prompts, Path output) {
        /** Mean over every completion of every prompt. */
        public double meanReward() {
            double sum = 0;
            long count = 0;
            for (Sampled s : prompts) {
                for (double v : s.rewards()) {
                    sum += v;
                    count++;
                }
            }
            return count > 0 ? sum / count : Double.NaN;
        }

        /** (prompts, N): every completion's reward. */
        public double[][] rewards() {
            return prompts.stream().map(Sampled::rewards).toArray(double[][]::new);
        }
    }

    private RewardedSampling() {}

    /**
     * Samples {@code n} completions of every record of {@code prompts} with {@code model} and rewards them by
     * {@code rewardSpec}; writes {@code sample}'s records with {@code "reward"} in each completion to
     * {@code output}, which must not exist. A bad record stops the run.
     */
    public static Result run(Path model, Path prompts, Path output, int n, SamplingParams sampling, SamplerOptions engine,
                             String rewardSpec, int gpuLayers, boolean quiet) {
        List<Sampled> sampled = new ArrayList<>();
        try (Reward reward = Rewards.parse(rewardSpec, new RewardContext(model, scorer(engine), gpuLayers, RewardContext.DEFAULT_TIMEOUT))) {
            SampleJob job = new SampleJob("sample", new SampleJob.Options(model, prompts, output, n, ErrorPolicy.FAIL, false,
                    quiet, gpuLayers, engine, sampling), (record, result) -> {
                        double[] r = reward.score(input(record, result));
                        sampled.add(new Sampled(record, result, r));
                        ObjectNode out = SampleJob.outputNode(record, result);
                        ArrayNode completions = (ArrayNode) out.get("completions");
                        for (int i = 0; i < r.length; i++) {
                            ((ObjectNode) completions.get(i)).put("reward", r[i]);
                        }
                        return out;
                    });
            RunSummary summary = job.run();
            return new Result(summary, List.copyOf(sampled), output);
        }
    }

    /**
     * The KL divergence from {@code reference} of the policy that sampled {@code result}, estimated on its
     * own samples: the mean over every completion of (log pi(y|x) - log ref(y|x)), nats per completion, the
     * policy's log-probs as the sampler recorded them (raw) and the reference's scored by llama.cpp on the
     * same token ids. The estimate is unbiased for KL(pi || ref) when the samples are drawn at temperature
     * 1 with no filter; otherwise it is the same difference on the filtered distribution's draws.
     */
    public static double klTo(Path reference, Result result, SamplerOptions engine, int gpuLayers) {
        double[] sum = new double[1];
        long[] count = new long[1];
        try (Model ref = Model.load(reference, new ModelOptions(gpuLayers, true, false));
             PrefixSharingScorer scorer = new PrefixSharingScorer(ref, scorer(engine))) {
            for (Sampled s : result.prompts()) {
                List<org.align4j.engine.Completion> cs = s.result().completions();
                int[][] ids = cs.stream().map(org.align4j.engine.Completion::tokenIds).toArray(int[][]::new);
                scorer.submit(new ScoreRequest(s.result().request().prompt(), ids), r -> {
                    for (int k = 0; k < cs.size(); k++) {
                        sum[0] += cs.get(k).logps() - r.sum(k);
                        count[0]++;
                    }
                });
            }
            scorer.finish();
        }
        return count[0] > 0 ? sum[0] / count[0] : Double.NaN;
    }

    /** The scorer's options for models scored beside a sampler of these options (prefix sharing on). */
    static ScorerOptions scorer(SamplerOptions engine) {
        return new ScorerOptions(engine.maxSeqLen(), engine.batchTokens(), engine.maxSeqs(), engine.threads(), true);
    }

    /** The reward's view of a sampled prompt: its record, prompt as the model saw it, and completions. */
    static RewardInput input(PromptRecord record, SampleResult result) {
        List<Completion> completions = result.completions().stream()
                .map(c -> new Completion(c.text(), c.tokenIds(), c.logps())).toList();
        return new RewardInput(result.request().key(), record.node(), result.request().promptText(), result.request().prompt(),
                completions);
    }
}
