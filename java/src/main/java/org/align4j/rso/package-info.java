/**
 * RSO, statistical rejection sampling optimisation (Liu et al. 2023, "Statistical Rejection Sampling
 * Improves Preference Optimization", arXiv 2309.06657): choosing which of N candidates sampled from
 * the SFT policy to keep so that they follow the reward-tilted policy pi_sft(y) exp(r(y) / beta) / Z
 * (the paper's eq. 4), and pairing the kept ones into preference pairs.
 *
 * <p>Candidates are indices 0..N-1 into the caller's list of completions for one prompt; rewards are
 * (N,) doubles in the same order.
 */
package org.align4j.rso;
