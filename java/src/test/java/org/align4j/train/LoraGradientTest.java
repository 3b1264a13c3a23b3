package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.OptionalLong;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Analytic gradients of every LoRA A and B (all seven targets of both blocks, rank 4, alpha 12: scale
 * 3) against finite differences of the same forward pass, on a frozen Q8_0 base (a generic point
 * quantized by {@link GgmlQuants}), for a DPO-shaped loss of two sequences. B is drawn non-zero, so
 * that A has a gradient. The method and tolerances are {@link LlamaTrainerGradientTest}'s: Richardson's
 * extrapolation of central differences at h = 2e-2, |analytic - numeric| <= 1e-3 |numeric| + 3e-4,
 * with the loss's rounding noise measured and checked against ATOL. The same with LoRA dropout on a
 * fixed pass key; and dropout's bit-level contracts (p = 0 changes nothing, masks do not depend on the
 * thread count).
 */
class LoraGradientTest {
    static final double H = LlamaTrainerGradientTest.H;
    static final double RTOL = LlamaTrainerGradientTest.RTOL;
    static final double ATOL = LlamaTrainerGradientTest.ATOL;

    @TempDir static Path tmp;

    /** {@code shape}'s generic point (TrainerTestModels.randomize) written with matrices in {@code type}. */
    static Path genericModel(String name, LlamaShape shape, GgmlType type) {
        LlamaParams params = LlamaParams.load(TrainerTestModels.write(tmp, name, shape, GgmlType.F32, 11));
        TrainerTestModels.randomize(params, 5);
        Path out = tmp.resolve(name + "-" + type + ".gguf");
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(params.metadata());
        List<GgufWriter.Tensor> tensors = params.fileTensors().stream().map(t -> {
            GgmlType stored = t.dims().length == 1 ? GgmlType.F32 : type;
            return new GgufWriter.Tensor(t.name(), stored, t.dims(), dst -> GgmlQuants.quantize(stored, t.data(), dst));
        }).toList();
        GgufWriter.write(out, metadata, tensors);
        return out;
    }

