package org.align4j.loop;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.data.PromptRecord;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.ScoreRequest;
import org.align4j.llama.Model;

/**
 * Rewarded samples read back from a file {@code align4j bon} (or {@code rso --keep-candidates}) wrote:
 * every prompt record with its completions' text, token ids, raw log-prob sums and rewards. The loop
 * takes its per-round figures from them: the mean reward, and the KL divergence of the sampling policy
 * from a reference ({@link #klTo}).
 */
public final class Samples {
    /**
     * One prompt record as sampled.
     *
     * @param record   the record, its prompt and other fields (and its {@code completions})
     * @param tokenIds (N, L_k) each completion's sampled tokens
     * @param logps    (N,) each completion's raw log-prob sum under the policy that sampled it
     * @param rewards  (N,) each completion's reward
     */
    public record Prompt(PromptRecord record, String[] texts, int[][] tokenIds, double[] logps, double[] rewards) {}

    private final Path file;
    private final List<Prompt> prompts;

    private Samples(Path file, List<Prompt> prompts) {
        this.file = file;
        this.prompts = List.copyOf(prompts);
    }

    /** Reads every record of a {@code bon} output (or {@code rso --keep-candidates} file). */
    public static Samples read(Path file) {
        List<Prompt> out = new ArrayList<>();
        try (JsonlReader reader = JsonlReader.open(file)) {
            for (JsonlLine line : reader) {
                if (!(line instanceof JsonlLine.Parsed p)) {
                    throw ((JsonlLine.Malformed) line).toException();
                }
                JsonNode cs = p.node().get("completions");
                if (cs == null || !cs.isArray() || cs.isEmpty()) {
                    throw new Align4jException(p.location() + ": no \"completions\": not a bon output");
                }
                int n = cs.size();
                String[] texts = new String[n];
                int[][] ids = new int[n][];
                double[] logps = new double[n], rewards = new double[n];
                for (int k = 0; k < n; k++) {
                    JsonNode c = cs.get(k);
                    if (!c.path("reward").isNumber() || !c.path("logps").isNumber() || !c.path("token_ids").isArray()) {
                        throw new Align4jException(p.location() + ": completion " + (k + 1) + " lacks \"reward\", \"logps\" or \"token_ids\"");
                    }
                    texts[k] = c.path("text").asText();
                    rewards[k] = c.get("reward").asDouble();
                    logps[k] = c.get("logps").asDouble();
                    JsonNode t = c.get("token_ids");
                    ids[k] = new int[t.size()];
                    for (int i = 0; i < ids[k].length; i++) {
                        ids[k][i] = t.get(i).asInt();
                    }
                }
                out.add(new Prompt(PromptRecord.of(p), texts, ids, logps, rewards));
            }
        }
        return new Samples(file, out);
    }

    public Path file() {
        return file;
    }

    public List<Prompt> prompts() {
        return prompts;
    }

    /** Mean over every completion of every prompt; NaN if there is none. */
    public double meanReward() {
        double sum = 0;
        long count = 0;
        for (Prompt p : prompts) {
            for (double r : p.rewards()) {
                sum += r;
                count++;
            }
        }
        return count > 0 ? sum / count : Double.NaN;
    }

    /**
     * The KL divergence from {@code reference} of the policy that drew these samples, estimated on them: the
     * mean over every completion of (log pi(y|x) - log ref(y|x)), nats per completion; the policy's
     * log-probs as the sampler recorded them (raw), the reference's scored by llama.cpp on the same token
     * ids after the prompt tokenized as the sampler did. Unbiased for KL(pi || ref) when the samples were
     * drawn at temperature 1 with no filter; otherwise the same difference over the filtered draws.
     */
    public double klTo(Model ref, SamplerOptions engine) {
        double[] sum = new double[1];
        long[] count = new long[1];
        try (PrefixSharingScorer scorer = new PrefixSharingScorer(ref, engine.scorer(engine.maxSeqLen()))) {
            LlamaChatRenderer renderer = new LlamaChatRenderer(ref);
            for (Prompt p : prompts) {
                int[] prompt = SampleRequest.of(p.record(), p.tokenIds().length, ref.vocab(), renderer).prompt();
                ScoreRequest request = new ScoreRequest(p.record().id().toString(), prompt, p.tokenIds());
                String misfit = scorer.checkFits(request);
                if (misfit != null) {
                    throw new Align4jException(p.record().location() + ": " + misfit);
                }
                scorer.submit(request, r -> {
                    for (int k = 0; k < p.logps().length; k++) {
                        sum[0] += p.logps()[k] - r.sum(k);
                        count[0]++;
                    }
                });
            }
            scorer.finish();
        }
        return count[0] > 0 ? sum[0] / count[0] : Double.NaN;
    }
}
