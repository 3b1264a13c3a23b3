package org.align4j.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pure-Java forward pass against llama.cpp on synthetic F32 models. llama.cpp's default context
 * (F16 K/V cache, flash attention) rounds attention inputs to F16, which accounts for differences of a
 * few 1e-4 here (with an F32 cache and flash attention off they fell to about 2e-7); the tolerance sits
 * above that and below what a wrong RoPE pairing gives (about 1e-2).
 */
class ReferenceForwardTest {
    static final double TOLERANCE = 1e-3; // nats, on every log-softmax value
    static final String TEXT = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.";
    static final SynthPreset TINY = SynthPreset.named("tiny");

    @TempDir static Path tmp;

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of("tiny: untied output, 4 heads on 2 KV heads", TINY.shape()),
                Arguments.of("tied output, 4 heads, 4 KV heads",
                        new LlamaShape(2, 64, 4, 4, 96, 256, 10_000f, 1e-5f, true)),
                Arguments.of("tied output, 8 heads on 2 KV heads, base 5e5, eps 1e-6",
                        new LlamaShape(3, 64, 8, 2, 160, 256, 500_000f, 1e-6f, true)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void logProbsAgreeWithLlamaCppAtEveryPosition(String label, LlamaShape shape) {
        Path file = tmp.resolve(label.hashCode() + ".gguf");
        SyntheticLlama.write(file, "ref-test", shape, VocabFiles.named(TINY.vocab()), GgmlType.F32, 7);
        LlamaWeights weights = LlamaWeights.load(file);
        assertThat(weights.shape()).isEqualTo(shape);
        assertThat(weights.output() == weights.tokenEmbd()).isEqualTo(shape.tiedOutput());

        int[] tokens;
        float[][] cpp;
        try (Model m = Model.load(file, ModelOptions.DEFAULT)) {
            tokens = m.vocab().tokenize(TEXT, true, false);
            cpp = llamaCppLogits(m, tokens);
        }
        ReferenceForward forward = new ReferenceForward(weights);
        float[][] ours = forward.logits(tokens);

        double rowsDiff = 0;
        double[] cppTokenLogProbs = new double[tokens.length - 1]; // (T - 1,)
        for (int t = 0; t < tokens.length; t++) {
            double[] expected = ReferenceForward.logSoftmax(cpp[t]);
            double[] actual = ReferenceForward.logSoftmax(ours[t]);
            for (int v = 0; v < expected.length; v++) {
                rowsDiff = Math.max(rowsDiff, Math.abs(expected[v] - actual[v]));
            }
            if (t + 1 < tokens.length) {
                cppTokenLogProbs[t] = expected[tokens[t + 1]];
            }
        }
        double[] ourTokenLogProbs = forward.logProbs(tokens, 1);
        double tokenDiff = 0;
        for (int t = 0; t < ourTokenLogProbs.length; t++) {
            tokenDiff = Math.max(tokenDiff, Math.abs(ourTokenLogProbs[t] - cppTokenLogProbs[t]));
        }
        System.out.printf("%s: T=%d V=%d; max |diff| log-softmax (all T x V) = %.3g, per-token log-probs = %.3g; tolerance %.0e%n",
                label, tokens.length, weights.vocabSize(), rowsDiff, tokenDiff, TOLERANCE);
        assertThat(rowsDiff).isLessThan(TOLERANCE);
        assertThat(tokenDiff).isLessThan(TOLERANCE);
        assertThat(forward.logProbs(tokens, 5)).containsExactly(Arrays.copyOfRange(ourTokenLogProbs, 4, ourTokenLogProbs.length));
    }

    // llama.cpp's logits for every position of one sequence: (T, V).
    static float[][] llamaCppLogits(Model m, int[] tokens) {
        try (Context ctx = Context.create(m, ContextOptions.single(64));
             Batch batch = new Batch(tokens.length, 1)) {
            for (int t = 0; t < tokens.length; t++) {
                batch.add(tokens[t], t, 0, true);
            }
            ctx.decode(batch);
            float[][] out = new float[tokens.length][];
            for (int t = 0; t < tokens.length; t++) {
                out[t] = ctx.logits(t).toArray(JAVA_FLOAT);
            }
            return out;
        }
    }

    @Test
    void aFileOfAnotherArchitectureIsRejectedNamingTheFileAndTheArchitecture() {
        Path gpt2 = VocabFiles.named("gpt-2");
        assertThatThrownBy(() -> LlamaWeights.load(gpt2))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining(gpt2.toString())
                .hasMessageContaining("architecture 'gpt2'");
    }
}
