package org.align4j.train;

import java.util.Arrays;

/**
 * Which records each optimizer step takes: {@code perStep} of them at a time from a seeded shuffled order
 * per epoch ({@link OptimizerStep#shuffled}), the last step of an epoch taking what is left. A function of
 * (n, perStep, seed, step) alone, so a resumed run takes the same records as one never stopped.
 */
public final class StepOrder {
    private final int n;
    private final int perStep;
    private final long seed;
    private final int stepsPerEpoch;
    private int epoch = -1;
    private int[] order; // (n,) this epoch's record indices

    public StepOrder(int n, int perStep, long seed) {
        this.n = n;
        this.perStep = perStep;
        this.seed = seed;
        this.stepsPerEpoch = (int) ((n + (long) perStep - 1) / perStep);
    }

    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** Passes over the records after {@code steps} steps, fractional. */
    public double epochs(int steps) {
        return (double) steps / stepsPerEpoch;
    }

    /** The record indices of step {@code s} (0-based), in the order they are taken. */
    public int[] step(int s) {
        int e = s / stepsPerEpoch;
        if (e != epoch) {
            epoch = e;
            order = OptimizerStep.shuffled(n, seed, e);
        }
        int from = (s % stepsPerEpoch) * perStep;
        return Arrays.copyOfRange(order, from, Math.min(n, from + perStep));
    }
}
