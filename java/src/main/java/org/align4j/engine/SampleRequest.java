package org.align4j.engine;

/**
 * One prompt to sample {@code n} completions from.
 *
 * @param key        names the request for seeding (a record id): completion k samples with a seed derived
 *                   from (the run's seed, key, k), so the same key, prompt, parameters and model give the
 *                   same completions whatever else is sampled beside them
 * @param promptText the prompt as the model sees it (chat template applied), carried to the result
 * @param prompt     (P,) its token ids, with BOS if the model wants one
 * @param n          completions to sample
 */
public record SampleRequest(String key, String promptText, int[] prompt, int n) {
    public SampleRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: the first sampled token needs a context");
        }
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, not " + n);
        }
    }
}
