package org.align4j.engine;

import org.align4j.llama.TopLogProbs;

/**
 * What a {@link PrefixSharingScorer} read for each completion of a {@link ScoreRequest}: per-token log-probs,
 * or the hidden state at the last token ({@link PrefixSharingScorer.Readout}).
 *
 * @param tokenLogps (K, L_k) raw log-probs, entry [k][t] is log p(completion_k[t] | prompt, completion_k[<t])
 *                   under the model at temperature 1; null when the scorer reads hidden states
 * @param topLogps   (K, L_k) the most probable tokens at each of those positions, or null when the scorer
 *                   keeps none ({@link ScorerOptions#topK()} = 0)
 * @param lastHidden (K, C) the final hidden state (after the output norm) at each completion's last token,
 *                   C the model's embedding length; null when the scorer reads log-probs
 */
public record ScoreResult(float[][] tokenLogps, TopLogProbs[][] topLogps, float[][] lastHidden) {
    /** Sum over the tokens of completion k, accumulated in double. */
    public double sum(int k) {
        double s = 0;
        for (float v : tokenLogps[k]) {
            s += v;
        }
        return s;
    }
}
