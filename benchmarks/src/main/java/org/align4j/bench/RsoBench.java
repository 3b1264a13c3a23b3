package org.align4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The RSO benchmark of issue 5: {@code align4j rso} end to end on a shape-faithful synthetic model (N
 * candidates per prompt, k accepted, a {@code cmd:} reward in python3), in prompts/s and generated
 * tokens/s, with the share of its wall time in sampling, reward and scoring from the job's own timing
 * line. For comparison, in the same run and rounds interleaved: (b) {@code align4j sample -n N} on the
 * same prompts with the same sampling options (sampling alone), and (c) llama.cpp's
 * {@code llama-batched-bench} text generation with as many parallel sequences and a shared prompt. All
 * as child processes; writes a markdown report.
 */
@Command(name = "rso-bench", mixinStandardHelpOptions = true)
public final class RsoBench implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--root", description = "the align4j checkout (./align4j and build/ built)")
    Path root = Path.of(".");

    @Option(names = "--preset") String preset = "qwen2.5-0.5b";
    @Option(names = "--type") String type = "q8_0";
    @Option(names = "--prompts") int prompts = 8;
    @Option(names = "--prompt-tokens", description = "prompt length, BOS included") int promptTokens = 64;
    @Option(names = "--candidates") int candidates = 64;
    @Option(names = "--accept") int accept = 8;
    @Option(names = "--max-tokens") int maxTokens = 64;
    @Option(names = "--pairing") String pairing = "first-round";
    @Option(names = "--batch-tokens") int batchTokens = 512;
    @Option(names = "--seqs") int seqs = 32;
    @Option(names = "--threads") int threads = Runtime.getRuntime().availableProcessors();
    @Option(names = "--rounds") int rounds = 2;
    @Option(names = "--no-baselines", description = "run (a) only") boolean noBaselines;
    @Option(names = "--work", description = "scratch folder for the model, workload and logs") Path work = Path.of("build/bench/rso");
    @Option(names = "--report") Path report = Path.of("benchmarks/results/rso.md");

    /** Scores a completion by its vowels: cheap, so the reward's share is the process round trip. */
    static final String REWARD = """
            import sys, json
            for line in sys.stdin:
                c = json.loads(line)["completion"]
                print(json.dumps({"reward": sum(c.count(v) for v in "aeiou") / 4.0}), flush=True)
            """;

    public static void main(String[] args) {
        System.exit(new CommandLine(new RsoBench()).execute(args));
    }

    /** What one align4j rso run reported: its summary, pairs and timing lines. */
    record RsoRun(ChildRun child, long prompts, long tokens, double wall, long pairs, double observed, double expected,
                  double sampling, double reward, double scoring, double writing, double other) {
        private static final Pattern SUMMARY = Pattern.compile("rso: (\\d+) records \\(0 skipped\\), (\\d+) tokens in ([0-9.]+) s");
        private static final Pattern OUTCOME = Pattern.compile("rso: (\\d+) pairs from \\d+ prompts .*acceptance ([0-9.]+) observed, ([0-9.]+) expected");
        private static final Pattern TIMINGS = Pattern.compile(
                "rso: of [0-9.]+ s: sampling ([0-9.]+)%, reward ([0-9.]+)%, scoring ([0-9.]+)%, writing ([0-9.]+)%, other ([0-9.]+)%");

        static RsoRun parse(ChildRun c) {
            Matcher s = SUMMARY.matcher(c.err());
            Matcher o = OUTCOME.matcher(c.err());
            Matcher t = TIMINGS.matcher(c.err());
            if (!s.find() || !o.find() || !t.find()) {
                throw new IllegalStateException("no summary/pairs/timing line from " + c.commandLine() + ":\n" + c.err());
            }
            return new RsoRun(c, Long.parseLong(s.group(1)), Long.parseLong(s.group(2)), Double.parseDouble(s.group(3)),
                    Long.parseLong(o.group(1)), Double.parseDouble(o.group(2)), Double.parseDouble(o.group(3)),
                    Double.parseDouble(t.group(1)), Double.parseDouble(t.group(2)), Double.parseDouble(t.group(3)),
                    Double.parseDouble(t.group(4)), Double.parseDouble(t.group(5)));
        }

        double promptsPerSecond() {
            return prompts / wall;
        }

        double tokensPerSecond() {
            return tokens / wall;
        }
    }

    /** What one align4j sample run reported. */
    record SampleRun(long tokens, double wall) {
        private static final Pattern SUMMARY = Pattern.compile("sample: \\d+ records \\(0 skipped\\), (\\d+) tokens in ([0-9.]+) s");

        static SampleRun parse(ChildRun c) {
            Matcher s = SUMMARY.matcher(c.err());
            if (!s.find()) {
                throw new IllegalStateException("no summary line from " + c.commandLine() + ":\n" + c.err());
            }
            return new SampleRun(Long.parseLong(s.group(1)), Double.parseDouble(s.group(2)));
        }

        double tokensPerSecond() {
            return tokens / wall;
        }
    }

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(work);
        String align4j = root.resolve("align4j").toString();
        String bench = root.resolve("build/native/bin/llama-batched-bench").toString();
        Path model = ChildRun.synthesize(align4j, preset, type, work.resolve(preset + "-" + type + ".gguf"));
        Path input = work.resolve("prompts.jsonl");
        ExactLengthText.writePrompts(model, input, prompts, promptTokens);
        Path script = work.resolve("vowels.py");
        Files.writeString(script, REWARD, StandardCharsets.UTF_8);

        String ctx = String.valueOf(promptTokens + maxTokens);
        List<String> common = List.of("--temperature", "0.7", "--top-k", "40", "--max-tokens", String.valueOf(maxTokens),
                "--seed", "1", "--ctx", ctx, "--batch-tokens", String.valueOf(batchTokens), "--seqs", String.valueOf(seqs),
                "--threads", String.valueOf(threads));
        List<String> rsoCmd = new ArrayList<>(List.of(align4j, "rso", "-m", model.toString(), "-i", input.toString(),
                "-o", work.resolve("pairs.jsonl").toString(), "--reward", "cmd:python3 " + script,
                "--candidates", String.valueOf(candidates), "--accept", String.valueOf(accept), "--pairing", pairing));
        rsoCmd.addAll(common);
        List<String> sampleCmd = new ArrayList<>(List.of(align4j, "sample", "-m", model.toString(), "-i", input.toString(),
                "-o", work.resolve("samples.jsonl").toString(), "-n", String.valueOf(candidates)));
        sampleCmd.addAll(common);
        List<String> baselineCmd = List.of(bench, "-m", model.toString(), "-c", String.valueOf(seqs * (promptTokens + maxTokens)),
                "-b", String.valueOf(batchTokens), "-ub", String.valueOf(Math.min(batchTokens, 512)),
                "-npp", String.valueOf(promptTokens), "-ntg", String.valueOf(maxTokens), "-npl", String.valueOf(seqs), "-pps", "-kvu",
                "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl");

        List<RsoRun> rso = new ArrayList<>();
        List<SampleRun> sample = new ArrayList<>();
        List<Double> baseline = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            deleteOutputs();
            rso.add(RsoRun.parse(ChildRun.run(rsoCmd, work.resolve("a" + r + ".log"))));
            String line = String.format(Locale.ROOT, "round %d: (a) %.1f s, %.2f prompts/s", r + 1, rso.getLast().wall,
                    rso.getLast().promptsPerSecond());
            if (!noBaselines) {
                sample.add(SampleRun.parse(ChildRun.run(sampleCmd, work.resolve("b" + r + ".log"))));
                baseline.add(tgSpeed(ChildRun.run(baselineCmd, work.resolve("c" + r + ".log"))));
                line += String.format(Locale.ROOT, "; (b) %.1f tokens/s; (c) %.1f tokens/s", sample.getLast().tokensPerSecond(),
                        baseline.getLast());
            }
            System.err.println(line);
        }
        String text = report(rso, sample, baseline, rsoCmd, sampleCmd, baselineCmd);
        Files.createDirectories(report.toAbsolutePath().getParent());
        Files.writeString(report, text, StandardCharsets.UTF_8);
        System.out.print(text);
        return 0;
    }

    private void deleteOutputs() throws IOException {
        try (var files = Files.list(work)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith("pairs.") || name.startsWith("samples.")) {
                    Files.delete(p);
                }
            }
        }
    }

    private static double tgSpeed(ChildRun c) {
        Matcher m = Pattern.compile("\"speed_tg\": ([0-9.]+)").matcher(c.out() + c.err());
        if (!m.find()) {
            throw new IllegalStateException("no speed_tg in the output of " + c.commandLine());
        }
        return Double.parseDouble(m.group(1));
    }

    private String report(List<RsoRun> a, List<SampleRun> b, List<Double> c, List<String> rsoCmd, List<String> sampleCmd,
                          List<String> baselineCmd) {
        StringBuilder s = new StringBuilder();
        s.append("# RSO benchmark (issue 5)\n\n");
        s.append(String.format(Locale.ROOT, "Run on %s: %s.%n%n", LocalDate.now(), Machine.describe(root)));
        s.append(String.format(Locale.ROOT, "Model: synthetic `%s` shape, %s (`align4j model synth --preset %s --type %s --seed 1`). "
                        + "Workload: %d prompts of %d tokens (random whole-word tokens, BOS included); %d candidates per prompt of up to %d "
                        + "tokens at temperature 0.7, top-k 40 (RSO's sampling), %d accepted by rso at beta 0.5, %s pairing; reward: a "
                        + "python3 `cmd:` process counting vowels. Batch %d tokens, %d sequences, %d threads, flash attention off "
                        + "(rso's and sample's default); %d rounds, interleaved, means below.%n%n",
                preset, type, preset, type, prompts, promptTokens, candidates, maxTokens, accept, pairing, batchTokens, seqs, threads,
                rounds));
        s.append("| run | wall s | prompts/s | generated tokens/s | sampling % | reward % | scoring % | writing % | other % |\n");
        s.append("|---|---|---|---|---|---|---|---|---|\n");
        s.append(String.format(Locale.ROOT, "| (a) `align4j rso` | %.1f | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
                mean(a, RsoRun::wall), mean(a, RsoRun::promptsPerSecond), mean(a, RsoRun::tokensPerSecond), mean(a, RsoRun::sampling),
                mean(a, RsoRun::reward), mean(a, RsoRun::scoring), mean(a, RsoRun::writing), mean(a, RsoRun::other)));
        if (!b.isEmpty()) {
            s.append(String.format(Locale.ROOT, "| (b) `align4j sample -n %d` (sampling alone) | %.1f | %.3f | %.1f | | | | | |%n",
                    candidates, mean(b, SampleRun::wall), prompts / mean(b, SampleRun::wall), mean(b, SampleRun::tokensPerSecond)));
            s.append(String.format(Locale.ROOT, "| (c) `llama-batched-bench` text generation, %d sequences, shared prompt | | | %.1f | | | | | |%n",
                    seqs, mean(c, Double::doubleValue)));
        }
        RsoRun first = a.getFirst();
        s.append(String.format(Locale.ROOT, "%n(a) generated %d tokens for %d prompts and wrote %d pairs; acceptance %.3f observed, %.3f expected "
                        + "(Theorem 1, from the same rewards). Wall times and rates are each job's own summary line: for rso from when its models "
                        + "are loaded and the reward process started, for sample from before its model loads (so (b) carries the load "
                        + "time, which matters only on small workloads), to the end. The shares are rso's own timing line: each stage's "
                        + "time without the stages it calls (the sampler hands each finished prompt to the reward and the scorers); "
                        + "scoring includes tokenizing the pair records, writing includes committing the resume point.%n",
                first.tokens, first.prompts, first.pairs, first.observed, first.expected));
        if (!b.isEmpty()) {
            s.append(String.format(Locale.ROOT, "%n| ratio | measured |%n|---|---|%n"
                            + "| (a) generated tokens/s ÷ (b) (what reward, scoring and writing cost end to end) | %.2f |%n"
                            + "| (b) generated tokens/s ÷ (c) (the sampler against llama.cpp's generation loop) | %.2f |%n",
                    mean(a, RsoRun::tokensPerSecond) / mean(b, SampleRun::tokensPerSecond),
                    mean(b, SampleRun::tokensPerSecond) / mean(c, Double::doubleValue)));
        }
        s.append("\n## Reproduce\n\n```\n" + Machine.makeCommand("bench-rso", spec) + "     # builds ./align4j, the llama.cpp baselines and this harness, then runs it\n```\n\nwhich runs, per round:\n\n```\n");
        s.append(Machine.commandLine(rsoCmd, root)).append('\n');
        if (!b.isEmpty()) {
            s.append(Machine.commandLine(sampleCmd, root)).append('\n');
            s.append(Machine.commandLine(baselineCmd, root)).append('\n');
        }
        s.append("```\n\nThe reward script (`vowels.py`):\n\n```python\n").append(REWARD).append("```\n");
        return s.toString();
    }

    private static <T> double mean(List<T> xs, ToDoubleFunction<T> f) {
        return xs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
