package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The reward-model benchmark of issue 16: {@code --reward rm:RM.gguf} throughput in completions/s against
 * the log-prob scoring {@code score} runs, on the same completions and the same batching: (a) {@code bon}
 * with {@code rm:} (the RM is the synthetic model with a random head) and (b) {@code bon} with
 * {@code implicit:} on that same model, whose reward is {@link org.align4j.engine.PrefixSharingScorer}'s
 * log-prob readout, {@code score}'s path, on the sampled tokens; the reward's share of (c) {@code rso} with
 * {@code rm:}; and, in this process, (d) one decode reading hidden states at the output rows (what rm:
 * does) against llama.cpp's embeddings mode, which makes every token an output. Rounds interleaved.
 */
@Command(name = "rm-bench", mixinStandardHelpOptions = true)
public final class RmBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("rm");

    @Option(names = "--preset") String preset = "qwen2.5-0.5b";
    @Option(names = "--type") String type = "q8_0";
    @Option(names = "--prompts") int prompts = 4;
    @Option(names = "--prompt-tokens", description = "prompt length, BOS included") int promptTokens = 64;
    @Option(names = "-n", description = "completions per prompt (bon -n, rso --candidates)") int n = 16;
    @Option(names = "--accept") int accept = 4;
    @Option(names = "--max-tokens") int maxTokens = 32;
    @Option(names = "--batch-tokens") int batchTokens = 512;
    @Option(names = "--seqs") int seqs = 16;
    @Option(names = "--threads") int threads = Runtime.getRuntime().availableProcessors();

    /** "bon: rewards took 1.2 s (3.4% of 5.6 s)" */
    private static final Pattern BON_REWARD = Pattern.compile("bon: rewards took ([0-9.]+) s");
    private static final Pattern RSO_TIMINGS = Pattern.compile("rso: of ([0-9.]+) s: sampling ([0-9.]+)%, reward ([0-9.]+)%, scoring ([0-9.]+)%");

    public static void main(String[] args) {
        System.exit(new CommandLine(new RmBench()).execute(args));
    }

    record RsoShares(double wall, double sampling, double reward, double scoring) {}

    /** One decode's seconds with hidden states read at the output rows and in llama.cpp's embeddings mode. */
    record DecodePair(double outputRows, double everyToken) {}

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(bench.work);
        Path model = bench.synthesize(preset, type);
        Path rm = bench.work(preset + "-" + type + "-rm.gguf");
        if (!Files.exists(rm)) {
            try (Model m = Model.load(model, ModelOptions.inference(0))) {
                RewardModelFile.write(model, randomHead(m.nEmbd()), rm);
            }
        }
        Path input = bench.work("prompts.jsonl");
        ExactLengthText.writePrompts(model, input, prompts, promptTokens);

        String ctx = String.valueOf(promptTokens + maxTokens + 8); // the RM retokenizes the text and appends EOS
        List<String> common = List.of("--temperature", "0.7", "--top-k", "40", "--max-tokens", String.valueOf(maxTokens),
                "--seed", "1", "--ctx", ctx, "--batch-tokens", String.valueOf(batchTokens), "--seqs", String.valueOf(seqs),
                "--threads", String.valueOf(threads));
        List<String> rmCmd = bon(model, "rm:" + rm, "a.jsonl", common);
        List<String> implicitCmd = bon(model, "implicit:" + model, "b.jsonl", common);
        List<String> rsoCmd = new ArrayList<>(List.of(bench.align4j(), "rso", "-m", model.toString(), "-i", input.toString(),
                "-o", bench.work("c.jsonl").toString(), "--reward", "rm:" + rm, "--candidates", String.valueOf(n),
                "--accept", String.valueOf(accept)));
        rsoCmd.addAll(common);

        String loadBefore = loadAverage();
        List<Double> rmSeconds = new ArrayList<>();
        List<Double> implicitSeconds = new ArrayList<>();
        List<RsoShares> rso = new ArrayList<>();
        List<DecodePair> decodes = new ArrayList<>();
        for (int r = 0; r < bench.rounds; r++) {
            deleteOutputs();
            rmSeconds.add(rewardSeconds(bench.run(rmCmd, bench.work("a" + r + ".log"))));
            implicitSeconds.add(rewardSeconds(bench.run(implicitCmd, bench.work("b" + r + ".log"))));
            Matcher t = bench.run(rsoCmd, bench.work("c" + r + ".log")).find(RSO_TIMINGS);
            rso.add(new RsoShares(Double.parseDouble(t.group(1)), Double.parseDouble(t.group(2)), Double.parseDouble(t.group(3)),
                    Double.parseDouble(t.group(4))));
            decodes.add(decodes(model));
            System.err.printf(Locale.ROOT, "round %d: (a) rm: %.1f s, (b) implicit: %.1f s, (c) rso reward %.1f%%, (d) %.3f s vs %.3f s%n",
                    r + 1, rmSeconds.getLast(), implicitSeconds.getLast(), rso.getLast().reward(), decodes.getLast().outputRows(),
                    decodes.getLast().everyToken());
        }
        report(rmSeconds, implicitSeconds, rso, decodes, List.of(rmCmd, implicitCmd, rsoCmd), loadBefore, loadAverage()).write();
        return 0;
    }

    private List<String> bon(Path model, String reward, String out, List<String> common) {
        List<String> c = new ArrayList<>(List.of(bench.align4j(), "bon", "-m", model.toString(), "-i", bench.work("prompts.jsonl").toString(),
                "-o", bench.work(out).toString(), "-n", String.valueOf(n), "--reward", reward));
        c.addAll(common);
        return c;
    }

    private static double rewardSeconds(ChildRun run) {
        return Double.parseDouble(run.find(BON_REWARD).group(1));
    }

    /** N(0, 1) weights, seed 1, bias 0: throughput does not depend on the values. */
    private static RewardHead randomHead(int size) {
        SplittableRandom rnd = new SplittableRandom(1);
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            w[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return new RewardHead(w, 0f);
    }

    /**
     * One batch as rm: decodes it, a prompt shared by {@code seqs} completions of {@code maxTokens} tokens
     * (random token ids), with the hidden state read at each completion's last token, timed with the
     * hidden states at the output rows and in embeddings mode; the better of three decodes each, alternating.
     */
    private DecodePair decodes(Path model) {
        try (Model m = Model.load(model, ModelOptions.inference(0))) {
            int nTokens = Math.min(batchTokens, promptTokens + seqs * maxTokens);
            int completions = Math.max(1, (nTokens - promptTokens) / maxTokens);
            ContextOptions base = new ContextOptions(nTokens, nTokens, Math.min(nTokens, 512), completions, threads, true,
                    ContextOptions.FlashAttention.OFF);
            SplittableRandom rnd = new SplittableRandom(2);
            int nVocab = m.vocab().nTokens();
            double best0 = Double.MAX_VALUE, best1 = Double.MAX_VALUE;
            try (Context rows = Context.create(m, base.withHiddenStates(ContextOptions.HiddenStates.OUTPUT_ROWS));
                 Context every = Context.create(m, base.withHiddenStates(ContextOptions.HiddenStates.EVERY_TOKEN));
                 Batch b = new Batch(nTokens, completions)) {
                int[] shared = new int[completions];
                for (int s = 0; s < completions; s++) {
                    shared[s] = s;
                }
                for (int t = 0; t < promptTokens; t++) {
                    b.add(rnd.nextInt(nVocab), t, shared, false);
                }
                for (int s = 0; s < completions; s++) {
                    for (int t = 0; t < maxTokens && b.size() < nTokens; t++) {
                        b.add(rnd.nextInt(nVocab), promptTokens + t, s, t == maxTokens - 1);
                    }
                }
                for (int i = 0; i < 3; i++) {
                    best0 = Math.min(best0, timedDecode(rows, b));
                    best1 = Math.min(best1, timedDecode(every, b));
                }
            }
            return new DecodePair(best0, best1);
        }
    }

    private static double timedDecode(Context ctx, Batch b) {
        ctx.clearMemory();
        long t0 = System.nanoTime();
        ctx.decode(b);
        return (System.nanoTime() - t0) / 1e9;
    }

    private void deleteOutputs() throws IOException {
        try (var files = Files.list(bench.work)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.matches("[abc]\\.jsonl.*|[abc]\\.curve\\..*|[abc]\\.rejects\\.jsonl")) {
                    Files.delete(p);
                }
            }
        }
    }

    /** The 1-minute load average ({@code /proc/loadavg}), or "unknown": how busy the machine was. */
    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private Report report(List<Double> a, List<Double> b, List<RsoShares> c, List<DecodePair> d, List<List<String>> commands,
                          String loadBefore, String loadAfter) {
        int completions = prompts * n;
        double aRate = completions / mean(a, Double::doubleValue);
        double bRate = completions / mean(b, Double::doubleValue);
        Report s = new Report(bench, "Reward model benchmark (issue 16)");
        s.format("Model: %s; the RM is that file with a random head added (`align4j.reward.head`, %s). Workload: %d prompts of %d tokens "
                        + "(random whole-word tokens, BOS included), %d completions each of up to %d tokens at temperature 0.7, top-k 40, seed 1. "
                        + "Batch %d tokens, %d sequences, %d threads, flash attention off; %d rounds, interleaved, means below.%n%n",
                BenchOptions.synthDescription(preset, type), "written by this harness", prompts, promptTokens, n, maxTokens, batchTokens, seqs,
                threads, bench.rounds);
        s.append("| run | reward wall s | completions/s |\n|---|---|---|\n");
        s.format("| (a) `bon --reward rm:RM.gguf`: the RM's hidden state at each completion's last token, head in Java | %.2f | %.2f |%n",
                mean(a, Double::doubleValue), aRate);
        s.format("| (b) `bon --reward implicit:MODEL.gguf`: log-probs of every completion token (score's scorer) | %.2f | %.2f |%n%n",
                mean(b, Double::doubleValue), bRate);
        s.targets("%.2f", List.of(new Report.Target("(a) completions/s ÷ (b) completions/s", aRate / bRate, ">= 0.9", aRate / bRate >= 0.9)));
        s.format("%nNoise: the machine's 1-minute load average was %s when the rounds began and %s when they ended, on %d cores; "
                + "per round below, the spread between rounds is that noise.%n%n", loadBefore, loadAfter, Runtime.getRuntime().availableProcessors());
        s.append("| round | (a) s | (b) s | (b) ÷ (a) | (c) rso wall s | (c) reward % | (d) output rows s | (d) every token s |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        for (int r = 0; r < a.size(); r++) {
            s.format("| %d | %.2f | %.2f | %.2f | %.1f | %.1f | %.3f | %.3f |%n", r + 1, a.get(r), b.get(r), b.get(r) / a.get(r), c.get(r).wall(),
                    c.get(r).reward(), d.get(r).outputRows(), d.get(r).everyToken());
        }
        s.format("%nBoth rewards run in bon's reward stage on the same sampled completions (the same seed), with the same batching: a "
                        + "prompt's completions share its KV cells, %d sequences per decode. The reward wall time is bon's own \"rewards took\" "
                        + "line (tokenizing, decoding, reading out), so the ratio leaves sampling out. (a) decodes each completion's text as the "
                        + "RM tokenizes it plus EOS and asks for one output row per completion; (b) decodes the sampled tokens and asks for a "
                        + "logits row at every completion token, then a log-softmax over the vocabulary at each.%n%n", seqs);
        s.format("(c) `rso --reward rm:` with %d candidates, %d accepted: the reward is %.1f%% of its %.1f s (sampling %.1f%%, pair scoring %.1f%%), "
                        + "rso's own timing line.%n%n", n, accept, mean(c, RsoShares::reward), mean(c, RsoShares::wall), mean(c, RsoShares::sampling),
                mean(c, RsoShares::scoring));
        s.format("(d) The two ways to read a decoder's final hidden state from the pinned llama.cpp: rm:'s, a graph callback copying the "
                        + "`result_norm` rows of the tokens that ask for output (the vocabulary projection then runs on those rows only, as for "
                        + "logits); and llama.cpp's embeddings mode (`embeddings = true`, pooling none), which makes every token of a batch an "
                        + "output (llama_context::decode, `output_all`) while the llama and qwen2 graphs still end in the vocabulary projection, "
                        + "so it projects and copies out logits for every token. One decode of %d tokens (a %d-token prompt shared by "
                        + "completions of %d tokens, the hidden state wanted at each completion's last token), best of three: %.3f s at the output "
                        + "rows, %.3f s in embeddings mode (ratio %.2f).%n",
                Math.min(batchTokens, promptTokens + seqs * maxTokens), promptTokens, maxTokens, mean(d, DecodePair::outputRows),
                mean(d, DecodePair::everyToken), mean(d, DecodePair::everyToken) / mean(d, DecodePair::outputRows));
        return s.reproduce("./align4j and this harness").commands("which runs, per round, before (d) in the harness's own process", commands);
    }
}
