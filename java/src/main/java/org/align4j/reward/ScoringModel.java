package org.align4j.reward;

import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Vocab;

/** A reward's own model and the prefix-sharing scorer over it, both freed by {@link #close()}. */
final class ScoringModel implements AutoCloseable {
    private final Model model;
    private final PrefixSharingScorer scorer;

    private ScoringModel(Model model, PrefixSharingScorer scorer) {
        this.model = model;
        this.scorer = scorer;
    }

    /** A model whose scorer reads log-probs. */
    static ScoringModel load(Path path, RewardContext ctx) {
        return load(path, ctx, PrefixSharingScorer.Readout.LOG_PROBS);
    }

    static ScoringModel load(Path path, RewardContext ctx, PrefixSharingScorer.Readout readout) {
        Model model = Model.load(path, new ModelOptions(ctx.gpuLayers(), true, false));
        try {
            return new ScoringModel(model, new PrefixSharingScorer(model, ctx.scorer(), readout));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    Model model() {
        return model;
    }

    Vocab vocab() {
        return model.vocab();
    }

    /**
     * Scores {@code requests} in one stream of batches (log-probs or hidden states, as loaded); results in
     * request order. A request longer than
     * the context is an Align4jException naming {@code recordId} and {@code what} was being scored.
     */
    ScoreResult[] scoreAll(String recordId, String what, List<ScoreRequest> requests) {
        for (ScoreRequest r : requests) {
            String misfit = scorer.checkFits(r);
            if (misfit != null) {
                throw new Align4jException("record " + recordId + ": " + what + " with " + model.path() + ": " + misfit);
            }
        }
        ScoreResult[] out = new ScoreResult[requests.size()];
        for (int i = 0; i < out.length; i++) {
            int at = i;
            scorer.submit(requests.get(i), r -> out[at] = r);
        }
        scorer.finish();
        return out;
    }

    @Override
    public void close() {
        scorer.close();
        model.close();
    }
}
