package org.align4j.train;

/**
 * Log-probabilities of a batch of {@link Sequence}s under a model, in nats.
 *
 * @param sums   (S,) per sequence, the sum of its scored tokens' log-probs
 * @param tokens (S, T_s - from_s) per sequence, log p(tokens[t] | tokens[..t-1]) for t = from..T_s-1
 */
public record LogProbs(double[] sums, double[][] tokens) {}
