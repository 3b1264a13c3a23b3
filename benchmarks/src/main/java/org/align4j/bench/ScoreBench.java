package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.bench.Report.Target;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.llama.Vocab;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The scoring benchmark of issue 3: on a shape-faithful synthetic model, preference pairs with P-token
 * prompts and L-token completions are scored by (a) {@code align4j score}, (b) the same with prefix
 * sharing off, and compared with (c) llama.cpp's own prompt processing ({@code llama-batched-bench}) at
 * the same batch size, all as child processes in one run, rounds interleaved. Writes a markdown report.
 */
@Command(name = "score-bench", mixinStandardHelpOptions = true)
public final class ScoreBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("score");
    @Mixin GpuLayers gpu = new GpuLayers();

    @Option(names = "--preset") String preset = "qwen2.5-0.5b";
    @Option(names = "--type") String type = "q8_0";
    @Option(names = "--pairs") int pairs = 24;
    @Option(names = "--prompt-tokens") int promptTokens = 256;
    @Option(names = "--completion-tokens") int completionTokens = 64;
    @Option(names = "--batch-tokens") int batchTokens = 512;
    @Option(names = "--seqs") int seqs = 16;
    @Option(names = "--threads") int threads = Runtime.getRuntime().availableProcessors();

    private int nVocab;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ScoreBench()).execute(args));
    }

    /** What one align4j score run reported: its summary and timing lines. */
    record ScoreRun(double scoringSeconds, long tokensDecoded, double decodePct, double logProbPct, double otherPct) {
        private static final Pattern TIMINGS = Pattern.compile(
                "score: (\\d+) tokens in \\d+ llama_decode calls .*: decode ([0-9.]+)%, log-probs ([0-9.]+)%, other ([0-9.]+)%");

        static ScoreRun parse(ChildRun c) {
            double seconds = JobSummary.parse(c, "score").seconds();
            Matcher t = c.find(TIMINGS);
            return new ScoreRun(seconds, Long.parseLong(t.group(1)),
                    Double.parseDouble(t.group(2)), Double.parseDouble(t.group(3)), Double.parseDouble(t.group(4)));
        }

        double decodedPerSecond() {
            return tokensDecoded / scoringSeconds;
        }
    }

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(bench.work);
        Path model = bench.synthesize(preset, type);
        Path input = bench.work("pairs.jsonl");
        ExactLengthText.writePairs(model, input, pairs, promptTokens, completionTokens);
        try (Vocab vocab = Vocab.open(model)) {
            nVocab = vocab.nTokens();
        }

        int seqLen = promptTokens + completionTokens;
        List<String> scoreCmd = new ArrayList<>(List.of(bench.align4j(), "score", "-m", model.toString(), "-i", input.toString(),
                "-o", bench.work("a.jsonl").toString(), "--ctx", String.valueOf(seqLen), "--batch-tokens", String.valueOf(batchTokens),
                "--seqs", String.valueOf(seqs), "--threads", String.valueOf(threads)));
        scoreCmd.addAll(gpu.align4jArgs());
        List<String> unsharedCmd = new ArrayList<>(scoreCmd);
        unsharedCmd.set(unsharedCmd.indexOf(bench.work("a.jsonl").toString()), bench.work("b.jsonl").toString());
        unsharedCmd.add("--no-prefix-sharing");
        // Sequences as long as a scored one, enough of them to fill several batches.
        int parallel = Math.max(1, 4 * batchTokens / seqLen);
        List<String> baselineCmd = new ArrayList<>(List.of(bench.batchedBench(), "-m", model.toString(), "-c", String.valueOf(parallel * seqLen + batchTokens),
                "-b", String.valueOf(batchTokens), "-ub", String.valueOf(Math.min(batchTokens, 512)),
                "-npp", String.valueOf(seqLen), "-ntg", "0", "-npl", String.valueOf(parallel), "-kvu", "-fa", "on",
                "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl"));
        baselineCmd.addAll(gpu.batchedBenchArgs(bench));

        List<ScoreRun> shared = new ArrayList<>();
        List<ScoreRun> unshared = new ArrayList<>();
        List<Double> baseline = new ArrayList<>();
        for (int r = 0; r < bench.rounds; r++) {
            baseline.add(bench.run(baselineCmd, bench.work("c" + r + ".log")).figure("speed_pp"));
            deleteOutputs();
            shared.add(ScoreRun.parse(bench.run(scoreCmd, bench.work("a" + r + ".log"))));
            unshared.add(ScoreRun.parse(bench.run(unsharedCmd, bench.work("b" + r + ".log"))));
            System.err.printf(Locale.ROOT, "round %d: (a) %.1f s, (b) %.1f s, (c) %.1f tokens/s%n", r + 1,
                    shared.getLast().scoringSeconds, unshared.getLast().scoringSeconds, baseline.getLast());
        }
        report(shared, unshared, baseline, scoreCmd, unsharedCmd, baselineCmd).write();
        return 0;
    }

    private void deleteOutputs() throws IOException {
        for (String f : List.of("a.jsonl", "b.jsonl", "a.rejects.jsonl", "b.rejects.jsonl")) {
            Files.deleteIfExists(bench.work(f));
        }
    }

    private Report report(List<ScoreRun> a, List<ScoreRun> b, List<Double> c,
                          List<String> scoreCmd, List<String> unsharedCmd, List<String> baselineCmd) {
        double aRate = mean(a, ScoreRun::decodedPerSecond);
        double aWall = mean(a, ScoreRun::scoringSeconds);
        double bWall = mean(b, ScoreRun::scoringSeconds);
        double cRate = mean(c, Double::doubleValue);
        double outside = mean(a, r -> 100 - r.decodePct);
        double scoredPerSecond = (double) pairs * 2 * completionTokens / aWall;
        LlamaShape shape = SynthPreset.named(preset).shape();
        double outputShare = outputLayerShare(shape, nVocab);
        Report s = new Report(bench, "Scoring benchmark (issue 3)");
        s.format("Model: %s. "
                        + "Workload: %d preference pairs, prompts of %d tokens, chosen and rejected of %d tokens each "
                        + "(random whole-word tokens, exact lengths, BOS and EOS included). Batch %d tokens, %d sequences, %d threads, flash attention on in all three; %d rounds, interleaved, means below.%n%n",
                BenchOptions.synthDescription(preset, type), pairs, promptTokens, completionTokens, batchTokens, seqs, threads, bench.rounds);
        s.append("| run | scoring wall s | tokens through llama_decode | tokens/s decoded | decode % | log-probs % | other % |\n");
        s.append("|---|---|---|---|---|---|---|\n");
        row(s, "(a) `align4j score`", a);
        row(s, "(b) `align4j score --no-prefix-sharing`", b);
        s.format("| (c) `llama-batched-bench` prompt processing | | | %.1f | | | |%n%n", cRate);
        s.targets("%.3f", List.of(
                new Target("(a) decoded tokens/s ÷ (c) prompt tokens/s", aRate / cRate, ">= 0.80", aRate / cRate >= 0.8),
                new Target("(a) time outside llama_decode, % of its scoring wall time", outside, "<= 10", outside <= 10),
                new Target("(b) wall ÷ (a) wall (prefix-sharing speedup)", bWall / aWall, ">= 1.5 (ideal "
                        + String.format(Locale.ROOT, "%.2f", (double) (promptTokens + completionTokens) * 2 / (promptTokens + 2 * completionTokens)) + ")",
                        bWall / aWall >= 1.5)));
        s.append("\nPer round (the spread is the machine's noise):\n\n| round | (a) s | (b) s | (b) ÷ (a) | (a) ÷ (c) |\n|---|---|---|---|---|\n");
        for (int r = 0; r < a.size(); r++) {
            s.format("| %d | %.1f | %.1f | %.3f | %.3f |%n", r + 1, a.get(r).scoringSeconds,
                    b.get(r).scoringSeconds, b.get(r).scoringSeconds / a.get(r).scoringSeconds, a.get(r).decodedPerSecond() / c.get(r));
        }
        s.format("%n(a) scores %.1f completion tokens/s (%d pairs x 2 x %d tokens in %.1f s).%n%n",
                scoredPerSecond, pairs, completionTokens, aWall);
        s.append("## Where the gap to (c) comes from\n\n");
        s.format("(c) computes the output layer once per sequence; (a) computes it at every completion position (%d rows per pair of %d decoded tokens), "
                        + "because each of those positions is scored. For this shape the output layer is %.1f%% of the weights' multiply-adds "
                        + "per logit row added to a token (V x C against the blocks' per-token work), so at equal matmul speed (a) can reach "
                        + "at most %.2f of (c)'s token rate; the rest of the gap is the time outside llama_decode (log-softmax + Java, table above) "
                        + "and the attention of the shorter, shared sequences.%n",
                2 * completionTokens, promptTokens + 2 * completionTokens, 100 * outputShare,
                1 / (1 + (2.0 * completionTokens / (promptTokens + 2 * completionTokens)) * outputShare));
        return s.reproduce("./align4j, the llama.cpp baselines and this harness")
                .commands("which runs, per round", List.of(baselineCmd, scoreCmd, unsharedCmd));
    }

    /** The output layer's multiply-adds per logit row over the transformer blocks' per token (weights only). */
    private static double outputLayerShare(LlamaShape shape, int nVocab) {
        return (double) nVocab * shape.embd() / LlamaFlops.blockMatmulParams(shape);
    }

    private static void row(Report s, String name, List<ScoreRun> runs) {
        s.format("| %s | %.1f | %d | %.1f | %.1f | %.1f | %.1f |%n", name, mean(runs, ScoreRun::scoringSeconds), runs.getFirst().tokensDecoded,
                mean(runs, ScoreRun::decodedPerSecond), mean(runs, ScoreRun::decodePct), mean(runs, ScoreRun::logProbPct),
                mean(runs, ScoreRun::otherPct));
    }
}
