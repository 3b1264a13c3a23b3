package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Vocab;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * judge: against the expected rating computed from the Java forward pass: p_k proportional to the
 * judge's probability of the whole text judgePrompt + rating_k, which needs no knowledge of how the reward
 * splits it into a shared prefix and rating tokens.
 */
class JudgeRewardTest {
    static final double TOLERANCE = 1e-3;
    @TempDir Path tmp;

    static double oracle(ReferenceForward f, Vocab vocab, String judgePrompt, String[] ratings, String label) {
        double[] logps = new double[ratings.length];
        StringBuilder tails = new StringBuilder();
        for (int k = 0; k < ratings.length; k++) {
            int[] tokens = vocab.tokenize(judgePrompt + ratings[k], true, true);
            logps[k] = Arrays.stream(f.logProbs(tokens, 1)).sum();
            tails.append(' ').append(tokens[tokens.length - 1]);
        }
        double max = Arrays.stream(logps).max().orElseThrow();
        double num = 0, den = 0;
        for (int k = 0; k < ratings.length; k++) {
            double w = Math.exp(logps[k] - max);
            num += w * (k + 1);
            den += w;
        }
        System.out.printf("judge oracle (%s): %d-token judge prompt, last token of each rating:%s%n", label,
                vocab.tokenize(judgePrompt, true, true).length, tails);
        return num / den;
    }

    @Test
    void aRubricFileOnAJudgeWithoutChatTemplate() throws Exception {
        Path judge = RewardTestModels.tiny(tmp, "llama-spm", 3);
        Path rubric = tmp.resolve("rubric.txt");
        Files.writeString(rubric, "Question: {prompt}\nAnswer: {completion}\nScore from 1 to 5:");
        String[] completions = {"4", "five, since {prompt} is tricky", "I do not know.\nSorry."};
        RewardInput in = RewardTestModels.texts("j1", "{\"prompt\":\"What is 2+2?\"}", completions);
        double[] got;
        try (Reward r = Rewards.parse("judge:" + judge + ":" + rubric, RewardTestModels.context((Path) null))) {
            got = r.score(in);
        }
        ReferenceForward f = new ReferenceForward(LlamaWeights.load(judge));
        double maxDiff = 0;
        try (Vocab vocab = Vocab.open(judge)) {
            for (int i = 0; i < completions.length; i++) {
                String text = "Question: What is 2+2?\nAnswer: " + completions[i] + "\nScore from 1 to 5:";
                double expected = oracle(f, vocab, text, new String[] {" 1", " 2", " 3", " 4", " 5"}, "no template");
                System.out.printf("judge (no chat template, rubric file): completion %d: %.6f, expected %.6f%n", i, got[i], expected);
                maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected));
            }
        }
        System.out.printf("judge without chat template vs Java forward: max |diff| = %.3g (tolerance %.0e)%n", maxDiff, TOLERANCE);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(Arrays.stream(got).boxed().toList()).allSatisfy(v -> assertThat(v).isBetween(1.0, 5.0));
    }

    @Test
    void theDefaultRubricAsAUserTurnOfTheJudgesChatTemplate() {
        Path judge = RewardTestModels.tiny(tmp, "phi-3", 4);
        String[] completions = {"Paris.", "The capital of France is Paris, on the Seine."};
        RewardInput in = RewardTestModels.texts("j2",
                "{\"prompt\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}]}", completions);
        double[] got;
        try (Reward r = Rewards.parse("judge:" + judge, RewardTestModels.context((Path) null))) {
            got = r.score(in);
        }
        ReferenceForward f = new ReferenceForward(LlamaWeights.load(judge));
        double maxDiff = 0;
        try (Model m = Model.load(judge, ModelOptions.VOCAB_ONLY)) {
            assertThat(m.chatTemplate()).as("phi-3's vocab carries a chat template").isNotNull();
            for (int i = 0; i < completions.length; i++) {
                String text = m.applyChatTemplate(new String[] {"user"},
                        new String[] {JudgeRubric.DEFAULT.fill("What is the capital of France?", completions[i])}, true);
                assertThat(text).startsWith("<|user|>").endsWith("<|assistant|>\n");
                double expected = oracle(f, m.vocab(), text, new String[] {"1", "2", "3", "4", "5"}, "phi-3 chat template");
                System.out.printf("judge (chat template, default rubric): completion %d: %.6f, expected %.6f%n", i, got[i], expected);
                maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected));
            }
        }
        System.out.printf("judge with chat template vs Java forward: max |diff| = %.3g (tolerance %.0e)%n", maxDiff, TOLERANCE);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(Arrays.stream(got).boxed().toList()).allSatisfy(v -> assertThat(v).isBetween(1.0, 5.0));
    }

    @Test
    void expectedRatingWeighsRatingsByProbability() {
        double inf = Double.NEGATIVE_INFINITY;
        assertThat(JudgeReward.expectedRating(new double[] {inf, inf, inf, inf, -3})).isEqualTo(5.0);
        assertThat(JudgeReward.expectedRating(new double[] {-900, -900, -900, -900, -900})).isEqualTo(3.0);
        assertThat(JudgeReward.expectedRating(new double[] {Math.log(0.5), inf, inf, inf, Math.log(0.25)}))
                .isCloseTo((0.5 * 1 + 0.25 * 5) / 0.75, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(JudgeReward.ratingTexts("Rating:", false)).containsExactly(" 1", " 2", " 3", " 4", " 5");
        assertThat(JudgeReward.ratingTexts("Rating: ", false)).containsExactly("1", "2", "3", "4", "5");
        assertThat(JudgeReward.ratingTexts("<|assistant|>", true)).containsExactly("1", "2", "3", "4", "5");
    }

    @Test
    void placeholdersAreFilledOnceAndARubricWithoutCompletionIsRefused() throws Exception {
        assertThat(new JudgeRubric("[{prompt}|{completion}|{prompt}]").fill("a {completion}", "b {prompt}"))
                .isEqualTo("[a {completion}|b {prompt}|a {completion}]");
        Path rubric = tmp.resolve("bad.txt");
        Files.writeString(rubric, "Rate {prompt}");
        assertThatThrownBy(() -> Rewards.parse("judge:j.gguf:" + rubric, RewardTestModels.context((Path) null)))
                .isInstanceOf(Align4jException.class)
                .hasMessage("judge rubric file " + rubric + " has no {completion} placeholder (and usually a {prompt}): "
                        + "the judge would not see what it rates");
        assertThat(List.of(JudgeRubric.DEFAULT.template())).allSatisfy(t -> assertThat(t).contains("{prompt}", "{completion}"));
    }
}
