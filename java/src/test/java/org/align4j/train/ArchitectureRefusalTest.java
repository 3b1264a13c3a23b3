package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the trainer does not compute is refused when the file is read, naming the file, the
 * architecture and what is missing: gemma2, gemma3 and phi3 (each with the pieces the Java forward
 * lacks), other architectures, RoPE scaling it does not implement, a malformed rope_freqs, a tensor
 * an architecture does not read and a tensor it requires.
 */
class ArchitectureRefusalTest {
    static final LlamaShape SHAPE = new LlamaShape(1, 32, 2, 1, 64, 128, 10_000f, 1e-5f, true);

    @TempDir Path tmp;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
        "gemma2; sandwich norms; soft-capping; GeGLU",
        "gemma3; sandwich norms; q/k norms; sliding-window",
        "phi3;   fused q|k|v;    LongRoPE; gate|up",
    })
    void gemmaAndPhi3AreRefusedNamingTheFileTheArchitectureAndWhatIsMissing(String arch, String piece1, String piece2, String piece3) {
        Path file = rewrite(llama("as-" + arch, null), "as-" + arch + ".gguf", keys -> keys.put("general.architecture", GgufValue.string(arch)), null);
        assertThatThrownBy(() -> LlamaWeights.load(file))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("does not support architecture '" + arch + "'")
                .hasMessageContaining("it implements llama, qwen2, qwen3")
                .hasMessageContaining(piece1).hasMessageContaining(piece2).hasMessageContaining(piece3);
        System.out.println(messageOf(file));
    }

    @Test
    void anotherArchitectureIsRefusedNamingTheOnesImplemented() {
        Path file = rewrite(llama("mamba", null), "mamba.gguf", keys -> keys.put("general.architecture", GgufValue.string("mamba")), null);
        assertThat(messageOf(file)).startsWith(file + ": the Java forward pass does not support architecture 'mamba' (it implements llama, qwen2, qwen3)");
    }

    @Test
    void aRopeFreqsOfTheWrongLengthIsRefusedNamingTheFileAndTheReason() {
        Path source = llama("freqs", Llama3Rope.of(8f, 64));
        Path file = rewrite(source, "short-freqs.gguf", keys -> {}, new float[] {1f, 2f, 4f}); // head width 16 needs 8
        assertThat(messageOf(file)).isEqualTo(file + ": malformed rope_freqs.weight: Llama 3's RoPE frequency factors are one per pair"
                + " of head values, 8 for head width 16, not dims [3]");
    }

    @Test
    void aRopeFreqsFactorThatIsNotPositiveIsRefused() {
        Path source = llama("zero-freqs", Llama3Rope.of(8f, 64));
        Path file = rewrite(source, "zero-freqs.gguf", keys -> {}, new float[] {1f, 1f, 2f, 0f, 8f, 8f, 8f, 8f});
        assertThat(messageOf(file)).startsWith(file + ": malformed rope_freqs.weight: factor 3 is 0.0");
    }

    @Test
    void yarnScalingIsRefused() {
        Path file = rewrite(llama("yarn", null), "yarn.gguf", keys -> {
            keys.put("llama.rope.scaling.type", GgufValue.string("yarn"));
            keys.put("llama.rope.scaling.factor", GgufValue.float32(4f));
        }, null);
        assertThat(messageOf(file)).isEqualTo(file + ": the Java forward pass does not support RoPE scaling 'yarn'"
                + " (it implements linear scaling and Llama 3's rope_freqs)");
    }

    @Test
    void aTensorTheArchitectureDoesNotReadIsRefused() {
        // qwen2's graph passes no frequency factors to RoPE: llama.cpp would not load this file either.
        Path file = rewrite(llama("qwen2-freqs", Llama3Rope.of(8f, 64)), "qwen2-freqs.gguf",
                keys -> {
                    List<String> llamaKeys = keys.keySet().stream().filter(k -> k.startsWith("llama.")).toList();
                    for (String k : llamaKeys) {
                        keys.put("qwen2." + k.substring("llama.".length()), keys.remove(k));
                    }
                    keys.put("general.architecture", GgufValue.string("qwen2"));
                }, null);
        assertThat(messageOf(file)).isEqualTo(file + ": the Java forward pass does not support tensors the qwen2 forward pass does not use: [rope_freqs.weight]");
    }

    @Test
    void aTensorTheArchitectureRequiresIsNamed() {
        Path qwen3 = TrainerTestModels.write(tmp, "qwen3", SHAPE.withArchitecture(Architecture.QWEN3), null, Set.of(), GgmlType.F32, 1);
        Path file = rewrite(qwen3, "no-q-norm.gguf", keys -> {}, null, "blk.0.attn_q_norm.weight");
        assertThat(messageOf(file)).isEqualTo(file + ": qwen3 needs tensor blk.0.attn_q_norm.weight, which the file does not hold");
    }

    private Path llama(String name, Llama3Rope ropeFreqs) {
        return TrainerTestModels.write(tmp, name, SHAPE, ropeFreqs, Set.of(), GgmlType.F32, 1);
    }

    static String messageOf(Path file) {
        try {
            LlamaWeights.load(file);
        } catch (Align4jException e) {
            return e.getMessage();
        }
        throw new AssertionError(file + " was read");
    }

    // Copies a GGUF with its keys edited, rope_freqs replaced by ropeFreqs (unless null) and the named tensors left out.
    private Path rewrite(Path src, String name, Consumer<SequencedMap<String, GgufValue>> editKeys, float[] ropeFreqs, String... drop) {
        Path dst = tmp.resolve(name);
        try (GgufFile f = GgufFile.open(src)) {
            SequencedMap<String, GgufValue> keys = new LinkedHashMap<>(f.metadata());
            editKeys.accept(keys);
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                if (List.of(drop).contains(t.name())) {
                    continue;
                }
                if (t.name().equals("rope_freqs.weight") && ropeFreqs != null) {
                    tensors.add(new GgufWriter.Tensor(t.name(), GgmlType.F32, new long[] {ropeFreqs.length},
                            to -> GgmlQuants.quantize(GgmlType.F32, ropeFreqs, to)));
                    continue;
                }
                MemorySegment data = f.tensorData(t.name());
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), to -> MemorySegment.copy(data, 0, to, 0, to.byteSize())));
            }
            GgufWriter.write(dst, keys, tensors);
        }
        return dst;
    }
}
