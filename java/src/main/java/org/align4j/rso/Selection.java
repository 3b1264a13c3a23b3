package org.align4j.rso;

/**
 * The k candidates a {@link RejectionSampler} kept.
 *
 * @param accepted candidate indices in the order they were accepted, (k,)
 * @param passOf for every candidate, (N,): the 1-based pass that accepted it, 0 if none did
 * @param firstPassHits how many of the N candidates passed their first-pass test (u below their
 *     acceptance probability); the first k of them in scan order were accepted
 */
public record Selection(int[] accepted, int[] passOf, int firstPassHits) {
    public boolean isAccepted(int candidate) {
        return passOf[candidate] > 0;
    }

    /** Passes over the remaining candidates it took to accept k. */
    public int passes() {
        int max = 0;
        for (int p : passOf) {
            max = Math.max(max, p);
        }
        return max;
    }

    /**
     * First-pass hits over N: the observed counterpart of {@link RejectionSampler#expectedAcceptanceRate},
     * whose expectation it equals (every candidate is tested in the first pass, so the rate is not
     * biased by the pass stopping at k).
     */
    public double firstPassAcceptanceRate() {
        return (double) firstPassHits / passOf.length;
    }
}
