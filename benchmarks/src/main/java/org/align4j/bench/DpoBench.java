package org.align4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.llama.Vocab;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The DPO trainer benchmark of issue 6: training tokens/s of {@code align4j dpo} (the Java trainer's
 * forward and backward passes plus the optimizer, per optimizer step) on synthetic models, at each
 * thread count, with the share of the training time in matmuls. Every run is a child process, as users
 * run it; rounds are interleaved (each round runs every preset at every thread count). The figures are
 * the job's own: its summary (tokens over training seconds, which leave out loading, the reference
 * pass and writing the model) and its timing line. Writes a markdown report.
 */
@Command(name = "dpo-bench", mixinStandardHelpOptions = true)
public final class DpoBench implements Callable<Integer> {
    @Option(names = "--root", description = "the align4j checkout (./align4j built)")
    Path root = Path.of(".");

    @Option(names = "--presets", split = ",", description = "synthetic presets (default: tiny,small-10m)")
    List<String> presets = List.of("tiny", "small-10m");

    @Option(names = "--threads", split = ",", description = "thread counts (default: 1,2)")
    List<Integer> threads = List.of(1, 2);

    @Option(names = "--pairs") int pairs = 32;
    @Option(names = "--prompt-tokens") int promptTokens = 64;
    @Option(names = "--completion-tokens") int completionTokens = 64;
    @Option(names = "--batch-size", description = "pairs per optimizer step") int batchSize = 4;
    @Option(names = "--steps") int steps = 8;
    @Option(names = "--rounds") int rounds = 2;
    @Option(names = "--work", description = "scratch folder for models, data and logs") Path work = Path.of("build/bench/dpo");
    @Option(names = "--report") Path report = Path.of("benchmarks/results/dpo.md");

    public static void main(String[] args) {
        System.exit(new CommandLine(new DpoBench()).execute(args));
    }

    /** What one {@code align4j dpo} run reported: its summary and timing lines. */
    record DpoRun(long tokens, double seconds, double matmulPct, double blockPct, double outputPct, double attentionPct,
                  double lsePct, double elementwisePct, double optimizerPct, double otherPct) {
        private static final Pattern SUMMARY = Pattern.compile("dpo: \\d+ steps \\(\\d+ this run\\) on \\d+ pairs \\(0 skipped\\), (\\d+) tokens in");
        private static final Pattern TIMINGS = Pattern.compile("dpo: training time on \\d+ threads? of ([0-9.]+) s: "
                + "matmul ([0-9.]+)% \\(blocks ([0-9.]+)%, output layer ([0-9.]+)%\\), attention ([0-9.]+)%, "
                + "output log-sum-exp ([0-9.]+)%, norms/RoPE/SwiGLU/transposes ([0-9.]+)%, optimizer ([0-9.]+)%, other ([0-9.]+)%");

        static DpoRun parse(ChildRun c) {
            Matcher s = SUMMARY.matcher(c.err());
            Matcher t = TIMINGS.matcher(c.err());
            if (!s.find() || !t.find()) {
                throw new IllegalStateException("no summary/timing line from " + c.commandLine() + ":\n" + c.err());
            }
            double[] p = new double[9];
            for (int i = 0; i < p.length; i++) {
                p[i] = Double.parseDouble(t.group(i + 1));
            }
            return new DpoRun(Long.parseLong(s.group(1)), p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]);
        }

