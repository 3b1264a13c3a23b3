package org.align4j.engine;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.gguf.BrokenModels;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.NonFiniteLogitsException;
import org.align4j.llama.TokenSampler;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose logits hold NaN: every logit (its final norm's weights NaN), or one token's (that row of
 * its output matrix NaN). The kernels' log-sum-exp is NaN then, and the scorer and the sampler stop with
 * an error naming the model file and the request instead of handing out NaN or a token drawn from NaN.
 */
class NonFiniteLogitsTest {
    static final int NAN_TOKEN = 100;
    @TempDir static Path tmp;
    static Path allNaN;
    static Path oneNaN;

    @BeforeAll
    static void writeModels() {
        Path good = TestModels.tiny(tmp, GgmlType.F32, 3);
        allNaN = BrokenModels.allLogitsNaN(good, tmp.resolve("all-nan.gguf"));
        oneNaN = BrokenModels.oneLogitNaN(good, tmp.resolve("one-nan.gguf"), NAN_TOKEN);
    }

    static int[] tokens(Model m, String text, boolean bos) {
        return m.vocab().tokenize(text, bos, false);
    }

    @Test
    void scoringNamesTheModelFileAndTheRequestAndReportsNothing() {
        for (Path file : List.of(allNaN, oneNaN)) {
            try (Model m = Model.load(file, ModelOptions.DEFAULT);
                 PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(64, 64, 4, 1, true))) {
                List<ScoreResult> done = new ArrayList<>();
                s.submit(new ScoreRequest("\"rec-7\"", tokens(m, "What is 2+2?", true),
                        new int[][] {tokens(m, " 4", false), tokens(m, " 5", false)}), done::add);
                assertThatThrownBy(s::finish).isInstanceOf(Align4jException.class)
                        .hasMessageContaining(file.toString()).hasMessageContaining("\"rec-7\"").hasMessageContaining("NaN");
                assertThat(done).as("no result with NaN in it is reported").isEmpty();
            }
        }
    }

    @Test
    void aRequestWithoutAKeyIsNamedByItsPlaceInSubmissionOrder() {
        try (Model m = Model.load(allNaN, ModelOptions.DEFAULT);
             PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(64, 64, 4, 1, true, 3, false))) {
            s.submit(new ScoreRequest(tokens(m, "Hi", true), new int[][] {tokens(m, " there", false)}), r -> {});
            assertThatThrownBy(s::finish).isInstanceOf(Align4jException.class)
                    .hasMessageContaining(allNaN.toString()).hasMessageContaining("request #1");
        }
    }

    @Test
    void samplingNamesTheModelFileAndTheRequestAndReportsNothing() {
        SamplingParams random = new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 8, List.of(), 1, false);
        SamplingParams filtered = new SamplingParams(0.8f, 40, 0.9f, 0.05f, 1f, 0, 8, List.of(), 1, false);
        SamplingParams greedy = new SamplingParams(0f, 0, 1f, 0f, 1f, 0, 8, List.of(), 1, false);
        for (Path file : List.of(allNaN, oneNaN)) {
            for (SamplingParams p : List.of(random, filtered, greedy)) {
                try (Model m = Model.load(file, ModelOptions.DEFAULT);
                     ContinuousBatchSampler s = new ContinuousBatchSampler(m, new SamplerOptions(64, 16, 4, 1), p)) {
                    List<SampleResult> done = new ArrayList<>();
                    s.submit(new SampleRequest("\"p1\"", "Once upon a time", tokens(m, "Once upon a time", true), 3), done::add);
                    assertThatThrownBy(s::finish).as("%s with %s", file.getFileName(), p).isInstanceOf(Align4jException.class)
                            .hasMessageContaining(file.toString()).hasMessageContaining("\"p1\"").hasMessageContaining("NaN");
                    assertThat(done).isEmpty();
                }
            }
        }
    }

    /** The kernels themselves, on the one row of a decode whose logits are all NaN. */
    @Test
    void theKernelsReportTheRowInsteadOfANumberOrAToken() {
        try (Model m = Model.load(allNaN, ModelOptions.DEFAULT);
             Context ctx = Context.create(m, ContextOptions.single(32));
             Batch b = new Batch(32, 1)) {
            int[] prompt = tokens(m, "Hello", true);
            for (int i = 0; i < prompt.length; i++) {
                b.add(prompt[i], i, 0, i == prompt.length - 1);
            }
            ctx.decode(b);
            int row = prompt.length - 1;
            assertThatThrownBy(() -> ctx.tokenLogProbs(new int[] {row, row}, new int[] {5, 6}, 2, new float[2]))
                    .isInstanceOfSatisfying(NonFiniteLogitsException.class, e -> {
                        assertThat(e.index()).isZero();
                        assertThat(e.model()).isEqualTo(allNaN);
                    });
            assertThatThrownBy(() -> ctx.topLogProbs(row, 3)).isInstanceOf(NonFiniteLogitsException.class);
            for (float temperature : new float[] {0f, 1f}) {
                try (TokenSampler ts = new TokenSampler(ctx, new TokenSampler.Filters(temperature, 0, 1f, 0f, 1f), new int[0], 2, 0)) {
                    assertThatThrownBy(() -> ts.sample(2, new int[] {row, row}, new long[] {1, 2}, new int[3], new int[0], new int[2]))
                            .as("temperature %s", temperature)
                            .isInstanceOfSatisfying(NonFiniteLogitsException.class, e -> assertThat(e.index()).isZero());
                    assertThatThrownBy(() -> ts.distribution(row, new int[0])).isInstanceOf(NonFiniteLogitsException.class);
                }
            }
        }
    }
}
