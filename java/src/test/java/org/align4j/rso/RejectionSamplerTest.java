package org.align4j.rso;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.apache.commons.statistics.inference.ChiSquareTest;
import org.apache.commons.statistics.inference.SignificanceResult;
import org.junit.jupiter.api.Test;

/**
 * The sampler's contract (exactly k, argument errors, the two limits) on many seeds, and its
 * statistics: Theorem 1 of Liu et al. 2023 on a toy policy with known probabilities. The statistical
 * tests run with fixed seeds, so they are deterministic; each states its significance level.
 */
class RejectionSamplerTest {
    static final double ALPHA = 0.001; // significance of every chi-square test here
    static final double SIGMAS = 5; // tolerance of every rate comparison, in standard errors

    static final List<double[]> REWARD_LISTS = List.of(
            new double[] {1, 1, 1, 1, 1, 1, 1, 1}, // all equal
            new double[] {0, 0, 0, 0, 0, 0, 0, 1e6}, // one huge outlier
            new double[] {-3.5, -12, -0.25, -7, -7, -1, -40, -2.5, -9}, // negative, with a tie
            new double[] {0.2, 0.9}, // two
            new double[] {5}, // one
            IntStream.range(0, 64).mapToDouble(i -> Math.sin(i * 1.7) * 3).toArray());

    @Test
    void acceptsExactlyKForEveryModeSeedAndRewardList() {
        List<RejectionSampler> samplers = List.of(RejectionSampler.rso(0.01), RejectionSampler.rso(0.5),
                RejectionSampler.rso(5), RejectionSampler.sftSampleRank(), RejectionSampler.topKOverN());
        int runs = 0;
        for (double[] rewards : REWARD_LISTS) {
            int n = rewards.length;
            for (int k : new int[] {1, Math.max(1, n / 2), n}) {
                for (RejectionSampler sampler : samplers) {
                    for (long seed = 0; seed < 100; seed++) {
                        Selection s = sampler.select(rewards, k, new SplittableRandom(seed));
                        String what = sampler + " k=" + k + " of " + Arrays.toString(rewards) + " seed " + seed;
                        assertThat(s.accepted()).as(what).hasSize(k).doesNotHaveDuplicates();
                        assertThat(Arrays.stream(s.passOf()).filter(p -> p > 0).count()).as(what).isEqualTo(k);
                        for (int j = 0; j < k; j++) {
                            assertThat(s.isAccepted(s.accepted()[j])).as(what).isTrue();
                            if (j > 0) { // acceptance order runs pass by pass
                                assertThat(s.passOf()[s.accepted()[j]]).as(what)
                                        .isGreaterThanOrEqualTo(s.passOf()[s.accepted()[j - 1]]);
                            }
                        }
                        assertThat(s.passes()).as(what).isBetween(1, k);
                        assertThat(s.firstPassHits()).as(what)
                                .isGreaterThanOrEqualTo((int) Arrays.stream(s.passOf()).filter(p -> p == 1).count());
                        runs++;
                    }
                }
            }
        }
        System.out.printf("exactly k accepted in %d runs (6 reward lists x 3 k x 5 samplers x 100 seeds)%n", runs);
    }

    @Test
    void hugeOutlierIsAlwaysAcceptedFirst() {
        double[] rewards = {0, 0, 0, 1e6, 0, 0, 0, 0};
        for (long seed = 0; seed < 200; seed++) {
            Selection s = RejectionSampler.rso(0.5).select(rewards, 3, new SplittableRandom(seed));
            // exp((0 - 1e6) / 0.5) underflows to 0: only the outlier can pass the first pass
            assertThat(s.accepted()[0]).isEqualTo(3);
            assertThat(s.passOf()[3]).isEqualTo(1);
            assertThat(s.firstPassHits()).isEqualTo(1);
        }
    }

    @Test
    void tinyBetaKeepsTheTopRewardsLikeTopKOverN() {
        double[] rewards = {0.3, 2.5, -1.0, 2.4, 0.9, 1.7};
        int[] top3 = {1, 3, 5}; // 2.5, 2.4, 1.7
        for (long seed = 0; seed < 200; seed++) {
            assertThat(RejectionSampler.rso(1e-9).select(rewards, 3, new SplittableRandom(seed)).accepted())
                    .containsExactly(top3);
        }
        Selection top = RejectionSampler.topKOverN().select(rewards, 3, new SplittableRandom(0));
        assertThat(top.accepted()).containsExactly(top3);
        assertThat(top.passes()).isEqualTo(3); // one reward level per pass
    }

