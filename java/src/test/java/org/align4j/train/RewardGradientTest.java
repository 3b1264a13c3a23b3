package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reward model's gradients, the head's w and b and a few transformer tensors (through the final
 * norm at each sequence's last token, and through the output layer for the imitation term), against
 * central finite differences of the loss, computed in double from the f32 forward: the mean over two
 * pairs of {@link RewardLoss} (one with a margin), the chosen sequences scored for the imitation term.
 * Numeric gradients, tolerance and the measured rounding noise as in {@link LlamaTrainerGradientTest}
 * (Richardson's extrapolation at h = 2e-2; |analytic - numeric| <= 1e-3 |numeric| + 3e-4).
 */
class RewardGradientTest {
    static final List<String> TRANSFORMER = List.of("output_norm.weight", "blk.1.ffn_down.weight", "blk.0.attn_q.weight",
            "token_embd.weight");
    static final double[] MARGINS = {0.0, 0.4};

    @TempDir static Path tmp;

    @ParameterizedTest(name = "lm_coef {0}")
    @ValueSource(doubles = {0.0, 0.5})
    void headAndTransformerGradientsMatchFiniteDifferences(double lmCoef) {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 48, 64, 10_000f, 1e-5f, false);
        LlamaParams params = LlamaParams.load(TrainerTestModels.write(tmp, "rm-grad", shape, GgmlType.F32, 13));
        TrainerTestModels.randomize(params, 7);
        SplittableRandom rng = new SplittableRandom(5);
        int[] prompt = TrainerTestModels.tokens(rng, 5, params.vocabSize());
        List<Sequence> batch = new ArrayList<>();
        for (int p = 0; p < MARGINS.length; p++) {
            int[] chosen = TrainerTestModels.concat(prompt, TrainerTestModels.tokens(rng, 3 + p, params.vocabSize()));
            int[] rejected = TrainerTestModels.concat(prompt, TrainerTestModels.tokens(rng, 2, params.vocabSize()));
            batch.add(new Sequence(chosen, lmCoef > 0 ? prompt.length : chosen.length));
            batch.add(new Sequence(rejected, rejected.length));
        }
        ScalarHead head = ScalarHead.initial(shape.embd(), 9);
        head.bias()[0] = 0.3f;
        RewardLoss loss = new RewardLoss(lmCoef);

        try (LlamaTrainer trainer = new LlamaTrainer(params, 2).withHead(head)) {
            double[] sums = trainer.forward(batch).sums();
            double[] rewards = trainer.rewards();
            double[] dSum = new double[batch.size()];
            double[] dReward = new double[batch.size()];
            for (int p = 0; p < MARGINS.length; p++) {
                RewardLoss.Result r = loss.compute(pair(batch, p, rewards, sums));
                dSum[2 * p] = r.dChosenLogp() / MARGINS.length;
                dReward[2 * p] = r.dChosenReward() / MARGINS.length;
                dReward[2 * p + 1] = r.dRejectedReward() / MARGINS.length;
            }
            trainer.backward(dSum, dReward);

            double f0 = value(trainer, batch, head, loss);
            double noise = 0;
            for (int n = 0; n < 16; n++) {
                float[] x = params.tensor(TRANSFORMER.get(rng.nextInt(TRANSFORMER.size()))).data();
                int i = rng.nextInt(x.length);
                float original = x[i];
                x[i] = original + 4 * Math.ulp(original);
                noise = Math.max(noise, Math.abs(value(trainer, batch, head, loss) - f0));
                x[i] = original;
            }
            assertThat(3 * noise / LlamaTrainerGradientTest.H).as("rounding noise / h").isLessThanOrEqualTo(LlamaTrainerGradientTest.ATOL);

            double worst = check("reward.head", head.weights(), head.weightGrads(), trainer, batch, head, loss, rng);
            // b cancels in r_c - r_r: its gradient is 0, analytic and numeric (Bradley-Terry leaves it free).
            worst = Math.max(worst, check("reward.bias", head.bias(), head.biasGrads(), trainer, batch, head, loss, rng));
            assertThat(head.biasGrads()[0]).as("d loss / d b").isEqualTo(0f);
            for (String name : TRANSFORMER) {
                worst = Math.max(worst, check(name, params.tensor(name).data(), trainer.grads().tensor(name).data(), trainer, batch,
                        head, loss, rng));
            }
            System.out.printf("reward model, lm_coef %s: worst relative error %.2e (h %.0e, rtol %.0e, atol %.0e; loss rounding noise %.2e)%n",
                    lmCoef, worst, LlamaTrainerGradientTest.H, LlamaTrainerGradientTest.RTOL, LlamaTrainerGradientTest.ATOL, noise);
        }
    }

    static RewardLoss.Pair pair(List<Sequence> batch, int p, double[] rewards, double[] sums) {
        return new RewardLoss.Pair(rewards[2 * p], rewards[2 * p + 1], MARGINS[p], sums[2 * p], batch.get(2 * p).scored());
    }

    // The batch loss with no activations kept: mean over pairs.
    static double value(LlamaTrainer trainer, List<Sequence> batch, ScalarHead head, RewardLoss loss) {
        double[] sums = trainer.score(batch).sums();
        double[] rewards = head.rewards(trainer.lastHidden(batch));
        double total = 0;
        for (int p = 0; p < MARGINS.length; p++) {
            total += loss.compute(pair(batch, p, rewards, sums)).loss();
        }
        return total / MARGINS.length;
    }

    // Sampled entries of one tensor: analytic against numeric; returns the worst relative error.
    static double check(String name, float[] x, float[] g, LlamaTrainer trainer, List<Sequence> batch, ScalarHead head, RewardLoss loss,
                        SplittableRandom rng) {
        double worst = 0;
        double largest = 0;
        for (int i : LlamaTrainerGradientTest.sample(g, rng)) {
            double numeric = (4 * difference(x, i, LlamaTrainerGradientTest.H, trainer, batch, head, loss)
                    - difference(x, i, 2 * LlamaTrainerGradientTest.H, trainer, batch, head, loss)) / 3;
            double diff = Math.abs(g[i] - numeric);
            assertThat(diff).as("%s[%d]: analytic %.6g vs numeric %.6g", name, i, g[i], numeric)
                    .isLessThanOrEqualTo(LlamaTrainerGradientTest.RTOL * Math.abs(numeric) + LlamaTrainerGradientTest.ATOL);
            worst = Math.max(worst, diff / Math.max(Math.abs(numeric), LlamaTrainerGradientTest.ATOL / LlamaTrainerGradientTest.RTOL));
            largest = Math.max(largest, Math.abs(numeric));
        }
        if (!name.equals("reward.bias")) {
            assertThat(largest).as("%s: some sampled gradient is not negligible", name).isGreaterThan(10 * LlamaTrainerGradientTest.ATOL);
        }
        System.out.printf("  %-24s worst relative error %.2e, largest |grad| %.3g%n", name, worst, largest);
        return worst;
    }

    static double difference(float[] x, int i, double h, LlamaTrainer trainer, List<Sequence> batch, ScalarHead head, RewardLoss loss) {
        float original = x[i];
        x[i] = (float) (original + h);
        double up = value(trainer, batch, head, loss);
        double stepUp = (double) x[i] - original;
        x[i] = (float) (original - h);
        double down = value(trainer, batch, head, loss);
        double stepDown = original - (double) x[i];
        x[i] = original;
        return (up - down) / (stepUp + stepDown);
    }
}
