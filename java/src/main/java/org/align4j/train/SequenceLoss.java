package org.align4j.train;

/**
 * A loss that depends on the model only through the log-prob sums of a batch's sequences (NLL, DPO
 * and its variants). The trainer backpropagates {@code dLossDSum} through every sequence.
 */
@FunctionalInterface
public interface SequenceLoss {
    /**
     * Returns the loss for {@code logpSums} (S,) and writes d(loss)/d(logpSums[s]) into
     * {@code dLossDSum} (S,), which arrives filled with zeros.
     */
    double lossAndGradient(double[] logpSums, double[] dLossDSum);
}
