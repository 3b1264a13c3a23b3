package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.align4j.Align4jException;
import org.align4j.llama.Vocab;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** implicit: against beta * (policy - reference) sums from the pure-Java forward pass of two different tiny models. */
class ImplicitRewardTest {
    static final double TOLERANCE = 1e-3;
    @TempDir static Path tmp;
    static Path policy;
    static Path reference;
    static ReferenceForward policyForward;
    static ReferenceForward referenceForward;
    static int[] prompt;
    static List<int[]> completions;

    @BeforeAll
    static void setUp() {
        policy = RewardTestModels.tiny(tmp, "llama-spm", 1);
        reference = RewardTestModels.tiny(tmp, "llama-spm", 2);
        policyForward = new ReferenceForward(LlamaWeights.load(policy));
        referenceForward = new ReferenceForward(LlamaWeights.load(reference));
        completions = new ArrayList<>();
        try (Vocab v = Vocab.open(policy)) {
            prompt = v.tokenize("Q: What is the capital of France?\nA:", true, true);
            for (String c : List.of(" Paris.", " It is Paris, of course.", " Lyon", " I do not know", " Paris", " Marseille, I think.")) {
                completions.add(v.tokenize(c, false, true));
            }
        }
        Random rnd = new Random(3);
        completions.add(rnd.ints(17, 3, 32000).toArray()); // tokens no text tokenizes to
    }

    static double oracleSum(ReferenceForward f, int[] completion) {
        int[] seq = Arrays.copyOf(prompt, prompt.length + completion.length);
        System.arraycopy(completion, 0, seq, prompt.length, completion.length);
        return Arrays.stream(f.logProbs(seq, prompt.length)).sum();
    }

    static RewardInput input(String id, double[] knownPolicyLogps) {
        List<Completion> cs = new ArrayList<>();
        for (int i = 0; i < completions.size(); i++) {
            cs.add(new Completion("completion " + i, completions.get(i), knownPolicyLogps[i]));
        }
        return new RewardInput(id, RewardTestModels.record("{\"prompt\":\"p\"}"), "p", prompt, cs);
    }

    @Test
    void betaTimesPolicyMinusReferenceLogProbsAsTheJavaForwardComputesThem() {
        int n = completions.size(); // more than the scorer's 4 sequences side by side
        double[] unknown = new double[n];
        Arrays.fill(unknown, Double.NaN);
        double[] known = unknown.clone();
        known[1] = -12.5; // taken as given, not scored
        known[4] = oracleSum(policyForward, completions.get(4));
        double[] a;
        double[] b;
        try (Reward r = Rewards.parse("implicit:" + reference, RewardTestModels.context(policy))) {
            a = r.score(input("all-scored", unknown));
        }
        try (Reward r = Rewards.parse("implicit:" + reference + ":0.5", RewardTestModels.context(policy))) {
            b = r.score(input("some-given", known));
        }
        double maxDiff = 0;
        double spread = 0;
        for (int i = 0; i < n; i++) {
            double pol = oracleSum(policyForward, completions.get(i));
            double ref = oracleSum(referenceForward, completions.get(i));
            double expectedA = 0.1 * (pol - ref);
            double expectedB = 0.5 * ((i == 1 ? -12.5 : pol) - ref);
            System.out.printf("implicit: completion %d (%2d tokens): policy %.4f ref %.4f -> beta 0.1: %.5f (expected %.5f); beta 0.5: %.5f (expected %.5f)%n",
                    i, completions.get(i).length, pol, ref, a[i], expectedA, b[i], expectedB);
            maxDiff = Math.max(maxDiff, Math.max(Math.abs(a[i] - expectedA), Math.abs(b[i] - expectedB)));
            spread = Math.max(spread, Math.abs(expectedA));
        }
        System.out.printf("implicit reward vs Java forward on two tiny models: %d completions, max |diff| = %.3g (tolerance %.0e), max |reward| %.3f%n",
                n, maxDiff, TOLERANCE, spread);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(spread).as("the two models differ, so the rewards are not all ~0").isGreaterThan(0.01);
    }

    @Test
    void aReferenceWithAnotherVocabularyIsRefused() {
        Path phi3 = RewardTestModels.tiny(tmp, "phi-3", 2);
        assertThatThrownBy(() -> Rewards.parse("implicit:" + phi3, RewardTestModels.context(policy)))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining("policy " + policy).hasMessageContaining("reference " + phi3).hasMessageContaining("must share one vocabulary");
    }

    @Test
    void aCompletionLongerThanTheContextIsAnErrorNamingTheRecord() {
        int[] longOne = new Random(1).ints(300, 3, 32000).toArray();
        RewardInput in = new RewardInput("long-1", RewardTestModels.record("{\"prompt\":\"p\"}"), "p", prompt,
                List.of(new Completion("x", longOne, -1.0)));
        try (Reward r = Rewards.parse("implicit:" + reference, RewardTestModels.context(policy))) {
            assertThatThrownBy(() -> r.score(in)).isInstanceOf(Align4jException.class)
                    .hasMessage("record long-1: reference log-probs with " + reference + ": prompt + completion is "
                            + (prompt.length + 300) + " tokens, more than the context of 256 (raise --ctx)");
        }
    }
}
