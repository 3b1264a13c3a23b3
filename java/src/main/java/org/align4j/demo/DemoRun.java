package org.align4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.reward.Reward;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Model;
import org.align4j.job.RewardStage;
import org.align4j.bon.BonJob;
import org.align4j.bon.RewardCurve;
import org.align4j.bon.SampleJob;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.job.RunManifest;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.ScorerOptions;
import org.align4j.loop.LoopJob;
import org.align4j.loop.LoopOptions;
import org.align4j.reward.RewardContext;
import org.align4j.rso.Pairing;
import org.align4j.score.ScoreJob;
import org.align4j.dpo.DpoOptions;
import org.align4j.rm.RmJob;
import org.align4j.train.LrSchedule;
import org.align4j.train.PreferenceLoss;

/**
 * {@code make demo}: the whole mission on the committed demo model ({@code models/demo/demo.gguf}, an
 * adder of partial skill), in one run folder, with a short report ({@code report.md}, also printed):
 * <ol>
 *   <li>Best-of-N on the held-out prompts: N samples each, rewarded by {@code match:answer}; accuracy
 *       (pass@n) and mean against n = 1..N, a table and a plot ({@code bon.jsonl}, {@code bon.curve.*}).
 *   <li>{@code align4j loop} from the train prompts: each round RSO-samples a slice of them with the current
 *       policy (RSO's acceptance rate), the pairs carry the reference log-probs, DPO trains against the
 *       starting model, and the held-out greedy accuracy, sampled mean reward and KL to the start are
 *       measured ({@code loop/}).
 *   <li>{@code align4j score} recomputes the reference log-probs of round 1's RSO pairs, which must agree
 *       with the columns {@code rso} wrote.
 *   <li>RLHF: a reward model trained on preference pairs of {@value #RM_PAIRS} train prompts ({@link DemoRewardModel}),
 *       its pairwise accuracy on pairs of the held-out prompts, and one loop round from the start with {@code rm:}
 *       instead of the checkable reward; the policy it ends with is measured by the checkable reward ({@code rlhf/}).
 * </ol>
 * Settings are {@link #DEFAULT} (the README's figures) or {@link #SMALL} (the same recipe on fewer prompts,
 * what a test runs). Every random choice derives from {@code seed}.
 *
 * @param heldout         held-out prompts used (the first ones)
 * @param bonN            N of Best-of-N
 * @param promptsPerRound train prompts each loop round samples
 * @param candidates      RSO candidates per prompt
 */
