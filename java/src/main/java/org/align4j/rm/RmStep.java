package org.align4j.rm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.align4j.job.TrainingRun;

/**
 * What one optimizer step of an {@link RmJob} saw, under TRL RewardTrainer's metric names where it has
 * one (loss, accuracy, margin). Every value but {@code gradNorm} and {@code learningRate} is a mean over
 * the step's pairs, computed from the model before the step's update.
 *
 * @param step           optimizer steps taken, this one included (1-based)
 * @param epoch          passes over the pairs so far, fractional
 * @param loss           the ranking loss plus the imitation term
 * @param accuracy       fraction of pairs whose chosen reward is strictly above the rejected one
 * @param rewardsChosen  the head's reward of prompt + chosen
 * @param rewardsRejected the head's reward of prompt + rejected
 * @param gradNorm       global gradient norm before clipping
 * @param learningRate   the rate this step's update used
 * @param pairs          pairs in the step
 * @param tokens         tokens the step's forward and backward passes covered
 */
public record RmStep(int step, double epoch, double loss, double accuracy, double rewardsChosen, double rewardsRejected,
                     double gradNorm, double learningRate, int pairs, long tokens) implements TrainingRun.Step {

    /** Mean r_c - r_r (TRL's {@code margin}). */
    public double margin() {
        return rewardsChosen - rewardsRejected;
    }

    /** One metrics line: {@code step, epoch, loss, accuracy, margin, rewards/chosen, rewards/rejected, grad_norm, learning_rate, pairs, tokens}. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("step", step);
        o.put("epoch", epoch);
        o.put("loss", loss);
        o.put("accuracy", accuracy);
        o.put("margin", margin());
        o.put("rewards/chosen", rewardsChosen);
        o.put("rewards/rejected", rewardsRejected);
        o.put("grad_norm", gradNorm);
        o.put("learning_rate", learningRate);
        o.put("pairs", pairs);
        o.put("tokens", tokens);
        return o;
    }

    /** Reads back what {@link #toJson()} wrote. */
    public static RmStep fromJson(JsonNode o) {
        return new RmStep(o.get("step").asInt(), o.get("epoch").asDouble(), o.get("loss").asDouble(), o.get("accuracy").asDouble(),
                o.get("rewards/chosen").asDouble(), o.get("rewards/rejected").asDouble(), o.get("grad_norm").asDouble(),
                o.get("learning_rate").asDouble(), o.get("pairs").asInt(), o.get("tokens").asLong());
    }
}
