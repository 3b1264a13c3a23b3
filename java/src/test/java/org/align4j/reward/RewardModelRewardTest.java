package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** rm: against {@link RewardModelReference}: the head on each completion's hidden state decoded alone. */
class RewardModelRewardTest {
    static final double TOLERANCE = 1e-3;
    /** The empty one is the RM's EOS alone after the prompt. */
    static final List<String> COMPLETIONS = List.of(" Paris.", " It is Paris, of course.", "", " Lyon", " I do not know",
            " Paris", " Marseille, I think, or perhaps somewhere else entirely.");
    @TempDir static Path tmp;
    static Path rm;
    static RewardHead head;

    @BeforeAll
    static void setUp() {
        Path lm = RewardTestModels.tiny(tmp, "llama-spm", 5);
        head = RewardModelReference.randomHead(64, 11);
        rm = tmp.resolve("rm.gguf");
        RewardModelFile.write(lm, head, rm);
    }

    static RewardInput input(String prompt) {
        List<Completion> cs = COMPLETIONS.stream().map(t -> new Completion(t, new int[0], Double.NaN)).toList();
        return new RewardInput("r1", RewardTestModels.record("{\"prompt\": \"" + prompt + "\"}"), prompt, new int[] {1}, cs);
    }

    static double[] served(ScorerOptions o, String prompt) {
        try (Reward r = Rewards.parse("rm:" + rm, new RewardContext(null, o, 0, RewardContext.DEFAULT_TIMEOUT))) {
            return r.score(input(prompt));
        }
    }

    @Test
    void servedRewardsEqualTheHeadOnEachCompletionDecodedAloneBatchedSharedUnsharedOrAlone() {
        String prompt = "Q: What is the capital of France?\\nA:";
        double[] direct = RewardModelReference.rewards(rm, head, "Q: What is the capital of France?\nA:", COMPLETIONS);
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
        RewardModelFile.write(plain, RewardModelReference.randomHead(10, 1), wrong);
        RewardContext ctx = RewardTestModels.context((Path) null);
        assertThatThrownBy(() -> Rewards.parse("rm:" + plain, ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(plain.toString()).hasMessageContaining("not a reward model");
        assertThatThrownBy(() -> Rewards.parse("rm:" + wrong, ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(wrong.toString()).hasMessageContaining("10 weights").hasMessageContaining("hidden size is 64");
        assertThatThrownBy(() -> Rewards.parse("rm:" + tmp.resolve("none.gguf"), ctx)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(tmp.resolve("none.gguf").toString()).hasMessageContaining("does not exist");
    }
}
