package org.align4j.cli;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.gguf.GgmlType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Commands that run llama.cpp say its backend once at start-up and refuse GPU layers on the CPU build. */
class BackendCommandTest {
    static final String PREFIX = "align4j: backend ";
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() {
        model = TestModels.tiny(models, GgmlType.F32, 1);
    }

    /** ggml-cpu's device description on Linux, read independently: /proc/cpuinfo's first "model name", trimmed. */
    static String cpuModelName() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("CPU");
    }

    CliRun sample(Path out, String... extra) throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("prompts.jsonl"), List.of("{\"prompt\": \"Once upon a time\"}"));
        List<String> args = new ArrayList<>(List.of("sample", "-m", model.toString(), "-i", in.toString(),
                "-o", out.toString(), "-n", "2", "--max-tokens", "4", "--threads", "1", "--ctx", "64"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static List<String> backendLines(String err) {
        return err.lines().filter(l -> l.contains("backend")).toList();
    }

    @Test
    void commandsThatRunLlamaSayTheBackendOnce() throws IOException {
        String expected = PREFIX + "CPU (" + cpuModelName() + ")";
        System.out.println("expected: " + expected);
        CliRun sample = sample(tmp.resolve("out.jsonl"));
        CliRun quiet = sample(tmp.resolve("quiet.jsonl"), "--quiet");
        CliRun tokenize = CliRun.of("tokenize", "-m", model.toString(), "hello");
        for (CliRun r : List.of(sample, quiet, tokenize)) {
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(backendLines(r.err())).containsExactly(expected);
            assertThat(r.err().lines().findFirst()).as("said first").hasValue(expected);
        }

        CliRun info = CliRun.of("info", model.toString());
        assertThat(info.exit()).as(info.err()).isZero();
        assertThat(info.out()).contains("backend:        CPU (" + cpuModelName() + ")");
    }

    @Test
    void helpAndUsageErrorsSayNoBackend() {
        CliRun help = CliRun.of("sample", "--help");
        assertThat(help.exit()).isZero();
        CliRun usage = CliRun.of("sample", "-m", model.toString());
        assertThat(usage.exit()).as(usage.err()).isEqualTo(2);
        CliRun attach = CliRun.of("rm", "attach", "--help");
        for (CliRun r : List.of(help, usage, attach)) {
            assertThat(backendLines(r.err())).isEmpty();
        }
    }

    @Test
    void gpuLayersOnTheCpuBuildAreRefused() throws IOException {
        for (String layers : List.of("1", "-1")) {
            Path out = tmp.resolve("gpu" + layers + ".jsonl");
            CliRun r = sample(out, "--gpu-layers", layers);
            System.out.println("--gpu-layers " + layers + ": " + r.err().lines().filter(l -> l.contains("error")).findFirst().orElse(r.err()));
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains("align4j sample: error: --gpu-layers " + layers + " asks for a GPU")
                    .contains("is CPU-only").contains("make cuda").doesNotContain("\tat ").doesNotContain("Exception");
            assertThat(out).as("nothing written").doesNotExist();
        }
        Path out = tmp.resolve("cpu.jsonl");
        CliRun cpu = sample(out, "--gpu-layers", "0");
        assertThat(cpu.exit()).as(cpu.err()).isZero();
        assertThat(JsonlFiles.read(out)).hasSize(1);
    }
}
