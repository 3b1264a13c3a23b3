package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.engine.ScoreRequest;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LoraMerge} against two references: llama.cpp applying the adapter to the base at run time
 * (teacher-forced log-probs of the merged model within {@value #TOLERANCE} per token, F32 base, llama
 * and qwen2), and a plain float64 loop W + s B A over the files' values (within {@value #RTOL} of the
 * largest |W'| for an F32 base; within F16's rounding for a Q8_0 base, whose merged matrices are F16).
 * The adapter is rank 8 on all seven targets, alpha 16, with a random non-zero B.
 */
class LoraMergeTest {
    static final double TOLERANCE = 1e-3;
    static final double RTOL = 1e-6;

    @TempDir static Path tmp;

    static Stream<ArchitectureParityTest.Case> cases() {
        return FrozenForwardTest.cases().limit(2); // llama with rope_freqs, qwen2 with biases
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theMergedModelScoresAsLlamaCppAppliesTheAdapter(ArchitectureParityTest.Case c) {
        String arch = c.shape().architecture().ggufName();
        Path source = TrainerTestModels.write(tmp, "merge-" + arch, c.shape(), c.ropeFreqs(), c.extra(), GgmlType.F32, 5);
        LlamaParams params = TrainerTestModels.genericPoint(source);
        Path base = tmp.resolve("merge-base-" + arch + ".gguf");
        LlamaExport.write(params, base, GgmlType.F32);
        Path adapter = writeAdapter(base, "merge-adapter-" + arch);
        Path merged = tmp.resolve("merge-merged-" + arch + ".gguf");
        LoraMerge.write(base, adapter, 1f, merged);

        double relErr = assertMergedAsTheFloat64Loop(base, adapter, 1.0, merged);
        List<ScoreRequest> requests = LlamaExportTest.requests(new SplittableRandom(2), 6);
        double[][] cppBase = LlamaExportTest.llamaCppLogProbs(base, requests);
        double[][] cppLora = LoraParityTest.llamaCppLogProbs(base, adapter, 1f, requests);
        double[][] cppMerged = LlamaExportTest.llamaCppLogProbs(merged, requests);
        double moved = LlamaExportTest.maxDiff(cppBase, cppLora);
        double diff = LlamaExportTest.maxDiff(cppMerged, cppLora);
        System.out.printf("%s: merged tensors vs the float64 loop, max relative diff %.3g (tolerance %.0e); the adapter moves llama.cpp's"
                + " log-probs by up to %.3g; merged model vs base + adapter in llama.cpp, max |diff| per token %.3g (tolerance %.0e)%n",
                c.label(), relErr, RTOL, moved, diff, TOLERANCE);
        assertThat(moved).as("the adapter matters").isGreaterThan(50 * TOLERANCE);
        assertThat(diff).isLessThan(TOLERANCE);
    }

    /** A quantized base: merged matrices become F16 (general.file_type MOSTLY_F16), the rest is copied as it is. */
    @Test
    void aQuantizedBaseMergesIntoF16Matrices() {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        LlamaParams params = LlamaParams.load(TrainerTestModels.write(tmp, "merge-q8-source", shape, GgmlType.F32, 11));
        TrainerTestModels.randomize(params, 5);
        Path base = tmp.resolve("merge-q8.gguf");
        GgufWriter.write(base, params.metadata(), params.fileTensors().stream().map(t -> {
            GgmlType stored = t.dims().length == 1 ? GgmlType.F32 : GgmlType.Q8_0;
            return new GgufWriter.Tensor(t.name(), stored, t.dims(), dst -> GgmlQuants.quantize(stored, t.data(), dst));
        }).toList());
        Path adapter = writeAdapter(base, "merge-q8-adapter");
        Path merged = tmp.resolve("merge-q8-merged.gguf");
        LoraMerge.write(base, adapter, 0.5f, merged);
        double relErr = assertMergedAsTheFloat64Loop(base, adapter, 0.5, merged);
        System.out.printf("Q8_0 base, scale 0.5: merged F16 tensors vs the float64 loop, max relative diff %.3g%n", relErr);
        try (GgufFile m = GgufFile.open(merged)) {
            assertThat(m.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(m.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(m.integer("general.file_type")).isEqualTo(1);
        }
    }

    @Test
    void anAdapterForAnotherBaseIsRefusedNamingTheFile() {
        LlamaShape shape = new LlamaShape(1, 32, 2, 1, 64, 64, 10_000f, 1e-5f, true);
        Path small = TrainerTestModels.write(tmp, "merge-refuse-small", shape, GgmlType.F32, 1);
        Path wide = TrainerTestModels.write(tmp, "merge-refuse-wide", new LlamaShape(1, 64, 2, 1, 64, 64, 10_000f, 1e-5f, true), GgmlType.F32, 1);
        Path adapter = writeAdapter(small, "merge-refuse-adapter");
        assertThatThrownBy(() -> LoraMerge.write(wide, adapter, 1f, tmp.resolve("merge-refused.gguf")))
                .isInstanceOf(Align4jException.class).hasMessageContaining(adapter.toString()).hasMessageContaining("lora_a");
        assertThatThrownBy(() -> LoraMerge.write(small, small, 1f, tmp.resolve("merge-refused.gguf")))
                .isInstanceOf(Align4jException.class).hasMessageContaining("not a LoRA adapter");
        assertThat(tmp.resolve("merge-refused.gguf")).doesNotExist();
    }

    // A rank-8, alpha-16 adapter on all seven targets of `base`, B random.
    private static Path writeAdapter(Path base, String name) {
        Path adapter = tmp.resolve(name + ".gguf");
        try (GgufFile f = GgufFile.open(base)) {
            LoraParams lora = LoraParams.create(LlamaWeights.frozen(f), EnumSet.allOf(LoraParams.Target.class), 8, 16f, 7);
            LoraGradientTest.randomizeB(lora, 0.05, 9);
            LoraExport.write(lora, adapter);
        }
        return adapter;
    }

    // Checks every tensor of `merged` against base + userScale * alpha / r * B A (float64), or a byte copy; returns the max relative diff.
    private static double assertMergedAsTheFloat64Loop(Path basePath, Path adapterPath, double userScale, Path mergedPath) {
        double worst = 0;
        try (GgufFile base = GgufFile.open(basePath); GgufFile adapter = GgufFile.open(adapterPath); GgufFile merged = GgufFile.open(mergedPath)) {
            assertThat(merged.tensors()).extracting(GgufTensorInfo::name).isEqualTo(base.tensors().stream().map(GgufTensorInfo::name).toList());
            assertThat(merged.metadata().keySet()).containsExactlyElementsOf(base.metadata().keySet());
            double alpha = adapter.number("adapter.lora.alpha");
            int adapted = 0;
            for (GgufTensorInfo t : base.tensors()) {
                if (adapter.tensors().stream().noneMatch(a -> a.name().equals(t.name() + ".lora_a"))) {
                    assertThat(merged.tensorData(t.name()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                            .as(t.name()).isEqualTo(base.tensorData(t.name()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    continue;
                }
                adapted++;
                int in = (int) t.dims()[0];
                int out = (int) t.dims()[1];
                float[] w = decode(base, t.name());
                float[] a = decode(adapter, t.name() + ".lora_a"); // (r, I)
                float[] b = decode(adapter, t.name() + ".lora_b"); // (O, r)
                int r = a.length / in;
                double s = userScale * alpha / r;
                float[] got = decode(merged, t.name());
                double maxDiff = 0;
                double maxRef = 0;
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        double ba = 0;
                        for (int k = 0; k < r; k++) {
                            ba += (double) b[o * r + k] * a[k * in + i];
                        }
                        double want = w[o * in + i] + s * ba;
                        maxDiff = Math.max(maxDiff, Math.abs(got[o * in + i] - want));
                        maxRef = Math.max(maxRef, Math.abs(want));
                    }
                }
                double rel = maxDiff / maxRef;
                worst = Math.max(worst, rel);
                // F16's unit roundoff is 2^-11 = 4.9e-4 (plus the f32 rounding before it).
                double tolerance = merged.tensor(t.name()).type() == GgmlType.F32 ? RTOL : 5e-4;
                assertThat(rel).as(t.name()).isLessThan(tolerance);
            }
            assertThat(adapted).as("adapted matrices").isEqualTo(7 * (int) base.integer(base.string("general.architecture") + ".block_count"));
        }
        return worst;
    }

    private static float[] decode(GgufFile f, String name) {
        GgufTensorInfo t = f.tensor(name);
        float[] x = new float[Math.toIntExact(t.elementCount())];
        GgmlQuants.dequantize(t.type(), f.tensorData(name), x);
        return x;
    }
}
