package org.align4j.bon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.align4j.data.PromptRecord;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.SampleResult;
import org.align4j.job.RewardStage;
import org.align4j.job.RunSummary;
import org.align4j.job.SampleOutput;
import org.align4j.llama.Model;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardScores;

/**
 * {@code align4j bon}: Best-of-N. The {@link SampleJob} with a record builder that scores each prompt's N
 * completions with one {@link Reward} ({@link RewardStage}), adds {@code "reward"} to every completion and
 * {@code "best"} (the index of the highest reward; on a tie, the lowest such index) to the record, and adds
 * the rewards to a {@link RewardCurve}, written at the end beside the output as {@code OUT.curve.md} and
 * {@code OUT.curve.png}.
 *
 * <p>Under {@code --resume} the curve also takes the rewards of every record the earlier run wrote (read
 * back from the output as it is scanned, before any new record), in output order, so a resumed run's
 * curve is the uninterrupted run's.
 */
public final class BonJob {
    /**
     * What a run did.
     *
     * @param curve         the curve over every record of the output
     * @param rewardSeconds wall time inside the reward
     * @param curveMarkdown {@code OUT.curve.md}, null when the output has no record (no curve is written)
     */
    public record Result(RunSummary summary, EngineTimings timings, double rewardSeconds, RewardCurve curve,
                         Path curveMarkdown, Path curvePng) {}

    private BonJob() {}

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

    /** Samples with {@code model}, rewards with {@code reward} and writes every record, then the curve. */
    public static Result run(Model model, Reward reward, SampleJob.Options o) {
        RewardCurve curve = new RewardCurve(o.n());
        RewardStage stage = new RewardStage(reward);
        SampleJob.Result sampled = SampleJob.run(SampleJob.fingerprint("bon", model, o).withReward(reward.identity()), model, o,
                new Builder(stage, curve, o.n()));
        boolean written = curve.prompts() > 0;
        if (written) {
            curve.write(curveMarkdown(o.output()), curvePng(o.output()));
        }
        return new Result(sampled.summary(), sampled.timings(), stage.seconds(), curve,
                written ? curveMarkdown(o.output()) : null, written ? curvePng(o.output()) : null);
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

    private record Builder(RewardStage reward, RewardCurve curve, int n) implements SampleJob.RecordBuilder {
        @Override
        public ObjectNode build(PromptRecord record, SampleResult result) {
            RewardScores scores = reward.score(record, result);
            double[] rewards = scores.rewards();
            ObjectNode out = SampleOutput.node(record, result);
            ArrayNode written = (ArrayNode) out.get("completions");
            for (int i = 0; i < rewards.length; i++) {
                scores.put((ObjectNode) written.get(i), "", i);
            }
            out.put("best", best(rewards));
            curve.add(rewards);
            return out;
        }

        @Override
        public void finish() {
            reward.finish();
        }

        /** A record of the earlier run: its rewards join the curve. */
        @Override
        public void resumed(String where, JsonNode record) {
            JsonNode completions = record.get("completions");
            if (completions == null || !completions.isArray() || completions.size() != n) {
                throw new Align4jException(where + ": " + (completions == null || !completions.isArray() ? "no \"completions\""
                        : completions.size() + " completions, not -n " + n)
                        + ": not the output of this bon run; not resuming");
            }
            double[] rewards = new double[n];
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
