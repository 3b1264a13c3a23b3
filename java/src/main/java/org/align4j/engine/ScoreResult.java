package org.align4j.engine;

import org.align4j.llama.TopLogProbs;

/**
 * Raw per-token log-probs of each completion of a {@link ScoreRequest}: (K, L_k), entry [k][t] is
 * log p(completion_k[t] | prompt, completion_k[<t]) under the model at temperature 1.
 *
 * @param topLogps (K, L_k) the most probable tokens at each of those positions, or null when the scorer
 *                 keeps none ({@link ScorerOptions#topK()} = 0)
 */
public record ScoreResult(float[][] tokenLogps, TopLogProbs[][] topLogps) {
    /** Sum over the tokens of completion k, accumulated in double. */
    public double sum(int k) {
        double s = 0;
        for (float v : tokenLogps[k]) {
            s += v;
        }
        return s;
    }
}
