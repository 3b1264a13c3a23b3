package org.align4j.dpo;

import org.align4j.job.TrainingRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What one optimizer step of an {@link SftJob} saw.
 *
 * @param step         optimizer steps taken, this one included (1-based)
 * @param epoch        passes over the records so far, fractional
 * @param loss         negative log-likelihood per completion token over the step's sequences, nats,
 *                     from the model before the step's update
 * @param gradNorm     global gradient norm before clipping
 * @param learningRate the rate this step's update used
 * @param sequences    sequences in the step
 * @param scored       completion tokens the loss covers
 * @param tokens       tokens the forward and backward passes covered (prompts included)
 */
public record SftStep(int step, double epoch, double loss, double gradNorm, double learningRate, int sequences, long scored,
                      long tokens) implements TrainingRun.Step {

    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("step", step);
        o.put("epoch", epoch);
        o.put("loss", loss);
        o.put("grad_norm", gradNorm);
        o.put("learning_rate", learningRate);
        o.put("sequences", sequences);
        o.put("scored_tokens", scored);
        o.put("tokens", tokens);
        return o;
    }

    public static SftStep fromJson(JsonNode o) {
        return new SftStep(o.get("step").asInt(), o.get("epoch").asDouble(), o.get("loss").asDouble(),
                o.get("grad_norm").asDouble(), o.get("learning_rate").asDouble(), o.get("sequences").asInt(),
                o.get("scored_tokens").asLong(), o.get("tokens").asLong());
    }
}
