package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.align4j.gguf.GgufValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Save, load: every float of the parameters and the optimizer's arrays comes back bit for bit, with
 * the source metadata and the caller's values; the same state saves to the same bytes; a resumed
 * trainer computes the same gradients, and exports the same file, as the one that saved.
 */
class TrainerCheckpointTest {
    @TempDir Path tmp;

    @Test
    void aCheckpointRoundTripsBitForBitAndResumesIdentically() throws IOException {
        Path source = TrainerTestModels.write(tmp, "ckpt", TrainerTestModels.TINY.shape(), GgmlType.F16, 3);
        LlamaParams params = LlamaParams.load(source);
        List<Sequence> batch = LlamaExportTest.sequences(LlamaExportTest.requests(new SplittableRandom(5), 3));
        LlamaParams gradsBefore;
        try (LlamaTrainer trainer = new LlamaTrainer(params, 2)) {
            trainer.forwardBackward(batch, LlamaTrainerGradientTest::nll);
            LlamaExportTest.sgd(params, trainer.grads(), 0.05);
            trainer.zeroGrads();
            trainer.forwardBackward(batch, LlamaTrainerGradientTest::nll);
            gradsBefore = trainer.grads().copy();
        }
        SplittableRandom rng = new SplittableRandom(8);
        SequencedMap<String, float[]> optimizer = new LinkedHashMap<>();
        for (LlamaParams.Tensor t : params.tensors()) {
            float[] m = new float[t.data().length];
            for (int i = 0; i < m.length; i++) {
                m[i] = (float) rng.nextGaussian();
            }
            optimizer.put("adamw.m." + t.name(), m);
        }
        // Floats whose bits a careless copy would change, and an empty array.
        optimizer.put("odd", new float[] {-0f, Float.intBitsToFloat(0x7fc00123), Float.MIN_VALUE, Float.NEGATIVE_INFINITY});
        optimizer.put("empty", new float[0]);
        SequencedMap<String, GgufValue> info = new LinkedHashMap<>();
        info.put("step", GgufValue.uint64(2));
        info.put("data.next_record", GgufValue.uint64(6));
        info.put("seed", GgufValue.int64(-7));

        Path ckpt = tmp.resolve("run.ckpt.gguf");
        long bytes = TrainerCheckpoint.save(ckpt, new TrainerCheckpoint.State(params, optimizer, info));
        TrainerCheckpoint.State loaded = TrainerCheckpoint.load(ckpt);

        int floats = 0;
        for (LlamaParams.Tensor t : params.tensors()) {
            assertThat(bits(loaded.params().tensor(t.name()).data())).as(t.name()).isEqualTo(bits(t.data()));
            assertThat(loaded.params().tensor(t.name()).dims()).isEqualTo(t.dims());
            floats += t.data().length;
        }
        assertThat(loaded.params().tensors().stream().map(LlamaParams.Tensor::name).toList())
                .isEqualTo(params.tensors().stream().map(LlamaParams.Tensor::name).toList());
        assertThat(loaded.optimizerState().keySet()).containsExactlyElementsOf(optimizer.keySet());
        for (var e : optimizer.entrySet()) {
            assertThat(bits(loaded.optimizerState().get(e.getKey()))).as(e.getKey()).isEqualTo(bits(e.getValue()));
            floats += e.getValue().length;
        }
        assertThat(loaded.info()).isEqualTo(info);
        assertThat(new LinkedHashMap<>(loaded.params().metadata())).isEqualTo(new LinkedHashMap<>(params.metadata()));

        Path again = tmp.resolve("again.ckpt.gguf");
        TrainerCheckpoint.save(again, loaded);
        assertThat(Files.readAllBytes(again)).as("the same state saves to the same bytes").isEqualTo(Files.readAllBytes(ckpt));

        try (LlamaTrainer resumed = new LlamaTrainer(loaded.params(), 1)) {
            resumed.forwardBackward(batch, LlamaTrainerGradientTest::nll);
            for (LlamaParams.Tensor g : resumed.grads().tensors()) {
                assertThat(bits(g.data())).as("gradient of %s after resuming", g.name()).isEqualTo(bits(gradsBefore.tensor(g.name()).data()));
            }
        }
        Path exportOriginal = tmp.resolve("original.gguf");
        Path exportResumed = tmp.resolve("resumed.gguf");
        LlamaExport.write(params, exportOriginal, GgmlType.F16);
        LlamaExport.write(loaded.params(), exportResumed, GgmlType.F16);
        assertThat(Files.readAllBytes(exportResumed)).isEqualTo(Files.readAllBytes(exportOriginal));
        System.out.printf("checkpoint of %d floats (%d parameter tensors, %d optimizer arrays), %d bytes: loaded bit for bit,"
                + " re-saved byte for byte, gradients after resuming bit for bit%n", floats, params.tensors().size(), optimizer.size(), bytes);
    }

