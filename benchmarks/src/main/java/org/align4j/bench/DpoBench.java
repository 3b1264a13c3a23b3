package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The DPO trainer benchmark of issue 6: training tokens/s of {@code align4j dpo} (the Java trainer's
 * forward and backward passes plus the optimizer, per optimizer step) on synthetic models, at each
 * thread count, with the share of the training time in matmuls. Every run is a child process, as users
 * run it; rounds are interleaved (each round runs every preset at every thread count). The figures are
 * the job's own: its summary (tokens over training seconds, which leave out loading, the reference
 * pass and writing the model) and its timing line.
 *
 * <p>A run's first steps are slow while the JIT compiles the Vector API kernels, so each setting runs
 * twice per round, for W and for W + S steps, and the steady rate and time split are the difference of
 * the two (the first W steps are the same work in both). Writes a markdown report.
 */
@Command(name = "dpo-bench", mixinStandardHelpOptions = true)
public final class DpoBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("dpo");

    @Option(names = "--presets", split = ",", description = "synthetic presets (default: tiny,small-10m)")
    List<String> presets = List.of("tiny", "small-10m");

    @Option(names = "--threads", split = ",", description = "thread counts (default: 1,2)")
    List<Integer> threads = List.of(1, 2);

    @Option(names = "--pairs") int pairs = 32;
    @Option(names = "--prompt-tokens") int promptTokens = 64;
    @Option(names = "--completion-tokens") int completionTokens = 64;
    @Option(names = "--batch-size", description = "pairs per optimizer step") int batchSize = 4;
    @Option(names = "--warmup-steps", description = "steps of the shorter run (W)") int warmupSteps = 5;
    @Option(names = "--steps", description = "steps the longer run adds (S)") int steps = 20;

    public static void main(String[] args) {
        System.exit(new CommandLine(new DpoBench()).execute(args));
    }

    /**
     * What one {@code align4j dpo} run reported, or the difference of two: tokens, training seconds and
     * their split (seconds in the blocks' and the output layer's matmuls, attention, the output layer's
     * log-sum-exp, norms/RoPE/SwiGLU/transposes, the optimizer, the rest).
     */
    record DpoRun(long tokens, double seconds, double block, double output, double attention, double lse,
                  double elementwise, double optimizer, double other) {
        private static final Pattern SUMMARY = Pattern.compile("dpo: \\d+ steps \\(\\d+ this run\\) on \\d+ pairs \\(0 skipped\\), (\\d+) tokens in");
        private static final Pattern TIMINGS = Pattern.compile("dpo: ([0-9.]+) s of training on \\d+ threads?: "
                + "matmul ([0-9.]+)% \\(blocks ([0-9.]+)%, output layer ([0-9.]+)%\\), attention ([0-9.]+)%, "
                + "output log-sum-exp ([0-9.]+)%, norms/RoPE/SwiGLU/transposes ([0-9.]+)%, optimizer ([0-9.]+)%, other ([0-9.]+)%");

        static DpoRun parse(ChildRun c) {
            Matcher s = c.find(SUMMARY);
            Matcher t = c.find(TIMINGS);
            double seconds = Double.parseDouble(t.group(1));
            double[] part = new double[9]; // seconds of each share; part[0] (all matmuls) is the sum of 1 and 2
            for (int i = 0; i < part.length - 1; i++) {
                part[i] = seconds * Double.parseDouble(t.group(i + 2)) / 100;
            }
            return new DpoRun(Long.parseLong(s.group(1)), seconds, part[1], part[2], part[3], part[4], part[5], part[6], part[7]);
        }

        /** This run's figures less those of {@code shorter}, whose steps were this run's first ones. */
        DpoRun minus(DpoRun shorter) {
            return new DpoRun(tokens - shorter.tokens, seconds - shorter.seconds, block - shorter.block,
                    output - shorter.output, attention - shorter.attention, lse - shorter.lse,
                    elementwise - shorter.elementwise, optimizer - shorter.optimizer, other - shorter.other);
        }

        double tokensPerSecond() {
            return tokens / seconds;
        }

        /** False for a difference with no time in it or a share that went down by over 2% of it. */
        boolean consistent() {
            double slack = -0.02 * seconds;
            return seconds > 0 && block >= slack && output >= slack && attention >= slack && lse >= slack
                    && elementwise >= slack && optimizer >= slack && other >= slack;
        }

        double matmul() {
            return block + output;
        }

        double pct(double part) {
            return 100 * part / seconds;
        }
    }

    /**
     * One preset at one thread count: its W-step and (W + S)-step commands, per round the longer run as
     * reported and the steady state (longer less shorter).
     */
    private record Cell(String preset, int threads, List<String> shortCommand, List<String> longCommand,
                        List<DpoRun> whole, List<DpoRun> steady) {}

    @Override
    public Integer call() throws IOException {
        if (warmupSteps < 1 || steps < 1 || bench.rounds < 1 || pairs < 1 || batchSize < 1) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--warmup-steps, --steps, --rounds, --pairs and --batch-size must be at least 1");
        }
        Files.createDirectories(bench.work);
        List<Cell> cells = new ArrayList<>();
        for (String preset : presets) {
            Path model = bench.synthesize(preset, "f32");
            Path data = bench.work("pairs-" + preset + ".jsonl");
            ExactLengthText.writePairs(model, data, pairs, promptTokens, completionTokens);
            for (int t : threads) {
                cells.add(new Cell(preset, t, dpoCommand(model, data, t, warmupSteps),
                        dpoCommand(model, data, t, warmupSteps + steps), new ArrayList<>(), new ArrayList<>()));
            }
        }
        for (int r = 0; r < bench.rounds; r++) {
            for (Cell c : cells) {
                String name = c.preset + "-t" + c.threads + "-r" + r;
                DpoRun shorter = DpoRun.parse(runFresh(bench, c.shortCommand, bench.work(name + "-w.log")));
                DpoRun longer = DpoRun.parse(runFresh(bench, c.longCommand, bench.work(name + ".log")));
                DpoRun steady = longer.minus(shorter);
                c.whole.add(longer);
                c.steady.add(steady);
                System.err.printf(Locale.ROOT, "round %d: %s, %d thread(s): %.0f tokens/s steady (%.0f over the run), matmul %.1f%%%n",
                        r + 1, c.preset, c.threads, steady.tokensPerSecond(), longer.tokensPerSecond(), steady.pct(steady.matmul()));
            }
        }
        report(cells).write();
        return 0;
    }

    private List<String> dpoCommand(Path model, Path data, int threads, int maxSteps) {
        Path out = bench.work(model.getFileName().toString().replace(".gguf", "") + "-t" + threads + "-" + maxSteps + ".out.gguf");
        return List.of(bench.align4j(), "dpo", "--policy", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--max-steps", String.valueOf(maxSteps), "--batch-size", String.valueOf(batchSize),
                "--max-len", String.valueOf(promptTokens + completionTokens), "--save-every", "0",
                "--threads", String.valueOf(threads));
    }

    /** Runs an {@code align4j dpo} command, first removing the checkpoint a last round left (dpo would ask for --resume). */
    static ChildRun runFresh(BenchOptions bench, List<String> command, Path log) {
        try {
            Files.deleteIfExists(Path.of(command.get(command.indexOf("--out") + 1) + ".ckpt"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bench.run(command, log);
    }

    /** The report's warning when a steady figure is not to be used. */
    static void warnIfInconsistent(Report s, Stream<DpoRun> steady) {
        if (steady.anyMatch(r -> !r.consistent())) {
            s.append("**Warning: some steady figures are inconsistent (a longer run that took no longer, or a share that "
                    + "shrank): the machine was busy or W is too short for the JIT to settle. Do not use these numbers.**\n\n");
        }
    }

    private Report report(List<Cell> cells) {
        long tokensPerStep = (long) batchSize * 2 * (promptTokens + completionTokens);
        Report s = new Report(bench, "DPO trainer benchmark (issue 6)");
        warnIfInconsistent(s, cells.stream().flatMap(c -> c.steady.stream()));
        s.format("`align4j dpo` (sigmoid loss, AdamW, gradient clipping at 1.0) with optimizer steps of %d pairs "
                        + "(one micro-batch: %d sequences, %d tokens) on %d synthetic preference pairs: prompts of %d tokens, "
                        + "chosen and rejected of %d tokens each (random whole-word tokens, exact lengths, BOS and EOS included). "
                        + "Models: synthetic presets in f32 (`align4j model synth --preset NAME --type f32 --seed 1`). "
                        + "Each setting runs for W = %d and for W + S = %d steps; %d round%s, interleaved; means over rounds, "
                        + "with the range where rounds differ.%n%n",
                batchSize, 2 * batchSize, tokensPerStep, pairs, promptTokens, completionTokens, warmupSteps,
                warmupSteps + steps, bench.rounds, bench.rounds == 1 ? "" : "s");
        s.append("Training tokens are the tokens through forward and backward (each pair's prompt counts twice, once per "
                + "completion); training time is the job's, from the first optimizer step to the last, which leaves out "
                + "loading, the reference pass (llama.cpp) and writing the model. **Steady** figures are the (W + S)-step "
                + "run less the W-step run, which drops the first steps' JIT warm-up; **whole run** is the (W + S)-step "
                + "run's own summary, as a user sees it. The time split is the job's timing line (`TrainerTimings`): "
                + "matmul is every product with a weight matrix, forward and backward (the blocks' projections, timed "
                + "around each group of calls; the output layer's, its wall time apportioned by its tasks' thread time in "
                + "matmuls); attention (forward and backward, its per-head products included) is on its own.\n\n");
        s.append("## Models\n\n| preset | layers | C | H / G | F | V | tied output | parameters | in blocks | in embeddings/output | "
                + "weight-matmul FLOPs per step |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String preset : presets) {
            SynthPreset p = SynthPreset.named(preset);
            LlamaShape sh = p.shape();
            int vocab = p.tokenizer().vocabSize();
            long blocks = blockParams(sh);
            long vocabParams = (long) vocab * sh.embd() * (sh.tiedOutput() ? 1 : 2);
            long total = blocks + vocabParams + sh.embd();
            s.format("| `%s` | %d | %d | %d / %d | %d | %d | %s | %.2fM | %.2fM (%.0f%%) | %.2fM (%.0f%%) | %.1f G |%n",
                    preset, sh.layers(), sh.embd(), sh.heads(), sh.kvHeads(), sh.ffn(), vocab, sh.tiedOutput() ? "yes" : "no",
                    total / 1e6, blocks / 1e6, 100.0 * blocks / total, vocabParams / 1e6, 100.0 * vocabParams / total,
                    matmulFlops(sh, vocab, tokensPerStep) / 1e9);
        }
        s.append("\nFLOPs per step: 6 x (projection weights) x (tokens) for the blocks (forward, then the input and "
                + "weight gradients) plus 8 x V x C x (scored tokens) for the output layer (backward recomputes the "
                + "logits). Matmul GFLOP/s below is that over the matmul time.\n\n");

        s.append("## Results (steady)\n\n| preset | threads | training tokens/s | s per step | speedup vs 1 thread | whole run tokens/s "
                + "| matmul % (blocks / output) | matmul GFLOP/s | attention % | output log-sum-exp % "
                + "| norms/RoPE/SwiGLU/transposes % | optimizer % | other % |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Cell c : cells) {
            double rate = mean(c.steady, DpoRun::tokensPerSecond);
            double one = cells.stream().filter(o -> o.preset.equals(c.preset) && o.threads == 1).findFirst()
                    .map(o -> mean(o.steady, DpoRun::tokensPerSecond)).orElse(Double.NaN);
            SynthPreset p = SynthPreset.named(c.preset);
            s.format("| `%s` | %d | %s | %.3f | %s | %s | %.1f (%.1f / %.1f) | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
                    c.preset, c.threads, withRange(c.steady, DpoRun::tokensPerSecond), tokensPerStep / rate,
                    Double.isNaN(one) ? "" : String.format(Locale.ROOT, "%.2f", rate / one),
                    withRange(c.whole, DpoRun::tokensPerSecond),
                    mean(c.steady, r -> r.pct(r.matmul())), mean(c.steady, r -> r.pct(r.block)), mean(c.steady, r -> r.pct(r.output)),
                    mean(c.steady, r -> matmulFlops(p.shape(), p.tokenizer().vocabSize(), r.tokens) / r.matmul() / 1e9),
                    mean(c.steady, r -> r.pct(r.attention)), mean(c.steady, r -> r.pct(r.lse)),
                    mean(c.steady, r -> r.pct(r.elementwise)), mean(c.steady, r -> r.pct(r.optimizer)),
                    mean(c.steady, r -> r.pct(r.other)));
        }
        return s.reproduce("./align4j and this harness")
                .commands("which writes the models and pairs once", presets.stream().map(p -> bench.synthCommand(p, "f32")).toList())
                .commands("and runs, per round", cells.stream().flatMap(c -> Stream.of(c.shortCommand, c.longCommand)).toList());
    }

    private static long blockParams(LlamaShape sh) {
        return LlamaFlops.blockMatmulParams(sh) + 2L * sh.layers() * sh.embd();
    }

    // Weight-matmul FLOPs of forward and backward over `tokens` tokens, of which the completions' are scored.
    private double matmulFlops(LlamaShape sh, int vocab, long tokens) {
        double scored = (double) tokens * completionTokens / (promptTokens + completionTokens);
        return 6.0 * LlamaFlops.blockMatmulParams(sh) * tokens + 8.0 * vocab * sh.embd() * scored;
    }

    private static String withRange(List<DpoRun> runs, ToDoubleFunction<DpoRun> f) {
        double mean = mean(runs, f);
        double lo = runs.stream().mapToDouble(f).min().orElse(mean);
        double hi = runs.stream().mapToDouble(f).max().orElse(mean);
        return runs.size() > 1 && hi - lo >= 0.5
                ? String.format(Locale.ROOT, "%.0f (%.0f-%.0f)", mean, lo, hi)
                : String.format(Locale.ROOT, "%.0f", mean);
    }

}
