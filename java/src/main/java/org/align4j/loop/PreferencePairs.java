package org.align4j.loop;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.Completion;
import org.align4j.loop.LoopOptions.PairScheme;
import org.align4j.rso.AcceptanceTally;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.Selection;

/**
 * Turns each prompt's rewarded completions into preference records ({@code prompt}, {@code chosen},
 * {@code rejected}, TRL's format, plus {@code chosen_reward} and {@code rejected_reward} and the prompt
 * record's other fields), by one of two schemes:
 * <ul>
 *   <li>{@code best-worst}: one pair per prompt, the first completion with the highest reward over the
 *       first with the lowest; none when every reward is equal.
 *   <li>{@code rso}: RSO's statistical rejection sampling keeps {@code accept} of the N
 *       ({@link RejectionSampler}, seeded per prompt by the run's seed and the prompt's id), then
 *       {@link Pairing} pairs the kept ones in acceptance order, dropping games between equal rewards.
 * </ul>
 * A pair's id is the prompt's id, a slash and the pair's index within the prompt.
 */
final class PreferencePairs {
    /**
     * What the pairing gave.
     *
     * @param acceptance RSO's acceptance figures, null for best-worst
     */
    record Tally(long prompts, long promptsWithPairs, long pairs, long ties, AcceptanceTally acceptance) {}

    private PreferencePairs() {}

    /** Writes the pairs of every sampled prompt to {@code out}, which must not exist. */
    static Tally write(List<RewardedSampling.Sampled> sampled, LoopOptions o, long seed, Path out) {
        AcceptanceTally acceptance = o.pairs() == PairScheme.RSO ? new AcceptanceTally() : null;
        RejectionSampler rso = o.pairs() == PairScheme.RSO ? RejectionSampler.rso(o.rsoBeta()) : null;
        Pairing pairing = new Pairing(o.pairing(), Pairing.TieRule.SKIP);
        long withPairs = 0, pairs = 0, ties = 0;
        try (JsonlWriter w = JsonlWriter.create(out)) {
            for (RewardedSampling.Sampled s : sampled) {
                double[] rewards = s.rewards();
                List<Pairing.Pair> chosen;
                if (rso != null) {
                    String id = s.record().id().toString();
                    Selection sel = rso.select(rewards, o.accept(), new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id.hashCode()));
                    acceptance.add(sel, rso.expectedAcceptanceRate(rewards));
                    Pairing.Result r = pairing.pair(sel.accepted(), rewards);
                    chosen = r.pairs();
                    ties += r.ties();
                } else {
                    chosen = bestWorst(rewards);
                    ties += chosen.isEmpty() ? 1 : 0;
                }
                withPairs += chosen.isEmpty() ? 0 : 1;
                for (int k = 0; k < chosen.size(); k++) {
                    w.write(record(s, chosen.get(k), k));
                    pairs++;
                }
            }
        }
        return new Tally(sampled.size(), withPairs, pairs, ties, acceptance);
    }

    /** The first highest-reward completion over the first lowest-reward one; none if all are equal. */
    static List<Pairing.Pair> bestWorst(double[] rewards) {
        int best = 0, worst = 0;
        for (int i = 1; i < rewards.length; i++) {
            best = rewards[i] > rewards[best] ? i : best;
            worst = rewards[i] < rewards[worst] ? i : worst;
        }
        return rewards[best] > rewards[worst] ? List.of(new Pairing.Pair(best, worst)) : List.of();
    }

    private static ObjectNode record(RewardedSampling.Sampled s, Pairing.Pair p, int k) {
        ObjectNode out = s.record().outputNode();
        out.put("id", s.record().id().toString() + "/" + k);
        List<Completion> cs = s.result().completions();
        boolean chat = s.record().prompt().isConversational();
        out.set("chosen", completion(cs.get(p.chosen()).text(), chat));
        out.set("rejected", completion(cs.get(p.rejected()).text(), chat));
        out.put("chosen_reward", s.rewards()[p.chosen()]);
        out.put("rejected_reward", s.rewards()[p.rejected()]);
        return out;
    }

    // TRL's conversational preference format puts the reply in an assistant message.
    private static com.fasterxml.jackson.databind.JsonNode completion(String text, boolean chat) {
        if (!chat) {
            return JsonNodeFactory.instance.textNode(text);
        }
        ObjectNode m = JsonNodeFactory.instance.objectNode();
        m.put("role", "assistant");
        m.put("content", text);
        return JsonNodeFactory.instance.arrayNode().add(m);
    }
}
