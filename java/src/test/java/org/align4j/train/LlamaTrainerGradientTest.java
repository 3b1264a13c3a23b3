package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Analytic gradients of every parameter tensor against central finite differences of the same f32
 * forward pass, for an NLL and for a DPO-shaped loss of two sequences' sums, on small models at a
 * generic point ({@link TrainerTestModels#randomize}): llama (NORM RoPE) tied and untied; llama with
 * Llama 3's rope_freqs (frozen: it has no gradient), linear RoPE scaling and a bias on each of its 7
 * projections; qwen2 (NEOX RoPE) with q/k/v biases and an output bias; qwen3 (NEOX RoPE) with q/k
 * norms and heads wider than C / H.
 *
 * <p>Tolerance. The numeric gradient is Richardson's extrapolation of central differences,
 * (4 D(h) - D(2h)) / 3 with D(h) = (f(w+h) - f(w-h)) / 2h, whose h^2 truncation term cancels, leaving
 * O(h^4), negligible at h = 2e-2 on activations of size ~1. What remains is rounding: about delta / h,
 * where delta is the f32 forward's rounding noise in the loss (around 1e-6 in losses of size 10 to
 * 100). The test measures delta, by moving entries a few ulps (whose true effect on the loss is far
 * below it), prints it and checks that ATOL is at least 3 delta / h. An entry passes when
 * |analytic - numeric| <= RTOL * |numeric| + ATOL with RTOL = 1e-3 and ATOL = 3e-4: a wrong sign,
 * factor or index (errors of order 1) cannot.
 */
class LlamaTrainerGradientTest {
    static final double H = 2e-2; // smaller step; weights are of size ~1/sqrt(fan-in), ~0.15 here
    static final double RTOL = 1e-3;
    static final double ATOL = 3e-4;
    static final int LARGEST = 2; // entries per tensor drawn from its 32 largest gradients
    static final int RANDOM = 2; // and uniformly

    @TempDir static Path tmp;

    static Stream<Arguments> cases() {
        LlamaShape untied = new LlamaShape(2, 32, 4, 2, 48, 64, 10_000f, 1e-5f, false);
        LlamaShape tied = new LlamaShape(2, 32, 2, 1, 40, 64, 500_000f, 1e-6f, true);
        Set<LlamaTensor> none = Set.of();
        return Stream.of(
                Arguments.of("NLL, untied output, 4 heads on 2 KV heads", untied, null, none, false),
                Arguments.of("DPO, untied output, 4 heads on 2 KV heads", untied, null, none, true),
                Arguments.of("NLL, tied output, 2 heads on 1 KV head", tied, null, none, false),
                Arguments.of("DPO, tied output, 2 heads on 1 KV head", tied, null, none, true),
                Arguments.of("DPO, llama with rope_freqs, linear RoPE scaling 2 and biases on all 7 projections",
                        untied.withRopeLinearFactor(2f), Llama3Rope.of(8f, 16), ArchitectureParityTest.LLAMA_BIASES, true),
                Arguments.of("NLL, qwen2 (NEOX RoPE) with q/k/v biases and an output bias, tied output",
                        tied.withArchitecture(Architecture.QWEN2), null, Set.of(LlamaTensor.OUTPUT_BIAS), false),
                Arguments.of("NLL, qwen3 (NEOX RoPE) with q/k norms, heads 16 wide with C / H = 8",
                        untied.withArchitecture(Architecture.QWEN3).withHeadDim(16), null, none, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyTensorsGradientMatchesFiniteDifferences(String label, LlamaShape shape, Llama3Rope ropeFreqs, Set<LlamaTensor> extra,
                                                      boolean dpo) {
        Path file = TrainerTestModels.write(tmp, "grad-" + shape.architecture().ggufName() + (shape.tiedOutput() ? "-tied" : "")
                + (ropeFreqs != null ? "-freqs" : ""), shape, ropeFreqs, extra, GgmlType.F32, 11);
        LlamaParams params = LlamaParams.load(file);
        TrainerTestModels.randomize(params, 5);
        assertThat(params.tensors()).extracting(LlamaParams.Tensor::name).as("rope_freqs is frozen").doesNotContain("rope_freqs.weight");
        assertThat(params.fileTensors().size() - params.tensors().size()).isEqualTo(ropeFreqs != null ? 1 : 0);
        // A shared prompt drawn from few ids, so tokens repeat (their embedding gradients add up).
        SplittableRandom rng = new SplittableRandom(3);
        int[] pool = TrainerTestModels.tokens(rng, 6, params.vocabSize());
        int[] prompt = IntStream.range(0, 6).map(i -> pool[rng.nextInt(pool.length)]).toArray();
        int[] chosen = IntStream.range(0, 4).map(i -> pool[rng.nextInt(pool.length)]).toArray();
        int[] rejected = TrainerTestModels.tokens(rng, 3, params.vocabSize());
        List<Sequence> batch = List.of(
                new Sequence(TrainerTestModels.concat(prompt, chosen), prompt.length),
                new Sequence(TrainerTestModels.concat(prompt, rejected), prompt.length));

        try (LlamaTrainer trainer = new LlamaTrainer(params, 2)) {
            double[] initial = trainer.score(batch).sums();
            SequenceLoss loss = dpo ? dpoLoss(0.5, initial[0] - 0.3, initial[1] + 0.4) : LlamaTrainerGradientTest::nll;
            trainer.forwardBackward(batch, loss);
            double noise = roundingNoise(trainer, batch, loss, rng);
            assertThat(3 * noise / H).as("rounding noise / h").isLessThanOrEqualTo(ATOL);

            double worstOverall = 0;
            int checked = 0;
            for (LlamaParams.Tensor t : params.tensors()) {
                float[] x = t.data();
                float[] g = trainer.grads().tensor(t.name()).data();
                double worst = 0;
                double worstAbsDiff = 0;
                double largest = 0;
                for (int i : sample(g, rng)) {
                    double numeric = centralDifference(trainer, batch, loss, x, i);
                    double diff = Math.abs(g[i] - numeric);
                    double allowed = RTOL * Math.abs(numeric) + ATOL;
                    assertThat(diff).as("%s[%d]: analytic %.6g vs numeric %.6g", t.name(), i, g[i], numeric).isLessThanOrEqualTo(allowed);
                    worst = Math.max(worst, diff / Math.max(Math.abs(numeric), ATOL / RTOL));
                    worstAbsDiff = Math.max(worstAbsDiff, diff);
                    largest = Math.max(largest, Math.abs(numeric));
                    checked++;
                }
                assertThat(largest).as("%s: some sampled gradient is not negligible", t.name()).isGreaterThan(10 * ATOL);
                System.out.printf("  %-26s worst |diff| / max(|numeric|, atol/rtol) %.2e, max |diff| %.2e, largest |grad| %.3g%n", t.name(), worst, worstAbsDiff, largest);
                worstOverall = Math.max(worstOverall, worst);
            }
            System.out.printf("%s: %d tensors, %d entries, worst relative error %.2e (h %.0e, rtol %.0e, atol %.0e;"
                            + " measured loss rounding noise %.2e, noise/h %.1e)%n",
                    label, params.tensors().size(), checked, worstOverall, H, RTOL, ATOL, noise, noise / H);
        }
    }

    // The SFT loss of both sequences: minus their summed log-probs.
    static double nll(double[] sums, double[] dLossDSum) {
        double loss = 0;
        for (int s = 0; s < sums.length; s++) {
            loss -= sums[s];
            dLossDSum[s] = -1;
        }
        return loss;
    }

    // -log sigmoid(beta * ((a - a0) - (b - b0))) for a = sums[0] (chosen), b = sums[1] (rejected).
    static SequenceLoss dpoLoss(double beta, double a0, double b0) {
        return (sums, d) -> {
            double z = beta * ((sums[0] - a0) - (sums[1] - b0));
            double sigmoidMinusZ = 1 / (1 + Math.exp(z));
            d[0] = -beta * sigmoidMinusZ;
            d[1] = beta * sigmoidMinusZ;
            return Math.log1p(Math.exp(-z));
        };
    }

    // (4 D(h) - D(2h)) / 3.
    static double centralDifference(LlamaTrainer trainer, List<Sequence> batch, SequenceLoss loss, float[] x, int i) {
        return (4 * difference(trainer, batch, loss, x, i, H) - difference(trainer, batch, loss, x, i, 2 * H)) / 3;
    }

    // (f(w + h) - f(w - h)) over the steps the f32 entry actually took.
    static double difference(LlamaTrainer trainer, List<Sequence> batch, SequenceLoss loss, float[] x, int i, double h) {
        float original = x[i];
        x[i] = (float) (original + h);
        double up = loss.lossAndGradient(trainer.score(batch).sums(), new double[batch.size()]);
        double stepUp = (double) x[i] - original;
        x[i] = (float) (original - h);
        double down = loss.lossAndGradient(trainer.score(batch).sums(), new double[batch.size()]);
        double stepDown = original - (double) x[i];
        x[i] = original;
        return (up - down) / (stepUp + stepDown);
    }

    // The largest change of the loss when one entry moves by 4 ulps, over 16 random entries of all
    // tensors: such a move changes the exact loss by |grad| * 4 ulp < 1e-7, so what is seen is rounding.
    static double roundingNoise(LlamaTrainer trainer, List<Sequence> batch, SequenceLoss loss, SplittableRandom rng) {
        double f0 = loss.lossAndGradient(trainer.score(batch).sums(), new double[batch.size()]);
        List<LlamaParams.Tensor> tensors = trainer.params().tensors();
        double noise = 0;
        for (int n = 0; n < 16; n++) {
            float[] x = tensors.get(rng.nextInt(tensors.size())).data();
            int i = rng.nextInt(x.length);
            float original = x[i];
            x[i] = original + 4 * Math.ulp(original);
            noise = Math.max(noise, Math.abs(loss.lossAndGradient(trainer.score(batch).sums(), new double[batch.size()]) - f0));
            x[i] = original;
        }
        return noise;
    }

    // A few of the largest gradients (where a wrong formula shows) and a few uniform entries. The
    // largest are drawn from the 32 largest, or from fewer when fewer are not negligible (an output
    // bias has a few large entries, at the scored tokens, among V tiny ones).
    static Set<Integer> sample(float[] g, SplittableRandom rng) {
        List<Integer> byMagnitude = new ArrayList<>(IntStream.range(0, g.length).boxed().toList());
        byMagnitude.sort(Comparator.comparingDouble(i -> -Math.abs(g[i])));
        Set<Integer> out = new LinkedHashSet<>();
        int notNegligible = (int) IntStream.range(0, g.length).filter(i -> Math.abs(g[i]) > 10 * ATOL).count();
        int top = Math.min(Math.min(32, g.length), Math.max(LARGEST, notNegligible));
        while (out.size() < Math.min(LARGEST, top)) {
            out.add(byMagnitude.get(rng.nextInt(top)));
        }
        while (out.size() < Math.min(LARGEST + RANDOM, g.length)) {
            out.add(rng.nextInt(g.length));
        }
        return out;
    }
}
