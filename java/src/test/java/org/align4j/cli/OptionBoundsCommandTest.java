package org.align4j.cli;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.gguf.GgmlType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Options far out of range end in a message that names the option, not in a crash: {@code --threads
 * 20000} was handed to llama.cpp (from the launcher it segfaulted, exit 139; in this JVM it started 20000
 * threads per decode), {@code -n} and {@code --candidates} of 2147483647 ended in an OutOfMemoryError.
 */
class OptionBoundsCommandTest {
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() {
        model = TestModels.tiny(models, GgmlType.F32, 1);
    }

    Path prompts() throws IOException {
        return JsonlFiles.write(tmp.resolve("prompts.jsonl"), List.of("{\"id\": \"p1\", \"prompt\": \"2 + 2 =\"}"));
    }

    Path pairs() throws IOException {
        return JsonlFiles.write(tmp.resolve("pairs.jsonl"),
                List.of("{\"id\": \"r1\", \"prompt\": \"What is 2+2?\", \"chosen\": \" 4\", \"rejected\": \" 5\"}"));
    }

    @Test
    void tooManyThreadsIsAUsageErrorForEveryCommandThatRunsLlamaCpp() throws IOException {
        String p = prompts().toString();
        List<List<String>> commands = List.of(
                List.of("sample", "-m", model.toString(), "-i", p, "-n", "1", "--max-tokens", "2"),
                List.of("bon", "-m", model.toString(), "-i", p, "-n", "1", "--max-tokens", "2", "--reward", "regex:4"),
                List.of("rso", "-m", model.toString(), "-i", p, "--candidates", "2", "--accept", "2", "--max-tokens", "2",
                        "--reward", "regex:4"),
                List.of("score", "-m", model.toString(), "-i", pairs().toString()));
        for (List<String> c : commands) {
            Path out = tmp.resolve(c.getFirst() + ".jsonl");
            CliRun r = run(c, "-o", out.toString(), "--quiet", "--threads", "20000");
            assertThat(r.exit()).as(c.getFirst() + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains("--threads 20000 is more than the 512 threads");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void trainingCommandsRefuseTooManyThreadsAsAUsageError() throws IOException {
        Path out = tmp.resolve("m2.gguf");
        CliRun dpo = CliRun.of("dpo", "--policy", model.toString(), "--data", pairs().toString(), "--out", out.toString(),
                "--quiet", "--max-steps", "1", "--threads", "20000");
        assertThat(dpo.exit()).as(dpo.err()).isEqualTo(2);
        assertThat(dpo.err()).contains("threads 20000 is more than the 512 threads");
        assertThat(out).doesNotExist();

        Path loopOut = tmp.resolve("loop");
        CliRun loop = CliRun.of("loop", "--policy", model.toString(), "-i", prompts().toString(), "--out", loopOut.toString(),
                "--reward", "regex:4", "--quiet", "--rounds", "1", "-n", "2", "--max-tokens", "2", "--train-threads", "20000");
        assertThat(loop.exit()).as(loop.err()).isEqualTo(2);
        assertThat(loop.err()).contains("threads 20000 is more than the 512 threads");
        assertThat(loopOut).doesNotExist();
    }

    @Test
    void tooManyCompletionsPerPromptIsRefusedBeforeAnyIsSampled() throws IOException {
        String p = prompts().toString();
        List<List<String>> commands = List.of(
                List.of("sample", "-m", model.toString(), "-i", p),
                List.of("bon", "-m", model.toString(), "-i", p, "--reward", "regex:4"));
        for (List<String> c : commands) {
            Path out = tmp.resolve(c.getFirst() + ".jsonl");
            CliRun r = run(c, "-o", out.toString(), "--quiet", "--threads", "1", "--max-tokens", "2", "-n", "2147483647");
            assertThat(r.exit()).as(c.getFirst() + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains("-n 2147483647 completions").contains("more than the Java heap").contains("lower -n");
            assertThat(out).doesNotExist();
        }
        Path out = tmp.resolve("rso.jsonl");
        CliRun rso = CliRun.of("rso", "-m", model.toString(), "-i", p, "-o", out.toString(), "--quiet", "--threads", "1",
                "--max-tokens", "2", "--reward", "regex:4", "--accept", "2", "--candidates", "2147483647");
        assertThat(rso.exit()).as(rso.err()).isEqualTo(2);
        assertThat(rso.err()).contains("--candidates 2147483647 completions").contains("lower --candidates")
                .doesNotContain("OutOfMemoryError");
        assertThat(out).doesNotExist();

        Path loopOut = tmp.resolve("loop");
        CliRun loop = CliRun.of("loop", "--policy", model.toString(), "-i", p, "--out", loopOut.toString(), "--reward", "regex:4",
                "--quiet", "--threads", "1", "--rounds", "1", "--max-tokens", "2", "-n", "2147483647");
        assertThat(loop.exit()).as(loop.err()).isEqualTo(2);
        assertThat(loop.err()).contains("-n 2147483647 completions").contains("lower -n");
        assertThat(loopOut).doesNotExist();
    }

    private static CliRun run(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return CliRun.of(all.toArray(String[]::new));
    }
}
