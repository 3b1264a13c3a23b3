package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's forward pass against llama.cpp on the tiny preset (F32): every per-token log-prob of
 * a packed batch of (prompt, completion) sequences equals what the native scorer gives within 1e-3
 * nats (llama.cpp's default F16 K/V cache accounts for a few 1e-4, see ReferenceForwardTest). And the
 * packing and the thread count change nothing: bit-identical log-probs and gradients.
 */
class LlamaTrainerForwardTest {
    static final double TOLERANCE = 1e-3;

    @TempDir static Path tmp;
    static Path model;
    static List<ScoreRequest> requests;
    static List<Sequence> batch; // request i's completion k at 2i + k

    @BeforeAll
    static void setUp() {
        model = TrainerTestModels.write(tmp, "tiny", TrainerTestModels.TINY.shape(), GgmlType.F32, 23);
        SplittableRandom rng = new SplittableRandom(9);
        requests = new ArrayList<>();
        batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int[] prompt = TrainerTestModels.tokens(rng, 1 + rng.nextInt(40), 32000);
            int[][] completions = {
                TrainerTestModels.tokens(rng, 1 + rng.nextInt(24), 32000),
                TrainerTestModels.tokens(rng, i == 7 ? 0 : 1 + rng.nextInt(24), 32000),
            };
            requests.add(new ScoreRequest(prompt, completions));
            for (int[] c : completions) {
                batch.add(new Sequence(TrainerTestModels.concat(prompt, c), prompt.length));
            }
        }
    }

    @Test
    void perTokenLogProbsOfAPackedBatchAgreeWithLlamaCpp() {
        List<ScoreResult> expected = new ArrayList<>();
        try (Model m = Model.load(model, ModelOptions.DEFAULT);
             PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(128, 64, 4, 2, true))) {
            for (ScoreRequest r : requests) {
                s.submit(r, expected::add);
            }
            s.finish();
        }
        LogProbs ours;
        try (LlamaTrainer trainer = new LlamaTrainer(LlamaParams.load(model), 2)) {
            ours = trainer.forward(batch);
        }
        double maxDiff = 0;
        double maxSumDiff = 0;
        int compared = 0;
        for (int i = 0; i < requests.size(); i++) {
            for (int k = 0; k < 2; k++) {
                float[] cpp = expected.get(i).tokenLogps()[k];
                double[] mine = ours.tokens()[2 * i + k];
                assertThat(mine).hasSameSizeAs(cpp);
                for (int t = 0; t < cpp.length; t++) {
                    maxDiff = Math.max(maxDiff, Math.abs(mine[t] - cpp[t]));
                    compared++;
                }
                maxSumDiff = Math.max(maxSumDiff, Math.abs(ours.sums()[2 * i + k] - expected.get(i).sum(k)));
            }
        }
        System.out.printf("trainer forward vs llama.cpp: %d sequences in one batch, %d per-token log-probs, max |diff| = %.3g,"
                + " max |diff| of sums = %.3g (tolerance %.0e per token)%n", batch.size(), compared, maxDiff, maxSumDiff, TOLERANCE);
        assertThat(compared).isGreaterThan(100);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(ours.tokens()[15]).isEmpty();
        assertThat(ours.sums()[15]).isZero();
    }

    @Test
    void packingAndThreadCountChangeNoBit() {
        LlamaParams params = LlamaParams.load(model);
        TrainerTestModels.randomize(params, 1);
        double[] dLossDSum = new SplittableRandom(4).doubles(batch.size(), -1, 1).toArray();
        LogProbs two;
        LlamaParams gradsTwo;
        try (LlamaTrainer trainer = new LlamaTrainer(params, 2)) {
            two = trainer.forward(batch);
            trainer.backward(dLossDSum);
            gradsTwo = trainer.grads().copy();
            for (int s = 0; s < batch.size(); s++) {
                assertThat(trainer.score(List.of(batch.get(s))).tokens()[0]).as("sequence %d alone", s).isEqualTo(two.tokens()[s]);
            }
        }
        try (LlamaTrainer trainer = new LlamaTrainer(params, 1)) {
            LogProbs one = trainer.forward(batch);
            trainer.backward(dLossDSum);
            assertThat(one.tokens()).isDeepEqualTo(two.tokens());
            for (LlamaParams.Tensor t : trainer.grads().tensors()) {
                assertThat(t.data()).as(t.name()).isEqualTo(gradsTwo.tensor(t.name()).data());
            }
        }
        System.out.printf("%d sequences: log-probs alone = packed, and log-probs and all %d gradient tensors on 1 thread = on 2, bit for bit%n",
                batch.size(), gradsTwo.tensors().size());
    }
}