    /**
     * Biases, q/k norms and rope_freqs round-trip too, in the source's order; rope_freqs comes back
     * frozen (not among the trained tensors), and the resumed parameters export to the same bytes.
     */
    @Test
    void biasesQkNormsAndRopeFreqsRoundTripBitForBit() throws IOException {
        LlamaShape shape = new LlamaShape(2, 32, 4, 2, 48, 64, 10_000f, 1e-5f, false);
        List<Path> sources = List.of(
                TrainerTestModels.write(tmp, "ckpt-llama3", shape, Llama3Rope.of(8f, 16), ArchitectureParityTest.LLAMA_BIASES, GgmlType.F32, 4),
                TrainerTestModels.write(tmp, "ckpt-qwen2", shape.withArchitecture(Architecture.QWEN2), null, Set.of(LlamaTensor.OUTPUT_BIAS),
                        GgmlType.F32, 4),
                TrainerTestModels.write(tmp, "ckpt-qwen3", shape.withArchitecture(Architecture.QWEN3).withHeadDim(16), null, Set.of(),
                        GgmlType.F32, 4));
        for (Path source : sources) {
            LlamaParams params = LlamaParams.load(source);
            TrainerTestModels.randomize(params, 6);
            Path ckpt = tmp.resolve(source.getFileName() + ".ckpt");
            TrainerCheckpoint.save(ckpt, new TrainerCheckpoint.State(params, new LinkedHashMap<>(), new LinkedHashMap<>()));
            LlamaParams loaded = TrainerCheckpoint.load(ckpt).params();
            assertThat(loaded.fileTensors()).extracting(LlamaParams.Tensor::name)
                    .containsExactlyElementsOf(params.fileTensors().stream().map(LlamaParams.Tensor::name).toList());
            assertThat(loaded.tensors()).extracting(LlamaParams.Tensor::name)
                    .containsExactlyElementsOf(params.tensors().stream().map(LlamaParams.Tensor::name).toList())
                    .doesNotContain("rope_freqs.weight");
            for (LlamaParams.Tensor t : params.fileTensors()) {
                assertThat(bits(loaded.tensor(t.name()).data())).as(t.name()).isEqualTo(bits(t.data()));
            }
            Path a = tmp.resolve("a.gguf");
            Path b = tmp.resolve("b.gguf");
            LlamaExport.write(params, a, GgmlType.F32);
            LlamaExport.write(loaded, b, GgmlType.F32);
            assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
            System.out.printf("%s: %d tensors (%d trained) through a checkpoint bit for bit: %s%n", source.getFileName(),
                    params.fileTensors().size(), params.tensors().size(), params.fileTensors().stream().map(LlamaParams.Tensor::name)
                            .filter(n -> n.contains("bias") || n.contains("q_norm") || n.contains("rope")).limit(4).toList());
        }
    }

    @Test
    void aModelFileIsNotACheckpoint() {
        Path model = TrainerTestModels.write(tmp, "plain", TrainerTestModels.TINY.shape(), GgmlType.F32, 1);
        assertThatThrownBy(() -> TrainerCheckpoint.load(model))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining(model.toString())
                .hasMessageContaining(TrainerCheckpoint.FORMAT_KEY);
    }

    private static int[] bits(float[] x) {
        int[] b = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            b[i] = Float.floatToRawIntBits(x[i]);
        }
        return b;
    }
}