    @Test
    void topKOverNBreaksTiesByIndex() {
        double[] rewards = {1, 3, 3, 2, 3};
        assertThat(RejectionSampler.topKOverN().select(rewards, 2, new SplittableRandom(0)).accepted()).containsExactly(1, 2);
        assertThat(RejectionSampler.topKOverN().select(rewards, 4, new SplittableRandom(0)).accepted()).containsExactly(1, 2, 4, 3);
    }

    @Test
    void sftSampleRankDrawsUniformSubsets() {
        int n = 6;
        int k = 2;
        int trials = 30_000;
        double[] rewards = {4, -1, 0.5, 9, 2, 2}; // ignored by this mode
        long[] counts = new long[n * n]; // by (lower index, higher index); 15 of the cells are possible
        SplittableRandom rng = new SplittableRandom(42);
        for (int t = 0; t < trials; t++) {
            int[] a = RejectionSampler.sftSampleRank().select(rewards, k, rng).accepted();
            counts[Math.min(a[0], a[1]) * n + Math.max(a[0], a[1])]++;
        }
        long[] subsets = IntStream.range(0, n * n).filter(c -> c / n < c % n).mapToLong(c -> counts[c]).toArray();
        assertThat(subsets).hasSize(15);
        SignificanceResult test = ChiSquareTest.withDefaults().test(subsets);
        System.out.printf("sft-sample-rank 2-of-6 subsets over %d draws: chi2 %.2f on 14 df, p %.3f (alpha %.3f)%n",
                trials, test.getStatistic(), test.getPValue(), ALPHA);
        assertThat(test.getPValue()).isGreaterThan(ALPHA);
    }

    /**
     * The toy setting of Theorem 1: M = 5 distinct completions with known SFT probabilities and rewards;
     * a pool of N i.i.d. draws from pi_sft; the accepted ones of the first pass (k = N, so the pass never
     * stops early) must follow pi_sft(y) exp(r(y) / beta) / Z, at the rate E[exp((r - r_max) / beta)].
     */
    @Test
    void firstPassFollowsTheTiltedPolicyAtTheoremOnesRate() {
        double[] piSft = {0.40, 0.25, 0.15, 0.12, 0.08};
        double[] reward = {0.0, 1.0, 0.5, 2.0, -1.0};
        double beta = 0.7;
        int poolSize = 100_000;

        SplittableRandom rng = new SplittableRandom(2309_06657L);
        int[] completion = new int[poolSize];
        double[] poolRewards = new double[poolSize];
        for (int i = 0; i < poolSize; i++) {
            int y = drawFrom(piSft, rng.nextDouble());
            completion[i] = y;
            poolRewards[i] = reward[y];
        }
        RejectionSampler sampler = RejectionSampler.rso(beta);
        Selection s = sampler.select(poolRewards, poolSize, rng);

        long[] accepted = new long[piSft.length];
        for (int i = 0; i < poolSize; i++) {
            if (s.passOf()[i] == 1) {
                accepted[completion[i]]++;
            }
        }
        double z = 0;
        for (int y = 0; y < piSft.length; y++) {
            z += piSft[y] * Math.exp(reward[y] / beta);
        }
        double[] tilted = new double[piSft.length];
        for (int y = 0; y < piSft.length; y++) {
            tilted[y] = piSft[y] * Math.exp(reward[y] / beta) / z;
        }
        SignificanceResult fit = ChiSquareTest.withDefaults().test(tilted, accepted);
        System.out.printf("first-pass accepted %s of %d vs pi_sft*exp(r/beta)/Z %s: chi2 %.2f on 4 df, p %.3f (alpha %.3f)%n",
                Arrays.toString(accepted), poolSize, Arrays.toString(Arrays.stream(tilted).map(q -> Math.round(q * 1e4) / 1e4).toArray()),
                fit.getStatistic(), fit.getPValue(), ALPHA);
        assertThat(fit.getPValue()).isGreaterThan(ALPHA);

        // Theorem 1 over pi_sft, r_max = 2.0 (completion 3 is in the pool: P(absent) = 0.88^100000)
        double theorem = 0;
        for (int y = 0; y < piSft.length; y++) {
            theorem += piSft[y] * Math.exp((reward[y] - 2.0) / beta);
        }
        double observed = s.firstPassAcceptanceRate();
        double se = Math.sqrt(theorem * (1 - theorem) / poolSize);
        double plugIn = sampler.expectedAcceptanceRate(poolRewards);
        double plugInVar = 0;
        for (double r : poolRewards) {
            double p = Math.exp((r - 2.0) / beta);
            plugInVar += p * (1 - p);
        }
        double plugInSe = Math.sqrt(plugInVar) / poolSize;
        System.out.printf("first-pass rate observed %.5f, Theorem 1 %.5f (%.2f SE), on the pool's rewards %.5f (%.2f SE)%n",
                observed, theorem, Math.abs(observed - theorem) / se, plugIn, Math.abs(observed - plugIn) / plugInSe);
        assertThat(Math.abs(observed - theorem)).isLessThanOrEqualTo(SIGMAS * se);
        assertThat(Math.abs(observed - plugIn)).isLessThanOrEqualTo(SIGMAS * plugInSe);
    }

