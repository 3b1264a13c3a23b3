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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.llama.Vocab;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The scoring benchmark of issue 3: on a shape-faithful synthetic model, preference pairs with P-token
 * prompts and L-token completions are scored by (a) {@code align4j score}, (b) the same with prefix
 * sharing off, and compared with (c) llama.cpp's own prompt processing ({@code llama-batched-bench}) at
 * the same batch size, all as child processes in one run, rounds interleaved. Writes a markdown report.
 */
@Command(name = "score-bench", mixinStandardHelpOptions = true)
public final class ScoreBench implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--root", description = "the align4j checkout (./align4j and build/ built)")
    Path root = Path.of(".");

    @Option(names = "--preset") String preset = "qwen2.5-0.5b";
    @Option(names = "--type") String type = "q8_0";
    @Option(names = "--pairs") int pairs = 24;
    @Option(names = "--prompt-tokens") int promptTokens = 256;
    @Option(names = "--completion-tokens") int completionTokens = 64;
    @Option(names = "--batch-tokens") int batchTokens = 512;
    @Option(names = "--seqs") int seqs = 16;
    @Option(names = "--threads") int threads = Runtime.getRuntime().availableProcessors();
    @Option(names = "--rounds") int rounds = 2;
    @Option(names = "--work", description = "scratch folder for the model, workload and logs") Path work = Path.of("build/bench/score");
    @Option(names = "--report") Path report = Path.of("benchmarks/results/score.md");

    private int nVocab;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ScoreBench()).execute(args));
    }

    /** What one align4j score run reported: its summary and timing lines. */
    record ScoreRun(ChildRun child, double scoringSeconds, long tokensDecoded, double decodePct, double logProbPct, double otherPct) {
        private static final Pattern SUMMARY = Pattern.compile("score: \\d+ records \\(0 skipped\\), \\d+ tokens in ([0-9.]+) s");
        private static final Pattern TIMINGS = Pattern.compile(
                "score: (\\d+) tokens in \\d+ llama_decode calls .*: decode ([0-9.]+)%, log-probs ([0-9.]+)%, other ([0-9.]+)%");

        static ScoreRun parse(ChildRun c) {
            Matcher s = SUMMARY.matcher(c.err());
            Matcher t = TIMINGS.matcher(c.err());
            if (!s.find() || !t.find()) {
                throw new IllegalStateException("no summary/timing line from " + c.commandLine() + ":\n" + c.err());
            }
            return new ScoreRun(c, Double.parseDouble(s.group(1)), Long.parseLong(t.group(1)),
                    Double.parseDouble(t.group(2)), Double.parseDouble(t.group(3)), Double.parseDouble(t.group(4)));
        }

        double decodedPerSecond() {
            return tokensDecoded / scoringSeconds;
        }
    }

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(work);
        String align4j = root.resolve("align4j").toString();
        String bench = root.resolve("build/native/bin/llama-batched-bench").toString();
        Path model = ChildRun.synthesize(align4j, preset, type, work.resolve(preset + "-" + type + ".gguf"));
        Path input = work.resolve("pairs.jsonl");
        ExactLengthText.writePairs(model, input, pairs, promptTokens, completionTokens);
        try (Vocab vocab = Vocab.open(model)) {
            nVocab = vocab.nTokens();
        }

        int seqLen = promptTokens + completionTokens;
        List<String> scoreCmd = List.of(align4j, "score", "-m", model.toString(), "-i", input.toString(),
                "-o", work.resolve("a.jsonl").toString(), "--ctx", String.valueOf(seqLen), "--batch-tokens", String.valueOf(batchTokens),
                "--seqs", String.valueOf(seqs), "--threads", String.valueOf(threads));
        List<String> unsharedCmd = new ArrayList<>(scoreCmd);
        unsharedCmd.set(unsharedCmd.indexOf(work.resolve("a.jsonl").toString()), work.resolve("b.jsonl").toString());
        unsharedCmd.add("--no-prefix-sharing");
        // Sequences as long as a scored one, enough of them to fill several batches.
        int parallel = Math.max(1, 4 * batchTokens / seqLen);
        List<String> baselineCmd = List.of(bench, "-m", model.toString(), "-c", String.valueOf(parallel * seqLen + batchTokens),
                "-b", String.valueOf(batchTokens), "-ub", String.valueOf(Math.min(batchTokens, 512)),
                "-npp", String.valueOf(seqLen), "-ntg", "0", "-npl", String.valueOf(parallel), "-kvu", "-fa", "on",
                "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl");

        List<ScoreRun> shared = new ArrayList<>();
        List<ScoreRun> unshared = new ArrayList<>();
        List<Double> baseline = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            baseline.add(ppSpeed(ChildRun.run(baselineCmd, work.resolve("c" + r + ".log"))));
            deleteOutputs();
            shared.add(ScoreRun.parse(ChildRun.run(scoreCmd, work.resolve("a" + r + ".log"))));
            unshared.add(ScoreRun.parse(ChildRun.run(unsharedCmd, work.resolve("b" + r + ".log"))));
            System.err.printf(Locale.ROOT, "round %d: (a) %.1f s, (b) %.1f s, (c) %.1f tokens/s%n", r + 1,
                    shared.getLast().scoringSeconds, unshared.getLast().scoringSeconds, baseline.getLast());
        }
        String text = report(shared, unshared, baseline, scoreCmd, unsharedCmd, baselineCmd);
        Files.createDirectories(report.toAbsolutePath().getParent());
        Files.writeString(report, text, StandardCharsets.UTF_8);
        System.out.print(text);
        return 0;
    }

    private void deleteOutputs() throws IOException {
        for (String f : List.of("a.jsonl", "b.jsonl", "a.rejects.jsonl", "b.rejects.jsonl")) {
            Files.deleteIfExists(work.resolve(f));
        }
    }

    private static double ppSpeed(ChildRun c) {
        Matcher m = Pattern.compile("\"speed_pp\": ([0-9.]+)").matcher(c.out() + c.err());
        if (!m.find()) {
            throw new IllegalStateException("no speed_pp in the output of " + c.commandLine());
        }
        return Double.parseDouble(m.group(1));
    }

    private String report(List<ScoreRun> a, List<ScoreRun> b, List<Double> c,
                          List<String> scoreCmd, List<String> unsharedCmd, List<String> baselineCmd) {
        double aRate = mean(a.stream().mapToDouble(ScoreRun::decodedPerSecond).toArray());
        double aWall = mean(a.stream().mapToDouble(ScoreRun::scoringSeconds).toArray());
        double bWall = mean(b.stream().mapToDouble(ScoreRun::scoringSeconds).toArray());
        double cRate = mean(c.stream().mapToDouble(Double::doubleValue).toArray());
        double outside = mean(a.stream().mapToDouble(r -> 100 - r.decodePct).toArray());
        double scoredPerSecond = (double) pairs * 2 * completionTokens / aWall;
        LlamaShape shape = SynthPreset.named(preset).shape();
        double outputShare = outputLayerShare(shape, nVocab);
        StringBuilder s = new StringBuilder();
        s.append("# Scoring benchmark (issue 3)\n\n");
        s.append(String.format(Locale.ROOT, "Run on %s: %s.%n%n", LocalDate.now(), Machine.describe(root)));
        s.append(String.format(Locale.ROOT, "Model: synthetic `%s` shape, %s (`align4j model synth --preset %s --type %s --seed 1`). "
                        + "Workload: %d preference pairs, prompts of %d tokens, chosen and rejected of %d tokens each "
                        + "(random whole-word tokens, exact lengths, BOS and EOS included). Batch %d tokens, %d sequences, %d threads, flash attention on in all three; %d rounds, interleaved, means below.%n%n",
                preset, type, preset, type, pairs, promptTokens, completionTokens, batchTokens, seqs, threads, rounds));
        s.append("| run | scoring wall s | tokens through llama_decode | tokens/s decoded | decode % | log-probs % | other % |\n");
        s.append("|---|---|---|---|---|---|---|\n");
        row(s, "(a) `align4j score`", a);
        row(s, "(b) `align4j score --no-prefix-sharing`", b);
        s.append(String.format(Locale.ROOT, "| (c) `llama-batched-bench` prompt processing | | | %.1f | | | |%n%n", cRate));
        s.append("| target | measured | goal | |\n|---|---|---|---|\n");
        target(s, "(a) decoded tokens/s ÷ (c) prompt tokens/s", aRate / cRate, ">= 0.80", aRate / cRate >= 0.8);
        target(s, "(a) time outside llama_decode, % of its scoring wall time", outside, "<= 10", outside <= 10);
        target(s, "(b) wall ÷ (a) wall (prefix-sharing speedup)", bWall / aWall, ">= 1.5 (ideal "
                + String.format(Locale.ROOT, "%.2f", (double) (promptTokens + completionTokens) * 2 / (promptTokens + 2 * completionTokens)) + ")",
                bWall / aWall >= 1.5);
        s.append("\nPer round (the spread is the machine's noise):\n\n| round | (a) s | (b) s | (b) ÷ (a) | (a) ÷ (c) |\n|---|---|---|---|---|\n");
        for (int r = 0; r < a.size(); r++) {
            s.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.3f | %.3f |%n", r + 1, a.get(r).scoringSeconds,
                    b.get(r).scoringSeconds, b.get(r).scoringSeconds / a.get(r).scoringSeconds, a.get(r).decodedPerSecond() / c.get(r)));
        }
        s.append(String.format(Locale.ROOT, "%n(a) scores %.1f completion tokens/s (%d pairs x 2 x %d tokens in %.1f s).%n%n",
                scoredPerSecond, pairs, completionTokens, aWall));
        s.append("## Where the gap to (c) comes from\n\n");
        s.append(String.format(Locale.ROOT,
                "(c) computes the output layer once per sequence; (a) computes it at every completion position (%d rows per pair of %d decoded tokens), "
                        + "because each of those positions is scored. For this shape the output layer is %.1f%% of the weights' multiply-adds "
                        + "per logit row added to a token (V x C against the blocks' per-token work), so at equal matmul speed (a) can reach "
                        + "at most %.2f of (c)'s token rate; the rest of the gap is the time outside llama_decode (log-softmax + Java, table above) "
                        + "and the attention of the shorter, shared sequences.%n%n",
                2 * completionTokens, promptTokens + 2 * completionTokens, 100 * outputShare,
                1 / (1 + (2.0 * completionTokens / (promptTokens + 2 * completionTokens)) * outputShare)));
        s.append("## Reproduce\n\n```\n" + Machine.makeCommand("bench-score", spec) + "     # builds ./align4j, the llama.cpp baselines and this harness, then runs it\n```\n\nwhich runs, per round:\n\n```\n");
        s.append(Machine.commandLine(baselineCmd, root)).append('\n');
        s.append(Machine.commandLine(scoreCmd, root)).append('\n');
        s.append(Machine.commandLine(unsharedCmd, root)).append("\n```\n");
        return s.toString();
    }

    /** The output layer's multiply-adds per logit row over the transformer blocks' per token (weights only). */
    private static double outputLayerShare(LlamaShape shape, int nVocab) {
        long c = shape.embd();
        long k = (long) shape.kvHeads() * shape.headDim();
        long perToken = shape.layers() * (2 * c * c + 2 * c * k + 3 * c * shape.ffn());
        return (double) nVocab * c / perToken;
    }

    private static void row(StringBuilder s, String name, List<ScoreRun> runs) {
        s.append(String.format(Locale.ROOT, "| %s | %.1f | %d | %.1f | %.1f | %.1f | %.1f |%n", name,
                mean(runs.stream().mapToDouble(ScoreRun::scoringSeconds).toArray()), runs.getFirst().tokensDecoded,
                mean(runs.stream().mapToDouble(ScoreRun::decodedPerSecond).toArray()),
                mean(runs.stream().mapToDouble(r -> r.decodePct).toArray()),
                mean(runs.stream().mapToDouble(r -> r.logProbPct).toArray()),
                mean(runs.stream().mapToDouble(r -> r.otherPct).toArray())));
    }

    private static void target(StringBuilder s, String what, double value, String goal, boolean met) {
        s.append(String.format(Locale.ROOT, "| %s | %.3f | %s | %s |%n", what, value, goal, met ? "met" : "**missed**"));
    }

    private static double mean(double[] xs) {
        double sum = 0;
        for (double x : xs) {
            sum += x;
        }
        return sum / xs.length;
    }
}
