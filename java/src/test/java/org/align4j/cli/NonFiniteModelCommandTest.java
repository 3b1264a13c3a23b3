package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.gguf.BrokenModels;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code score} and {@code sample} on a model whose logits are NaN (its final norm's weights are): a
 * failure (exit 1) whose message names the model file, and for {@code sample} the record, instead of
 * {@code "NaN"} in the output (score) or an internal error with a stack trace (sample).
 */
class NonFiniteModelCommandTest {
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path good;
    static Path nan;

    @BeforeAll
    static void writeModels() {
        SynthPreset tiny = SynthPreset.named("tiny");
        good = models.resolve("good.gguf");
        SyntheticLlama.write(good, "good", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        nan = BrokenModels.allLogitsNaN(good, models.resolve("nan-weights.gguf"));
    }

    @Test
    void scoreFailsNamingTheModelAndWritesNoNaN() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"),
                List.of("{\"id\": \"r1\", \"prompt\": \"What is 2+2?\", \"chosen\": \" 4\", \"rejected\": \" 5\"}"));
        for (String[] models : new String[][] {{"-m", nan.toString()}, {"-m", good.toString(), "-r", nan.toString()}}) {
            Path out = tmp.resolve("out-" + models.length + ".jsonl");
            CliRun r = CliRun.of(concat(models, "score", "-i", in.toString(), "-o", out.toString(), "--quiet", "--threads", "1"));
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains("error: model " + nan).contains("non-finite logits").doesNotContain("internal error");
            assertThat(Files.exists(out) ? Files.readString(out) : "").doesNotContain("NaN").doesNotContain("Infinity");
        }
    }

    @Test
    void sampleFailsNamingTheModelAndTheRecordAndWritesNothingForIt() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("prompts.jsonl"), List.of("{\"id\": \"p-17\", \"prompt\": \"Once upon a time\"}"));
        for (String temperature : List.of("1", "0")) {
            Path out = tmp.resolve("out-" + temperature + ".jsonl");
            CliRun r = CliRun.of("sample", "-m", nan.toString(), "-i", in.toString(), "-o", out.toString(), "--quiet",
                    "--threads", "1", "--ctx", "64", "--seqs", "2", "--batch-tokens", "16", "-n", "2", "--max-tokens", "4",
                    "--temperature", temperature);
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains("error: model " + nan).contains("\"p-17\"").doesNotContain("internal error");
            assertThat(Files.exists(out) ? Files.readString(out) : "").isEmpty();
        }
    }

    private static String[] concat(String[] models, String command, String... rest) {
        String[] all = new String[1 + models.length + rest.length];
        all[0] = command;
        System.arraycopy(models, 0, all, 1, models.length);
        System.arraycopy(rest, 0, all, 1 + models.length, rest.length);
        return all;
    }
}
