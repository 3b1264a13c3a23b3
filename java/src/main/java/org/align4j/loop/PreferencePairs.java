package org.align4j.loop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.align4j.data.JsonlWriter;

/**
 * Best-versus-worst preference pairs from rewarded samples: for each prompt, the first completion with the
 * highest reward (chosen) over the first with the lowest (rejected), as a TRL preference record
 * ({@code prompt}, {@code chosen}, {@code rejected}, with the prompt record's other fields and
 * {@code chosen_reward}, {@code rejected_reward}); no pair when every reward is equal, when the two texts are
 * equal (no preference to learn) or when one is empty ({@code score} and {@code dpo} refuse empty completions),
 * as {@code rso} drops such pairs. A conversational prompt's replies go in assistant messages, TRL's format.
 */
final class PreferencePairs {
    /** What the pairing gave: prompts seen, and pairs written (one per prompt at most). */
    record Tally(long prompts, long pairs) {}

    private PreferencePairs() {}

    /** Writes the pairs to {@code out}, which must not exist. */
    static Tally bestWorst(Samples samples, Path out) {
        long pairs = 0;
        try (JsonlWriter w = JsonlWriter.create(out)) {
            for (Samples.Prompt p : samples.prompts()) {
                double[] r = p.rewards();
                int best = 0, worst = 0;
                for (int i = 1; i < r.length; i++) {
                    best = r[i] > r[best] ? i : best;
                    worst = r[i] < r[worst] ? i : worst;
                }
                if (r[best] > r[worst] && !p.texts()[best].isEmpty() && !p.texts()[worst].isEmpty()
                        && !p.texts()[best].equals(p.texts()[worst])) {
                    w.write(record(p, best, worst));
                    pairs++;
                }
            }
        }
        return new Tally(samples.prompts().size(), pairs);
    }

    private static ObjectNode record(Samples.Prompt p, int chosen, int rejected) {
        ObjectNode out = p.record().outputNode();
        out.remove("completions");
        out.remove("best");
        boolean chat = p.record().prompt().isConversational();
        out.set("chosen", completion(p.texts()[chosen], chat));
        out.set("rejected", completion(p.texts()[rejected], chat));
        out.put("chosen_reward", p.rewards()[chosen]);
        out.put("rejected_reward", p.rewards()[rejected]);
        return out;
    }

    private static JsonNode completion(String text, boolean chat) {
        if (!chat) {
            return JsonNodeFactory.instance.textNode(text);
        }
        ObjectNode m = JsonNodeFactory.instance.objectNode().put("role", "assistant").put("content", text);
        return JsonNodeFactory.instance.arrayNode().add(m);
    }
}
