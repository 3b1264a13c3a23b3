package org.align4j.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.align4j.bon.RewardCurve;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make demo}'s recipe at its small configuration ({@link DemoRun#SMALL}: 200 held-out prompts, one
 * round of RSO + DPO on 400 train prompts, the same settings otherwise) on the committed demo model: the
 * held-out greedy accuracy must rise by a clear margin, and the report must say what happened. Its RLHF step's
 * reward model must rank held-out pairs above chance by {@link #RM_MARGIN}, and the round it rewards must
 * report the policy's held-out accuracy by the checkable reward.
 */
class DemoRunTest {
    /** The least rise in held-out greedy accuracy that counts as clear: 5 points (10 prompts of 200). */
    static final double CLEAR_MARGIN = 0.05;
    /**
     * score vs rso's reference columns, nats on a completion's sum: the two score the same tokens on the same
     * model in different batches, which moves llama.cpp's F16 KV cache rounding (we see up to 1e-3).
     */
    static final double SCORE_TOLERANCE = 2e-3;
    /**
     * The reward model's least held-out pairwise accuracy above chance (0.5): 15 points, 30 pairs of 200 (RmDemoTest's
     * recipe reaches 0.805).
     */
    static final double RM_MARGIN = 0.15;

    @TempDir Path tmp;

    @Test
    void oneRoundOfRsoAndDpoRaisesHeldOutGreedyAccuracyByAClearMargin() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Path dir = tmp.resolve("run");
        DemoRun.Result r;
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            r = DemoRun.SMALL.run(DemoSetsTest.committedSets(), dir, 2, out, true);
        }
        String printed = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(printed);
        System.out.printf("small demo: held-out greedy accuracy %.3f -> %.3f (%+.1f points, clear margin %.0f points) in %.0f s%n",
                r.accuracyBefore(), r.accuracyAfter(), 100 * (r.accuracyAfter() - r.accuracyBefore()), 100 * CLEAR_MARGIN, r.seconds());
        assertThat(r.accuracyAfter()).isGreaterThanOrEqualTo(r.accuracyBefore() + CLEAR_MARGIN);
        assertThat(r.loop().last().eval().sampledReward()).isGreaterThan(r.loop().start().sampledReward());
        assertThat(r.loop().last().eval().kl()).isPositive();

        RewardCurve.Point one = r.curve().points().getFirst(), best = r.curve().points().getLast();
        assertThat(best.n()).isEqualTo(DemoRun.SMALL.bonN());
        assertThat(best.bestReward()).as("Best-of-N helps").isGreaterThan(one.bestReward() + 0.2);
        assertThat(r.loop().rounds().getFirst().acceptanceRate()).isStrictlyBetween(0.0, 1.0);
        assertThat(r.scoreMaxDiff()).isLessThan(SCORE_TOLERANCE);

        DemoRun.Rlhf rlhf = r.rlhf();
        System.out.printf("small demo RLHF: reward model held-out pairwise accuracy %.3f (required >= %.2f); policy after one round"
                + " with it: held-out greedy accuracy %.3f by the checkable reward (round 1 with the checkable reward: %.3f)%n",
                rlhf.rmAccuracy(), 0.5 + RM_MARGIN, rlhf.accuracy(), r.accuracyAfter());
        assertThat(rlhf.rmAccuracy()).isGreaterThanOrEqualTo(0.5 + RM_MARGIN);
        assertThat(rlhf.loop().last().pairs()).isPositive();
        assertThat(rlhf.accuracy()).isBetween(0.0, 1.0);
        assertThat(rlhf.loop().start().greedyReward()).as("the round is rewarded by the reward model, not the checkable reward")
                .isNotEqualTo(r.accuracyBefore());
        double right = rlhf.accuracy() * DemoRun.SMALL.heldout();
        assertThat(right).as("the policy is measured by the checkable 0/1 reward: a whole number of prompts right")
                .isCloseTo(Math.rint(right), within(1e-9));
        assertThat(dir.resolve("rlhf/rm.gguf")).isNotEmptyFile();

        String report = Files.readString(dir.resolve("report.md"));
        assertThat(printed).contains(report);
        assertThat(report).contains("Best-of-N", "| 16 |", "acceptance rate", "held-out greedy accuracy", "KL", "RLHF",
                String.format(Locale.ROOT, "ranks **%.3f**", rlhf.rmAccuracy()),
                String.format(Locale.ROOT, "| round 1, reward model | **%.3f** |", rlhf.accuracy()));
        assertThat(dir.resolve("bon.curve.png")).isNotEmptyFile();
        assertThat(dir.resolve("loop/loop.png")).isNotEmptyFile();
        assertThat(dir.resolve("loop/round-1/model.gguf")).isNotEmptyFile();
    }
}
