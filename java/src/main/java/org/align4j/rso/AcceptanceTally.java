package org.align4j.rso;

/**
 * Acceptance figures over the prompts of a run, for its manifest: the observed first-pass rate pooled
 * over all candidates, and the mean of the per-prompt expected rates (RSO's Theorem 1). With the same
 * candidate count for every prompt the two estimate the same number.
 */
public final class AcceptanceTally {
    private long prompts;
    private long candidates;
    private long hits;
    private double expectedSum;

    /** Adds one prompt's selection and its {@link RejectionSampler#expectedAcceptanceRate}. */
    public void add(Selection selection, double expectedRate) {
        prompts++;
        candidates += selection.passOf().length;
        hits += selection.firstPassHits();
        expectedSum += expectedRate;
    }

    public long prompts() {
        return prompts;
    }

    /** First-pass hits over candidates, pooled over the prompts; NaN before any. */
    public double observedFirstPassRate() {
        return (double) hits / candidates;
    }

    /** Mean over the prompts of the expected first-pass acceptance rate; NaN before any. */
    public double meanExpectedRate() {
        return expectedSum / prompts;
    }
}
