package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Analytic gradients of every LoRA A and B (all seven targets of both blocks, rank 4, alpha 12: scale
 * 3) against finite differences of the same forward pass, on a frozen Q8_0 base (a generic point
 * quantized by {@link GgmlQuants}), for a DPO-shaped loss of two sequences. B is drawn non-zero, so
 * that A has a gradient. The method and tolerances are {@link LlamaTrainerGradientTest}'s: Richardson's
 * extrapolation of central differences at h = 2e-2, |analytic - numeric| <= 1e-3 |numeric| + 3e-4,
 * with the loss's rounding noise measured and checked against ATOL.
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

    static double loss(LoraParams lora, List<Sequence> batch, SequenceLoss loss) {
        double[] sums = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, false).forward().sums();
        return loss.lossAndGradient(sums, new double[batch.size()]);
    }

    @Test
    void adapterGradientsOnAQuantizedBaseMatchFiniteDifferences() {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        Path file = genericModel("lora-grad", shape, GgmlType.Q8_0);
        SplittableRandom rng = new SplittableRandom(3);
        int vocab;
        try (GgufFile f = GgufFile.open(file)) {
            LlamaWeights base = LlamaWeights.frozen(f);
            vocab = base.vocabSize();
            FrozenForwardTest.assertEveryMatrixFrozen(base);
            assertThat(((FrozenMatrix) base.matrix(0, org.align4j.gguf.LlamaTensor.ATTN_Q)).type()).isEqualTo(GgmlType.Q8_0);
            LoraParams lora = LoraParams.create(base, EnumSet.allOf(LoraParams.Target.class), 4, 12f, 7);
            assertThat(lora.scale()).isEqualTo(3f);
            randomizeB(lora, 0.1, 9);

            int[] pool = TrainerTestModels.tokens(rng, 6, vocab);
            int[] prompt = IntStream.range(0, 6).map(i -> pool[rng.nextInt(pool.length)]).toArray();
            int[] chosen = IntStream.range(0, 4).map(i -> pool[rng.nextInt(pool.length)]).toArray();
            int[] rejected = TrainerTestModels.tokens(rng, 3, vocab);
            List<Sequence> batch = List.of(
                    new Sequence(TrainerTestModels.concat(prompt, chosen), prompt.length),
                    new Sequence(TrainerTestModels.concat(prompt, rejected), prompt.length));
            double[] initial = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, false).forward().sums();
            SequenceLoss loss = LlamaTrainerGradientTest.dpoLoss(0.5, initial[0] - 0.3, initial[1] + 0.4);

            LoraParams grads = lora.zerosLike();
            LlamaPass pass = new LlamaPass(lora.weights(), Parallel.common(), new TrainerTimings(), batch, true);
            double[] sums = pass.forward().sums();
            double[] dLoss = new double[batch.size()];
            double f0 = loss.lossAndGradient(sums, dLoss);
            pass.backward(dLoss, grads.weights());

            double noise = 0;
            for (int n = 0; n < 16; n++) {
                float[] x = lora.tensors().get(rng.nextInt(lora.tensors().size())).data();
                int i = rng.nextInt(x.length);
                float original = x[i];
                x[i] = original + 4 * Math.ulp(original);
                noise = Math.max(noise, Math.abs(loss(lora, batch, loss) - f0));
                x[i] = original;
            }
            assertThat(3 * noise / H).as("rounding noise / h").isLessThanOrEqualTo(ATOL);

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
                    double numeric = (4 * difference(lora, batch, loss, x, i, H) - difference(lora, batch, loss, x, i, 2 * H)) / 3;
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
            System.out.printf("LoRA on a Q8_0 base: %d tensors, %d entries, worst relative error %.2e (h %.0e, rtol %.0e, atol %.0e;"
                    + " measured loss rounding noise %.2e)%n", lora.tensors().size(), checked, worstOverall, H, RTOL, ATOL, noise);
            assertThat(grads.weights().layers().get(0).tensors()).as("no gradient buffer for the base's norms").isEmpty();
        }
    }

    // (f(w + h) - f(w - h)) over the steps the f32 entry actually took.
    static double difference(LoraParams lora, List<Sequence> batch, SequenceLoss loss, float[] x, int i, double h) {
        float original = x[i];
        x[i] = (float) (original + h);
        double up = loss(lora, batch, loss);
        double stepUp = (double) x[i] - original;
        x[i] = (float) (original - h);
        double down = loss(lora, batch, loss);
        double stepDown = original - (double) x[i];
        x[i] = original;
        return (up - down) / (stepUp + stepDown);
    }
}
