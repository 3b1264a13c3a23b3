package org.align4j.loop;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.io.IOException;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.reward.KlPenalty;
import org.align4j.reward.Reward;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Model;
import org.align4j.job.RewardStage;
import org.align4j.job.ResumeState;
import org.align4j.job.RecordLoop;
import org.align4j.data.PromptRecord;
import org.align4j.data.JsonlReader;
import org.align4j.bon.SampleJob;
import org.align4j.bon.BonJob;
import org.align4j.job.ErrorPolicy;
import org.align4j.data.JsonlWriter;
import org.align4j.job.LinePlot;
import org.align4j.engine.Adapters;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.VocabCompatibility;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.train.LlamaWeights;
import org.align4j.train.PeftAdapter;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.RsoJob;
import org.align4j.score.ScoreJob;
import org.align4j.dpo.DpoJob;

/**
 * {@code align4j loop}: iterative (online) DPO. Each round samples N completions of a slice of the
 * prompts with the current policy, rewards them, turns them into preference pairs ({@link PreferencePairs}:
 * RSO or best-vs-worst), scores the pairs under policy and reference with {@link ScoreJob} (TRL's four
 * log-prob columns, which the DPO step then reads instead of recomputing them), trains the policy on them
 * with {@link DpoJob} against the fixed reference (the starting policy unless another is given), and
 * reloads the result for the next round. With {@link org.align4j.dpo.DpoOptions#lora()} set ({@code --lora-rank})
 * the policy file stays the base: each round samples, and scores, with base + the previous round's adapter
 * (in round 1, the options' initial adapter, {@code --lora-init}, or none), trains that adapter on (the
 * reference stays the base, adapter off), and keeps the adapter; the last round also writes the options'
 * merged model and PEFT directory, if asked ({@code --merge}, {@code --peft}), and no round before it.
 *
 * <p>Everything goes to one run folder: {@code round-K/} holds the round's prompts, samples (with
 * rewards), pairs (scored), the model it ends with ({@code model.gguf}, F32 so that no update is lost to
 * rounding between rounds; with LoRA the adapter, {@code adapter.gguf}) and its DPO metrics and plot; {@code round-0/} the starting model's
 * evaluation. {@code loop.jsonl} has one line per round (round 0: the start) and {@code loop.png} plots
 * them. Each round reports the mean reward of its samples and the KL divergence of the policy that drew
 * them from the reference, and, with eval prompts, the greedy mean reward (accuracy, for a 0/1 reward)
 * of the model it ends with, and, with eval samples, that model's sampled mean reward and KL.
 */
public final class LoopJob {
        /**
     * A model's evaluation on the eval prompts; NaN where not measured.
     *
     * @param greedyReward  mean reward of greedy completions (the accuracy, for a 0/1 reward)
     * @param sampledReward mean reward of completions sampled as the rounds sample
     * @param kl            KL(policy || reference) estimated on those samples, nats per completion
     */
    public record Evaluation(double greedyReward, double sampledReward, double kl) {
        static final Evaluation NONE = new Evaluation(Double.NaN, Double.NaN, Double.NaN);

        /** {@code ": eval greedy reward 0.4120, sampled reward ..., KL ..."}, or nothing when not measured. */
        String describe() {
            if (Double.isNaN(greedyReward)) {
                return "";
            }
            return String.format(Locale.ROOT, "; eval greedy reward %.4f", greedyReward) + (Double.isNaN(sampledReward) ? ""
                    : String.format(Locale.ROOT, ", sampled reward %.4f, KL %.4f", sampledReward, kl));
        }
    }

    /**
     * One round.
     *
     * @param model           the model the round ends with (with LoRA: the base, which {@code adapter} acts on)
     * @param adapter         the LoRA adapter the round ends with; null: none (full fine-tuning)
     * @param sampleReward    mean reward of the round's samples (drawn by the policy it started with)
     * @param sampleKl        KL from the reference of the policy the round started with, on those samples
     * @param acceptanceRate  RSO's observed first-pass acceptance rate; NaN for best-worst
     * @param eval            the evaluation of the model the round ends with
     */
    public record Round(int round, Path model, Path adapter, long prompts, long pairs, double sampleReward,
                        double sampleKl, double acceptanceRate, double expectedAcceptanceRate, DpoJob.Result dpo,
                        Evaluation eval, double seconds, Model next) {}

    /**
     * What a run did: the starting model's evaluation and every round.
     *
     * @param merged the base with the last adapter merged in ({@code --merge}); null: none
     */
    public record Result(Path out, Evaluation start, List<Round> rounds, Path plot, Path merged) {
        public Round last() {
            return rounds.getLast();
        }

