package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
import org.align4j.llama.LoraAdapter;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported GGUF adapter ({@link LoraExport}) as llama.cpp applies it: loaded on the F32 base with
 * {@code llama_adapter_lora_init} and set on the scorer's context, its teacher-forced log-probs equal
 * the trainer's forward with the adapter ({@link LoraParams#weights}) within {@value #TOLERANCE} per
 * token (ArchitectureParityTest's F32 tolerance: llama.cpp's F16 K/V cache), for llama (GGUF-order
 * weights: no q/k permutation) and qwen2; with adapter scale 0 they equal the base's. The adapter is
 * rank 8 on all seven targets with alpha 16 (scale 2) and a random non-zero B, so that it moves
 * log-probs far more than the tolerance (checked).
 */
class LoraParityTest {
    static final double TOLERANCE = 1e-3;

    @TempDir static Path tmp;

    static Stream<ArchitectureParityTest.Case> cases() {
        return FrozenForwardTest.cases().limit(2); // llama with rope_freqs, qwen2 with biases
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void llamaCppAppliesTheExportedAdapterAsTheTrainerDoes(ArchitectureParityTest.Case c) {
        String arch = c.shape().architecture().ggufName();
        Path source = TrainerTestModels.write(tmp, "lora-" + arch, c.shape(), c.ropeFreqs(), c.extra(), GgmlType.F32, 5);
        LlamaParams params = TrainerTestModels.genericPoint(source);
        Path model = tmp.resolve("lora-base-" + arch + ".gguf");
        LlamaExport.write(params, model, GgmlType.F32);
        Path adapterFile = tmp.resolve("lora-adapter-" + arch + ".gguf");

        List<ScoreRequest> requests = LlamaExportTest.requests(new SplittableRandom(2), 6);
        List<Sequence> batch = LlamaExportTest.sequences(requests);
        double[][] javaBase;
        double[][] javaLora;
        try (GgufFile f = GgufFile.open(model)) {
            LlamaWeights base = LlamaWeights.frozen(f);
            LoraParams lora = LoraParams.create(base, EnumSet.allOf(LoraParams.Target.class), 8, 16f, 7);
            LoraGradientTest.randomizeB(lora, 0.05, 9);
            LoraExport.write(lora, adapterFile);
            javaBase = new ReferenceForward(base).score(batch, Parallel.common(), new TrainerTimings()).tokens();
            javaLora = new ReferenceForward(lora.weights()).score(batch, Parallel.common(), new TrainerTimings()).tokens();
        }
        try (GgufFile a = GgufFile.open(adapterFile)) {
            assertThat(a.string("general.type")).isEqualTo("adapter");
            assertThat(a.string("adapter.type")).isEqualTo("lora");
            assertThat(a.string("general.architecture")).isEqualTo(arch);
            assertThat(a.metadata().get("adapter.lora.alpha").type()).isEqualTo(org.align4j.gguf.GgufValueType.FLOAT32);
            assertThat(a.tensor("blk.0.attn_q.weight.lora_a").dims()).containsExactly(c.shape().embd(), 8);
            assertThat(a.tensor("blk.0.attn_q.weight.lora_b").dims()).containsExactly(8, c.shape().queryWidth());
        }
        double[][] cppLora = llamaCppLogProbs(model, adapterFile, 1f, requests);
        double[][] cppOff = llamaCppLogProbs(model, adapterFile, 0f, requests);
        double moved = LlamaExportTest.maxDiff(javaBase, javaLora);
        double withAdapter = LlamaExportTest.maxDiff(cppLora, javaLora);
        double off = LlamaExportTest.maxDiff(cppOff, javaBase);
        System.out.printf("%s: the adapter moves the trainer's log-probs by up to %.3g; llama.cpp with the adapter vs the trainer with it,"
                + " max |diff| per token %.3g; at scale 0 vs the base %.3g (tolerance %.0e)%n", c.label(), moved, withAdapter, off, TOLERANCE);
        assertThat(moved).as("the adapter matters").isGreaterThan(50 * TOLERANCE);
        assertThat(withAdapter).isLessThan(TOLERANCE);
        assertThat(off).isLessThan(TOLERANCE);
    }

    /** An adapter for another architecture is an exception naming the adapter file and llama.cpp's cause, not a crash. */
    @Test
    void anAdapterForAnotherArchitectureIsRefusedNamingTheFile() {
        LlamaShape shape = new LlamaShape(1, 32, 2, 1, 64, 64, 10_000f, 1e-5f, true);
        Path llama = TrainerTestModels.write(tmp, "lora-refuse-llama", shape, GgmlType.F32, 1);
        Path qwen2 = TrainerTestModels.write(tmp, "lora-refuse-qwen2", shape.withArchitecture(Architecture.QWEN2), GgmlType.F32, 1);
        Path adapterFile = tmp.resolve("lora-refuse-llama-adapter.gguf");
        try (GgufFile f = GgufFile.open(llama)) {
            LoraExport.write(LoraParams.create(LlamaWeights.frozen(f), EnumSet.of(LoraParams.Target.Q), 2, 2f, 1), adapterFile);
        }
        try (Model m = Model.load(qwen2, ModelOptions.DEFAULT)) {
            assertThatThrownBy(() -> LoraAdapter.load(m, adapterFile)).isInstanceOf(Align4jException.class)
                    .hasMessageContaining(adapterFile.toString()).hasMessageContaining("arch");
        }
        try (Model m = Model.load(llama, ModelOptions.DEFAULT); LoraAdapter a = LoraAdapter.load(m, adapterFile)) {
            assertThat(a.path()).isEqualTo(adapterFile);
        }
    }

    // Per-token log-probs from llama.cpp with the adapter at `scale`, in the order of sequences(requests).
    static double[][] llamaCppLogProbs(Path model, Path adapter, float scale, List<ScoreRequest> requests) {
        List<ScoreResult> results = new ArrayList<>();
        try (Model m = Model.load(model, ModelOptions.DEFAULT);
             LoraAdapter a = LoraAdapter.load(m, adapter);
             PrefixSharingScorer s = new PrefixSharingScorer(m, new ScorerOptions(64, 64, 4, 2, true))) {
            s.useAdapters(List.of(a), new float[] {scale});
            for (ScoreRequest r : requests) {
                s.submit(r, results::add);
            }
            s.finish();
        }
        List<double[]> out = new ArrayList<>();
        for (ScoreResult r : results) {
            for (float[] t : r.tokenLogps()) {
                double[] d = new double[t.length];
                for (int i = 0; i < t.length; i++) {
                    d[i] = t[i];
                }
                out.add(d);
            }
        }
        return out.toArray(double[][]::new);
    }
}
