package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
    @TempDir Path dir;

    @Test
    void describesATinyModel() {
        Path model = dir.resolve("tiny.gguf");
        SynthPreset tiny = SynthPreset.named("tiny");
        SyntheticLlama.write(model, "tiny-info", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.Q8_0, 0);

        CliRun r = CliRun.of("info", model.toString());

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains(model.toString())
                .contains("architecture:   llama")
                .contains("name:           tiny-info")
                .contains("tensors:        21 (F32: 5, Q8_0: 16)")
                .contains("vocab size:     32000")
                .contains("tokenizer:      llama (SPM)")
                .contains("context length: 512")
                .contains("embedding:      64")
                .contains("layers:         2")
                .contains("heads:          4 (KV heads: 2)")
                .contains("chat template:  no")
                .contains("file type:      MOSTLY_Q8_0 (7)");
    }

    @Test
    void reportsAChatTemplateAndBpeTokenizerFromARealVocab() {
        CliRun r = CliRun.of("info", VocabFiles.named("qwen2").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("tokenizer:      gpt2 (BPE)").contains("chat template:  yes").contains("tensors:        0");
    }

    @Test
    void perLayerHyperParametersAreShownNotRefused() {
        CliRun r = CliRun.of("info", VocabFiles.named("gemma-4").toString()); // gemma4.attention.head_count_kv is an array
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("(KV heads: per layer: ARRAY of INT32[");
    }

    @Test
    void missingFileExitsOneNamingThePath() {
        Path missing = dir.resolve("missing.gguf");
        CliRun r = CliRun.of("info", missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("error:").contains(missing.toString());
    }

    @Test
    void corruptFileExitsOneNamingThePath() throws IOException {
        Path corrupt = dir.resolve("corrupt.gguf");
        Files.writeString(corrupt, "GGUF\u0003\u0000\u0000\u0000 truncated");
        CliRun r = CliRun.of("info", corrupt.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("error:").contains(corrupt.toString()).contains("byte offset");
    }

    @Test
    void noModelIsAUsageError() {
        CliRun r = CliRun.of("info");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("MODEL.gguf");
    }
}
