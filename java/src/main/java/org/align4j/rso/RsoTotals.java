package org.align4j.rso;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The totals of an {@code rso} output, summed over its acceptance log's lines (one a prompt, in input order):
 * the manifest's {@code counts} and {@code acceptance}. Whoever holds the lines, the CLI from its file or a
 * cluster from its tasks' rows, gets the same figures by adding them in input order.
 */
public final class RsoTotals {
    private long prompts;
    private long candidates;
    private long accepted;
    private long hits;
    private long passes;
    private long games;
    private long ties;
    private long pairs;
    private long droppedEmpty;
    private long droppedIdentical;
    private long tokens;
    private double expectedSum;
    private double observedSum;

    /** Adds one acceptance log line ({@code PAIRS.jsonl.acceptance.jsonl}). */
    public void add(JsonNode line) {
        prompts++;
        candidates += line.path("candidates").asLong();
        accepted += line.path("accepted").size();
        hits += line.path("first_pass_hits").asLong();
        passes += line.path("passes").asLong();
        games += line.path("games").asLong();
        ties += line.path("ties").asLong();
        pairs += line.path("pairs").asLong();
        droppedEmpty += line.path("dropped_empty").asLong();
        droppedIdentical += line.path("dropped_identical").asLong();
        tokens += line.path("generated_tokens").asLong();
        expectedSum += line.path("expected_rate").asDouble();
        observedSum += line.path("observed_rate").asDouble();
    }

    /**
     * Puts {@code counts} and {@code acceptance} into {@code manifest}.
     *
     * @param skipped  lines in the rejects
     * @param tieRule  the run's {@code --ties}: whether the ties are in the pairs
     */
    public void putInto(ObjectNode manifest, long skipped, Pairing.TieRule tieRule) {
        ObjectNode counts = manifest.putObject("counts");
        counts.put("prompts", prompts);
        counts.put("skipped", skipped);
        counts.put("candidates", candidates);
        counts.put("accepted", accepted);
        counts.put("first_pass_hits", hits);
        counts.put("games", games);
        counts.put("ties", ties);
        counts.put("ties_in_pairs", tieRule == Pairing.TieRule.KEEP ? ties : 0);
        counts.put("dropped_empty", droppedEmpty);
        counts.put("dropped_identical", droppedIdentical);
        counts.put("pairs", pairs);
        counts.put("generated_tokens", tokens);
        ObjectNode rates = manifest.putObject("acceptance");
        if (prompts > 0) {
            rates.put("observed_rate", (double) hits / candidates);
            rates.put("mean_observed_rate", observedSum / prompts);
            rates.put("expected_rate", expectedSum / prompts);
            rates.put("mean_passes", (double) passes / prompts);
        } else {
            for (String f : List.of("observed_rate", "mean_observed_rate", "expected_rate", "mean_passes")) {
                rates.putNull(f);
            }
        }
        rates.put("note", "observed_rate: first-pass hits over candidates, pooled over prompts; expected_rate: the mean over prompts"
                + " of E[exp((r - r_max) / beta)] (Theorem 1) on each prompt's own rewards");
    }
}
