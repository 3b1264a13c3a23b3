package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.engine.ScorerOptions;
import org.align4j.engine.TokenizedRecord;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFiles;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rm: against a direct computation: each completion decoded alone (one sequence, llama.cpp's embeddings
 * API), its last hidden state dotted with the head in float64.
 */
class RewardModelRewardTest {
    static final double TOLERANCE = 1e-3;
    static final List<String> COMPLETIONS = List.of(" Paris.", " It is Paris, of course.", "", " Lyon", " I do not know",
            " Paris", " Marseille, I think, or perhaps somewhere else entirely.");
    @TempDir static Path tmp;
    static Path rm;
    static RewardHead head;

    @BeforeAll
    static void setUp() {
        Path lm = RewardTestModels.tiny(tmp, "llama-spm", 5);
        head = RewardTestModels.randomHead(64, 11);
        rm = tmp.resolve("rm.gguf");
        RewardModelFiles.write(lm, head, rm);
    }

    static RewardInput input(String prompt) {
        List<Completion> cs = COMPLETIONS.stream().map(t -> new Completion(t, new int[0], Double.NaN)).toList();
        return new RewardInput("r1", RewardTestModels.record("{\"prompt\": \"" + prompt + "\"}"), prompt, new int[] {1}, cs);
    }

    /** w · h + bias in float64, h the hidden state at the last token of prompt + completion decoded alone. */
    static double[] direct(String prompt) {
        double[] out = new double[COMPLETIONS.size()];
        try (Model m = Model.load(rm, ModelOptions.inference(0))) {
            TokenizedRecord t = TokenizedRecord.ofText(prompt, COMPLETIONS.toArray(String[]::new), false, m.vocab());
            for (int k = 0; k < out.length; k++) {
                int[] c = t.completions()[k];
                int n = t.prompt().length + c.length;
                float[] h = new float[m.nEmbd()];
                // flash attention off as the served scorers have it: on, the CPU backend rounds queries to F16
                ContextOptions one = new ContextOptions(n, n, n, 1, 2, true, ContextOptions.FlashAttention.OFF,
                        ContextOptions.HiddenStates.EVERY_TOKEN);
                try (Context ctx = Context.create(m, one); Batch b = new Batch(n, 1)) {
                    for (int i = 0; i < n; i++) {
                        b.add(i < t.prompt().length ? t.prompt()[i] : c[i - t.prompt().length], i, 0, true);
                    }
                    ctx.decode(b);
                    ctx.hiddenState(n - 1, h);
                }
                double r = head.bias();
                for (int i = 0; i < h.length; i++) {
                    r += (double) head.weights()[i] * h[i];
                }
                out[k] = r;
            }
        }
        return out;
    }

    static double[] served(ScorerOptions o, String prompt) {
        try (Reward r = Rewards.parse("rm:" + rm, new RewardContext(null, o, 0, RewardContext.DEFAULT_TIMEOUT))) {
            return r.score(input(prompt));
        }
    }

    @Test
    void servedRewardsEqualTheHeadOnEachCompletionDecodedAloneBatchedSharedUnsharedOrAlone() {
        String prompt = "Q: What is the capital of France?\\nA:";
        double[] direct = direct("Q: What is the capital of France?\nA:");
        ScorerOptions batched = new ScorerOptions(128, 16, 4, 2, true);  // 7 completions in groups of 4, decodes of 16 tokens
        ScorerOptions unshared = new ScorerOptions(128, 64, 4, 2, false);
        ScorerOptions alone = new ScorerOptions(128, 64, 1, 2, true);
        double maxDiff = 0;
        for (ScorerOptions o : List.of(batched, unshared, alone)) {
            double[] s = served(o, prompt);
            for (int k = 0; k < s.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(s[k] - direct[k]));
            }
        }
        double spread = java.util.Arrays.stream(direct).max().orElseThrow() - java.util.Arrays.stream(direct).min().orElseThrow();
        System.out.printf("rm: served (batched+shared, unshared, alone) vs head on hidden state decoded alone: max |diff| %.3g over %d completions"
                + " (tolerance %.0e; rewards spread %.3g)%n", maxDiff, direct.length, TOLERANCE, spread);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(spread).isGreaterThan(100 * TOLERANCE);
    }

    @Test
    void aModelWithoutAHeadOrWithAHeadOfTheWrongSizeOrNoFileIsAnErrorNamingTheFile() {
        Path plain = RewardTestModels.tiny(tmp, "llama-spm", 6);
        Path wrong = tmp.resolve("wrong-size.gguf");
        RewardModelFiles.write(plain, RewardTestModels.randomHead(10, 1), wrong);
        RewardContext ctx = RewardTestModels.context((Path) null);
        assertThatThrownBy(() -> Rewards.parse("rm:" + plain, ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(plain.toString()).hasMessageContaining("not a reward model");
        assertThatThrownBy(() -> Rewards.parse("rm:" + wrong, ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(wrong.toString()).hasMessageContaining("10 weights").hasMessageContaining("hidden size is 64");
        assertThatThrownBy(() -> Rewards.parse("rm:" + tmp.resolve("none.gguf"), ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(tmp.resolve("none.gguf").toString()).hasMessageContaining("does not exist");
    }
}
