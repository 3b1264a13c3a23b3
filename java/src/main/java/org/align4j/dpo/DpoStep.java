package org.align4j.dpo;

import org.align4j.job.TrainingRun;
import org.align4j.train.PreferenceLoss;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What one optimizer step of a {@link DpoJob} saw, under TRL's metric names. Every value but
 * {@code gradNorm} and {@code learningRate} is a mean over the step's pairs, computed from the policy
 * before the step's update (as TRL logs them).
 *
 * @param step          optimizer steps taken, this one included (1-based)
 * @param epoch         passes over the pairs so far, fractional
 * @param loss          the preference loss
 * @param rewardsChosen implicit reward of the chosen completion ({@link PreferenceLoss.Result#chosenReward()})
 * @param accuracy      fraction of pairs whose chosen reward is strictly above the rejected one
 * @param logpsChosen   policy log-prob sum of the chosen completion, nats
 * @param gradNorm      global gradient norm before clipping
 * @param learningRate  the rate this step's update used
 * @param pairs         pairs in the step
 * @param tokens        tokens the step's forward and backward passes covered
 */
public record DpoStep(int step, double epoch, double loss, double rewardsChosen, double rewardsRejected, double accuracy,
                      double logpsChosen, double logpsRejected, double gradNorm, double learningRate, int pairs,
                      long tokens) implements TrainingRun.Step {

    /** rewards/chosen - rewards/rejected. */
    public double margin() {
        return rewardsChosen - rewardsRejected;
    }

    /** One metrics line: {@code step, epoch, loss, rewards/..., logps/..., grad_norm, learning_rate, pairs, tokens}. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("step", step);
        o.put("epoch", epoch);
        o.put("loss", loss);
        o.put("rewards/chosen", rewardsChosen);
        o.put("rewards/rejected", rewardsRejected);
        o.put("rewards/margins", margin());
        o.put("rewards/accuracies", accuracy);
        o.put("logps/chosen", logpsChosen);
        o.put("logps/rejected", logpsRejected);
        o.put("grad_norm", gradNorm);
        o.put("learning_rate", learningRate);
        o.put("pairs", pairs);
        o.put("tokens", tokens);
        return o;
    }

    /** Reads back what {@link #toJson()} wrote. */
    public static DpoStep fromJson(JsonNode o) {
        return new DpoStep(o.get("step").asInt(), o.get("epoch").asDouble(), o.get("loss").asDouble(),
                o.get("rewards/chosen").asDouble(), o.get("rewards/rejected").asDouble(),
                o.get("rewards/accuracies").asDouble(), o.get("logps/chosen").asDouble(),
                o.get("logps/rejected").asDouble(), o.get("grad_norm").asDouble(), o.get("learning_rate").asDouble(),
                o.get("pairs").asInt(), o.get("tokens").asLong());
    }
}
