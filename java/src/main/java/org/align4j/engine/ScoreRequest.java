package org.align4j.engine;

/**
 * One prompt and the completions to score after it, as token ids. The prompt carries BOS if the model
 * wants one; each completion is tokenized on its own without BOS and appended (TRL's convention).
 *
 * @param key         names the request in errors (a record id); null: the scorer names it by its place in
 *                    submission order
 * @param prompt      (P,) token ids
 * @param completions (K, L_k) token ids, each scored as prompt + completion
 */
public record ScoreRequest(String key, int[] prompt, int[][] completions) {
    public ScoreRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: a completion's first token needs a context to be scored from");
        }
    }

    /** A request without a key. */
    public ScoreRequest(int[] prompt, int[][] completions) {
        this(null, prompt, completions);
    }

    /** Tokens of the longest single sequence, prompt + completion. */
    public int longestSequence() {
        int longest = 0;
        for (int[] c : completions) {
            longest = Math.max(longest, c.length);
        }
        return prompt.length + longest;
    }
}
