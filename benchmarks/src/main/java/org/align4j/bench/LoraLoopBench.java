package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The adapter loop against the full-weight loop (issue 15): {@code align4j loop} with and without
 * {@code --lora-rank} on the {@code small-10m} preset, the same prompts, -n, seed and DPO settings
 * otherwise; each one's round times and their split ({@link LoopRoundSplit}). Each bench round runs both,
 * in alternating order, so that a shared machine's load falls on both alike.
 */
@Command(name = "lora-loop-bench", mixinStandardHelpOptions = true)
public final class LoraLoopBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("lora-loop");

    @Option(names = "--prompts", description = "prompts a round (default: ${DEFAULT-VALUE})") int prompts = 16;
    @Option(names = "-n", description = "completions per prompt (default: ${DEFAULT-VALUE})") int n = 8;
    @Option(names = "--loop-rounds", description = "rounds of each loop run (default: ${DEFAULT-VALUE})") int loopRounds = 2;
    @Option(names = "--rank") int rank = 16;
    @Option(names = "--train-threads", description = "the trainer's threads (default: ${DEFAULT-VALUE})") int trainThreads = 2;

    private static final String PRESET = "small-10m", TYPE = "f32";
    private static final String TARGETS = "q,k,v,o,gate,up,down";
    /** Random text from small-10m contains "ing" about a quarter of the time: most prompts' candidates differ in reward. */
    private static final String REWARD = "regex:ing";
    private static final int PROMPT_TOKENS = 16, MAX_TOKENS = 16, BATCH_SIZE = 8;

    /** The full-weight or the adapter loop: its command, run folder, the file its rounds end with, and each run's rounds. */
    private record Variant(String name, List<String> command, Path out, String trained, List<List<LoopRoundSplit>> runs) {}

    /** The load average before each loop run and at the end. */
    private final List<Double> loadAverages = new ArrayList<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new LoraLoopBench()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        if (bench.rounds < 1 || prompts < 1 || loopRounds < 1 || n < 2) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--rounds, --prompts and --loop-rounds must be at least 1, -n at least 2");
        }
        Files.createDirectories(bench.work);
        Path model = bench.synthesize(PRESET, TYPE);
        Path promptFile = bench.work("prompts.jsonl");
        ExactLengthText.writePrompts(model, promptFile, prompts, PROMPT_TOKENS);
        List<Variant> variants = List.of(variant("full-weight", model, promptFile, false), variant("LoRA", model, promptFile, true));
        for (int r = 0; r < bench.rounds; r++) {
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get((i + r) % variants.size()); // alternate which loop runs first
                deleteTree(v.out);
                loadAverages.add(loadAverage());
                bench.run(v.command, bench.work(v.out.getFileName() + "-r" + r + ".log"));
                List<LoopRoundSplit> run = new ArrayList<>();
                for (int k = 1; k <= loopRounds; k++) {
                    run.add(LoopRoundSplit.read(v.out, k, v.trained));
                }
                v.runs.add(run);
                System.err.printf(Locale.ROOT, "round %d, %s loop: %s s per round%n", r + 1, v.name, seconds(run));
            }
        }
        loadAverages.add(loadAverage());
        report(variants).write();
        return 0;
    }

    /** The machine's 1-minute load average (/proc/loadavg), NaN where there is none. */
    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private Variant variant(String name, Path model, Path promptFile, boolean lora) {
        Path out = bench.work(lora ? "loop-lora" : "loop-full");
        List<String> command = new ArrayList<>(List.of(bench.align4j(), "loop", "--policy", model.toString(), "-i", promptFile.toString(),
                "--reward", REWARD, "--rounds", String.valueOf(loopRounds), "-n", String.valueOf(n), "--accept", String.valueOf(n / 2),
                "--rso-beta", "1", "--pairing", "tournament", "--max-tokens", String.valueOf(MAX_TOKENS), "--lr", "1e-4", "--epochs", "1",
                "--batch-size", String.valueOf(BATCH_SIZE), "--seed", "1", "--ctx", String.valueOf(PROMPT_TOKENS + MAX_TOKENS),
                "--threads", "1", "--train-threads", String.valueOf(trainThreads), "--quiet", "-o", out.toString()));
        if (lora) {
            command.addAll(List.of("--lora-rank", String.valueOf(rank), "--lora-targets", TARGETS));
        }
        return new Variant(name, List.copyOf(command), out, lora ? "adapter.gguf" : "model.gguf", new ArrayList<>());
    }

    /** Removes a loop's run folder of an earlier round (loop refuses a folder that holds a run). */
    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    /** The largest ratio, over both loops and every round, of a round's longest time over the runs to its shortest. */
    private double spread(List<Variant> variants) {
        double max = 1;
        for (Variant v : variants) {
            for (int k = 0; k < loopRounds; k++) {
                int round = k;
                double hi = v.runs.stream().mapToDouble(run -> run.get(round).seconds()).max().orElse(1);
                double lo = v.runs.stream().mapToDouble(run -> run.get(round).seconds()).min().orElse(1);
                max = Math.max(max, hi / lo);
            }
        }
        return max;
    }

    private static List<String> seconds(List<LoopRoundSplit> run) {
        return run.stream().map(x -> String.format(Locale.ROOT, "%.1f", x.seconds())).toList();
    }

    private Report report(List<Variant> variants) {
        Variant full = variants.get(0), lora = variants.get(1);
        Report s = new Report(bench, "The adapter loop against the full-weight loop (issue 15)");
        s.format("`align4j loop` on the %s, with `--lora-rank %d --lora-targets %s` and without (full fine-tuning), the same"
                        + " otherwise: %d prompts of %d tokens (random whole-word tokens), `-n %d`, RSO pairs (`--accept %d --rso-beta 1"
                        + " --pairing tournament`), up to %d new tokens, reward `%s`, DPO `--lr 1e-4 --epochs 1 --batch-size %d`,"
                        + " llama.cpp on 1 thread and the trainer on %d, no `--eval`, %d rounds a run. Round 1 of both samples with"
                        + " the base; from round 2 the full loop samples with the F32 model round 1 wrote and reloaded, the adapter"
                        + " loop with the base + round 1's adapter. %d run%s of each, interleaved (each bench round runs both, the"
                        + " other one first in the next); means over the runs.%n%n",
                BenchOptions.synthDescription(PRESET, TYPE), rank, TARGETS, prompts, PROMPT_TOKENS, n, n / 2, MAX_TOKENS, REWARD,
                BATCH_SIZE, trainThreads, loopRounds, bench.rounds, bench.rounds == 1 ? "" : "s");
        s.append("The split (`LoopRoundSplit`): RSO's sampling (with the rewards) and its reference scoring of the kept"
                + " completions, from its manifest; the rest from the round folder's file times: from RSO's end to DPO's first"
                + " step (the KL of the samples to the reference, which llama.cpp scores, reading the pairs, opening the"
                + " trainer), DPO's steps, the final checkpoint and the model or adapter written, and the remainder (RSO's"
                + " writing, the DPO plot, the full loop's reload of its new model).\n\n");
        s.append("| loop | round | pairs (DPO steps) | round s | sampling + reward s | reference scoring s | KL + trainer setup s |"
                + " training s | checkpoint + export s | rest (reload) s |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for (Variant v : variants) {
            for (int k = 0; k < loopRounds; k++) {
                int round = k;
                s.format("| %s | %d | %s |", v.name, k + 1, v.runs.stream()
                        .map(run -> run.get(round).pairs() + " (" + run.get(round).steps() + ")").distinct().toList());
                for (int f = 0; f < LoopRoundSplit.FIGURES; f++) {
                    int figure = f;
                    s.format(" %.2f |", mean(v.runs, run -> run.get(round).figures().get(figure)));
                }
                s.append("\n");
            }
        }
        s.append("\nLoRA over full-weight, means: ");
        for (int k = 0; k < loopRounds; k++) {
            int round = k;
            double a = mean(lora.runs, run -> run.get(round).seconds()), b = mean(full.runs, run -> run.get(round).seconds());
            double ta = mean(lora.runs, run -> run.get(round).training()), tb = mean(full.runs, run -> run.get(round).training());
            double ea = mean(lora.runs, run -> run.get(round).export()), eb = mean(full.runs, run -> run.get(round).export());
            s.format("round %d: round time %.2f (%.1f / %.1f s), training %.2f (%.2f / %.2f s), checkpoint + export %.2f (%.2f / %.2f s)%s",
                    k + 1, a / b, a, b, ta / tb, ta, tb, ea / eb, ea, eb, k + 1 < loopRounds ? "; " : ".\n");
        }
        s.format("%nRound 1 of every run includes the trainer's JIT warm-up (each loop is a fresh JVM), so its training time is"
                + " mostly that; round 2 is the steady one. From round 2 the two loops train on different samples (their"
                + " policies differ), so their pair counts differ too.%n%nNoise: the machine is shared (2 cores; other jobs"
                + " ran beside this one): the 1-minute load average before each run and at the end was %s, and the same"
                + " round of the same loop took up to %.1f times as long in one run as in another (below), so take the"
                + " ratios as rough.%n", loadAverages.stream().map(x -> String.format(Locale.ROOT, "%.1f", x)).toList(), spread(variants));
        s.append("\nEach run's round times (s):\n\n");
        for (Variant v : variants) {
            s.format("- %s:", v.name);
            for (int r = 0; r < v.runs.size(); r++) {
                s.format(" run %d %s;", r + 1, seconds(v.runs.get(r)));
            }
            s.append("\n");
        }
        s.reproduce("./align4j and this harness");
        s.commands(String.format(Locale.ROOT, "which writes the model once and `%s` (%d prompts of %d tokens, ExactLengthText seed 42),"
                        + " then runs per round both loops (the first of the two alternating; each run's folder removed before it)",
                bench.work("prompts.jsonl"), prompts, PROMPT_TOKENS),
                Stream.concat(Stream.of(bench.synthCommand(PRESET, TYPE)), variants.stream().map(Variant::command)).toList());
        return s;
    }
}
