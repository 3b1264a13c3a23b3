package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.SequencedMap;
import java.util.LinkedHashMap;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.engine.ScoreRequest;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.align4j.llama.LlamaFileType;
import org.align4j.llama.ModelQuantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
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

    /** A quantized base: merged matrices become F16 (general.file_type MOSTLY_F16), or F32 when asked; the rest is copied as it is. */
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
        // --merge-type f32: the merged matrices in F32 (general.file_type ALL_F32), as close to the float64 loop as an F32 base's.
        Path mergedF32 = tmp.resolve("merge-q8-merged-f32.gguf");
        try (GgufFile b = GgufFile.open(base); GgufFile a = GgufFile.open(adapter)) {
            LoraMerge.write(b, a, 0.5f, mergedF32, LoraMerge.Type.F32, 1);
        }
        double relErrF32 = assertMergedAsTheFloat64Loop(base, adapter, 0.5, mergedF32);
        System.out.printf("Q8_0 base, scale 0.5, merge type f32: merged F32 tensors vs the float64 loop, max relative diff %.3g (tolerance %.0e)%n",
                relErrF32, RTOL);
        try (GgufFile m = GgufFile.open(mergedF32)) {
            assertThat(m.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.F32);
            assertThat(m.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(m.integer("general.file_type")).isEqualTo(0);
        }
    }

    /**
     * A Q8_0 merge (the F16 merge quantized by llama_model_quantize) scores as base + adapter applied by
     * llama.cpp within twice what Q8_0 alone costs the base (llama.cpp's F32 base against its own Q8_0
     * quantization), plus {@value #TOLERANCE}; the temporary F16 merge is gone.
     */
    @Test
    void aQ8_0MergeScoresAsLlamaCppAppliesTheAdapterWithinQ8_0sOwnError() throws IOException {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        Path source = TrainerTestModels.write(tmp, "merge-q8out-source", shape, GgmlType.F32, 13);
        LlamaParams params = TrainerTestModels.genericPoint(source);
        Path base = tmp.resolve("merge-q8out-base.gguf");
        LlamaExport.write(params, base, GgmlType.F32);
        Path adapter = writeAdapter(base, "merge-q8out-adapter");
        Path dir = Files.createDirectories(tmp.resolve("merge-q8out"));
        Path merged = dir.resolve("merged-q8_0.gguf");
        try (GgufFile b = GgufFile.open(base); GgufFile a = GgufFile.open(adapter)) {
            LoraMerge.write(b, a, 1f, merged, LoraMerge.Type.Q8_0, 2);
        }
        Path baseQ8 = dir.resolve("base-q8_0.gguf");
        ModelQuantizer.quantize(base, baseQ8, LlamaFileType.MOSTLY_Q8_0, 2);

        List<ScoreRequest> requests = LlamaExportTest.requests(new SplittableRandom(4), 6);
        double[][] cppBase = LlamaExportTest.llamaCppLogProbs(base, requests);
        double q8Error = LlamaExportTest.maxDiff(LlamaExportTest.llamaCppLogProbs(baseQ8, requests), cppBase);
        double[][] cppLora = LoraParityTest.llamaCppLogProbs(base, adapter, 1f, requests);
        double moved = LlamaExportTest.maxDiff(cppBase, cppLora);
        double diff = LlamaExportTest.maxDiff(LlamaExportTest.llamaCppLogProbs(merged, requests), cppLora);
        double tolerance = 2 * q8Error + TOLERANCE;
        System.out.printf("Q8_0 merge: merged model vs base + adapter in llama.cpp, max |diff| per token %.3g (tolerance %.3g:"
                + " twice Q8_0's own error on the base, %.3g, plus %.0e); the adapter moves the log-probs by up to %.3g%n",
                diff, tolerance, q8Error, TOLERANCE, moved);
        try (GgufFile m = GgufFile.open(merged)) {
            assertThat(m.integer("general.file_type")).isEqualTo(LlamaFileType.MOSTLY_Q8_0.id());
            assertThat(m.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q8_0);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("merged-q8_0.gguf", "base-q8_0.gguf");
        }
        assertThat(moved).as("the adapter matters").isGreaterThan(5 * tolerance);
        assertThat(diff).isLessThan(tolerance);
    }

    /**
     * The same merge by llama.cpp's own {@code llama-export-lora} (built with the tests, from the pinned
     * source): the same tensors (export-lora sorts them by name), types, shapes and keys (general.file_type
     * aside, which export-lora sets to MOSTLY_F16 even over an F32 base); tensors the adapter does not touch byte for byte;
     * merged ones as close as their arithmetic allows. export-lora sums B A in f32 in ggml's order (the
     * merge here in f64), so an F32 result differs in its last bits (tolerance {@value #RTOL} of the
     * largest |W'|), and an F16 one by one F16 step where that sum falls next to a rounding boundary (in
     * under 1% of the elements).
     */
    @ParameterizedTest(name = "{0} base")
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "Q8_0"})
    void theMergeEqualsLlamaExportLorasTensorByTensor(GgmlType baseType) throws IOException, InterruptedException {
        String name = "export-lora-" + baseType.name().toLowerCase();
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 64, 64, 10_000f, 1e-5f, false);
        LlamaParams params = LlamaParams.load(TrainerTestModels.write(tmp, name + "-source", shape, GgmlType.F32, 17));
        TrainerTestModels.randomize(params, 5);
        Path base = tmp.resolve(name + ".gguf");
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(params.metadata());
        metadata.put(LoraMerge.FILE_TYPE_KEY, GgufValue.uint32(switch (baseType) { // LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q8_0
            case F16 -> 1;
            case Q8_0 -> 7;
            default -> 0;
        }));
        GgufWriter.write(base, metadata, params.fileTensors().stream().map(t -> {
            GgmlType stored = t.dims().length == 1 ? GgmlType.F32 : baseType;
            return new GgufWriter.Tensor(t.name(), stored, t.dims(), dst -> GgmlQuants.quantize(stored, t.data(), dst));
        }).toList());
        Path adapter = writeAdapter(base, name + "-adapter");
        Path ours = tmp.resolve(name + "-ours.gguf");
        LoraMerge.write(base, adapter, 1f, ours);
        Path theirs = tmp.resolve(name + "-theirs.gguf");
        runExportLora(base, adapter, theirs);

        try (GgufFile a = GgufFile.open(ours); GgufFile b = GgufFile.open(theirs); GgufFile adapterFile = GgufFile.open(adapter)) {
            // export-lora sets general.file_type to MOSTLY_F16 even when no matrix became F16; LoraMerge only when one did.
            List<String> keys = a.metadata().keySet().stream().filter(k -> !k.equals(LoraMerge.FILE_TYPE_KEY)).toList();
            assertThat(keys).containsExactlyElementsOf(b.metadata().keySet().stream().filter(k -> !k.equals(LoraMerge.FILE_TYPE_KEY)).toList());
            assertThat(b.integer(LoraMerge.FILE_TYPE_KEY)).isEqualTo(1);
            assertThat(a.integer(LoraMerge.FILE_TYPE_KEY)).isEqualTo(baseType == GgmlType.F32 ? 0 : 1);
            for (String key : keys) {
                assertThat(a.metadata().get(key).type()).as(key).isEqualTo(b.metadata().get(key).type());
                assertThat(Objects.deepEquals(a.metadata().get(key).value(), b.metadata().get(key).value())).as(key).isTrue();
            }
            // export-lora writes the tensors sorted by name; LoraMerge keeps the base's order.
            assertThat(a.tensors()).extracting(GgufTensorInfo::name).containsExactlyInAnyOrderElementsOf(b.tensors().stream().map(GgufTensorInfo::name).toList());
            int copied = 0, merged = 0;
            long elements = 0, differing = 0;
            int maxF16Steps = 0;
            double maxRel = 0;
            for (GgufTensorInfo t : a.tensors()) {
                GgufTensorInfo u = b.tensor(t.name());
                assertThat(t.type()).as(t.name()).isEqualTo(u.type());
                assertThat(t.dims()).as(t.name()).isEqualTo(u.dims());
                byte[] x = a.tensorData(t.name()).toArray(ValueLayout.JAVA_BYTE);
                byte[] y = b.tensorData(t.name()).toArray(ValueLayout.JAVA_BYTE);
                if (adapterFile.tensors().stream().noneMatch(l -> l.name().equals(t.name() + ".lora_a"))) {
                    assertThat(x).as(t.name() + " (not adapted)").isEqualTo(y);
                    copied++;
                    continue;
                }
                merged++;
                elements += t.elementCount();
                ByteBuffer bx = ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer by = ByteBuffer.wrap(y).order(ByteOrder.LITTLE_ENDIAN);
                if (t.type() == GgmlType.F16) {
                    for (int i = 0; i < t.elementCount(); i++) {
                        int steps = Math.abs(f16Ordinal(bx.getShort(2 * i)) - f16Ordinal(by.getShort(2 * i)));
                        differing += steps == 0 ? 0 : 1;
                        maxF16Steps = Math.max(maxF16Steps, steps);
                    }
                } else {
                    assertThat(t.type()).isEqualTo(GgmlType.F32);
                    double maxDiff = 0, maxAbs = 0;
                    for (int i = 0; i < t.elementCount(); i++) {
                        float fx = bx.getFloat(4 * i), fy = by.getFloat(4 * i);
                        differing += fx == fy ? 0 : 1;
                        maxDiff = Math.max(maxDiff, Math.abs(fx - fy));
                        maxAbs = Math.max(maxAbs, Math.abs(fy));
                    }
                    maxRel = Math.max(maxRel, maxDiff / maxAbs);
                }
            }
            System.out.printf("%s base vs llama-export-lora: %d tensors copied byte for byte; %d merged (%s), %d of %d elements differ,"
                            + " by at most %d F16 step(s) (tolerance 1) and %.3g of the largest |W'| in F32 (tolerance %.0e)%n",
                    baseType, copied, merged, a.tensor("blk.0.attn_q.weight").type(), differing, elements, maxF16Steps, maxRel, RTOL);
            assertThat(merged).isEqualTo(7 * shape.layers());
            assertThat(copied).isPositive();
            assertThat(maxF16Steps).isLessThanOrEqualTo(1);
            assertThat(maxRel).isLessThan(RTOL);
            if (baseType != GgmlType.F32) {
                assertThat(differing).as("F16 elements a step apart").isLessThan(elements / 100);
            }
        }
    }

    // llama-export-lora from the native build (the Makefile's test prerequisites build it): merges `adapter` into `base`.
    private static void runExportLora(Path base, Path adapter, Path out) throws IOException, InterruptedException {
        Path tool = Path.of(System.getProperty("align4j.native.dir"), "llama-export-lora");
        assertThat(tool).as("llama-export-lora, which `make test` builds (cmake target test_baselines)").isExecutable();
        Path log = tmp.resolve(out.getFileName() + ".log");
        Process p = new ProcessBuilder(tool.toString(), "-m", base.toString(), "--lora", adapter.toString(), "-o", out.toString(), "-t", "2")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        int rc = p.waitFor();
        assertThat(rc).as("llama-export-lora's exit status; its output:%n%s", Files.readString(log)).isZero();
    }

    // F16 bits as an integer that orders as the values do, so that neighbouring F16 values are 1 apart.
    private static int f16Ordinal(short bits) {
        int b = bits & 0xffff;
        return (b & 0x8000) != 0 ? -(b & 0x7fff) : b;
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