        /** {@code loop: 3 rounds; greedy reward 0.412 -> 0.604, sampled reward ..., KL ...}. */
        @Override
        public String toString() {
            Evaluation end = last().eval();
            String s = String.format(Locale.ROOT, "loop: %d rounds in %s", rounds.size(), out)
                    + (last().adapter() == null ? "" : "; adapter " + last().adapter())
                    + (merged == null ? "" : "; merged model " + merged);
            if (!Double.isNaN(start.greedyReward())) {
                s += String.format(Locale.ROOT, "; eval greedy reward %.4f -> %.4f", start.greedyReward(), end.greedyReward());
            }
            if (!Double.isNaN(start.sampledReward())) {
                s += String.format(Locale.ROOT, ", sampled reward %.4f -> %.4f, KL to the reference %.4f -> %.4f",
                        start.sampledReward(), end.sampledReward(), start.kl(), end.kl());
            }
            return s;
        }
    }

    private final LoopOptions o;
    private final PrintWriter log;

    /** @param log progress and the per-round lines (the CLI's stderr) */
    public LoopJob(LoopOptions options, PrintWriter log) {
        this.o = Objects.requireNonNull(options, "options");
        this.log = Objects.requireNonNull(log, "log");
    }

    public Result run() {
        Path table = o.out().resolve("loop.jsonl");
        if (Files.exists(table)) {
            throw new Align4jException(o.out() + " holds a loop run already (" + table + "): choose another folder");
        }
        if (o.reference() != null) {
            VocabCompatibility.check(o.policy(), o.reference());
        }
        List<String> prompts = promptLines();
        createDirectories(o.out());
        List<Round> rounds = new ArrayList<>();
        // The reference is open for the whole run; each round's policy is loaded once, when its weights are new.
        try (Model reference = load(o.referenceModel());
             JsonlWriter lines = JsonlWriter.create(table)) {
            Model policy = o.reference() == null ? reference : load(o.policy());
            try {
                Path adapter = startAdapter(); // the LoRA adapter the policy samples with
                Evaluation start = evaluate(policy, adapters(adapter), reference, o.out().resolve("round-0"));
                lines.write(line(0, o.policy(), start, null));
                say("loop: round 0 (start, " + o.policy() + (adapter == null ? "" : " + " + adapter) + ")"
                        + start.describe().replaceFirst("^; ", ": "));
                for (int r = 1; r <= o.rounds(); r++) {
                    Round round = round(r, policy, adapter, reference, prompts);
                    if (round.next() != policy && policy != reference) {
                        policy.close();
                    }
                    policy = round.next();
                    adapter = round.adapter();
                    rounds.add(round);
                    lines.write(line(r, round.model(), round.eval(), round));
                    say(String.format(Locale.ROOT, "loop: round %d: %d prompts, sample reward %.4f, KL %.4f; %d pairs%s; "
                                    + "dpo loss %.4f -> %.4f%s; %.1f s",
                            r, round.prompts(), round.sampleReward(), round.sampleKl(), round.pairs(),
                            Double.isNaN(round.acceptanceRate()) ? "" : String.format(Locale.ROOT, ", RSO acceptance %.3f", round.acceptanceRate()),
                            round.dpo().first().loss(), round.dpo().last().loss(), round.eval().describe(), round.seconds()));
                }
                return new Result(o.out(), start, List.copyOf(rounds), plot(start, rounds), o.dpo().merge());
            } finally {
                if (policy != reference) {
                    policy.close();
                }
            }
        }
    }

