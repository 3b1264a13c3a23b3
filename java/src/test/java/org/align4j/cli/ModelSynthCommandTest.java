package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSynthCommandTest {
    @TempDir Path dir;

    @Test
    void presetTinyWritesALoadableFileAndASummaryLine() {
        Path out = dir.resolve("tiny.gguf");
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--type", "q8_0", "--seed", "7", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith(out + ": 4.17M params, Q8_0, ").endsWith("MiB").doesNotContain("\n");
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(f.string("general.name")).isEqualTo("align4j-synth-tiny");
        }
    }

    @Test
    void presetDemoUsesTheBuiltInCharacterTokenizer() {
        Path out = dir.resolve("demo.gguf");
        CliRun r = CliRun.of("model", "synth", "--preset", "demo", "--type", "f32", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith(out + ": 820.74K params, F32, ");
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.string("general.name")).isEqualTo("align4j-synth-demo");
            assertThat(f.string("tokenizer.ggml.model")).isEqualTo("llama");
            assertThat(f.arrayLength("tokenizer.ggml.tokens")).isEqualTo(259);
        }
    }

    @Test
    void shapeOptionsWithTheCharVocab() {
        Path out = dir.resolve("char.gguf");
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "32", "--heads", "2", "--ffn", "64",
                "--vocab", "char", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("llama.vocab_size")).isEqualTo(259);
        }
    }

    @Test
    void shapeOptionsWithAVocabFile() {
        Path out = dir.resolve("custom.gguf");
        String vocab = System.getProperty("align4j.llama.src") + "/models/ggml-vocab-llama-spm.gguf";
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "32", "--heads", "2", "--ffn", "64",
                "--vocab-file", vocab, "--rope-theta", "500000", "--untied-output", "--type", "f32", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.number("llama.rope.freq_base")).isEqualTo(500_000.0);
            assertThat(f.tensor("output.weight").dims()).containsExactly(32, 32000);
        }
    }

    @Test
    void unknownPresetIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "gpt-5", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown preset 'gpt-5'").contains("tiny, qwen2.5-0.5b, llama-3.2-1b, demo");
        assertThat(dir.resolve("x.gguf")).doesNotExist();
    }

    @Test
    void unknownTypeIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--type", "q4_k", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("expected f32, f16 or q8_0, not 'q4_k'");
    }

    @Test
    void presetAndShapeTogetherIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--layers", "2", "--embd", "64", "--heads", "4",
                "--ffn", "128", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("mutually exclusive");
    }

    @Test
    void q8_0WithRowsThatAreNotWholeBlocksIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "48", "--heads", "2", "--ffn", "64",
                "--type", "q8_0", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("embd must be a multiple of 32 (it is 48)");
    }
}