    /** The completion whose cumulative-probability interval holds u. */
    static int drawFrom(double[] probs, double u) {
        double cumulative = 0;
        for (int y = 0; y < probs.length - 1; y++) {
            cumulative += probs[y];
            if (u < cumulative) {
                return y;
            }
        }
        return probs.length - 1;
    }

    @Test
    void pooledObservedRateMatchesMeanExpectedRateAtTypicalSettings() {
        // 64 candidates, keep 8, beta 0.5: the first pass usually reaches k early, yet counts every hit
        RejectionSampler sampler = RejectionSampler.rso(0.5);
        AcceptanceTally tally = new AcceptanceTally();
        SplittableRandom rng = new SplittableRandom(7);
        double variance = 0; // of the pooled hit count
        int prompts = 2000;
        int n = 64;
        for (int prompt = 0; prompt < prompts; prompt++) {
            double[] rewards = new double[n];
            for (int i = 0; i < n; i++) {
                rewards[i] = rng.nextGaussian();
            }
            double rMax = Arrays.stream(rewards).max().orElseThrow();
            for (double r : rewards) {
                double p = Math.exp((r - rMax) / 0.5);
                variance += p * (1 - p);
            }
            tally.add(sampler.select(rewards, 8, rng.split()), sampler.expectedAcceptanceRate(rewards));
        }
        double se = Math.sqrt(variance) / ((double) prompts * n);
        double diff = Math.abs(tally.observedFirstPassRate() - tally.meanExpectedRate());
        System.out.printf("%d prompts, 8 of 64 at beta 0.5: observed first-pass rate %.5f, expected %.5f (%.2f SE)%n",
                tally.prompts(), tally.observedFirstPassRate(), tally.meanExpectedRate(), diff / se);
        assertThat(diff).isLessThanOrEqualTo(SIGMAS * se);
    }

    @Test
    void expectedRateOnGivenRewards() {
        double[] rewards = {0, 1, 2};
        assertThat(RejectionSampler.rso(0.5).expectedAcceptanceRate(rewards))
                .isCloseTo((Math.exp(-4) + Math.exp(-2) + 1) / 3, offset(1e-15));
        assertThat(RejectionSampler.sftSampleRank().expectedAcceptanceRate(rewards)).isEqualTo(1);
        assertThat(RejectionSampler.topKOverN().expectedAcceptanceRate(new double[] {1, 3, 3})).isEqualTo(2.0 / 3);
    }

    @Test
    void badArgumentsAreRefusedUpFront() {
        double[] rewards = {1, 2, 3};
        SplittableRandom rng = new SplittableRandom(0);
        assertThatThrownBy(() -> RejectionSampler.rso(0.5).select(rewards, 4, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot accept 4 of 3 candidates");
        assertThatThrownBy(() -> RejectionSampler.rso(0.5).select(rewards, 0, rng)).hasMessageContaining("cannot accept 0");
        assertThatThrownBy(() -> RejectionSampler.rso(0.5).select(new double[] {1, Double.NaN, 2}, 1, rng))
                .hasMessage("reward of candidate 1 is NaN");
        assertThatThrownBy(() -> RejectionSampler.topKOverN().select(new double[] {Double.POSITIVE_INFINITY}, 1, rng))
                .hasMessage("reward of candidate 0 is Infinity");
        assertThatThrownBy(() -> RejectionSampler.rso(0)).hasMessageContaining("positive finite beta");
        assertThatThrownBy(() -> RejectionSampler.rso(Double.POSITIVE_INFINITY)).hasMessageContaining("sft-sample-rank");
        assertThatThrownBy(() -> new RejectionSampler(SelectionMode.TOP_K_OVER_N, 0.5)).hasMessageContaining("top-k-over-n has beta 0");
        assertThatThrownBy(() -> SelectionMode.named("best-of-n")).hasMessageContaining("unknown selection mode");
        assertThat(SelectionMode.named("top-k-over-n")).isEqualTo(SelectionMode.TOP_K_OVER_N);
    }
}
