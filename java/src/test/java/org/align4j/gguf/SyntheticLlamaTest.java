package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticLlamaTest {
    @TempDir Path dir;

    private static final SynthPreset TINY = SynthPreset.named("tiny");

    private Path tiny(String file, GgmlType type, long seed) {
        Path out = dir.resolve(file);
        SyntheticLlama.write(out, "tiny", TINY.shape(), VocabFiles.named(TINY.vocab()), type, seed);
        return out;
    }

    @Test
    void tinyHasLlamaKeysAndNe0FirstShapes() {
        Path model = tiny("tiny.gguf", GgmlType.Q8_0, 1);
        try (GgufFile f = GgufFile.open(model)) {
            assertThat(f.string("general.architecture")).isEqualTo("llama");
            assertThat(f.string("general.name")).isEqualTo("tiny");
            assertThat(f.integer("llama.context_length")).isEqualTo(512);
            assertThat(f.integer("llama.embedding_length")).isEqualTo(64);
            assertThat(f.integer("llama.block_count")).isEqualTo(2);
            assertThat(f.integer("llama.feed_forward_length")).isEqualTo(128);
            assertThat(f.integer("llama.attention.head_count")).isEqualTo(4);
            assertThat(f.integer("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.integer("llama.rope.dimension_count")).isEqualTo(16);
            assertThat(f.number("llama.rope.freq_base")).isEqualTo(10_000.0);
            assertThat(f.number("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
            assertThat(f.integer("llama.vocab_size")).isEqualTo(32000);
            assertThat(f.integer("general.file_type")).isEqualTo(7);

            Map<String, String> shapes = new LinkedHashMap<>();
            for (GgufTensorInfo t : f.tensors()) {
                shapes.put(t.name(), t.type() + Arrays.toString(t.dims()));
            }
            assertThat(shapes).hasSize(21).containsAllEntriesOf(Map.of(
                    "token_embd.weight", "Q8_0[64, 32000]",
                    "output.weight", "Q8_0[64, 32000]",
                    "output_norm.weight", "F32[64]",
                    "blk.1.attn_norm.weight", "F32[64]",
                    "blk.1.attn_q.weight", "Q8_0[64, 64]",
                    "blk.1.attn_k.weight", "Q8_0[64, 32]",
                    "blk.1.attn_v.weight", "Q8_0[64, 32]",
                    "blk.1.attn_output.weight", "Q8_0[64, 64]",
                    "blk.1.ffn_gate.weight", "Q8_0[64, 128]",
                    "blk.1.ffn_down.weight", "Q8_0[128, 64]"));
            assertThat(shapes).containsEntry("blk.0.ffn_up.weight", "Q8_0[64, 128]").containsEntry("blk.0.ffn_norm.weight", "F32[64]");
        }
    }

    @Test
    void weightsAreNormalWithStd002AndNormsAreOne() {
        Path model = tiny("stats.gguf", GgmlType.F32, 5);
        try (GgufFile f = GgufFile.open(model)) {
            float[] w = new float[64 * 32000];
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("token_embd.weight"), w);
            double sum = 0;
            double sumSq = 0;
            for (float v : w) {
                sum += v;
                sumSq += v * v;
            }
            double mean = sum / w.length;
            double std = Math.sqrt(sumSq / w.length - mean * mean);
            System.out.printf("token_embd: mean %.2e, std %.5f (expected 0 and %.2f, tolerance 1e-4 and 2e-4)%n", mean, std, SyntheticLlama.WEIGHT_STD);
            assertThat(Math.abs(mean)).isLessThan(1e-4);
            assertThat(Math.abs(std - SyntheticLlama.WEIGHT_STD)).isLessThan(2e-4);

            float[] norm = new float[64];
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("blk.0.attn_norm.weight"), norm);
            assertThat(norm).containsOnly(1.0f);
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws IOException {
        byte[] a = Files.readAllBytes(tiny("a.gguf", GgmlType.Q8_0, 42));
        byte[] b = Files.readAllBytes(tiny("b.gguf", GgmlType.Q8_0, 42));
        byte[] c = Files.readAllBytes(tiny("c.gguf", GgmlType.Q8_0, 43));
        assertThat(Arrays.mismatch(a, b)).as("first byte where seed 42 twice differs").isEqualTo(-1);
        assertThat(c.length).isEqualTo(a.length);
        assertThat(Arrays.mismatch(a, c)).as("first byte where seeds 42 and 43 differ").isNotEqualTo(-1);
    }

    @Test
    void tokenizerMetadataIsCopiedVerbatim() {
        Path model = tiny("tok.gguf", GgmlType.F16, 1);
        try (GgufFile m = GgufFile.open(model); GgufFile v = GgufFile.open(VocabFiles.named(TINY.vocab()))) {
            Map<String, GgufValue> fromVocab = new LinkedHashMap<>();
            v.metadata().forEach((k, val) -> {
                if (k.startsWith("tokenizer.")) {
                    fromVocab.put(k, val);
                }
            });
            Map<String, GgufValue> fromModel = new LinkedHashMap<>();
            m.metadata().forEach((k, val) -> {
                if (k.startsWith("tokenizer.")) {
                    fromModel.put(k, val);
                }
            });
            assertThat(fromVocab).containsKeys("tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores");
            assertThat(fromModel).containsExactlyEntriesOf(fromVocab);
            assertThat(m.integer("llama.vocab_size")).isEqualTo(v.arrayLength("tokenizer.ggml.tokens"));
            assertThat(m.tensor("token_embd.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(m.tensor("output_norm.weight").type()).isEqualTo(GgmlType.F32);
        }
    }

    @Test
    void tiedOutputHasNoOutputTensor() {
        LlamaShape tied = new LlamaShape(1, 32, 2, 1, 64, 128, 10_000f, 1e-5f, true);
        Path out = dir.resolve("tied.gguf");
        SyntheticLlama.Result r = SyntheticLlama.write(out, "tied", tied, VocabFiles.named("llama-spm"), GgmlType.F16, 0);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.tensors()).extracting(GgufTensorInfo::name).doesNotContain("output.weight").hasSize(11);
            assertThat(r.parameters()).isEqualTo(f.tensors().stream().mapToLong(GgufTensorInfo::elementCount).sum());
            assertThat(r.parameters()).isEqualTo(32L * 32000 + 32 + 2 * 32 + 32 * 32 * 2 + 2 * 32 * 16 + 3 * 32 * 64);
        }
    }

    @Test
    void small10mHasAbout10MParametersMostlyInTheBlocks() {
        SynthPreset p = SynthPreset.named("small-10m");
        Path out = dir.resolve("small.gguf");
        SyntheticLlama.Result r = SyntheticLlama.write(out, p.name(), p.shape(), VocabFiles.named(p.vocab()), GgmlType.Q8_0, 0);
        long embd = 32000L * 128;
        System.out.printf("small-10m: %d parameters, %d in token_embd (tied output), %d in blocks%n",
                r.parameters(), embd, r.parameters() - embd - 128);
        assertThat(r.parameters()).isEqualTo(9_868_928L);
        assertThat(r.parameters() - embd - 128).isGreaterThan(r.parameters() / 2);
    }

    @Test
    void q8_0RefusesRowsThatAreNotWholeBlocksBeforeWriting() {
        LlamaShape shape = new LlamaShape(1, 48, 2, 1, 64, 128, 10_000f, 1e-5f, true);
        Path out = dir.resolve("never.gguf");
        assertThatThrownBy(() -> SyntheticLlama.write(out, "x", shape, Path.of("unused"), GgmlType.Q8_0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embd must be a multiple of 32 (it is 48)");
        assertThat(out).doesNotExist();
    }

    @Test
    void qwen2HasQwen2KeysAndQkvBiases() {
        LlamaShape shape = new LlamaShape(2, 64, 4, 2, 128, 256, 1_000_000f, 1e-6f, true).withArchitecture(Architecture.QWEN2);
        Path out = dir.resolve("qwen2.gguf");
        SyntheticLlama.write(out, "q2", shape, TokenizerMetadata.named("llama-spm"), GgmlType.F16, 1);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.string("general.architecture")).isEqualTo("qwen2");
            assertThat(f.integer("qwen2.block_count")).isEqualTo(2);
            assertThat(f.number("qwen2.rope.freq_base")).isEqualTo(1e6);
            assertThat(f.has("llama.block_count")).isFalse();
            assertThat(f.has("qwen2.attention.key_length")).as("the head width is C / H").isFalse();
            Map<String, String> shapes = shapes(f);
            assertThat(shapes).hasSize(1 + 2 * 12 + 1).doesNotContainKey("output.weight").containsAllEntriesOf(Map.of(
                    "blk.1.attn_q.bias", "F32[64]",
                    "blk.1.attn_k.bias", "F32[32]",
                    "blk.1.attn_v.bias", "F32[32]",
                    "blk.1.attn_q.weight", "F16[64, 64]"));
            float[] bias = new float[64];
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("blk.0.attn_q.bias"), bias);
            assertThat(bias).as("random, not zero").doesNotContain(0f);
        }
    }

    @Test
    void qwen3HasQkNormsAndItsOwnHeadWidth() {
        LlamaShape shape = new LlamaShape(1, 64, 4, 2, 128, 256, 1_000_000f, 1e-6f, false).withArchitecture(Architecture.QWEN3).withHeadDim(32);
        Path out = dir.resolve("qwen3.gguf");
        SyntheticLlama.write(out, "q3", shape, TokenizerMetadata.named("llama-spm"), GgmlType.F32, 1);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.string("general.architecture")).isEqualTo("qwen3");
            assertThat(f.integer("qwen3.attention.key_length")).isEqualTo(32);
            assertThat(f.integer("qwen3.attention.value_length")).isEqualTo(32);
            assertThat(f.integer("qwen3.rope.dimension_count")).isEqualTo(32);
            assertThat(shapes(f)).hasSize(1 + 11 + 2).containsAllEntriesOf(Map.of(
                    "blk.0.attn_q.weight", "F32[64, 128]",
                    "blk.0.attn_k.weight", "F32[64, 64]",
                    "blk.0.attn_output.weight", "F32[128, 64]",
                    "blk.0.attn_q_norm.weight", "F32[32]",
                    "blk.0.attn_k_norm.weight", "F32[32]",
                    "output.weight", "F32[64, 32000]"));
            float[] norm = new float[32];
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("blk.0.attn_k_norm.weight"), norm);
            assertThat(norm).containsOnly(1f);
        }
    }

    /**
     * Llama 3.2's scaling over heads of width 64 and base 5e5: wavelengths 2 pi 5e5^(p/32) under
     * 8192 / 4 keep their frequency (p = 0..14), those over 8192 are divided by 32 (p = 18..31), the
     * three between are interpolated; written first, F32 [32], as llama.cpp's converter does.
     */
    @Test
    void llama3RopeScalingIsARopeFreqsTensorAndLinearScalingTwoKeys() {
        LlamaShape shape = new LlamaShape(1, 128, 2, 1, 128, 256, 500_000f, 1e-5f, true).withRopeLinearFactor(2f);
        Path out = dir.resolve("llama3.gguf");
        SyntheticLlama.write(out, "l3", shape, Llama3Rope.LLAMA_3_2, TokenizerMetadata.named("llama-spm"), GgmlType.F16, 1);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.tensors().getFirst().name()).isEqualTo("rope_freqs.weight");
            assertThat(shapes(f)).containsEntry("rope_freqs.weight", "F32[32]");
            float[] factors = new float[32];
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("rope_freqs.weight"), factors);
            assertThat(java.util.Arrays.copyOfRange(factors, 0, 15)).containsOnly(1f);
            assertThat(java.util.Arrays.copyOfRange(factors, 18, 32)).containsOnly(32f);
            for (int p = 15; p < 18; p++) {
                assertThat(factors[p]).isStrictlyBetween(factors[p - 1], 32f);
            }
            assertThat(factors).isEqualTo(Llama3Rope.LLAMA_3_2.freqFactors(64, 500_000f));
            assertThat(f.string("llama.rope.scaling.type")).isEqualTo("linear");
            assertThat(f.number("llama.rope.scaling.factor")).isEqualTo(2.0);
        }
        assertThatThrownBy(() -> SyntheticLlama.write(dir.resolve("x.gguf"), "x", shape.withArchitecture(Architecture.QWEN2),
                Llama3Rope.LLAMA_3_2, TokenizerMetadata.named("llama-spm"), GgmlType.F16, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qwen2 has no rope_freqs");
    }

    /** The public models' presets carry their architecture and config.json's hyper-parameters. */
    @Test
    void publicModelPresetsCarryTheirArchitecture() {
        LlamaShape qwen25 = SynthPreset.named("qwen2.5-0.5b").shape();
        assertThat(qwen25).isEqualTo(new LlamaShape(Architecture.QWEN2, 24, 896, 14, 2, 64, 4864, 32_768, 1e6f, 1f, 1e-6f, true));
        LlamaShape qwen3 = SynthPreset.named("qwen3-0.6b").shape();
        assertThat(qwen3).isEqualTo(new LlamaShape(Architecture.QWEN3, 28, 1024, 16, 8, 128, 3072, 40_960, 1e6f, 1f, 1e-6f, true));
        assertThat(qwen3.queryWidth()).isEqualTo(2048);
        assertThat(SynthPreset.named("qwen3-0.6b").vocab()).isEqualTo("qwen2");
        SynthPreset llama = SynthPreset.named("llama-3.2-1b");
        assertThat(llama.shape()).isEqualTo(new LlamaShape(Architecture.LLAMA, 16, 2048, 32, 8, 64, 8192, 131_072, 5e5f, 1f, 1e-5f, true));
        assertThat(llama.ropeFreqs()).isEqualTo(new Llama3Rope(32f, 1f, 4f, 8192));
    }

    private static Map<String, String> shapes(GgufFile f) {
        Map<String, String> shapes = new LinkedHashMap<>();
        for (GgufTensorInfo t : f.tensors()) {
            shapes.put(t.name(), t.type() + Arrays.toString(t.dims()));
        }
        return shapes;
    }

    @Test
    void missingLlamaSourcePropertyIsAClearError() {
        String saved = System.clearProperty(VocabFiles.LLAMA_SRC_PROPERTY);
        try {
            assertThatThrownBy(() -> VocabFiles.named("llama-spm")).isInstanceOf(Align4jException.class)
                    .hasMessageContaining(VocabFiles.LLAMA_SRC_PROPERTY).hasMessageContaining("not set");
        } finally {
            if (saved != null) {
                System.setProperty(VocabFiles.LLAMA_SRC_PROPERTY, saved);
            }
        }
        assertThatThrownBy(() -> VocabFiles.named("no-such-vocab")).isInstanceOf(Align4jException.class)
                .hasMessageContaining("ggml-vocab-no-such-vocab.gguf");
    }
}
