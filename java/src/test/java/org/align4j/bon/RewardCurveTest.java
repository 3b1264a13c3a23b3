package org.align4j.bon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardCurveTest {
    @TempDir Path tmp;

    /** The average over every n-subset of the maximum, by enumerating the subsets. */
    static double bruteForceBestOf(double[] r, int n) {
        double sum = 0;
        long count = 0;
        for (int mask = 0; mask < 1 << r.length; mask++) {
            if (Integer.bitCount(mask) != n) {
                continue;
            }
            double best = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < r.length; i++) {
                if ((mask & 1 << i) != 0) {
                    best = Math.max(best, r[i]);
                }
            }
            sum += best;
            count++;
        }
        return sum / count;
    }

    @Test
    void expectedBestOfNEqualsTheAverageMaximumOverAllSubsets() {
        SplittableRandom rnd = new SplittableRandom(3);
        double maxDiff = 0;
        for (int trial = 0; trial < 50; trial++) {
            int total = 1 + rnd.nextInt(12);
            double[] r = new double[total];
            for (int i = 0; i < total; i++) {
                r[i] = rnd.nextInt(4) == 0 ? 1.0 : rnd.nextDouble(-3, 3); // ties included
            }
            double[] sorted = r.clone();
            Arrays.sort(sorted);
            for (int n = 1; n <= total; n++) {
                maxDiff = Math.max(maxDiff, Math.abs(RewardCurve.expectedBestOf(sorted, n) - bruteForceBestOf(r, n)));
            }
        }
        System.out.printf("expected best-of-n vs subset enumeration: max |diff| = %.3g (tolerance 1e-12)%n", maxDiff);
        assertThat(maxDiff).isLessThan(1e-12);
    }

    @Test
    void forZeroOneRewardsBestOfNIsThePassAtKEstimator() {
        // 16 samples, 3 correct: pass@k = 1 - C(13, k) / C(16, k) (Chen et al. 2021).
        double[] r = new double[16];
        r[2] = r[7] = r[11] = 1;
        Arrays.sort(r);
        assertThat(RewardCurve.expectedBestOf(r, 1)).isCloseTo(3.0 / 16, within(1e-12));
        assertThat(RewardCurve.expectedBestOf(r, 4)).isCloseTo(1 - (13.0 * 12 * 11 * 10) / (16.0 * 15 * 14 * 13), within(1e-12));
        assertThat(RewardCurve.expectedBestOf(r, 14)).isEqualTo(1.0);
    }

    @Test
    void curveAveragesOverPromptsAtPowersOfTwoAndN() throws IOException {
        RewardCurve c = new RewardCurve(6);
        c.add(new double[] {0, 0, 0, 0, 0, 1});
        c.add(new double[] {1, 1, 1, 1, 1, 1});
        assertThat(c.points()).extracting(RewardCurve.Point::n).containsExactly(1, 2, 4, 6);
        RewardCurve.Point first = c.points().getFirst();
        assertThat(first.meanReward()).isCloseTo((1.0 / 6 + 1) / 2, within(1e-12));
        assertThat(first.bestReward()).isCloseTo((1.0 / 6 + 1) / 2, within(1e-12));
        assertThat(c.points().get(1).bestReward()).isCloseTo((2.0 / 6 + 1) / 2, within(1e-12));
        assertThat(c.points().getLast().bestReward()).isEqualTo(1.0);
        assertThatThrownBy(() -> c.add(new double[] {1, 2})).hasMessageContaining("2 rewards for a curve of N = 6");

        Path md = tmp.resolve("curve.md");
        Path png = tmp.resolve("curve.png");
        c.write(md, png);
        assertThat(Files.readString(md)).contains("| 6 | 0.5833 | 1.0000 |");
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 8);
        assertThat(head).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        assertThat(c.brief()).isEqualTo("2 prompts: mean reward 0.5833; best of 1 0.5833, 2 0.6667, 4 0.8333, 6 1.0000");
    }

    @Test
    void bestIsTheFirstIndexOfTheHighestReward() {
        assertThat(BonJob.best(new double[] {0.5})).isZero();
        assertThat(BonJob.best(new double[] {0, 2, -1, 2, 1})).isEqualTo(1);
        assertThat(BonJob.best(new double[] {-3, -3, -3})).isZero();
        assertThat(BonJob.best(new double[] {-3, -2.5, -2.5})).isEqualTo(1);
    }
}
