package org.align4j.train;

/**
 * One sequence to score: the log-prob of {@code tokens[t]} given {@code tokens[0..t-1]} for
 * t = from..T-1, e.g. a prompt of {@code from} tokens followed by the completion being scored.
 * {@code from} is in [1, T] (T: nothing is scored, the sum is 0).
 *
 * @param tokens (T,) token ids, T >= 1
 */
public record Sequence(int[] tokens, int from) {
    public Sequence {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        if (from < 1 || from > tokens.length) {
            throw new IllegalArgumentException("from must be in [1, " + tokens.length + "], not " + from);
        }
    }

    /** Tokens scored: T - from. */
    public int scored() {
        return tokens.length - from;
    }
}
