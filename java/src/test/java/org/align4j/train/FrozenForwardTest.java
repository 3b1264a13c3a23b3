package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.HashMap;
import java.util.stream.Stream;
import org.align4j.engine.ScoreRequest;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.align4j.llama.LlamaFileType;
import org.align4j.llama.ModelQuantizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The trainer's forward on weights read frozen ({@link LlamaWeights#frozen}: every matrix a view of the
 * file in its own type) per architecture and file type (F32, Q8_0, Q4_K_M), against (a) the same
 * forward on the file's weights dequantized to f32 ({@link LlamaWeights#load}) within {@value #DEQUANTIZED_TOLERANCE}
 * per token, and (b) llama.cpp's teacher-forced log-probs on the same file within {@link #llamaCppTolerance}.
 *
 * <p>The files are a generic point (TrainerTestModels.randomize at ArchitectureParityTest's scale) of
 * C = 256 and F = 512, so that rows are whole k-quant super-blocks and Q4_K_M keeps Q4_K and Q6_K
 * (rows of Q = 128 fall back to 32-value types, as llama.cpp chooses), quantized by llama.cpp's own
 * quantizer.
 */
class FrozenForwardTest {
    static final double DEQUANTIZED_TOLERANCE = 1e-4;

    @TempDir static Path tmp;
    private static final Map<String, Path> FILES = new HashMap<>();

    enum FileType {
        F32(null), Q8_0(LlamaFileType.MOSTLY_Q8_0), Q4_K_M(LlamaFileType.MOSTLY_Q4_K_M);

        final LlamaFileType llama;

        FileType(LlamaFileType llama) {
            this.llama = llama;
        }
    }

    /**
     * Per-token tolerance against llama.cpp. F32: as ArchitectureParityTest (llama.cpp's F16 K/V cache
     * accounts for a few 1e-4). Quantized: llama.cpp's CPU products convert the activations to q8_0
     * (Q8_0, Q4_0, Q5_0 weights) or q8_K (k-quants) blocks before the dot product, a relative error of
     * about 2^-8 per activation that Java, multiplying f32 activations by the decoded weights, does not
     * make; through 2 layers and the output layer that moves log-probs by up to a few 1e-3 at this
     * generic point (measured: see the printed differences).
     */
    static double llamaCppTolerance(FileType type) {
        return switch (type) {
            case F32 -> 1e-3;
            case Q8_0, Q4_K_M -> 2e-2;
        };
    }

    static Stream<ArchitectureParityTest.Case> cases() {
        return Stream.of(
                new ArchitectureParityTest.Case("llama, Llama 3 rope_freqs, tied output",
                        new LlamaShape(2, 256, 4, 2, 512, 256, 10_000f, 1e-5f, true), ArchitectureParityTest.ROPE_FREQS, Set.of()),
                new ArchitectureParityTest.Case("qwen2, q/k/v biases and an output bias, tied output",
                        new LlamaShape(2, 256, 4, 2, 512, 256, 1_000_000f, 1e-6f, true).withArchitecture(Architecture.QWEN2),
                        null, Set.of(LlamaTensor.OUTPUT_BIAS)),
                new ArchitectureParityTest.Case("qwen3, head width 32, q/k norms, untied output",
                        new LlamaShape(2, 256, 4, 2, 512, 256, 1_000_000f, 1e-6f, false).withArchitecture(Architecture.QWEN3).withHeadDim(32),
                        null, Set.of()));
    }

    static Stream<Arguments> casesAndTypes() {
        return cases().flatMap(c -> Arrays.stream(FileType.values()).map(t -> Arguments.of(c, t)));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("casesAndTypes")
    void frozenLogProbsAgreeWithTheDequantizedForwardAndWithLlamaCpp(ArchitectureParityTest.Case c, FileType type) {
        Path file = model(c, type);
        List<ScoreRequest> requests = LlamaExportTest.requests(new SplittableRandom(2), 6);
        List<Sequence> batch = LlamaExportTest.sequences(requests);

        double[][] frozen;
        try (GgufFile f = GgufFile.open(file)) {
            LlamaWeights w = LlamaWeights.frozen(f);
            assertEveryMatrixFrozen(w);
            frozen = new ReferenceForward(w).score(batch, Parallel.common(), new TrainerTimings()).tokens();
        }
        double[][] dequantized = new ReferenceForward(LlamaWeights.load(file)).score(batch, Parallel.common(), new TrainerTimings()).tokens();
        double[][] cpp = LlamaExportTest.llamaCppLogProbs(file, requests);
        double vsDequantized = LlamaExportTest.maxDiff(dequantized, frozen);
        double vsCpp = LlamaExportTest.maxDiff(cpp, frozen);
        System.out.printf("%s, %s: max |diff| per token: frozen vs dequantized f32 forward %.3g (tolerance %.0e),"
                        + " frozen vs llama.cpp %.3g (tolerance %.0e); log-probs range over %.3g nats%n",
                c.label(), type, vsDequantized, DEQUANTIZED_TOLERANCE, vsCpp, llamaCppTolerance(type), ArchitectureParityTest.spread(frozen));
        assertThat(vsDequantized).isLessThanOrEqualTo(DEQUANTIZED_TOLERANCE);
        assertThat(vsCpp).isLessThan(llamaCppTolerance(type));
        assertThat(ArchitectureParityTest.spread(frozen)).as("the generic point is not uniform").isGreaterThan(1.0);
    }

    /**
     * Backward through frozen matrices (the input-gradient half LoRA needs): with a gradient buffer of
     * the dequantized model's structure, every gradient (norms, biases and the weight gradients, which
     * depend on the activations that flow back through the frozen products) equals the f32 model's.
     */
    @ParameterizedTest
    @EnumSource(FileType.class)
    void backwardThroughFrozenMatricesMatchesTheDequantizedModel(FileType type) {
        ArchitectureParityTest.Case c = cases().toList().get(2);
        Path file = model(c, type);
        List<Sequence> batch = LlamaExportTest.sequences(LlamaExportTest.requests(new SplittableRandom(4), 3));
        LlamaParams dense = LlamaParams.load(file);
        LlamaParams denseGrads = dense.zerosLike();
        LlamaParams frozenGrads = dense.zerosLike();
        double[] dLoss = new double[batch.size()];
        Arrays.fill(dLoss, -1);
        LlamaPass d = new LlamaPass(dense.weights(), Parallel.common(), new TrainerTimings(), batch, true);
        d.forward();
        d.backward(dLoss, denseGrads.weights());
        try (GgufFile f = GgufFile.open(file)) {
            LlamaPass p = new LlamaPass(LlamaWeights.frozen(f), Parallel.common(), new TrainerTimings(), batch, true);
            p.forward();
            p.backward(dLoss, frozenGrads.weights());
        }
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < denseGrads.tensors().size(); i++) {
            float[] a = denseGrads.tensors().get(i).data();
            float[] b = frozenGrads.tensors().get(i).data();
            for (int k = 0; k < a.length; k++) {
                worst = Math.max(worst, Math.abs(a[k] - b[k]));
                scale = Math.max(scale, Math.abs(a[k]));
            }
        }
        System.out.printf("%s, %s: backward through frozen matrices vs f32: max |diff| %.3g over gradients up to %.3g%n",
                c.label(), type, worst, scale);
        assertThat(scale).isGreaterThan(0);
        assertThat(worst).isLessThanOrEqualTo(1e-6 * scale);
    }

    /**
     * Structural: a frozen model holds no f32 matrix. Every 2-D tensor is a FrozenMatrix view, and the
     * floats it holds (norms, biases, rope_freqs) are under 1% of the file's values.
     */
    static void assertEveryMatrixFrozen(LlamaWeights w) {
        long held = 0;
        List<Object> matrices = new ArrayList<>();
        for (Map.Entry<LlamaTensor, float[]> e : w.model().entrySet()) {
            assertThat(e.getKey().dims(w.shape(), w.vocabSize())).as(e.getKey() + " decoded").hasSize(1);
            held += e.getValue().length;
        }
        matrices.add(w.matrix(LlamaTensor.TOKEN_EMBD));
        matrices.add(w.matrix(LlamaTensor.OUTPUT));
        long values = (long) w.vocabSize() * w.shape().embd();
        for (int l = 0; l < w.layers().size(); l++) {
            for (Map.Entry<LlamaTensor, float[]> e : w.layers().get(l).tensors().entrySet()) {
                assertThat(e.getKey().dims(w.shape(), w.vocabSize())).as(e.getKey() + " decoded").hasSize(1);
                held += e.getValue().length;
            }
            for (LlamaTensor t : List.of(LlamaTensor.ATTN_Q, LlamaTensor.ATTN_K, LlamaTensor.ATTN_V, LlamaTensor.ATTN_OUTPUT,
                    LlamaTensor.FFN_GATE, LlamaTensor.FFN_UP, LlamaTensor.FFN_DOWN)) {
                WeightMatrix m = w.matrix(l, t);
                matrices.add(m);
                values += (long) m.out() * m.in();
            }
        }
        assertThat(matrices).allMatch(m -> m instanceof FrozenMatrix);
        assertThat(held).isLessThan(values / 100);
    }

    // The case's generic point in the type, written once per test class.
    static synchronized Path model(ArchitectureParityTest.Case c, FileType type) {
        String key = c.label() + "/" + type;
        Path done = FILES.get(key);
        if (done != null) {
            return done;
        }
        String stem = "frozen-generic-" + Math.abs(c.label().hashCode());
        Path out;
        if (type.llama == null) {
            Path source = TrainerTestModels.write(tmp, "frozen-" + c.shape().architecture().ggufName(), c.shape(), c.ropeFreqs(),
                    c.extra(), GgmlType.F32, 5);
            LlamaParams params = TrainerTestModels.genericPoint(source);
            out = tmp.resolve(stem + "-F32.gguf");
            LlamaExport.write(params, out, GgmlType.F32);
        } else {
            out = tmp.resolve(stem + "-" + type + ".gguf");
            ModelQuantizer.quantize(model(c, FileType.F32), out, type.llama, 2);
        }
        FILES.put(key, out);
        return out;
    }
}