        double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    /** One preset at one thread count: its command and a run per round. */
    private record Cell(String preset, int threads, List<String> command, List<DpoRun> runs) {}

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(work);
        String align4j = root.resolve("align4j").toString();
        Map<String, Path> data = new LinkedHashMap<>();
        List<Cell> cells = new ArrayList<>();
        for (String preset : presets) {
            Path model = work.resolve(preset + ".gguf");
            if (!Files.exists(model)) {
                ChildRun.run(List.of(align4j, "model", "synth", "--preset", preset, "--type", "f32", "--seed", "1",
                        "-o", model.toString()), work.resolve("synth-" + preset + ".log"));
            }
            data.put(preset, writePairs(model, work.resolve("pairs-" + preset + ".jsonl")));
            for (int t : threads) {
                Path out = work.resolve(preset + "-t" + t + ".out.gguf");
                cells.add(new Cell(preset, t, List.of(align4j, "dpo", "--policy", model.toString(),
                        "--data", data.get(preset).toString(), "--out", out.toString(),
                        "--max-steps", String.valueOf(steps), "--batch-size", String.valueOf(batchSize),
                        "--max-len", String.valueOf(promptTokens + completionTokens), "--save-every", "0",
                        "--threads", String.valueOf(t)), new ArrayList<>()));
            }
        }
        for (int r = 0; r < rounds; r++) {
            for (Cell c : cells) {
                Path out = Path.of(c.command.get(c.command.indexOf("--out") + 1));
                Files.deleteIfExists(Path.of(out + ".ckpt")); // a checkpoint left there would ask for --resume
                DpoRun run = DpoRun.parse(ChildRun.run(c.command, work.resolve(c.preset + "-t" + c.threads + "-r" + r + ".log")));
                c.runs.add(run);
                System.err.printf(Locale.ROOT, "round %d: %s, %d thread(s): %.0f tokens/s, matmul %.1f%%%n", r + 1,
                        c.preset, c.threads, run.tokensPerSecond(), run.matmulPct);
            }
        }
        String text = report(cells);
        Files.createDirectories(report.toAbsolutePath().getParent());
        Files.writeString(report, text, StandardCharsets.UTF_8);
        System.out.print(text);
        return 0;
    }

    // Pairs of P-token prompts and L-token completions (BOS and EOS included, as dpo tokenizes them).
    private Path writePairs(Path model, Path file) {
        ObjectMapper json = new ObjectMapper();
        SplittableRandom rnd = new SplittableRandom(42);
        List<String> lines = new ArrayList<>();
        try (Vocab vocab = Vocab.open(model)) {
            ExactLengthText text = new ExactLengthText(vocab);
            int promptWords = promptTokens - (vocab.addsBos() ? 1 : 0);
            int completionWords = completionTokens - (vocab.eos() >= 0 ? 1 : 0);
            for (int i = 0; i < pairs; i++) {
                lines.add(json.createObjectNode().put("id", i)
                        .put("prompt", text.text(promptWords, rnd))
                        .put("chosen", text.text(completionWords, rnd))
                        .put("rejected", text.text(completionWords, rnd)).toString());
            }
        }
        try {
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    private String report(List<Cell> cells) {
        long tokensPerStep = (long) batchSize * 2 * (promptTokens + completionTokens);
        StringBuilder s = new StringBuilder();
        s.append("# DPO trainer benchmark (issue 6)\n\n");
        s.append(String.format(Locale.ROOT, "Run on %s: %s.%n%n", LocalDate.now(), Machine.describe(root)));
        s.append(String.format(Locale.ROOT, "`align4j dpo` (sigmoid loss, AdamW, gradient clipping at 1.0) for %d optimizer steps of %d pairs "
                        + "(one micro-batch: %d sequences, %d tokens) on %d synthetic preference pairs: prompts of %d tokens, "
                        + "chosen and rejected of %d tokens each (random whole-word tokens, exact lengths, BOS and EOS included). "
                        + "Models: synthetic presets in f32 (`align4j model synth --preset NAME --type f32 --seed 1`). "
                        + "%d rounds, interleaved; means over rounds, with the range where rounds differ.%n%n",
                steps, batchSize, 2 * batchSize, tokensPerStep, pairs, promptTokens, completionTokens, rounds));
        s.append("Training tokens/s is the job's own figure: tokens through forward and backward (each pair's prompt "
                + "counts twice, once per completion) over the time from the first optimizer step to the last, which "
                + "leaves out loading, the reference pass (llama.cpp) and writing the model, and includes the first "
                + "steps' JIT warm-up. The time split is the job's timing line (`TrainerTimings`): matmul is every "
                + "product with a weight matrix, forward and backward (the blocks' projections, timed around each group "
                + "of calls; the output layer's, estimated from its tasks' thread time); attention, forward and backward, "
                + "is on its own (its per-head products are not weight matmuls).\n\n");
        s.append("## Models\n\n| preset | layers | C | H / G | F | V | tied output | parameters | in blocks | in embeddings/output | "
                + "weight-matmul FLOPs per step |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String preset : presets) {
            SynthPreset p = SynthPreset.named(preset);
            LlamaShape sh = p.shape();
            int vocab = p.tokenizer().vocabSize();
            long blocks = blockParams(sh);
            long vocabParams = (long) vocab * sh.embd() * (sh.tiedOutput() ? 1 : 2);
            long total = blocks + vocabParams + sh.embd();
            s.append(String.format(Locale.ROOT, "| `%s` | %d | %d | %d / %d | %d | %d | %s | %.2fM | %.2fM (%.0f%%) | %.2fM (%.0f%%) | %.1f G |%n",
                    preset, sh.layers(), sh.embd(), sh.heads(), sh.kvHeads(), sh.ffn(), vocab, sh.tiedOutput() ? "yes" : "no",
                    total / 1e6, blocks / 1e6, 100.0 * blocks / total, vocabParams / 1e6, 100.0 * vocabParams / total,
                    matmulFlops(sh, vocab, tokensPerStep) / 1e9));
        }
        s.append("\nFLOPs per step: 6 x (projection weights) x (tokens) for the blocks (forward, then the input and "
                + "weight gradients) plus 8 x V x C x (scored tokens) for the output layer (backward recomputes the "
                + "logits). Matmul GFLOP/s below is that over the matmul time.\n\n");

        s.append("## Results\n\n| preset | threads | training tokens/s | s per step | speedup vs 1 thread | matmul % (blocks / output) "
                + "| matmul GFLOP/s | attention % | output log-sum-exp % | norms/RoPE/SwiGLU/transposes % | optimizer % | other % |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Cell c : cells) {
            double rate = mean(c.runs, DpoRun::tokensPerSecond);
            double one = cells.stream().filter(o -> o.preset.equals(c.preset) && o.threads == 1).findFirst()
                    .map(o -> mean(o.runs, DpoRun::tokensPerSecond)).orElse(Double.NaN);
            double seconds = mean(c.runs, DpoRun::seconds);
            SynthPreset p = SynthPreset.named(c.preset);
            double gflops = mean(c.runs, r -> matmulFlops(p.shape(), p.tokenizer().vocabSize(), r.tokens)
                    / (r.seconds * r.matmulPct / 100) / 1e9);
            s.append(String.format(Locale.ROOT, "| `%s` | %d | %s | %.2f | %s | %.1f (%.1f / %.1f) | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
                    c.preset, c.threads, withRange(c.runs, DpoRun::tokensPerSecond), seconds / steps,
                    Double.isNaN(one) ? "" : String.format(Locale.ROOT, "%.2f", rate / one),
                    mean(c.runs, DpoRun::matmulPct), mean(c.runs, DpoRun::blockPct), mean(c.runs, DpoRun::outputPct),
                    gflops,
                    mean(c.runs, DpoRun::attentionPct), mean(c.runs, DpoRun::lsePct), mean(c.runs, DpoRun::elementwisePct),
                    mean(c.runs, DpoRun::optimizerPct), mean(c.runs, DpoRun::otherPct)));
        }
        s.append("\n## Reproduce\n\n```\nmake bench-dpo     # builds ./align4j and this harness, then runs it\n```\n\n"
                + "which writes the models and pairs once:\n\n```\n");
        for (String preset : presets) {
            s.append(String.format(Locale.ROOT, "./align4j model synth --preset %s --type f32 --seed 1 -o %s%n", preset, work.resolve(preset + ".gguf")));
        }
        s.append("```\n\nand runs, per round:\n\n```\n");
        for (Cell c : cells) {
            s.append(String.join(" ", c.command)).append('\n');
        }
        s.append("```\n");
        return s.toString();
    }

    // Parameters of the blocks' projection matrices (q, k, v, o, gate, up, down), all layers.
    private static long blockMatmulParams(LlamaShape sh) {
        long c = sh.embd();
        long k = (long) sh.kvHeads() * sh.headDim();
        return sh.layers() * (2 * c * c + 2 * c * k + 3 * c * sh.ffn());
    }

    private static long blockParams(LlamaShape sh) {
        return blockMatmulParams(sh) + 2L * sh.layers() * sh.embd();
    }

    // Weight-matmul FLOPs of forward and backward over `tokens` tokens, of which the completions' are scored.
    private double matmulFlops(LlamaShape sh, int vocab, long tokens) {
        double scored = (double) tokens * completionTokens / (promptTokens + completionTokens);
        return 6.0 * blockMatmulParams(sh) * tokens + 8.0 * vocab * sh.embd() * scored;
    }

    private static String withRange(List<DpoRun> runs, ToDoubleFunction<DpoRun> f) {
        double mean = mean(runs, f);
        double lo = runs.stream().mapToDouble(f).min().orElse(mean);
        double hi = runs.stream().mapToDouble(f).max().orElse(mean);
        return runs.size() > 1 && hi - lo >= 0.5
                ? String.format(Locale.ROOT, "%.0f (%.0f-%.0f)", mean, lo, hi)
                : String.format(Locale.ROOT, "%.0f", mean);
    }

    private static double mean(List<DpoRun> runs, ToDoubleFunction<DpoRun> f) {
        return runs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
