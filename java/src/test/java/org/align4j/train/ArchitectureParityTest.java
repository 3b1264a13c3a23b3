package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.align4j.engine.ScoreRequest;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The trainer's forward pass against llama.cpp's scorer (teacher-forced, {@link
 * org.align4j.engine.PrefixSharingScorer}) on the same file, per architecture, on F32 and F16 files:
 * every per-token log-prob of 12 sequences of up to 37 tokens within {@value #TOLERANCE} nats.
 *
 * <p>Each case runs twice. First on the synthetic file as written (std 0.02 weights, norms 1).
 * Then at a generic point: the parameters of the F32 file drawn again ({@link
 * TrainerTestModels#randomize}, scaled by {@value #GENERIC_SCALE} so that logits stay of size ~1 and
 * F16's rounding of llama.cpp's activations stays far below the tolerance), exported with {@link
 * LlamaExport} in the type, and the export scored by llama.cpp against the Java forward of the
 * exported parameters: this is the export test too (same metadata, tensors and types as the source).
 * At the generic point a wrong RoPE pairing, a rope_freqs or linear factor left out, or a bias or q/k
 * norm dropped moves log-probs by 0.05 to 1 nats; the F16 K/V cache of llama.cpp's default context
 * accounts for a few 1e-4 (ReferenceForwardTest).
 */
class ArchitectureParityTest {
    static final double TOLERANCE = 1e-3;
    static final float GENERIC_SCALE = 0.5f;
    // Llama 3's scaling over a short original context, so that the factors of a head of width 16 are
    // 1, interpolated and 8 at the positions tested (Llama 3.2's, over 8192, would all be 1 or 32 there).
    static final Llama3Rope ROPE_FREQS = Llama3Rope.of(8f, 64);
    static final Set<LlamaTensor> LLAMA_BIASES = Set.of(LlamaTensor.ATTN_Q_BIAS, LlamaTensor.ATTN_K_BIAS, LlamaTensor.ATTN_V_BIAS,
            LlamaTensor.ATTN_OUTPUT_BIAS, LlamaTensor.FFN_GATE_BIAS, LlamaTensor.FFN_UP_BIAS, LlamaTensor.FFN_DOWN_BIAS);

    @TempDir static Path tmp;

    /** One architecture's test model. */
    record Case(String label, LlamaShape shape, Llama3Rope ropeFreqs, Set<LlamaTensor> extra) {
        @Override
        public String toString() {
            return label;
        }
    }

    static Stream<Case> cases() {
        LlamaShape base = new LlamaShape(2, 64, 4, 2, 128, 256, 10_000f, 1e-5f, true);
        return Stream.of(
                new Case("llama, Llama 3 rope_freqs, tied output", base, ROPE_FREQS, Set.of()),
                new Case("llama, linear RoPE scaling 4, biases on all 7 projections, untied output",
                        new LlamaShape(2, 64, 4, 2, 128, 256, 10_000f, 1e-5f, false).withRopeLinearFactor(4f), null, LLAMA_BIASES),
                new Case("qwen2, q/k/v biases and an output bias, tied output",
                        new LlamaShape(2, 64, 4, 2, 128, 256, 1_000_000f, 1e-6f, true).withArchitecture(Architecture.QWEN2),
                        null, Set.of(LlamaTensor.OUTPUT_BIAS)),
                new Case("qwen3, head width 32 with C / H = 16, q/k norms, untied output",
                        new LlamaShape(2, 64, 4, 2, 128, 256, 1_000_000f, 1e-6f, false).withArchitecture(Architecture.QWEN3).withHeadDim(32),
                        null, Set.of()));
    }

    static Stream<Arguments> casesAndTypes() {
        return cases().flatMap(c -> Stream.of(Arguments.of(c, GgmlType.F32), Arguments.of(c, GgmlType.F16)));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("casesAndTypes")
    void perTokenLogProbsAgreeWithLlamaCppOnTheSyntheticFileAndOnAnExportAtAGenericPoint(Case c, GgmlType type) throws IOException {
        List<ScoreRequest> requests = LlamaExportTest.requests(new SplittableRandom(2), 6);
        List<Sequence> batch = LlamaExportTest.sequences(requests);

        Path synthetic = TrainerTestModels.write(tmp, "parity-" + c.shape().architecture().ggufName(), c.shape(), c.ropeFreqs(), c.extra(), type, 5);
        assertArchitecture(synthetic, c);
        double syntheticDiff = LlamaExportTest.maxDiff(LlamaExportTest.llamaCppLogProbs(synthetic, requests), javaLogProbs(synthetic, batch));

        Path source = TrainerTestModels.write(tmp, "generic-" + c.shape().architecture().ggufName(), c.shape(), c.ropeFreqs(), c.extra(),
                GgmlType.F32, 5);
        LlamaParams params = TrainerTestModels.genericPoint(source);
        Path export = tmp.resolve("export-" + c.label().hashCode() + "-" + type + ".gguf");
        LlamaExport.write(params, export, type);
        LlamaExportTest.assertSameFileLayout(source, export, type, type == GgmlType.F32 ? 0 : 1);
        double[][] java = javaLogProbs(export, batch);
        double[][] cpp = LlamaExportTest.llamaCppLogProbs(export, requests);
        double genericDiff = LlamaExportTest.maxDiff(cpp, java);
        double spread = spread(java);

        System.out.printf("%s, %s: max |diff| per token vs llama.cpp: synthetic file %.3g, generic point (export) %.3g"
                        + " (tolerance %.0e; log-probs there range over %.3g nats)%n",
                c.label(), type, syntheticDiff, genericDiff, TOLERANCE, spread);
        assertThat(syntheticDiff).isLessThan(TOLERANCE);
        assertThat(genericDiff).isLessThan(TOLERANCE);
        assertThat(spread).as("the generic point is not uniform").isGreaterThan(1.0);
    }

    // The file carries the case's architecture and its own tensors; it loads in llama.cpp.
    static void assertArchitecture(Path file, Case c) {
        try (GgufFile f = GgufFile.open(file)) {
            assertThat(f.string("general.architecture")).isEqualTo(c.shape().architecture().ggufName());
            assertThat(f.tensors().stream().anyMatch(t -> t.name().equals(LlamaTensor.ROPE_FREQS.ggufName()))).isEqualTo(c.ropeFreqs() != null);
        }
        LlamaWeights w = LlamaWeights.load(file);
        assertThat(w.shape()).isEqualTo(c.shape());
        try (Model m = Model.load(file, ModelOptions.DEFAULT)) {
            assertThat(m.meta("general.architecture")).isEqualTo(c.shape().architecture().ggufName());
        }
    }

    static double[][] javaLogProbs(Path file, List<Sequence> batch) {
        try (LlamaTrainer trainer = new LlamaTrainer(LlamaParams.load(file), 2)) {
            return trainer.score(batch).tokens();
        }
    }

    static double spread(double[][] x) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double[] row : x) {
            for (double v : row) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return max - min;
    }
}