    /** B of every adapter N(0, std^2), seeded. */
    static void randomizeB(LoraParams lora, double std, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (LoraParams.Adapter ad : lora.adapters()) {
            float[] b = ad.matrix().b();
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (std * rng.nextGaussian());
            }
        }
    }

    // The loss of a pass that keeps nothing, with the masks of dropoutKey (empty: none).
    static double loss(LoraParams lora, List<Sequence> batch, SequenceLoss loss, OptionalLong dropoutKey) {
        double[] sums = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, false, dropoutKey).forward().sums();
        return loss.lossAndGradient(sums, new double[batch.size()]);
    }

    @Test
    void adapterGradientsOnAQuantizedBaseMatchFiniteDifferences() {
        checkGradients(LoraConfig.ofRank(4), OptionalLong.empty(), H, "LoRA on a Q8_0 base");
    }

    /**
     * With dropout p = 0.3 and a fixed pass key, the same check: the finite differences are of passes with
     * the same masks, so forward, backward and the A and B gradients must all apply them alike. At h = 1e-2:
     * the kept inputs, scaled by 1 / (1 - p), make the loss more curved in A, and at 2e-2 the extrapolation's
     * own error reaches 3e-3 of some entries (it falls to 2e-4 at 1e-2 and goes on falling with h).
     */
    @Test
    void adapterGradientsWithDropoutMatchFiniteDifferences() {
        checkGradients(LoraConfig.ofRank(4).withDropout(0.3f), OptionalLong.of(LoraDropout.passKey(17, 3, 1)), H / 2,
                "LoRA with dropout 0.3 on a Q8_0 base");
    }

    // A rank-4 adapter with alpha 12 (scale 3) of config's dropout on the Q8_0 generic point, B drawn
    // non-zero; the gradients of a training pass with dropoutKey against finite differences at step h.
    private static void checkGradients(LoraConfig config, OptionalLong dropoutKey, double h, String what) {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        Path file = genericModel("lora-grad", shape, GgmlType.Q8_0);
        SplittableRandom rng = new SplittableRandom(3);
        try (GgufFile f = GgufFile.open(file)) {
            LlamaWeights base = LlamaWeights.frozen(f);
            FrozenForwardTest.assertEveryMatrixFrozen(base);
            assertThat(((FrozenMatrix) base.matrix(0, LlamaTensor.ATTN_Q)).type()).isEqualTo(GgmlType.Q8_0);
            LoraParams lora = LoraParams.create(base, new LoraConfig(4, 12f, config.targets(), config.dropout()), 7);
            assertThat(lora.scale()).isEqualTo(3f);
            randomizeB(lora, 0.1, 9);

            List<Sequence> batch = dpoBatch(rng, base.vocabSize());
            double[] initial = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, false).forward().sums();
            SequenceLoss loss = LlamaTrainerGradientTest.dpoLoss(0.5, initial[0] - 0.3, initial[1] + 0.4);

            LoraParams grads = lora.zerosLike();
            LlamaPass pass = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, true, dropoutKey);
            double[] sums = pass.forward().sums();
            double[] dLoss = new double[batch.size()];
            double f0 = loss.lossAndGradient(sums, dLoss);
            pass.backward(dLoss, grads.weights());
            double withoutDropout = loss(lora, batch, loss, OptionalLong.empty());

            double noise = 0;
            for (int n = 0; n < 16; n++) {
                float[] x = lora.tensors().get(rng.nextInt(lora.tensors().size())).data();
                int i = rng.nextInt(x.length);
                float original = x[i];
                x[i] = original + 4 * Math.ulp(original);
                noise = Math.max(noise, Math.abs(loss(lora, batch, loss, dropoutKey) - f0));
                x[i] = original;
            }
            assertThat(3 * noise / h).as("rounding noise / h").isLessThanOrEqualTo(ATOL);

            double worstOverall = 0;
            int checked = 0;
            for (int t = 0; t < lora.tensors().size(); t++) {
                LlamaParams.Tensor p = lora.tensors().get(t);
                float[] x = p.data();
                float[] g = grads.tensors().get(t).data();
                assertThat(grads.tensors().get(t).name()).isEqualTo(p.name());
                double worst = 0;
                double largest = 0;
                for (int i : LlamaTrainerGradientTest.sample(g, rng)) {
                    double numeric = (4 * difference(lora, batch, loss, dropoutKey, x, i, h)
                            - difference(lora, batch, loss, dropoutKey, x, i, 2 * h)) / 3;
                    double diff = Math.abs(g[i] - numeric);
                    assertThat(diff).as("%s[%d]: analytic %.6g vs numeric %.6g", p.name(), i, g[i], numeric)
                            .isLessThanOrEqualTo(RTOL * Math.abs(numeric) + ATOL);
                    worst = Math.max(worst, diff / Math.max(Math.abs(numeric), ATOL / RTOL));
                    largest = Math.max(largest, Math.abs(numeric));
                    checked++;
                }
                assertThat(largest).as("%s: some sampled gradient is not negligible", p.name()).isGreaterThan(10 * ATOL);
                worstOverall = Math.max(worstOverall, worst);
            }
            System.out.printf("%s: %d tensors, %d entries, worst relative error %.2e (h %.0e, rtol %.0e, atol %.0e;"
                    + " measured loss rounding noise %.2e); loss %.6f, without dropout %.6f%n", what, lora.tensors().size(), checked,
                    worstOverall, h, RTOL, ATOL, noise, f0, withoutDropout);
            assertThat(grads.weights().layers().get(0).tensors()).as("no gradient buffer for the base's norms").isEmpty();
            if (config.dropout() > 0) {
                assertThat(Math.abs(f0 - withoutDropout)).as("dropout changes the training pass's loss").isGreaterThan(1e3 * noise);
            }
        }
    }

    // A prompt with a chosen and a rejected completion, of tokens below vocab.
    private static List<Sequence> dpoBatch(SplittableRandom rng, int vocab) {
        int[] pool = TrainerTestModels.tokens(rng, 6, vocab);
        int[] prompt = IntStream.range(0, 6).map(i -> pool[rng.nextInt(pool.length)]).toArray();
        int[] chosen = IntStream.range(0, 4).map(i -> pool[rng.nextInt(pool.length)]).toArray();
        int[] rejected = TrainerTestModels.tokens(rng, 3, vocab);
        return List.of(
                new Sequence(TrainerTestModels.concat(prompt, chosen), prompt.length),
                new Sequence(TrainerTestModels.concat(prompt, rejected), prompt.length));
    }

    /**
     * A trainer's log-probs and A and B gradients: with dropout 0 and a pass key, bit for bit those of the
     * same adapter without dropout; with dropout 0.3, the same bits on 1 and 2 threads for one key, and
     * other gradients for the next step's key (other masks); and a forward without a key is refused.
     */
    @Test
    void dropoutZeroChangesNothingAndMasksDoNotDependOnTheThreadCount() {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        Path file = genericModel("lora-drop", shape, GgmlType.Q8_0);
        try (GgufFile f = GgufFile.open(file)) {
            LlamaWeights base = LlamaWeights.frozen(f);
            List<Sequence> batch = dpoBatch(new SplittableRandom(3), base.vocabSize());
            SequenceLoss loss = LlamaTrainerGradientTest.dpoLoss(0.5, -40, -30);
            long key = LoraDropout.passKey(17, 3, 0);
            Trained plain = trained(LoraParams.create(base, EnumSet.allOf(LoraParams.Target.class), 4, 12f, 7), batch, loss, 2, OptionalLong.empty());
            LoraConfig config = new LoraConfig(4, 12f, EnumSet.allOf(LoraParams.Target.class));
            Trained zero = trained(LoraParams.create(base, config.withDropout(0), 7), batch, loss, 2, OptionalLong.of(key));
            Trained one = trained(LoraParams.create(base, config.withDropout(0.3f), 7), batch, loss, 1, OptionalLong.of(key));
            Trained two = trained(LoraParams.create(base, config.withDropout(0.3f), 7), batch, loss, 2, OptionalLong.of(key));
            Trained nextStep = trained(LoraParams.create(base, config.withDropout(0.3f), 7), batch, loss, 2,
                    OptionalLong.of(LoraDropout.passKey(17, 4, 0)));
            System.out.printf("LoRA dropout, log-probs and gradients: p 0 vs none %s; p 0.3 on 1 vs 2 threads %s, vs the next step's"
                    + " masks %s, vs none %s%n", zero.same(plain), one.same(two), two.same(nextStep), two.same(plain));
            assertThat(zero.same(plain)).isEqualTo("identical");
            assertThat(one.same(two)).isEqualTo("identical");
            assertThat(two.same(nextStep)).isEqualTo("different");
            assertThat(two.same(plain)).isEqualTo("different");
            try (LlamaTrainer keyless = new LlamaTrainer(LoraParams.create(base, config.withDropout(0.3f), 7), 1)) {
                assertThatThrownBy(() -> keyless.forward(batch)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("each forward needs its key");
            }
        }
    }

    // One training step's log-prob sums (S,) and the gradient of every A and B.
    private record Trained(double[] sums, float[][] grads) {
        String same(Trained o) {
            return Arrays.equals(sums, o.sums) && Arrays.deepEquals(grads, o.grads) ? "identical" : "different";
        }
    }

    // One training step of lora's trainer on threads threads (after B drawn non-zero), with dropoutKey if any.
    private static Trained trained(LoraParams lora, List<Sequence> batch, SequenceLoss loss, int threads, OptionalLong dropoutKey) {
        randomizeB(lora, 0.1, 9);
        try (LlamaTrainer trainer = new LlamaTrainer(lora, threads)) {
            LlamaTrainer.Step step = dropoutKey.isPresent()
                    ? trainer.forwardBackward(batch, loss, dropoutKey.getAsLong())
                    : trainer.forwardBackward(batch, loss);
            return new Trained(step.logProbs().sums(), trainer.trainable().stream().map(p -> p.grads().clone()).toArray(float[][]::new));
        }
    }

    // (f(w + h) - f(w - h)) over the steps the f32 entry actually took.
    static double difference(LoraParams lora, List<Sequence> batch, SequenceLoss loss, OptionalLong dropoutKey, float[] x, int i, double h) {
        float original = x[i];
        x[i] = (float) (original + h);
        double up = loss(lora, batch, loss, dropoutKey);
        double stepUp = (double) x[i] - original;
        x[i] = (float) (original - h);
        double down = loss(lora, batch, loss, dropoutKey);
        double stepDown = original - (double) x[i];
        x[i] = original;
        return (up - down) / (stepUp + stepDown);
    }
}
