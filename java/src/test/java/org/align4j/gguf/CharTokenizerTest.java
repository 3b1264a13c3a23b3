package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in character tokenizer's metadata and the demo preset that uses it (llama.cpp's view: DemoModelTest). */
class CharTokenizerTest {
    @TempDir Path dir;

    @Test
    void layoutIsSpecialsThenOneTokenPerByte() {
        TokenizerMetadata t = CharTokenizer.metadata();
        String[] tokens = t.keys().get(TokenizerMetadata.TOKENS_KEY).asStringArray();
        int[] types = (int[]) t.keys().get("tokenizer.ggml.token_type").value();
        assertThat(t.vocabSize()).isEqualTo(259).isEqualTo(CharTokenizer.VOCAB_SIZE);
        assertThat(new HashSet<>(Arrays.asList(tokens))).as("token texts are unique").hasSize(tokens.length);
        assertThat(Arrays.copyOf(tokens, 3)).containsExactly("<unk>", "<s>", "</s>");
        assertThat(Arrays.copyOf(types, 3)).containsExactly(2, 3, 3);
        assertThat(tokens[CharTokenizer.tokenOf((byte) '0')]).isEqualTo("0");
        assertThat(tokens[CharTokenizer.tokenOf((byte) '+')]).isEqualTo("+");
        assertThat(tokens[CharTokenizer.tokenOf((byte) '=')]).isEqualTo("=");
        assertThat(tokens[CharTokenizer.tokenOf((byte) '~')]).isEqualTo("~");
        assertThat(tokens[CharTokenizer.tokenOf((byte) ' ')]).isEqualTo("\u2581");
        assertThat(tokens[CharTokenizer.tokenOf((byte) '\n')]).isEqualTo("<0x0A>");
        assertThat(tokens[CharTokenizer.tokenOf((byte) 0x7F)]).isEqualTo("<0x7F>");
        assertThat(tokens[CharTokenizer.tokenOf((byte) 0xC3)]).isEqualTo("<0xC3>");
        assertThat(types[CharTokenizer.tokenOf((byte) 'a')]).isEqualTo(1);
        assertThat(types[CharTokenizer.tokenOf((byte) 0xFF)]).isEqualTo(6);
        assertThat(Arrays.stream(types).filter(x -> x == 1).count()).as("printable ASCII and space").isEqualTo(95);
        for (int i = 0; i < tokens.length; i++) {
            assertThat(tokens[i].length() == 2).as("no two-character token (SPM would merge into it): %s", tokens[i]).isFalse();
        }
        assertThat(t.keys().get("tokenizer.ggml.model").asString()).isEqualTo("llama");
        assertThat(t.keys().get("tokenizer.ggml.add_space_prefix").asBoolean()).isFalse();
        assertThat(t.keys().get("tokenizer.ggml.add_bos_token").asBoolean()).isTrue();
        assertThat(t.keys().get("tokenizer.ggml.add_eos_token").asBoolean()).isFalse();
        assertThat(TokenizerMetadata.named(CharTokenizer.NAME)).isEqualTo(t);
    }

    @Test
    void demoPresetWritesTheCharTokenizerAndItsShape() {
        SynthPreset demo = SynthPreset.named("demo");
        Path out = dir.resolve("demo.gguf");
        SyntheticLlama.Result r = SyntheticLlama.write(out, "demo", demo.shape(), demo.tokenizer(), GgmlType.F32, 1);
        assertThat(r.vocabSize()).isEqualTo(259);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("llama.vocab_size")).isEqualTo(259);
            assertThat(f.integer("llama.block_count")).isEqualTo(4);
            assertThat(f.integer("llama.embedding_length")).isEqualTo(128);
            assertThat(f.integer("llama.context_length")).as("llama.cpp pads contexts to 256").isEqualTo(256);
            assertThat(f.tensor("token_embd.weight").dims()).containsExactly(128, 259);
            assertThat(f.tensors()).extracting(GgufTensorInfo::name).doesNotContain("output.weight");
            Map<String, GgufValue> written = new LinkedHashMap<>();
            f.metadata().forEach((k, v) -> {
                if (k.startsWith(TokenizerMetadata.PREFIX)) {
                    written.put(k, v);
                }
            });
            assertThat(written).containsExactlyEntriesOf(CharTokenizer.metadata().keys());
        }
        System.out.printf("demo preset: %d parameters, %d bytes as F32%n", r.parameters(), r.fileBytes());
    }

    @Test
    void aVocabFileAndItsTokenizerMetadataWriteTheSameModel() throws IOException {
        Path vocab = VocabFiles.named("llama-spm");
        LlamaShape shape = new LlamaShape(1, 32, 2, 1, 64, 128, 10_000f, 1e-5f, true);
        SyntheticLlama.write(dir.resolve("a.gguf"), "x", shape, vocab, GgmlType.F16, 3);
        SyntheticLlama.write(dir.resolve("b.gguf"), "x", shape, TokenizerMetadata.fromFile(vocab), GgmlType.F16, 3);
        assertThat(Arrays.mismatch(Files.readAllBytes(dir.resolve("a.gguf")), Files.readAllBytes(dir.resolve("b.gguf")))).isEqualTo(-1);
    }
}
