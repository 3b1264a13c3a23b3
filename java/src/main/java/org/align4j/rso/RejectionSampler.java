package org.align4j.rso;

import java.util.random.RandomGenerator;

/**
 * Chooses k of N candidates for one prompt, by RSO's statistical rejection sampling (Liu et al. 2023,
 * arXiv 2309.06657, Algorithm 1 and its derivation in appendix A.1) or one of its two limits.
 *
 * <p>The algorithm, in passes until k are accepted: r_max is the highest reward among the candidates
 * not yet accepted; each of those, in scan order, is accepted with probability exp((r - r_max) / beta)
 * (a uniform u in [0, 1) below it). The candidate at r_max always passes, so every pass accepts at
 * least one and at most k passes run. Theorem 1: over a first pass (nothing yet accepted) of
 * candidates drawn from pi_sft, the accepted ones follow pi_sft(y) exp(r(y) / beta) / Z and the
 * acceptance rate is E[exp((r - r_max) / beta)].
 *
 * <p>Where it departs from the paper's Python, and why:
 * <ul>
 *   <li>It stops at exactly k, inside the pass, as the paper's listing does; copies that test for k
 *       only after a pass return more than k.
 *   <li>k > N is refused up front; the listing loops forever on it (and fails on an empty dict).
 *   <li>Candidates are indices, so identical completions stay separate candidates; the listing keys a
 *       dict by completion text, silently merging duplicates (and keeping the last one's reward).
 *   <li>The first pass tests every candidate, also after its k-th acceptance (those extra hits are
 *       counted, not accepted): the accepted set is the same as with the listing's break, and the
 *       count of hits over N is an unbiased estimate of the expected rate for the manifest.
 * </ul>
 * Scan order is candidate index order for rso and top-k-over-n, as the listing iterates its dict in
 * insertion order: candidates are i.i.d. draws from the SFT policy, so their order carries no
 * information. A u is drawn only where the probability is strictly between 0 and 1.
 *
 * @param beta the KL temperature of the tilted policy: positive and finite for {@link SelectionMode#RSO}
 *     (the paper's default is 0.5), +infinity for sft-sample-rank, 0 for top-k-over-n
 */
public record RejectionSampler(SelectionMode mode, double beta) {
    public RejectionSampler {
        boolean ok = switch (mode) {
            case RSO -> beta > 0 && beta < Double.POSITIVE_INFINITY;
            case SFT_SAMPLE_RANK -> beta == Double.POSITIVE_INFINITY;
            case TOP_K_OVER_N -> beta == 0;
        };
        if (!ok) {
            throw new IllegalArgumentException(mode == SelectionMode.RSO
                    ? "rso needs a positive finite beta, not " + beta
                            + " (sft-sample-rank is beta = infinity, top-k-over-n is beta -> 0)"
                    : mode.cliName() + " has beta " + (mode == SelectionMode.TOP_K_OVER_N ? "0" : "infinity")
                            + ", not " + beta);
        }
    }

    public static RejectionSampler rso(double beta) {
        return new RejectionSampler(SelectionMode.RSO, beta);
    }

    /** A uniform random k of the N (each k-subset equally likely), in random order; all accepted in pass 1. */
    public static RejectionSampler sftSampleRank() {
        return new RejectionSampler(SelectionMode.SFT_SAMPLE_RANK, Double.POSITIVE_INFINITY);
    }

    /**
     * The k highest rewards, best first, with no randomness: the beta -> 0 limit of the algorithm, in
     * which pass p accepts the candidates at the p-th highest reward. Equal rewards go in index order,
     * so of tied candidates the lower index is kept.
     */
    public static RejectionSampler topKOverN() {
        return new RejectionSampler(SelectionMode.TOP_K_OVER_N, 0);
    }

    /** Keeps k of the candidates whose rewards are given, (N,); rng supplies the uniforms (seed it per prompt). */
    public Selection select(double[] rewards, int k, RandomGenerator rng) {
        int n = rewards.length;
        requireFinite(rewards);
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("cannot accept " + k + " of " + n + " candidates: need 1 <= k <= N");
        }
        int[] order = scanOrder(n, rng);
        int[] passOf = new int[n];
        int[] accepted = new int[k];
        int count = 0;
        int firstPassHits = 0;
        for (int pass = 1; count < k; pass++) {
            double rMax = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (passOf[i] == 0) {
                    rMax = Math.max(rMax, rewards[i]);
                }
            }
            for (int j = 0; j < n && (pass == 1 || count < k); j++) {
                int i = order[j];
                if (passOf[i] != 0) {
                    continue;
                }
                double p = acceptanceProbability(rewards[i], rMax);
                boolean hit = p >= 1 || (p > 0 && rng.nextDouble() < p);
                if (!hit) {
                    continue;
                }
                if (pass == 1) {
                    firstPassHits++;
                }
                if (count < k) {
                    passOf[i] = pass;
                    accepted[count++] = i;
                }
            }
        }
        return new Selection(accepted, passOf, firstPassHits);
    }

    /**
     * The expected first-pass acceptance rate (Theorem 1, eq. 18) estimated on these rewards, (N,):
     * the mean over candidates of exp((r_i - r_max) / beta), r_max the highest of them. 1 for
     * sft-sample-rank; the fraction at the maximum for top-k-over-n.
     */
    public double expectedAcceptanceRate(double[] rewards) {
        requireFinite(rewards);
        double rMax = Double.NEGATIVE_INFINITY;
        for (double r : rewards) {
            rMax = Math.max(rMax, r);
        }
        double sum = 0;
        for (double r : rewards) {
            sum += acceptanceProbability(r, rMax);
        }
        return sum / rewards.length;
    }

    /** pi_r(y) / (M pi_sft(y)) of the paper's eq. 14, the probability of accepting a candidate of reward r. */
    private double acceptanceProbability(double r, double rMax) {
        return switch (mode) {
            case RSO -> Math.exp((r - rMax) / beta);
            case SFT_SAMPLE_RANK -> 1;
            case TOP_K_OVER_N -> r == rMax ? 1 : 0;
        };
    }

    /** Index order, or for sft-sample-rank a uniform random permutation (Fisher-Yates), whose first k are a uniform k-subset. */
    private int[] scanOrder(int n, RandomGenerator rng) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (mode == SelectionMode.SFT_SAMPLE_RANK) {
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    private static void requireFinite(double[] rewards) {
        if (rewards.length == 0) {
            throw new IllegalArgumentException("no candidates");
        }
        for (int i = 0; i < rewards.length; i++) {
            if (!Double.isFinite(rewards[i])) {
                throw new IllegalArgumentException("reward of candidate " + i + " is " + rewards[i]);
            }
        }
    }
}
