package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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
    @Mixin BenchOptions bench = new BenchOptions("rso");

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
    @Option(names = "--no-baselines", description = "run (a) only") boolean noBaselines;

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
    record RsoRun(long prompts, long tokens, double wall, long pairs, double observed, double expected,
                  double sampling, double reward, double scoring, double writing, double other) {
        private static final Pattern OUTCOME = Pattern.compile("rso: (\\d+) pairs from \\d+ prompts .*acceptance ([0-9.]+) observed, ([0-9.]+) expected");
        private static final Pattern TIMINGS = Pattern.compile(
                "rso: of [0-9.]+ s: sampling ([0-9.]+)%, reward ([0-9.]+)%, scoring ([0-9.]+)%, writing ([0-9.]+)%, other ([0-9.]+)%");

        static RsoRun parse(ChildRun c) {
            JobSummary s = JobSummary.parse(c, "rso");
            Matcher o = c.find(OUTCOME);
            Matcher t = c.find(TIMINGS);
            return new RsoRun(s.records(), s.tokens(), s.seconds(),
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

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(bench.work);
        String align4j = bench.align4j();
        Path model = bench.synthesize(preset, type);
        Path input = bench.work("prompts.jsonl");
        ExactLengthText.writePrompts(model, input, prompts, promptTokens);
        Path script = bench.work("vowels.py");
        Files.writeString(script, REWARD, StandardCharsets.UTF_8);

        String ctx = String.valueOf(promptTokens + maxTokens);
        List<String> common = List.of("--temperature", "0.7", "--top-k", "40", "--max-tokens", String.valueOf(maxTokens),
                "--seed", "1", "--ctx", ctx, "--batch-tokens", String.valueOf(batchTokens), "--seqs", String.valueOf(seqs),
                "--threads", String.valueOf(threads));
        List<String> rsoCmd = new ArrayList<>(List.of(align4j, "rso", "-m", model.toString(), "-i", input.toString(),
                "-o", bench.work("pairs.jsonl").toString(), "--reward", "cmd:python3 " + script,
                "--candidates", String.valueOf(candidates), "--accept", String.valueOf(accept), "--pairing", pairing));
        rsoCmd.addAll(common);
        List<String> sampleCmd = new ArrayList<>(List.of(align4j, "sample", "-m", model.toString(), "-i", input.toString(),
                "-o", bench.work("samples.jsonl").toString(), "-n", String.valueOf(candidates)));
        sampleCmd.addAll(common);
        List<String> baselineCmd = List.of(bench.batchedBench(), "-m", model.toString(), "-c", String.valueOf(seqs * (promptTokens + maxTokens)),
                "-b", String.valueOf(batchTokens), "-ub", String.valueOf(Math.min(batchTokens, 512)),
                "-npp", String.valueOf(promptTokens), "-ntg", String.valueOf(maxTokens), "-npl", String.valueOf(seqs), "-pps", "-kvu",
                "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl");

        List<RsoRun> rso = new ArrayList<>();
        List<JobSummary> sample = new ArrayList<>();
        List<Double> baseline = new ArrayList<>();
        for (int r = 0; r < bench.rounds; r++) {
            deleteOutputs();
            rso.add(RsoRun.parse(bench.run(rsoCmd, bench.work("a" + r + ".log"))));
            String line = String.format(Locale.ROOT, "round %d: (a) %.1f s, %.2f prompts/s", r + 1, rso.getLast().wall,
                    rso.getLast().promptsPerSecond());
            if (!noBaselines) {
                sample.add(JobSummary.parse(bench.run(sampleCmd, bench.work("b" + r + ".log")), "sample"));
                baseline.add(bench.run(baselineCmd, bench.work("c" + r + ".log")).figure("speed_tg"));
                line += String.format(Locale.ROOT, "; (b) %.1f tokens/s; (c) %.1f tokens/s", sample.getLast().tokensPerSecond(),
                        baseline.getLast());
            }
            System.err.println(line);
        }
        report(rso, sample, baseline, rsoCmd, sampleCmd, baselineCmd).write();
        return 0;
    }

    private void deleteOutputs() throws IOException {
        try (var files = Files.list(bench.work)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith("pairs.") || name.startsWith("samples.")) {
                    Files.delete(p);
                }
            }
        }
    }

    private Report report(List<RsoRun> a, List<JobSummary> b, List<Double> c, List<String> rsoCmd, List<String> sampleCmd,
                          List<String> baselineCmd) {
        Report s = new Report(bench, "RSO benchmark (issue 5)");
        s.format("Model: %s. "
                        + "Workload: %d prompts of %d tokens (random whole-word tokens, BOS included); %d candidates per prompt of up to %d "
                        + "tokens at temperature 0.7, top-k 40 (RSO's sampling), %d accepted by rso at beta 0.5, %s pairing; reward: a "
                        + "python3 `cmd:` process counting vowels. Batch %d tokens, %d sequences, %d threads, flash attention off "
                        + "(rso's and sample's default); %d rounds, interleaved, means below.%n%n",
                BenchOptions.synthDescription(preset, type), prompts, promptTokens, candidates, maxTokens, accept, pairing, batchTokens,
                seqs, threads, bench.rounds);
        s.append("| run | wall s | prompts/s | generated tokens/s | sampling % | reward % | scoring % | writing % | other % |\n");
        s.append("|---|---|---|---|---|---|---|---|---|\n");
        s.format("| (a) `align4j rso` | %.1f | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
                mean(a, RsoRun::wall), mean(a, RsoRun::promptsPerSecond), mean(a, RsoRun::tokensPerSecond), mean(a, RsoRun::sampling),
                mean(a, RsoRun::reward), mean(a, RsoRun::scoring), mean(a, RsoRun::writing), mean(a, RsoRun::other));
        if (!b.isEmpty()) {
            s.format("| (b) `align4j sample -n %d` (sampling alone) | %.1f | %.3f | %.1f | | | | | |%n",
                    candidates, mean(b, JobSummary::seconds), prompts / mean(b, JobSummary::seconds), mean(b, JobSummary::tokensPerSecond));
            s.format("| (c) `llama-batched-bench` text generation, %d sequences, shared prompt | | | %.1f | | | | | |%n",
                    seqs, mean(c, Double::doubleValue));
        }
        RsoRun first = a.getFirst();
        s.format("%n(a) generated %d tokens for %d prompts and wrote %d pairs; acceptance %.3f observed, %.3f expected "
                        + "(Theorem 1, from the same rewards). Wall times and rates are each job's own summary line: for rso from when its models "
                        + "are loaded and the reward process started, for sample from before its model loads (so (b) carries the load "
                        + "time, which matters only on small workloads), to the end. The shares are rso's own timing line: each stage's "
                        + "time without the stages it calls (the sampler hands each finished prompt to the reward and the scorers); "
                        + "scoring includes tokenizing the pair records, writing includes committing the resume point.%n",
                first.tokens, first.prompts, first.pairs, first.observed, first.expected);
        if (!b.isEmpty()) {
            s.format("%n| ratio | measured |%n|---|---|%n"
                            + "| (a) generated tokens/s ÷ (b) (what reward, scoring and writing cost end to end) | %.2f |%n"
                            + "| (b) generated tokens/s ÷ (c) (the sampler against llama.cpp's generation loop) | %.2f |%n",
                    mean(a, RsoRun::tokensPerSecond) / mean(b, JobSummary::tokensPerSecond),
                    mean(b, JobSummary::tokensPerSecond) / mean(c, Double::doubleValue));
        }
        return s.reproduce("./align4j, the llama.cpp baselines and this harness")
                .commands("which runs, per round", b.isEmpty() ? List.of(rsoCmd) : List.of(rsoCmd, sampleCmd, baselineCmd))
                .append("\nThe reward script (`vowels.py`):\n\n```python\n").append(REWARD).append("```\n");
    }
}
