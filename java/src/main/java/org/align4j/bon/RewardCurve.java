package org.align4j.bon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.AtomicFile;
import org.align4j.job.LinePlot;

/**
 * Mean and best reward against the number of samples n = 1, 2, 4, ... up to N, from the same N samples
 * per prompt. The best of n is the unbiased estimate of E[max of n drawn from the N] (for 0/1 rewards
 * it is pass@n, the estimator of Chen et al. 2021); the mean does not depend on n, which is the point
 * of the plot: the best rises with n while the mean stays flat.
 */
public final class RewardCurve {
    /** One point of the curve, averaged over prompts. */
    public record Point(int n, double meanReward, double bestReward) {}

    private final int maxN;
    private final int[] ns;
    private final double[] sumBest; // (ns.length,)
    private double sumMean;
    private long prompts;

    public RewardCurve(int maxN) {
        if (maxN < 1) {
            throw new IllegalArgumentException("N must be at least 1, not " + maxN);
        }
        this.maxN = maxN;
        List<Integer> levels = new ArrayList<>();
        for (int n = 1; n < maxN; n *= 2) {
            levels.add(n);
        }
        levels.add(maxN);
        this.ns = levels.stream().mapToInt(Integer::intValue).toArray();
        this.sumBest = new double[ns.length];
    }

    /** Adds one prompt's N rewards. */
    public void add(double[] rewards) {
        if (rewards.length != maxN) {
            throw new IllegalArgumentException(rewards.length + " rewards for a curve of N = " + maxN);
        }
        double[] sorted = rewards.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < ns.length; i++) {
            sumBest[i] += expectedBestOf(sorted, ns[i]);
        }
        double s = 0;
        for (double r : rewards) {
            s += r;
        }
        sumMean += s / rewards.length;
        prompts++;
    }

    /**
     * E[max of n drawn without replacement] from {@code ascending} (N values, sorted): the i-th smallest
     * (1-based) is the maximum of C(i-1, n-1) of the C(N, n) subsets, so it weighs C(i-1, n-1) / C(N, n).
     * The weights are built from the top: w_N = n / N, w_(i-1) = w_i (i - n) / (i - 1).
     */
    static double expectedBestOf(double[] ascending, int n) {
        int total = ascending.length;
        double w = (double) n / total;
        double e = 0;
        for (int i = total; i >= n; i--) {
            e += w * ascending[i - 1];
            w = i > 1 ? w * (i - n) / (i - 1) : 0;
        }
        return e;
    }

    public long prompts() {
        return prompts;
    }

    public List<Point> points() {
        List<Point> out = new ArrayList<>();
        for (int i = 0; i < ns.length; i++) {
            out.add(new Point(ns[i], prompts == 0 ? Double.NaN : sumMean / prompts, prompts == 0 ? Double.NaN : sumBest[i] / prompts));
        }
        return out;
    }

    /** The curve as a markdown table. */
    public String table() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "Reward against N over %d prompts (best of n: expected maximum of n of the N samples)%n%n| n | mean reward | best-of-n reward |%n|---|---|---|%n",
                prompts));
        for (Point p : points()) {
            b.append(String.format(Locale.ROOT, "| %d | %.4f | %.4f |%n", p.n(), p.meanReward(), p.bestReward()));
        }
        return b.toString();
    }

    /** The table in one line: {@code 12 prompts: mean reward 0.2500; best of 1 0.2500, 2 0.4091, 4 0.6000, 8 0.7500}. */
    public String brief() {
        List<Point> pts = points();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%d prompts: mean reward %.4f; best of", prompts,
                pts.getFirst().meanReward()));
        for (int i = 0; i < pts.size(); i++) {
            b.append(String.format(Locale.ROOT, "%s %d %.4f", i == 0 ? "" : ",", pts.get(i).n(), pts.get(i).bestReward()));
        }
        return b.toString();
    }

    /** Writes {@link #table()} to {@code markdown} and the plot to {@code png}, each replaced atomically. */
    public void write(Path markdown, Path png) {
        try {
            AtomicFile.write(markdown, tmp -> Files.writeString(tmp, table(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Align4jException("cannot write " + markdown + ": " + IoMessages.describe(e), e);
        }
        List<Point> pts = points();
        double[] x = pts.stream().mapToDouble(Point::n).toArray();
        new LinePlot("Best-of-N: reward against N (" + prompts + " prompts)", "n (samples per prompt)", "reward")
                .series("best of n", x, pts.stream().mapToDouble(Point::bestReward).toArray())
                .series("mean", x, pts.stream().mapToDouble(Point::meanReward).toArray())
                .logX()
                .writePng(png);
    }
}