    /**
     * Round r on {@code policy} (with {@code adapter} when not null): sample, reward, pair, score, train; the
     * model it ends with is loaded once, evaluated and handed back as the next round's policy
     * ({@link Round#next()}, the caller closes it). A LoRA round hands back {@code policy} itself and its adapter.
     */
    private Round round(int r, Model policy, Path adapter, Model reference, List<String> prompts) {
        long t0 = System.nanoTime();
        Path dir = o.out().resolve("round-" + r);
        createDirectories(dir);
        Path slice = dir.resolve("prompts.jsonl");
        write(slice, slice(prompts, r));
        Path samplesFile = dir.resolve("samples.jsonl");
        Path pairs = dir.resolve("pairs.jsonl");
        SamplingParams sampling = o.sampling().withSeed(o.sampling().seed() + r);
        Adapters adapters = adapters(adapter);
        Model ref = o.reference() == null && r == 1 ? null : reference; // null: the policy is its own reference
        Path data; // the pairs with all four log-prob columns
        long pairCount;
        double acceptance = Double.NaN, expected = Double.NaN;
        try (Reward reward = openReward(policy, o.klPenalty())) {
            if (o.pairs() == LoopOptions.PairScheme.RSO) {
                RsoJob.Result rso = RsoJob.run(policy, ref, reward, new RsoJob.Options(slice, pairs, samplesFile,
                        o.rewardTimeout(), o.n(), o.accept(), RejectionSampler.rso(o.rsoBeta()), new Pairing(o.pairing(), Pairing.TieRule.SKIP),
                        ErrorPolicy.FAIL, false, o.quiet(), o.gpuLayers(), o.engine(), sampling, adapters));
                acceptance = rso.observedRate();
                expected = rso.expectedRate();
                pairCount = rso.pairs();
                data = pairs;
            } else {
                BonJob.run(policy, reward, SampleJob.Options.of(slice, samplesFile, o.n(), o.engine(), sampling)
                        .withQuiet(o.quiet()).withAdapters(adapters));
                pairCount = PreferencePairs.bestWorst(Samples.read(samplesFile), pairs).pairs();
                data = dir.resolve("pairs.scored.jsonl");
                if (pairCount > 0) {
                    ScoreJob.run(policy, reference, ScoreJob.Options.of(pairs, data,
                            o.engine().scorer(o.engine().maxSeqLen() + o.sampling().maxTokens() + 1)).withQuiet(true).withAdapters(adapters));
                }
            }
        }
        if (pairCount == 0) {
            throw new Align4jException("round " + r + ": no preference pairs: no prompt's " + o.n()
                    + " completions differ in reward (" + samplesFile + "); sample more (-n) or at a higher --temperature");
        }
        Samples samples = Samples.read(samplesFile);
        double kl = samples.klTo(reference, o.engine());
        boolean lora = o.dpo().lora() != null;
        Path outFile = dir.resolve(lora ? "adapter.gguf" : "model.gguf");
        boolean last = r == o.rounds();
        DpoJob.Result dpo = new DpoJob(o.dpo().toBuilder().policy(policy.path()).reference(o.referenceModel()).data(data).out(outFile)
                .metrics(null).checkpoint(null).outType(lora ? null : GgmlType.F32).initialAdapter(adapter).saveEvery(0)
                .peft(last ? o.dpo().peft() : null).merge(last ? o.dpo().merge() : null).build(), log).run();
        deleteIfExists(dpo.checkpoint()); // the loop does not resume a round; the model (or adapter) is what it keeps
        if (lora) {
            Evaluation eval = evaluate(policy, adapters(outFile), reference, dir);
            return new Round(r, policy.path(), outFile, samples.prompts().size(), pairCount, samples.meanReward(), kl, acceptance, expected,
                    dpo, eval, (System.nanoTime() - t0) / 1e9, policy);
        }
        Model next = load(outFile);
        try {
            Evaluation eval = evaluate(next, Adapters.none(), reference, dir);
            return new Round(r, outFile, null, samples.prompts().size(), pairCount, samples.meanReward(), kl, acceptance, expected, dpo,
                    eval, (System.nanoTime() - t0) / 1e9, next);
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
    }

    // Round 1's adapter: --lora-init's, a PEFT directory converted into round-0/adapter.gguf; null: none.
    private Path startAdapter() {
        Path init = o.dpo().initialAdapter();
        if (init == null || !Files.isDirectory(init)) {
            return init;
        }
        Path converted = o.out().resolve("round-0").resolve("adapter.gguf");
        createDirectories(converted.getParent());
        try (GgufFile base = GgufFile.open(o.policy())) {
            PeftAdapter.toGguf(init, LlamaWeights.frozen(base).shape(), converted);
        }
        return converted;
    }

    private static Adapters adapters(Path adapter) {
        return adapter == null ? Adapters.none() : Adapters.none().with(adapter, 1f);
    }

    /** Greedy, then sampled completions of the eval prompts with {@code model} and {@code adapters}; the sampling seed is the same every round. */
    private Evaluation evaluate(Model model, Adapters adapters, Model reference, Path dir) {
        if (o.eval() == null) {
            return Evaluation.NONE;
        }
        createDirectories(dir);
        try (Reward reward = openReward(model, null)) { // evaluations measure the reward itself
            SampleJob.Options eval = SampleJob.Options.of(o.eval(), dir.resolve("eval-greedy.jsonl"), 1, o.engine(),
                    o.sampling().withGreedy()).withQuiet(o.quiet()).withAdapters(adapters);
            double greedyReward = BonJob.run(model, reward, eval).curve().points().getFirst().meanReward();
            if (o.evalSamples() == 0) {
                return new Evaluation(greedyReward, Double.NaN, Double.NaN);
            }
            Path sampledFile = dir.resolve("eval-samples.jsonl");
            BonJob.run(model, reward, eval.withFiles(o.eval(), sampledFile).withN(o.evalSamples()).withSampling(o.sampling()));
            Samples sampled = Samples.read(sampledFile);
            return new Evaluation(greedyReward, sampled.meanReward(), sampled.klTo(reference, o.engine()));
        }
    }

    /** The reward, penalised by {@code kl} unless null. */
    private Reward openReward(Model policy, KlPenalty kl) {
        return RewardStage.open(o.reward(), kl, policy.path(), o.engine(), o.gpuLayers(), o.rewardTimeout());
    }

    private Model load(Path model) {
        return Model.load(model, ModelOptions.inference(o.gpuLayers()));
    }

    // Round r's prompts: promptsPerRound of them from where round r - 1 stopped, wrapping around; all if 0.
    private List<String> slice(List<String> prompts, int r) {
        if (o.promptsPerRound() == 0) {
            return prompts;
        }
        List<String> out = new ArrayList<>(o.promptsPerRound());
        long from = (long) (r - 1) * o.promptsPerRound();
        for (int i = 0; i < o.promptsPerRound(); i++) {
            out.add(prompts.get((int) ((from + i) % prompts.size())));
        }
        return out;
    }

    // The prompt records as JSON lines, id first: a record without one gets its line's id, so a slice keeps it.
    private List<String> promptLines() {
        List<String> out = new ArrayList<>();
        try (JsonlReader reader = JsonlReader.open(o.prompts())) {
            RecordLoop.run(reader, ResumeState.empty(), ErrorPolicy.FAIL, PromptRecord::of,
                    record -> out.add(record.outputNode().toString()), () -> {}, (line, why) -> {});
        }
        if (out.isEmpty()) {
            throw new Align4jException(o.prompts() + ": no prompt records");
        }
        return out;
    }

    /** One line of loop.jsonl: the model (and adapter) a round ends with and its evaluation; round 0 is the start. */
    private static ObjectNode line(int r, Path model, Evaluation e, Round round) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("round", r);
        n.put("model", model.toString());
        n.put("eval/greedy_reward", e.greedyReward());
        n.put("eval/sampled_reward", e.sampledReward());
        n.put("eval/kl", e.kl());
        if (round != null && round.adapter() != null) {
            n.put("adapter", round.adapter().toString());
        }
        if (round != null) {
            n.put("train/prompts", round.prompts());
            n.put("train/sample_reward", round.sampleReward());
            n.put("train/sample_kl", round.sampleKl());
            n.put("pairs", round.pairs());
            n.put("rso/acceptance_rate", round.acceptanceRate());
            n.put("rso/expected_acceptance_rate", round.expectedAcceptanceRate());
            n.put("dpo/steps", round.dpo().steps());
            n.put("dpo/first_loss", round.dpo().first().loss());
            n.put("dpo/last_loss", round.dpo().last().loss());
            n.put("dpo/last_accuracy", round.dpo().last().accuracy());
            n.put("seconds", round.seconds());
        }
        return n;
    }

    private Path plot(Evaluation start, List<Round> rounds) {
        if (o.eval() == null) {
            return null;
        }
        double[] x = new double[rounds.size() + 1];
        double[] greedy = new double[x.length], sampled = new double[x.length], kl = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            Evaluation e = i == 0 ? start : rounds.get(i - 1).eval();
            x[i] = i;
            greedy[i] = e.greedyReward();
            sampled[i] = e.sampledReward();
            kl[i] = e.kl();
        }
        Path png = o.out().resolve("loop.png");
        LinePlot p = new LinePlot("loop on " + o.prompts().getFileName() + ", eval on " + o.eval().getFileName(), "round", "")
                .series("greedy reward", x, greedy);
        if (o.evalSamples() > 0) {
            p.series("sampled reward", x, sampled).series("KL to reference (nats)", x, kl);
        }
        p.writePng(png);
        return png;
    }

    private void say(String line) {
        log.println(line);
        log.flush();
    }

    private static void write(Path file, List<String> lines) {
        try {
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot write: " + IoMessages.describe(e), e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new Align4jException(dir + ": cannot create: " + IoMessages.describe(e), e);
        }
    }

    private static void deleteIfExists(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot delete: " + IoMessages.describe(e), e);
        }
    }
}
