package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.bench.Report.Target;
import org.align4j.job.InputSegments;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Spark benchmark of issue 17: generated tokens/s of {@code align4j sample} on a shape-faithful synthetic model,
 * exactly L new tokens per completion ({@code --ignore-eos}, checked), through Spark's {@code SparkMain} on a
 * {@code local-cluster} master with (b) one executor JVM of T cores and (c) T executor JVMs of one core each, against
 * (a) the CLI alone with T threads on the same input; each also on a one-token job, for its fixed start-up cost. All
 * run as child processes, rounds interleaved, and every run must write the CLI's records byte for byte. Writes a
 * markdown report.
 */
@Command(name = "spark-bench", mixinStandardHelpOptions = true, description = "align4j sample through Spark (local-cluster) against the CLI.")
public final class SparkBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("spark");

    @Option(names = "--preset", description = "synthetic model shape (default: ${DEFAULT-VALUE})") String preset = "qwen2.5-0.5b";
    @Option(names = "--type", description = "its tensor type (default: ${DEFAULT-VALUE})") String type = "q8_0";
    @Option(names = "--model", paramLabel = "GGUF", description = "an existing model to use instead of synthesizing one") Path modelOption;

    @Option(names = "--prompts", description = "prompt records (default: ${DEFAULT-VALUE}: 4 segments at the default -n and --seqs,"
            + " two for each of (c)'s executors)")
    int prompts = 128;

    @Option(names = "--prompt-tokens", description = "tokens per prompt, BOS included (default: ${DEFAULT-VALUE})") int promptTokens = 32;
    @Option(names = {"-n", "--n"}, description = "completions per prompt (default: ${DEFAULT-VALUE})") int n = 8;
    @Option(names = "--max-tokens", description = "tokens generated per completion (default: ${DEFAULT-VALUE})") int maxTokens = 16;
    @Option(names = "--seqs", description = "sequences sampled side by side (default: ${DEFAULT-VALUE})") int seqs = 8;
    @Option(names = "--seed", description = "sampling seed (default: ${DEFAULT-VALUE})") long seed = 1;

    @Option(names = "--threads", description = "T: the CLI's threads, (b)'s executor cores, (c)'s executor JVMs (default: ${DEFAULT-VALUE})")
    int threads = 2;

    @Option(names = "--executor-memory", paramLabel = "MIB", description = "heap of each executor JVM (default: ${DEFAULT-VALUE})")
    int executorMemoryMb = 1024;

    private static final String SPARK_MAIN = "org.align4j.spark.SparkMain";
    /** The shell variable the report's commands name the JVM flags by. */
    private static final String FLAGS_VARIABLE = "SPARK_JVM_FLAGS";
    private static final Pattern JVM_FLAGS = Pattern.compile("<spark\\.jvm\\.flags>([^<]+)</spark\\.jvm\\.flags>");

    public static void main(String[] args) {
        System.exit(new CommandLine(new SparkBench()).execute(args));
    }

    /**
     * One way to run the job: the CLI ({@code executors} 0) or SparkMain on {@code executors} JVMs of {@code cores} cores;
     * {@code tag} names its files.
     */
    record Variant(String tag, String label, int executors, int cores) {
        boolean spark() {
            return executors > 0;
        }

        String master(int memoryMb) {
            return String.format(Locale.ROOT, "local-cluster[%d,%d,%d]", executors, cores, memoryMb);
        }
    }

    /** One child run: the tokens it generated (counted in its output) and its whole process's wall time. */
    record Run(long tokens, double seconds) {
        double rate() {
            return tokens / seconds;
        }
    }

    /** Every run of one variant over the rounds, full and tiny, and the commands. */
    private static final class Runs {
        final Variant variant;
        final List<Run> full = new ArrayList<>();
        final List<Run> tiny = new ArrayList<>();
        final List<Double> cliJobSeconds = new ArrayList<>();
        List<String> fullCmd, tinyCmd, fullShown, tinyShown;

        Runs(Variant variant) {
            this.variant = variant;
        }

        double wall() {
            return mean(full, Run::seconds);
        }

        double tinyWall() {
            return mean(tiny, Run::seconds);
        }

        double rate() {
            return mean(full, Run::rate);
        }
    }

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(bench.work);
        Path model = (modelOption != null ? modelOption : bench.synthesize(preset, type)).toAbsolutePath();
        Path input = bench.work("prompts.jsonl").toAbsolutePath();
        Path tinyInput = bench.work("tiny.jsonl").toAbsolutePath();
        ExactLengthText.writePrompts(model, input, prompts, promptTokens);
        ExactLengthText.writePrompts(model, tinyInput, 1, promptTokens);

        List<Runs> all = List.of(new Runs(new Variant("a", "(a) CLI", 0, threads)),
                new Runs(new Variant("b", "(b) Spark 1x" + threads, 1, threads)),
                new Runs(new Variant("c", "(c) Spark " + threads + "x1", threads, 1)));
        List<String> jvmFlags = jvmFlags();
        List<String> shownFlags = List.of("$" + FLAGS_VARIABLE);
        for (Runs r : all) {
            Path out = output(r.variant, r.variant.tag());
            Path tinyOut = output(r.variant, r.variant.tag() + "-tiny");
            r.fullCmd = command(r.variant, jvmFlags, model, input, out, n, maxTokens);
            r.tinyCmd = command(r.variant, jvmFlags, model, tinyInput, tinyOut, 1, 1);
            r.fullShown = command(r.variant, shownFlags, model, input, out, n, maxTokens);
            r.tinyShown = command(r.variant, shownFlags, model, tinyInput, tinyOut, 1, 1);
        }

        List<String> reference = null;
        List<String> tinyReference = null;
        for (int round = 0; round < bench.rounds; round++) {
            for (Runs r : all) {
                String tag = r.variant.tag() + "-r" + round;
                tinyReference = sameRecords(tinyReference, timed(r.tinyCmd, bench.work(tag + "-tiny.log"), r.tiny, 1, null), r.variant);
                reference = sameRecords(reference, timed(r.fullCmd, bench.work(tag + ".log"), r.full, maxTokens,
                        r.variant.spark() ? null : r.cliJobSeconds), r.variant);
                System.err.printf(Locale.ROOT, "round %d, %s: %.1f generated tokens/s, %.1f s (tiny job %.1f s)%n", round + 1,
                        r.variant.label(), r.full.getLast().rate(), r.full.getLast().seconds(), r.tiny.getLast().seconds());
            }
        }
        report(all, jvmFlags).write();
        return 0;
    }

    private Path output(Variant v, String tag) {
        return bench.work(v.spark() ? tag + "-out" : tag + ".jsonl").toAbsolutePath();
    }

    /** The command of {@code v}: the CLI's {@code sample} arguments, after SparkMain's JVM and Spark settings for a Spark variant. */
    private List<String> command(Variant v, List<String> jvmFlags, Path model, Path input, Path output, int n, int maxTokens) {
        List<String> sample = List.of("sample", "-m", model.toString(), "-i", input.toString(), "-o", output.toString(),
                "-n", String.valueOf(n), "--max-tokens", String.valueOf(maxTokens), "--ignore-eos", "--seed", String.valueOf(seed),
                "--ctx", String.valueOf(promptTokens + maxTokens), "--seqs", String.valueOf(seqs), "--threads", String.valueOf(v.cores()), "--quiet");
        List<String> cmd = new ArrayList<>();
        if (!v.spark()) {
            cmd.add(bench.align4j());
            cmd.addAll(sample);
            return cmd;
        }
        Path root = bench.root.toAbsolutePath().normalize();
        Path target = root.resolve("spark/target");
        // SparkMain started as spark-submit would (its settings as system properties), with Spark from the SPARK_HOME the
        // spark module's tests use; the local cluster's workers start the executor JVMs from that SPARK_HOME's jars.
        cmd.addAll(List.of("env", "SPARK_HOME=" + target.resolve("spark-home"), "SPARK_SCALA_VERSION=2.13",
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", classPath(target.resolve("align4j-spark.jar"), target.resolve("lib/*"), target.resolve("spark-home/jars/*")),
                "-Dspark.master=" + v.master(executorMemoryMb),
                "-Dspark.task.cpus=" + v.cores(),
                "-Dspark.ui.enabled=false",
                "-Dspark.executor.extraJavaOptions=" + String.join(" ", jvmFlags),
                "-Dspark.executor.extraClassPath=" + classPath(target.resolve("align4j-spark.jar"), target.resolve("lib/*")),
                "-Dspark.align4j.nativeDir=" + root.resolve("build/native/bin"),
                SPARK_MAIN));
        cmd.addAll(sample);
        return cmd;
    }

    private static String classPath(Path... entries) {
        return String.join(":", Arrays.stream(entries).map(Path::toString).toList());
    }

    /** The JVM flags spark/pom.xml gives the Spark tests and their executors (Spark's module flags on JDK 25, native access). */
    private List<String> jvmFlags() throws IOException {
        Path pom = bench.root.resolve("spark/pom.xml");
        Matcher m = JVM_FLAGS.matcher(Files.readString(pom));
        if (!m.find()) {
            throw new IllegalStateException(pom + ": no <spark.jvm.flags> property");
        }
        return List.of(m.group(1).trim().split("\\s+"));
    }

    /**
     * Runs {@code cmd} (its output removed first), timing the whole process; adds its run, counted from its output, to
     * {@code runs}, and the time of the CLI's summary line (from model loaded to last record written) to {@code jobSeconds}
     * unless that is null.
     *
     * @return its output's records
     */
    private List<String> timed(List<String> cmd, Path log, List<Run> runs, int tokens, List<Double> jobSeconds) throws IOException {
        Path output = Path.of(cmd.get(cmd.indexOf("-o") + 1));
        delete(output);
        long start = System.nanoTime();
        ChildRun c = bench.run(cmd, log);
        double seconds = (System.nanoTime() - start) / 1e9;
        int perPrompt = Integer.parseInt(cmd.get(cmd.indexOf("-n") + 1));
        List<String> lines = SampleOutput.lines(output);
        long completions = SampleOutput.exactLengthCompletions(output, lines, tokens);
        if (completions != (long) lines.size() * perPrompt) {
            throw new IllegalStateException(output + ": " + completions + " completions in " + lines.size() + " records, not " + perPrompt + " each");
        }
        runs.add(new Run(completions * tokens, seconds));
        if (jobSeconds != null) {
            jobSeconds.add(JobSummary.parse(c, "sample").seconds());
        }
        return lines;
    }

    /** {@code reference}, which {@code lines}, the records {@code v} wrote, must equal line for line; {@code lines} if it is the first (null). */
    private static List<String> sameRecords(List<String> reference, List<String> lines, Variant v) {
        if (reference == null) {
            return lines;
        }
        if (lines.size() != reference.size()) {
            throw new IllegalStateException(v.label() + " wrote " + lines.size() + " records, the CLI " + reference.size());
        }
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals(reference.get(i))) {
                throw new IllegalStateException(v.label() + " wrote record " + (i + 1) + " unlike the CLI's:\n"
                        + lines.get(i) + "\nthe CLI's:\n" + reference.get(i));
            }
        }
        return reference;
    }

    private static void delete(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> files = Files.walk(path)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    private Report report(List<Runs> all, List<String> jvmFlags) {
        Runs a = all.get(0), b = all.get(1), c = all.get(2);
        InputSegments segments = InputSegments.forSampler(seqs, n);
        long segmentCount = (prompts + segments.lines() - 1) / segments.lines();
        long tokens = (long) prompts * n * maxTokens;

        Report s = new Report(bench, "Spark benchmark (issue 17)");
        String model = modelOption != null ? "`" + modelOption + "`" : BenchOptions.synthDescription(preset, type);
        s.format("Model: %s. %d prompts of %d tokens (random whole-word tokens, exact length, BOS included), %d completions each of "
                        + "exactly %d new tokens (`--ignore-eos`, every one checked to end by length): %d generated tokens a run. "
                        + "`--seqs %d --seed %d`, so the engine restarts every %d lines (`InputSegments.forSampler`): %d segments, "
                        + "each whole in one Spark task. %d round%s, interleaved, means below.%n%n",
                model, prompts, promptTokens, n, maxTokens, tokens, seqs, seed, segments.lines(), segmentCount, bench.rounds,
                bench.rounds == 1 ? "" : "s");
        s.format("- %s: `./align4j sample ... --threads %d`, one JVM.%n", a.variant.label(), threads);
        s.format("- %s: `SparkMain` (the `spark-submit` entry point) in a driver JVM with master `%s`: one executor JVM of %d cores, "
                + "`spark.task.cpus=%d`, `--threads %d`; JSONL output folder.%n", b.variant.label(), b.variant.master(executorMemoryMb),
                threads, threads, threads);
        s.format("- %s: the same with master `%s`: %d executor JVMs of one core each, `spark.task.cpus=1`, `--threads 1`.%n%n",
                c.variant.label(), c.variant.master(executorMemoryMb), threads);
        s.append("Wall: the whole child process, start to exit (JVM start, Spark's local cluster and executor JVMs, model load, the job, "
                + "the output write). Tokens/s: generated tokens (counted in the output) / wall. Tiny job: the same command on 1 prompt, "
                + "`-n 1 --max-tokens 1`: the fixed start-up cost. Every run's records equal the first CLI run's line for line, byte for "
                + "byte (checked; the tiny jobs' too).\n\n");

        s.append("| variant | tokens/s end to end | wall s | tiny-job wall s | wall - tiny s | tokens/s ÷ (a) |\n|---|---|---|---|---|---|\n");
        for (Runs r : all) {
            s.format("| %s | %.1f | %.1f | %.1f | %.1f | %.3f |%n", r.variant.label(), r.rate(), r.wall(), r.tinyWall(),
                    r.wall() - r.tinyWall(), r.rate() / a.rate());
        }
        double endToEnd = b.wall() / a.wall() - 1;
        double steady = (b.wall() - b.tinyWall()) / (a.wall() - a.tinyWall()) - 1;
        double cEndToEnd = c.wall() / a.wall() - 1;
        double cSteady = (c.wall() - c.tinyWall()) / (a.wall() - a.tinyWall()) - 1;
        s.append("\nOverhead: wall ÷ (a)'s wall - 1; steady state: (wall - tiny wall) ÷ ((a)'s wall - (a)'s tiny wall) - 1.\n\n");
        s.targets("%+.1f%%", List.of(
                new Target(b.variant.label() + " overhead vs (a), end to end", 100 * endToEnd, "<= 10%", endToEnd <= 0.10),
                new Target(b.variant.label() + " overhead vs (a), steady state", 100 * steady, "<= 10%", steady <= 0.10)));
        s.format("%n%s against (a), no target: %+.1f%% end to end, %+.1f%% steady state. Expected near (b): its %d executors each "
                        + "decode one segment at a time with one thread where (a) decodes with %d, the same cores; it pays %d model "
                        + "loads instead of one, and the slower executor (the one given more segments) sets its wall.%n",
                c.variant.label(), 100 * cEndToEnd, 100 * cSteady, threads, threads, threads);

        scaling(s, a, b, segments, segmentCount);

        return s.reproduce("./align4j, the Spark jars (spark/target) and this harness", "make bench-spark BENCH_ARGS=\"--help\"     # the options")
                .commands("which runs, per round, each variant's tiny job and then its full job (a Spark variant's output folder "
                        + "removed first), with `" + FLAGS_VARIABLE + "` the JVM flags spark/pom.xml gives the Spark tests "
                        + "(`spark.jvm.flags`: `" + String.join(" ", jvmFlags) + "`)",
                        all.stream().flatMap(r -> Stream.of(r.tinyShown, r.fullShown)).toList());
    }

    /** The section on N GPU executors, from (b)'s figures: its fixed cost and its steady rate. */
    private void scaling(Report s, Runs a, Runs b, InputSegments segments, long segmentCount) {
        long perSegment = (long) prompts * n * maxTokens / segmentCount; // generated tokens a segment, on average
        double rate = (double) prompts * n * maxTokens / (b.wall() - b.tinyWall()); // one executor's steady tokens/s
        double fixed = b.tinyWall();
        double cliLoad = a.wall() - mean(a.cliJobSeconds, Double::doubleValue);
        s.append("\n## Scaling to N GPU executors (on paper)\n\n");
        s.format("Per-executor fixed costs, measured here (CPU): Spark's start-up to a first record (driver, cluster, executor JVM, "
                        + "model load, one one-token segment) %.1f s, against %.1f s for the CLI's whole one-token job; the CLI's JVM start "
                        + "and model load (its wall - its summary's time) %.1f s; a segment's engine restart is inside every segment's time, "
                        + "for the CLI and Spark alike (the one-token job's whole run bounds it). Steady rate of one executor (%d cores, "
                        + "`--threads %d`): r1 = %d tokens / %.1f s = %.1f tokens/s.%n%n",
                fixed, a.tinyWall(), cliLoad, threads, threads, (long) prompts * n * maxTokens, b.wall() - b.tinyWall(), rate);
        s.format("With N executors, each one task on one GPU (`--gpu-layers -1`), S segments of k generated tokens (32 fills of "
                        + "`--seqs` sequences; %d here), and r1 one executor's rate:%n%n", perSegment);
        s.append("```\nwall(N) ≈ F + ceil(S / N)·k / r1 + D(S)        throughput(N) = S·k / wall(N) → N·r1 while S / N is a few or more\n```\n\n");
        s.format("F is the fixed cost above (plus the model's upload to the GPU), D the driver's shuffle and sort of the prompt rows and "
                        + "the output write (inside (b)'s steady overhead here). With this run's CPU figures, F = %.1f s, k = %d, r1 = %.1f:%n%n",
                fixed, perSegment, rate);
        s.append("| N | S = " + segmentCount + ": wall s | tokens/s | ÷ N·r1 | S = 64: wall s | tokens/s | ÷ N·r1 |\n|---|---|---|---|---|---|---|\n");
        for (int executors : List.of(1, 2, 4, 8, 16)) {
            s.format("| %d | %s | %s |%n", executors, predicted(segmentCount, executors, fixed, perSegment, rate),
                    predicted(64, executors, fixed, perSegment, rate));
        }
        s.format("%nWhat bounds it: (1) the segments: a task holds whole segments (%d prompt lines each here), so no more than S "
                        + "executors work, and the last wave leaves executors idle when S is not a multiple of N (each segment is "
                        + "one task, which Spark hands to the next free executor); (2) F, paid once per executor, which a GPU's faster segments make "
                        + "a larger share; (3) the driver's shuffle and sort of the prompt rows and the output write, one pass over "
                        + "the data, small next to generation; (4) each node's GPU rate, and its memory (one model and one segment "
                        + "per executor). The GPU single-executor rate r1 is not measured here: this machine has no GPU; put a "
                        + "GPU's r1 and F into the formula.%n", segments.lines());
    }

    private static String predicted(long segments, int executors, double fixed, long perSegment, double rate) {
        double wall = fixed + Math.ceilDiv(segments, executors) * perSegment / rate;
        double throughput = segments * perSegment / wall;
        return String.format(Locale.ROOT, "%.1f | %.1f | %.2f", wall, throughput, throughput / (executors * rate));
    }
}
