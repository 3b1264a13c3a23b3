package org.align4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options every harness takes (the checkout, native build, rounds, scratch folder, report)
 * and what they locate: ./align4j, llama-batched-bench and the synthetic models. The harness's name sets the
 * defaults and its make target, {@code bench-NAME}.
 */
final class BenchOptions {
    @Spec(Spec.Target.MIXEE) CommandSpec spec;

    @Option(names = "--root", description = "the align4j checkout (./align4j built; build/native/bin for the llama.cpp baselines)")
    Path root = Path.of(".");

    @Option(names = "--native", paramLabel = "DIR",
            description = "the native build: llama-batched-bench, and the libraries ./align4j runs on (ALIGN4J_NATIVE_DIR); default: build/native/bin")
    Path nativeDir;

    @Option(names = "--rounds", description = "rounds, interleaved; the report gives means (default: ${DEFAULT-VALUE})")
    int rounds = 2;

    @Option(names = "--work", description = "scratch folder for models, workloads, outputs and logs (default: ${DEFAULT-VALUE})")
    Path work;

    @Option(names = "--report", description = "the markdown report (default: ${DEFAULT-VALUE})")
    Path report;

    final String name;

    BenchOptions(String name) {
        this.name = name;
        this.work = Path.of("build/bench", name);
        this.report = Path.of("benchmarks/results", name + ".md");
    }

    String align4j() {
        return root.resolve("align4j").toString();
    }

    String batchedBench() {
        return nativeDirectory().resolve("llama-batched-bench").toString();
    }

    private Path nativeDirectory() {
        return nativeDir != null ? nativeDir.toAbsolutePath() : root.resolve("build/native/bin");
    }

    /** Whether --native names a build (else the default CPU build). */
    boolean nativeGiven() {
        return nativeDir != null;
    }

    /** Runs {@code command} as a child with --native as align4j's native folder; its output goes to {@code log}. */
    ChildRun run(List<String> command, Path log) {
        return run(command, Map.of(), log);
    }

    /** As {@link #run(List, Path)}, with {@code environment} set too. */
    ChildRun run(List<String> command, Map<String, String> environment, Path log) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        if (nativeDir != null) {
            env.put("ALIGN4J_NATIVE_DIR", nativeDir.toAbsolutePath().toString());
        }
        return ChildRun.run(command, env, log);
    }

    /** {@code file} in the scratch folder. */
    Path work(String file) {
        return work.resolve(file);
    }

    /** The command that makes the synthetic model {@code PRESET-TYPE.gguf} in the scratch folder (seed 1). */
    List<String> synthCommand(String preset, String type) {
        return List.of(align4j(), "model", "synth", "--preset", preset, "--type", type, "--seed", "1",
                "-o", work(preset + "-" + type + ".gguf").toString());
    }

    /** That model, made unless it exists already. */
    Path synthesize(String preset, String type) {
        List<String> command = synthCommand(preset, type);
        Path model = Path.of(command.getLast());
        if (!Files.exists(model)) {
            run(command, model.resolveSibling(model.getFileName() + ".synth.log"));
        }
        return model;
    }

    /** That model as a report names it. */
    static String synthDescription(String preset, String type) {
        return String.format(Locale.ROOT, "synthetic `%s` shape, %s (`align4j model synth --preset %s --type %s --seed 1`)", preset, type, preset, type);
    }
}
