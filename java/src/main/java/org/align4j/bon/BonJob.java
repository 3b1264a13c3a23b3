package org.align4j.bon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.data.PromptRecord;
import org.align4j.job.RunSummary;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.ScorerOptions;
import org.align4j.reward.Completion;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardInput;
import org.align4j.reward.RewardSpec;

/**
 * {@code align4j bon}: Best-of-N. The {@link SampleJob} with a record builder that scores each prompt's N
 * completions with one {@link Reward}, adds {@code "reward"} to every completion and {@code "best"} (the
 * index of the highest reward; on a tie, the lowest such index) to the record, and adds the rewards to
 * a {@link RewardCurve}, written at the end beside the output as {@code OUT.curve.md} and
 * {@code OUT.curve.png}.
 *
 * <p>Under {@code --resume} the curve also takes the rewards of every record the earlier run wrote (read
 * back from the output as it is scanned, before any new record), in output order, so a resumed run's
 * curve is the uninterrupted run's. A reward that fails (a crashed, silent or garbled {@code cmd:}, a
 * missing {@code match:} field) stops the run with an error naming the record; every record before it is
 * already written, and {@code --resume} goes on from it.
 */
public final class BonJob {
    private final SampleJob.Options o;
    private final RewardSpec rewardSpec;
    private final Duration rewardTimeout;
    private final RewardCurve curve;
    private EngineTimings timings = new EngineTimings();
    private long rewardNanos;

    /** @param rewardTimeout {@code cmd:}'s longest wait for one answer */
    public BonJob(SampleJob.Options options, RewardSpec reward, Duration rewardTimeout) {
        this.o = options;
        this.rewardSpec = reward;
        this.rewardTimeout = rewardTimeout;
        this.curve = new RewardCurve(options.n());
    }

    /** {@code OUT.curve.md} beside {@code OUT.jsonl}. */
    public static Path curveMarkdown(Path output) {
        return beside(output, ".curve.md");
    }

    /** {@code OUT.curve.png} beside {@code OUT.jsonl}. */
    public static Path curvePng(Path output) {
        return beside(output, ".curve.png");
    }

    private static Path beside(Path output, String suffix) {
        String name = output.getFileName().toString();
        return output.resolveSibling((name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name) + suffix);
    }

    /** The curve over every record of the output (after {@link #run()}). */
    public RewardCurve curve() {
        return curve;
    }

    /** Where the sampler spent its time in the last {@link #run()}. */
    public EngineTimings timings() {
        return timings;
    }

    /** Wall time inside {@link Reward#score} in the last {@link #run()}. */
    public double rewardSeconds() {
        return rewardNanos / 1e9;
    }

    /** Samples, rewards and writes every record, then the curve (none if the output has no record). */
    public RunSummary run() {
        SampleJob.checkOutput(o);
        SamplerOptions e = o.engine();
        // Reward models (implicit:, judge:) score with the sampler's capacity and attention setting.
        RewardContext ctx = new RewardContext(o.model(),
                new ScorerOptions(e.maxSeqLen(), e.batchTokens(), e.maxSeqs(), e.threads(), true, 0, e.flashAttention()),
                o.gpuLayers(), rewardTimeout);
        RunSummary summary;
        try (Reward reward = rewardSpec.open(ctx)) {
            SampleJob job = new SampleJob("bon", o, new Builder(reward));
            try {
                summary = job.run();
            } finally {
                timings = job.timings();
            }
        }
        if (curve.prompts() > 0) {
            curve.write(curveMarkdown(o.output()), curvePng(o.output()));
        }
        return summary;
    }

    /** The index of the highest reward; the lowest index among equal highest ones. */
    static int best(double[] rewards) {
        int best = 0;
        for (int i = 1; i < rewards.length; i++) {
            if (rewards[i] > rewards[best]) {
                best = i;
            }
        }
        return best;
    }

    private final class Builder implements SampleJob.RecordBuilder {
        private final Reward reward;

        Builder(Reward reward) {
            this.reward = reward;
        }

        @Override
        public ObjectNode build(PromptRecord record, SampleResult result) {
            List<Completion> completions = new ArrayList<>(result.completions().size());
            for (org.align4j.engine.Completion c : result.completions()) {
                completions.add(new Completion(c.text(), c.tokenIds(), c.logps()));
            }
            String id = record.id().toString();
            long t0 = System.nanoTime();
            double[] rewards = reward.score(new RewardInput(id, record.node(), result.request().promptText(),
                    result.request().prompt(), completions));
            rewardNanos += System.nanoTime() - t0;
            if (rewards.length != completions.size()) {
                throw new Align4jException("record " + id + ": the reward gave " + rewards.length + " values for "
                        + completions.size() + " completions");
            }
            for (int i = 0; i < rewards.length; i++) {
                if (!Double.isFinite(rewards[i])) {
                    throw new Align4jException("record " + id + ": the reward of completion " + (i + 1) + " of "
                            + rewards.length + " is " + rewards[i] + ", not a finite number");
                }
            }
            ObjectNode out = SampleJob.outputNode(record, result);
            ArrayNode written = (ArrayNode) out.get("completions");
            for (int i = 0; i < rewards.length; i++) {
                ((ObjectNode) written.get(i)).put("reward", rewards[i]);
            }
            out.put("best", best(rewards));
            curve.add(rewards);
            return out;
        }

        /** A record of the earlier run: its rewards join the curve. */
        @Override
        public void resumed(String where, JsonNode record) {
            JsonNode completions = record.get("completions");
            if (completions == null || !completions.isArray() || completions.size() != o.n()) {
                throw new Align4jException(where + ": " + (completions == null || !completions.isArray() ? "no \"completions\""
                        : completions.size() + " completions, not -n " + o.n())
                        + ": not the output of this bon run; not resuming");
            }
            double[] rewards = new double[o.n()];
            for (int i = 0; i < rewards.length; i++) {
                JsonNode r = completions.get(i).get("reward");
                if (r == null || !r.isNumber()) {
                    throw new Align4jException(where + ": completion " + (i + 1) + " has no numeric \"reward\": not the output"
                            + " of a bon run; not resuming");
                }
                rewards[i] = r.doubleValue();
            }
            curve.add(rewards);
        }
    }
}
