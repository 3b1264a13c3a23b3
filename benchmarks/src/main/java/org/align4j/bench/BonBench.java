package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.bench.Report.Target;
import org.align4j.llama.Vocab;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Best-of-N benchmark of issue 4: on a shape-faithful synthetic model, P-token prompts, exactly
 * L new tokens per completion ({@code --ignore-eos}, checked), and N completions per prompt for each N,
 * aggregate generated tokens/s of (a) {@code align4j sample} with N sequences side by side, (b) the same
 * sampling one completion after another ({@code align4j sample --seqs 1}), and (c) llama.cpp's
 * {@code llama-batched-bench} generating at batch N from one shared prompt, all as child processes
 * under {@code /usr/bin/time} (peak memory), rounds interleaved. Writes a markdown report.
 */
@Command(name = "bon-bench", mixinStandardHelpOptions = true, description = "Best-of-N sampling throughput against llama-batched-bench.")
public final class BonBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("bon");
    @Mixin GpuLayers gpu = new GpuLayers();

    @Option(names = "--preset", description = "synthetic model shape (default: ${DEFAULT-VALUE})") String preset = "qwen2.5-0.5b";
    @Option(names = "--type", description = "its tensor type (default: ${DEFAULT-VALUE})") String type = "q8_0";
    @Option(names = "--prompt-tokens", description = "tokens per prompt, BOS included (default: ${DEFAULT-VALUE})") int promptTokens = 128;
    @Option(names = "--new-tokens", description = "tokens generated per completion (default: ${DEFAULT-VALUE})") int newTokens = 128;

    @Option(names = "--n", split = ",", paramLabel = "N", description = "completions per prompt = batch size (default: 1,4,16,64)")
    List<Integer> ns = List.of(1, 4, 16, 64);

    @Option(names = "--prompts", split = ",", paramLabel = "COUNT",
            description = "prompts per N, one count per --n or one for all (default: 4,2,1,1)")
    List<Integer> prompts = List.of(4, 2, 1, 1);

    @Option(names = "--sequential-max-n", paramLabel = "N",
            description = "(b) samples at most this many completions per prompt: one completion at a time, its rate does not depend on N"
                    + " (default: ${DEFAULT-VALUE}; set it to the largest --n for the full workload)")
    int sequentialMaxN = 4;

    @Option(names = "--flash-attn-n", split = ",", paramLabel = "N",
            description = "also run (a) --flash-attn and (c) -fa on at those of these N that are in --n (default: 16; 0: none)")
    List<Integer> flashAttnNs = List.of(16);

    @Option(names = "--batch-tokens", description = "tokens per llama_decode in (a), (b) and (c) (default: ${DEFAULT-VALUE})") int batchTokens = 512;
    @Option(names = "--threads", description = "CPU threads for all three (default: all cores)") int threads = Runtime.getRuntime().availableProcessors();
    @Option(names = "--seed", description = "sampling seed of (a) and (b) (default: ${DEFAULT-VALUE})") long seed = 1;
    @Option(names = "--model", paramLabel = "GGUF", description = "an existing model to use instead of synthesizing one") Path modelOption;

    private int nVocab;

    private static final Path TIME = Path.of("/usr/bin/time");
    private static final String PEAK_MARK = "align4j-bench-peak-rss-kb=";

    public static void main(String[] args) {
        System.exit(new CommandLine(new BonBench()).execute(args));
    }

    /** One child run's figures. */
    record Run(long generated, double seconds, long peakKb, double decodePct, double samplingPct, double logProbPct,
               double otherPct) {
        double rate() {
            return generated / seconds;
        }
    }

    /** What llama-batched-bench printed for one batch size. */
    record Baseline(double tPp, double tTg, double speedTg, long peakKb, int pl, int tg) {
        /** Generated tokens over prompt + generation time: like (a), whose wall includes its shared prompt. */
        double endToEnd() {
            return (double) pl * tg / (tPp + tTg);
        }
    }

    /** Every run of one N, by variant, over the rounds. */
    private static final class PerN {
        final int n;
        final int prompts;
        final List<Run> a = new ArrayList<>();
        final List<Run> b = new ArrayList<>();
        final List<Baseline> c = new ArrayList<>();
        final List<Run> aFa = new ArrayList<>();
        final List<Baseline> cFa = new ArrayList<>();
        List<String> aCmd, bCmd, cCmd, aFaCmd, cFaCmd;

        PerN(int n, int prompts) {
            this.n = n;
            this.prompts = prompts;
        }
    }

    @Override
    public Integer call() throws IOException {
        if (prompts.size() != 1 && prompts.size() != ns.size()) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--prompts takes one count or one per --n (" + ns.size() + ")");
        }
        Files.createDirectories(bench.work);
        boolean timed = Files.isExecutable(TIME);
        if (!timed) {
            System.err.println("bon-bench: " + TIME + " is missing: peak memory is not measured");
        }
        Path model = modelOption != null ? modelOption : bench.synthesize(preset, type);
        try (Vocab vocab = Vocab.open(model)) {
            nVocab = vocab.nTokens();
        }

        Map<Integer, PerN> byN = new LinkedHashMap<>();
        for (int i = 0; i < ns.size(); i++) {
            int n = ns.get(i);
            PerN p = new PerN(n, prompts.size() == 1 ? prompts.getFirst() : prompts.get(i));
            Path input = bench.work("prompts-n" + n + ".jsonl");
            ExactLengthText.writePrompts(model, input, p.prompts, promptTokens);
            p.aCmd = sampleCmd(model, input, bench.work("a-n" + n + ".jsonl"), n, n, false);
            p.bCmd = sampleCmd(model, input, bench.work("b-n" + n + ".jsonl"), Math.min(n, sequentialMaxN), 1, false);
            p.cCmd = baselineCmd(model, n, false);
            if (flashAttnNs.contains(n)) {
                p.aFaCmd = sampleCmd(model, input, bench.work("afa-n" + n + ".jsonl"), n, n, true);
                p.cFaCmd = baselineCmd(model, n, true);
            }
            byN.put(n, p);
        }

        for (int r = 0; r < bench.rounds; r++) {
            for (PerN p : byN.values()) {
                String tag = "n" + p.n + "-r" + r;
                p.c.add(baseline(p.cCmd, bench.work("c-" + tag + ".log"), p.n, timed));
                p.a.add(sample(p.aCmd, bench.work("a-" + tag + ".log"), timed));
                p.b.add(sample(p.bCmd, bench.work("b-" + tag + ".log"), timed));
                if (p.aFaCmd != null) {
                    p.cFa.add(baseline(p.cFaCmd, bench.work("cfa-" + tag + ".log"), p.n, timed));
                    p.aFa.add(sample(p.aFaCmd, bench.work("afa-" + tag + ".log"), timed));
                }
                System.err.printf(Locale.ROOT, "round %d, N = %d: (a) %.1f, (b) %.1f, (c) %.1f generated tokens/s (c's S_TG)%n", r + 1, p.n,
                        p.a.getLast().rate(), p.b.getLast().rate(), p.c.getLast().speedTg());
            }
        }
        report(byN.values(), timed).write();
        return 0;
    }

    private List<String> sampleCmd(Path model, Path input, Path output, int n, int seqs, boolean flashAttn) {
        List<String> cmd = new ArrayList<>(List.of(bench.align4j(), "sample", "-m", model.toString(), "-i", input.toString(), "-o", output.toString(),
                "-n", String.valueOf(n), "--max-tokens", String.valueOf(newTokens), "--ignore-eos", "--seed", String.valueOf(seed),
                "--ctx", String.valueOf(promptTokens + newTokens), "--seqs", String.valueOf(seqs),
                "--batch-tokens", String.valueOf(Math.max(batchTokens, seqs)), "--threads", String.valueOf(threads)));
        if (flashAttn) {
            cmd.add("--flash-attn");
        }
        cmd.addAll(gpu.align4jArgs());
        return cmd;
    }

    /** One shared prompt (-pps) in a unified KV cache (-kvu) as big as (a)'s, N sequences generating together. */
    private List<String> baselineCmd(Path model, int n, boolean flashAttn) {
        List<String> cmd = new ArrayList<>(List.of(bench.batchedBench(), "-m", model.toString(), "-c", String.valueOf(n * (promptTokens + newTokens)),
                "-b", String.valueOf(Math.max(batchTokens, n)), "-ub", String.valueOf(Math.min(Math.max(batchTokens, n), 512)),
                "-npp", String.valueOf(promptTokens), "-ntg", String.valueOf(newTokens), "-npl", String.valueOf(n), "-pps", "-kvu",
                "-fa", flashAttn ? "on" : "off", "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl"));
        cmd.addAll(gpu.batchedBenchArgs(bench));
        return cmd;
    }

    private static List<String> timedCommand(List<String> cmd, boolean timed) {
        if (!timed) {
            return cmd;
        }
        List<String> out = new ArrayList<>(List.of(TIME.toString(), "-f", PEAK_MARK + "%M"));
        out.addAll(cmd);
        return out;
    }

    private static long peakKb(ChildRun c) {
        Matcher m = Pattern.compile(Pattern.quote(PEAK_MARK) + "(\\d+)").matcher(c.err());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static final Pattern TIMINGS = Pattern.compile(
            "sample: \\d+ tokens in \\d+ llama_decode calls .*: decode ([0-9.]+)%, sampling ([0-9.]+)%, log-probs ([0-9.]+)%, other ([0-9.]+)%");

    /** Runs align4j sample and checks that every completion generated exactly --new-tokens tokens. */
    private Run sample(List<String> cmd, Path log, boolean timed) throws IOException {
        Path output = Path.of(cmd.get(cmd.indexOf("-o") + 1));
        Files.deleteIfExists(output);
        ChildRun c = bench.run(timedCommand(cmd, timed), log);
        JobSummary s = JobSummary.parse(c, "sample");
        Matcher t = c.find(TIMINGS);
        checkLengths(output, Integer.parseInt(cmd.get(cmd.indexOf("-n") + 1)), s.tokens());
        return new Run(s.tokens(), s.seconds(), peakKb(c), Double.parseDouble(t.group(1)),
                Double.parseDouble(t.group(2)), Double.parseDouble(t.group(3)), Double.parseDouble(t.group(4)));
    }

    private void checkLengths(Path output, int n, long generated) {
        long completions = SampleOutput.exactLengthCompletions(output, SampleOutput.lines(output), newTokens);
        if (completions * newTokens != generated || completions % n != 0) {
            throw new IllegalStateException(output + ": " + completions + " completions of " + newTokens + " tokens, but the summary says "
                    + generated + " tokens");
        }
    }

    private Baseline baseline(List<String> cmd, Path log, int n, boolean timed) {
        ChildRun c = bench.run(timedCommand(cmd, timed), log);
        if (c.figure("pl") != n) {
            throw new IllegalStateException("no result for batch " + n + " in the output of " + c.commandLine());
        }
        return new Baseline(c.figure("t_pp"), c.figure("t_tg"), c.figure("speed_tg"), peakKb(c), n, newTokens);
    }

    private Report report(Iterable<PerN> all, boolean timed) {
        Report s = new Report(bench, "Best-of-N sampling benchmark (issue 4)");
        StringBuilder counts = new StringBuilder();
        for (PerN p : all) {
            counts.append(counts.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "N = %d: %d prompt%s", p.n, p.prompts, p.prompts == 1 ? "" : "s"));
        }
        String model = modelOption != null ? "`" + modelOption + "`" : BenchOptions.synthDescription(preset, type);
        s.format("Model: %s. "
                        + "Prompts of %d tokens (random whole-word tokens, exact length, BOS included if the model adds one), "
                        + "%d new tokens per completion, every one checked to end by length (`--ignore-eos`); %s. "
                        + "Batch %d tokens, %d thread%s, flash attention off unless marked; %d round%s, interleaved, means below.%n%n",
                model, promptTokens, newTokens, counts, batchTokens, threads, threads == 1 ? "" : "s", bench.rounds, bench.rounds == 1 ? "" : "s");
        s.append("- (a) `align4j sample -n N --seqs N`: N completions side by side, continuous batching, one shared prompt decode, "
                + "raw log-probs recorded. Rate: generated tokens / its summary's wall time (from model loaded to last record written, "
                + "prompt decode included).\n");
        s.format("- (b) `align4j sample --seqs 1`: the same sampler, one completion after another (the prompt's KV cells "
                + "kept for the next completion, its last token re-decoded). For N > %d it samples %d completions per prompt: one "
                + "sequence at a time, its rate does not depend on N.%n", sequentialMaxN, sequentialMaxN);
        s.append("- (c) `llama-batched-bench -pps -kvu`: llama.cpp decoding N sequences from one shared prompt with random tokens and no "
                + "sampling; S_TG is its generation-phase rate, and \"end to end\" counts its prompt time too, as (a)'s wall does.\n\n");

        s.append("| N | (a) tokens/s | (b) tokens/s | (c) S_TG | (c) end to end | (a) ÷ (c) end to end | (a) ÷ (c) S_TG | (a) ÷ (b) | "
                + "(c) S_TG(N) ÷ S_TG(1) | (a) decode % | sampling % | log-probs % | other % | peak RSS (a) / (b) / (c) MiB |\n");
        s.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        double c1 = Double.NaN;
        for (PerN p : all) {
            if (p.n == 1) {
                c1 = mean(p.c, Baseline::speedTg);
            }
        }
        List<Target> targets = new ArrayList<>();
        for (PerN p : all) {
            double a = mean(p.a, Run::rate);
            double b = mean(p.b, Run::rate);
            double cTg = mean(p.c, Baseline::speedTg);
            double cE2e = mean(p.c, Baseline::endToEnd);
            double predicted = cTg / c1;
            double logProbs = mean(p.a, Run::logProbPct);
            s.format("| %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %s | %.1f | %.1f | %.1f | %.1f | %s / %s / %s |%n",
                    p.n, a, b, cTg, cE2e, a / cE2e, a / cTg, a / b, Double.isNaN(predicted) ? "(no N = 1)" : String.format(Locale.ROOT, "%.2f", predicted),
                    mean(p.a, Run::decodePct), mean(p.a, Run::samplingPct), logProbs, mean(p.a, Run::otherPct),
                    mib(p.a.stream().mapToLong(Run::peakKb).max().orElse(-1)), mib(p.b.stream().mapToLong(Run::peakKb).max().orElse(-1)),
                    mib(p.c.stream().mapToLong(Baseline::peakKb).max().orElse(-1)));
            targets.add(new Target("N = " + p.n + ": (a) ÷ (c) end-to-end generation rate", a / cE2e, ">= 0.90", a / cE2e >= 0.9));
            if (!Double.isNaN(predicted) && p.n > 1) {
                double share = (a / b) / predicted;
                targets.add(new Target("N = " + p.n + ": (a) ÷ (b) over (c)'s predicted speedup " + String.format(Locale.ROOT, "%.2f", predicted),
                        share, ">= 0.85", share >= 0.85));
            }
            targets.add(new Target("N = " + p.n + ": log-prob gather, % of (a)'s wall", logProbs, "<= 5", logProbs <= 5));
        }
        PerN largest = null;
        for (PerN p : all) {
            largest = largest == null || p.n > largest.n ? p : largest;
        }
        double hostShare = largest == null ? Double.NaN : 100 - mean(largest.a, Run::decodePct);
        if (gpu.onGpu()) {
            targets.add(new Target("N = " + largest.n + ": host side (sampling + log-probs + other), % of (a)'s wall", hostShare,
                    "<= 10", hostShare <= 10));
        }
        if (!timed) {
            s.append("\nPeak memory was not measured: /usr/bin/time is missing on this machine.\n");
        } else {
            s.append("\nPeak RSS by `/usr/bin/time -f %M` (the maximum over rounds; (a) and (b) are JVMs, so it includes the Java heap).\n");
        }
        s.append("\n").targets("%.2f", targets);
        s.append("\nThe log-prob cost is the time (a) spends in the log-prob gather (its timing line, one mechanism for every run): "
                + "what recording log-probs takes out of its throughput. \"sampling\" is align4j's native sampler "
                + "(filters and a draw over the vocabulary per token), which (c) does not do.\n");

        boolean anyFa = false;
        for (PerN p : all) {
            anyFa |= !p.aFa.isEmpty();
        }
        if (anyFa) {
            s.append("\n## Flash attention on\n\n| N | (a) `--flash-attn` tokens/s | (c) `-fa on` S_TG | (c) `-fa on` end to end | (a) ÷ (c) end to end | (a) log-probs % |\n|---|---|---|---|---|---|\n");
            for (PerN p : all) {
                if (!p.aFa.isEmpty()) {
                    double a = mean(p.aFa, Run::rate);
                    double cE2e = mean(p.cFa, Baseline::endToEnd);
                    s.format("| %d | %.1f | %.1f | %.1f | %.2f | %.1f |%n", p.n, a, mean(p.cFa, Baseline::speedTg), cE2e,
                            a / cE2e, mean(p.aFa, Run::logProbPct));
                }
            }
        }

        if (gpu.onGpu()) {
            hostSide(s, largest, hostShare);
        }

        List<List<String>> commands = new ArrayList<>();
        for (PerN p : all) {
            Stream.of(p.cCmd, p.aCmd, p.bCmd, p.cFaCmd, p.aFaCmd).filter(Objects::nonNull).forEach(commands::add);
        }
        return s.reproduce("./align4j, the llama.cpp baselines and this harness", "make bench-bon BENCH_ARGS=\"--help\"     # the options")
                .commands("which runs, per round and N" + (timed ? " (each under `/usr/bin/time -f %M`)" : ""), commands);
    }

    /**
     * The GPU run's host-side share at the largest N: each step llama_decode copies the N rows of V logits to the
     * host (inside its timing: the engine synchronizes after each decode), and the sampler and the log-prob gather
     * reduce them there.
     */
    private void hostSide(Report s, PerN p, double hostShare) {
        double stepMib = (double) p.n * nVocab * Float.BYTES / (1 << 20);
        s.format("%n## Host-side share (GPU)%n%nAt N = %d, (a) spends %.1f%% of its wall outside llama_decode: sampling %.1f%%, "
                        + "log-probs %.1f%%, other %.1f%%. Every step, llama_decode also copies the N x V logits to the host "
                        + "(%d x %d floats, %.1f MiB; counted in decode, which ends when the device has finished), where the "
                        + "sampler and the log-prob gather reduce them row by row.%n%n",
                p.n, hostShare, mean(p.a, Run::samplingPct), mean(p.a, Run::logProbPct), mean(p.a, Run::otherPct),
                p.n, nVocab, stepMib);
        if (hostShare > 10) {
            s.append("**The host side exceeds 10% of the wall at this N.** Proposal: a device-side reduction. Run the "
                    + "log-softmax, the top-k/top-p filtering and the draw on the GPU over the logits llama.cpp leaves there, so "
                    + "that only the chosen token and its log-prob (two numbers per sequence) come back per step instead of "
                    + "V floats per sequence; the host then keeps only the bookkeeping (stop strings, records).\n");
        } else {
            s.append("The host side is within 10% of the wall at this N: the full-vocabulary logits copied to the host "
                    + "and reduced there do not limit the GPU run yet.\n");
        }
    }

    private static String mib(long kb) {
        return kb < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f", kb / 1024.0);
    }
}