public record DemoRun(String name, int heldout, int bonN, int rounds, int promptsPerRound, int candidates, int accept,
                      double rsoBeta, Pairing.Scheme pairing, float temperature, PreferenceLoss loss, double rpoAlpha, double learningRate,
                      int epochs, int batchSize, int evalSamples, long seed) {

    static final PreferenceLoss DPO = new PreferenceLoss(PreferenceLoss.Kind.SIGMOID, 0.1, 0, PreferenceLoss.SIMPO_DEFAULT_GAMMA);
    public static final DemoRun DEFAULT = new DemoRun("demo", 500, 16, 3, 1000, 16, 8, 1.0, Pairing.Scheme.TOURNAMENT, 1f, DPO, 1.0,
            1e-4, 2, 16, 4, 1);
    public static final DemoRun SMALL = new DemoRun("small", 200, 16, 1, 400, 16, 8, 1.0, Pairing.Scheme.TOURNAMENT, 1f, DPO, 1.0,
            1e-4, 2, 16, 4, 1);

    static final String REWARD = "match:answer";
    static final int MAX_TOKENS = 8;
    /** llama.cpp's capacity for every job of the demo, on one thread: on a model this small a second costs more in synchronisation than it saves. */
    static final SamplerOptions ENGINE = new SamplerOptions(32, 2048, 256, 1);
    /** Train prompts whose pairs train the reward model: with {@link DemoRewardModel#options}, 32 steps. */
    static final int RM_PAIRS = 256;

    /** What the run measured; the report is written from it. */
    public record Result(Path dir, RewardCurve curve, LoopJob.Result loop, double scoreMaxDiff, Rlhf rlhf, double seconds) {
        public double accuracyBefore() {
            return loop.start().greedyReward();
        }

        public double accuracyAfter() {
            return loop.last().eval().greedyReward();
        }
    }

    /**
     * What the RLHF step measured.
     *
     * @param rm         the reward model's training
     * @param rmAccuracy its pairwise accuracy on the held-out pairs
     * @param loop       the round with {@code rm:}; its evaluations are by the reward model
     * @param accuracy   held-out greedy accuracy, by the checkable reward, of the policy the round ends with
     */
    public record Rlhf(RmJob.Result rm, double rmAccuracy, LoopJob.Result loop, double accuracy) {}

    /**
     * Runs the demo on the sets and model in {@code demoDir} (models/demo) into {@code dir}, which must not
     * exist; {@code trainThreads} for the Java trainer (llama.cpp runs on one thread: the demo model is so
     * small that more cost more in synchronisation than they save).
     */
    public Result run(Path demoDir, Path dir, int trainThreads, PrintStream out, boolean quiet) {
        long t0 = System.nanoTime();
        if (Files.exists(dir)) {
            throw new Align4jException(dir + " exists: the demo writes a new run folder");
        }
        Path model = demoDir.resolve("demo.gguf");
        try {
            Files.createDirectories(dir);
            Path heldoutFile = heldoutPrompts(demoDir, dir.resolve("heldout.jsonl"));

            // 1. Best-of-N on the held-out prompts.
            BonJob.Result bon;
            try (Model m = Model.load(model, ModelOptions.inference(0));
                 Reward reward = RewardStage.open(REWARD, model, ENGINE, 0, RewardContext.DEFAULT_TIMEOUT)) {
                bon = BonJob.run(m, reward, SampleJob.Options.of(heldoutFile, dir.resolve("bon.jsonl"), bonN, ENGINE, sampling())
                        .withQuiet(quiet));
            }

            // 2. The loop: RSO pairs from the train prompts, DPO against the start, K rounds.
            PrintWriter log = new PrintWriter(out, true);
            LoopOptions lo = loop(demoDir, dir.resolve("loop"), REWARD, rounds, heldoutFile, dpo(model, dir, trainThreads, quiet), quiet);
            LoopJob.Result loop = new LoopJob(lo, log).run();

            // 3. score recomputes round 1's reference columns.
            Path pairs = dir.resolve("loop/round-1/pairs.jsonl");
            Path scored = dir.resolve("loop/round-1/pairs.ref-scored.jsonl");
            try (Model m = Model.load(model, ModelOptions.inference(0))) {
                ScoreJob.run(m, null, ScoreJob.Options.of(pairs, scored, new ScorerOptions(64, 2048, 256, 1, true)).withQuiet(true));
            }
            double diff = maxReferenceDiff(pairs, scored);

            Rlhf rlhf = rlhf(demoDir, dir.resolve("rlhf"), heldoutFile, trainThreads, log, quiet);

            Result r = new Result(dir, bon.curve(), loop, diff, rlhf, (System.nanoTime() - t0) / 1e9);
            String report = report(r, demoDir);
            Files.writeString(dir.resolve("report.md"), report);
            out.println();
            out.print(report);
            out.flush();
            return r;
        } catch (IOException e) {
            throw new Align4jException(dir + ": " + IoMessages.describe(e), e);
        }
    }

    /**
     * Step 4 into {@code out}: the reward model from pairs of the train prompts, its accuracy on pairs of
     * {@code heldoutFile}'s prompts, one round of the loop with it, and that round's policy's greedy accuracy by the
     * checkable reward.
     */
    private Rlhf rlhf(Path demoDir, Path out, Path heldoutFile, int trainThreads, PrintWriter log, boolean quiet) throws IOException {
        Files.createDirectories(out);
        Path model = demoDir.resolve("demo.gguf");
        Path trainPairs = DemoRewardModel.writePairs(demoDir.resolve(DemoSets.TRAIN_FILE), RM_PAIRS, out.resolve("rm-train.jsonl"), seed);
        Path heldoutPairs = DemoRewardModel.writePairs(heldoutFile, heldout, out.resolve("rm-heldout.jsonl"), seed + 1);
        Path rm = out.resolve("rm.gguf");
        RmJob.Result trained = new RmJob(DemoRewardModel.options(model, trainPairs, rm, trainThreads).seed(seed).quiet(quiet).build(), log)
                .run();
        double rmAccuracy = DemoRewardModel.pairwiseAccuracy(rm, heldoutPairs, trainThreads);

        LoopOptions lo = loop(demoDir, out.resolve("loop"), "rm:" + rm, 1, heldoutFile, dpo(model, out, trainThreads, quiet), quiet);
        LoopJob.Result loop = new LoopJob(lo, log).run();
        double accuracy;
        try (Model m = Model.load(loop.last().model(), ModelOptions.inference(0));
             Reward reward = RewardStage.open(REWARD, m.path(), ENGINE, 0, RewardContext.DEFAULT_TIMEOUT)) {
            accuracy = BonJob.run(m, reward, SampleJob.Options.of(heldoutFile, out.resolve("eval-greedy-checkable.jsonl"), 1, ENGINE,
                    sampling().withGreedy()).withQuiet(quiet)).curve().points().getFirst().meanReward();
        }
        return new Rlhf(trained, rmAccuracy, loop, accuracy);
    }

    /** Writes the first {@code heldout} held-out prompts of {@code demoDir} to {@code file}, and returns it. */
    public Path heldoutPrompts(Path demoDir, Path file) throws IOException {
        List<String> lines = Files.readAllLines(demoDir.resolve(DemoSets.HELDOUT_FILE), StandardCharsets.UTF_8);
        Files.write(file, lines.subList(0, Math.min(heldout, lines.size())), StandardCharsets.UTF_8);
        return file;
    }

    /** Step 2's DPO settings (its policy, data and out are the loop's to replace); {@code dir} is the run folder. */
    public DpoOptions dpo(Path model, Path dir, int trainThreads, boolean quiet) {
        return DpoOptions.builder(model, dir, dir.resolve("unused.gguf")).loss(loss).rpoAlpha(rpoAlpha).learningRate(learningRate)
                .epochs(epochs).batchSize(batchSize).schedule(LrSchedule.Kind.LINEAR).seed(seed).threads(trainThreads)
                .quiet(quiet).build();
    }

    /**
     * Step 2, {@code align4j loop} from the demo's train prompts into {@code out}, {@code rounds} rounds rewarded by
     * {@code reward}: RSO pairs, {@code dpo}'s training against the starting model, the greedy and sampled evaluation
     * on {@code heldoutFile}.
     */
    public LoopOptions loop(Path demoDir, Path out, String reward, int rounds, Path heldoutFile, DpoOptions dpo, boolean quiet) {
        return new LoopOptions(demoDir.resolve("demo.gguf"), null, demoDir.resolve(DemoSets.TRAIN_FILE), out, reward,
                RewardContext.DEFAULT_TIMEOUT, rounds, promptsPerRound, candidates, sampling(), ENGINE, LoopOptions.PairScheme.RSO, rsoBeta,
                accept, pairing, dpo, heldoutFile, evalSamples, 0, quiet);
    }

    /** How Best-of-N and the loop sample: temperature {@code temperature}, up to {@value #MAX_TOKENS} tokens, seed {@code seed}. */
    SamplingParams sampling() {
        return new SamplingParams(temperature, 0, 1f, 0f, 1f, 64, MAX_TOKENS, List.of(), seed);
    }

    /** The largest |ref_*_logps (rso) - *_logps (score on the reference)| over both completions of every pair. */
    static double maxReferenceDiff(Path rsoPairs, Path scored) {
        List<JsonNode> a = records(rsoPairs), b = records(scored);
        if (a.size() != b.size()) {
            throw new Align4jException(scored + ": " + b.size() + " records for " + a.size() + " pairs");
        }
        double max = 0;
        for (int i = 0; i < a.size(); i++) {
            max = Math.max(max, Math.abs(a.get(i).get("ref_chosen_logps").asDouble() - b.get(i).get("chosen_logps").asDouble()));
            max = Math.max(max, Math.abs(a.get(i).get("ref_rejected_logps").asDouble() - b.get(i).get("rejected_logps").asDouble()));
        }
        return max;
    }

    private static List<JsonNode> records(Path file) {
        try (JsonlReader r = JsonlReader.open(file)) {
            return r.stream().map(l -> (JsonNode) ((JsonlLine.Parsed) l).node()).toList();
        }
    }

    String report(Result r, Path demoDir) {
        Path d = r.dir();
        LoopJob.Result loop = r.loop();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "# align4j demo (%s): %s%n%n", name, d));
        b.append(String.format(Locale.ROOT, "Model `%s` (an adder trained from scratch by align4j, %s); reward `%s` (1 if the last number "
                + "of the completion is the sum); seed %d; %.0f s on %d cores.%n%n", demoDir.resolve("demo.gguf"),
                "models/demo/recipe.md", REWARD, seed, r.seconds(), Runtime.getRuntime().availableProcessors()));

        b.append(String.format(Locale.ROOT, "## 1. Best-of-N on %d held-out prompts (`bon -n %d`, temperature %s)%n%n", heldout, bonN, temperature));
        b.append("| n | accuracy = pass@n | mean reward |\n|---|---|---|\n");
        for (RewardCurve.Point p : r.curve().points()) {
            b.append(String.format(Locale.ROOT, "| %d | %.3f | %.3f |%n", p.n(), p.bestReward(), p.meanReward()));
        }
        b.append(String.format(Locale.ROOT, "%nPlot: `%s`. One sample is right %.0f%% of the time; the best of %d, %.0f%%.%n%n",
                BonJob.curvePng(d.resolve("bon.jsonl")), 100 * r.curve().points().getFirst().bestReward(), bonN,
                100 * r.curve().points().getLast().bestReward()));

        LoopJob.Round first = loop.rounds().getFirst();
        JsonNode manifest = RunManifest.read(RunManifest.pathFor(d.resolve("loop/round-1/pairs.jsonl")));
        b.append(String.format(Locale.ROOT, "## 2. RSO data from the train prompts (round 1: `rso --candidates %d --accept %d --beta %s --pairing %s`)%n%n",
                candidates, accept, rsoBeta, pairing.cliName()));
        b.append(String.format(Locale.ROOT, "%d prompts, %d candidates: acceptance rate %.3f (expected %.3f by RSO's Theorem 1); %d accepted, "
                + "%d preference pairs (games between equal rewards dropped). Reference log-probs: `score` on the starting model "
                + "reproduces the pairs' `ref_*_logps` to %.1e nats.%n%n",
                manifest.path("counts").path("prompts").asLong(), manifest.path("counts").path("candidates").asLong(),
                first.acceptanceRate(), first.expectedAcceptanceRate(), manifest.path("counts").path("accepted").asLong(),
                first.pairs(), r.scoreMaxDiff()));

        b.append(String.format(Locale.ROOT, "## 3. %d rounds of DPO (`loop`: %d prompts a round, loss %s beta %s + NLL of chosen x %s (RPO), lr %s, %d epochs)%n%n",
                rounds, promptsPerRound, loss.kind().cliName(), loss.beta(), rpoAlpha, learningRate, epochs));
        b.append("| round | pairs | RSO acceptance | DPO loss first -> last | held-out greedy accuracy | sampled mean reward | KL to start (nats) |\n");
        b.append("|---|---|---|---|---|---|---|\n");
        b.append(String.format(Locale.ROOT, "| 0 (start) | | | | %.3f | %.3f | %.3f |%n", loop.start().greedyReward(),
                loop.start().sampledReward(), loop.start().kl()));
        for (LoopJob.Round x : loop.rounds()) {
            b.append(String.format(Locale.ROOT, "| %d | %d | %.3f | %.3f -> %.3f | %.3f | %.3f | %.3f |%n", x.round(), x.pairs(),
                    x.acceptanceRate(), x.dpo().first().loss(), x.dpo().last().loss(), x.eval().greedyReward(),
                    x.eval().sampledReward(), x.eval().kl()));
        }
        b.append(String.format(Locale.ROOT, "%nPlot: `%s`.%n%n", d.resolve("loop/loop.png")));

        Rlhf h = r.rlhf();
        LoopJob.Result rl = h.loop();
        b.append(String.format(Locale.ROOT, "## 4. RLHF: a learned reward instead of the checkable one (`rm train`, then `loop --reward rm:%s`)%n%n",
                d.resolve("rlhf/rm.gguf")));
        b.append(String.format(Locale.ROOT, "A reward model (the demo model with a scalar head) trained on %d preference pairs of train prompts "
                + "(chosen: the sum; rejected: another number below %d), %d steps: it ranks **%.3f** of %d held-out pairs right "
                + "(chance: 0.5). One round of RSO (acceptance rate %.3f, %d pairs) rewarded by it, then DPO, from the starting model:%n%n",
                h.rm().pairs(), DemoRewardModel.SUM_BOUND, h.rm().steps(), h.rmAccuracy(), heldout, rl.last().acceptanceRate(),
                rl.last().pairs()));
        b.append("| policy | held-out greedy accuracy (checkable reward) | held-out greedy mean reward (reward model) |\n|---|---|---|\n");
        b.append(String.format(Locale.ROOT, "| start | %.3f | %.3f |%n", loop.start().greedyReward(), rl.start().greedyReward()));
        b.append(String.format(Locale.ROOT, "| round 1, checkable reward (step 3) | %.3f | |%n", first.eval().greedyReward()));
        b.append(String.format(Locale.ROOT, "| round 1, reward model | **%.3f** | %.3f |%n%n", h.accuracy(), rl.last().eval().greedyReward()));

        b.append("## Before and after\n\n");
        LoopJob.Evaluation s = loop.start(), e = loop.last().eval();
        b.append(String.format(Locale.ROOT, "- held-out greedy accuracy: **%.3f -> %.3f** (%+.1f points)%n", s.greedyReward(),
                e.greedyReward(), 100 * (e.greedyReward() - s.greedyReward())));
        b.append(String.format(Locale.ROOT, "- held-out mean reward of samples (temperature %s, %d per prompt): %.3f -> %.3f%n",
                temperature, evalSamples, s.sampledReward(), e.sampledReward()));
        b.append(String.format(Locale.ROOT, "- KL(policy || start) on those samples: %.3f nats per completion%n", e.kl()));
        b.append(String.format(Locale.ROOT, "- final model: `%s`%n", loop.last().model()));
        return b.toString();
    }

    /**
     * {@code DemoRun [--small] [--threads N] [--quiet] [RUN_DIR]} (what {@code make demo} runs, with RUN_DIR
     * {@code runs/demo-<date>-<time>}): the demo on models/demo.
     */
    public static void main(String[] args) {
        DemoRun r = DEFAULT;
        int threads = Runtime.getRuntime().availableProcessors();
        boolean quiet = false;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--small" -> r = SMALL;
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--quiet" -> quiet = true;
                default -> dir = Path.of(args[i]);
            }
        }
        if (dir == null) {
            dir = Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        r.run(Path.of("models/demo"), dir, threads, System.out, quiet);
    }
}
