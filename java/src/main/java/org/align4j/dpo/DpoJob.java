package org.align4j.dpo;

import org.align4j.job.RunCheckpoint;
import org.align4j.job.TrainedModel;
import org.align4j.job.TrainingRun;
import org.align4j.train.StepOrder;
import org.align4j.train.AdamW;
import org.align4j.train.GradClip;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LoraDropout;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.LrSchedule;
import org.align4j.train.OptimizerStep;
import org.align4j.train.PreferenceLoss;
import org.align4j.train.Sequence;
import org.align4j.train.TrainerTimings;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.job.LinePlot;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.job.RejectsWriter;
import org.align4j.engine.VocabCompatibility;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;

/**
 * {@code align4j dpo}: trains a Llama policy on preference pairs with a loss of the DPO family and
 * writes it back as GGUF.
 *
 * <p>The run: load the policy into f32 ({@link LlamaParams}); read and check the pairs ({@link DpoData});
 * take reference log-prob sums from the dataset's {@code ref_*_logps} columns when every pair has them,
 * else compute them once with llama.cpp on {@code --ref} or, without one, on the initial policy (the
 * usual DPO reference); reference-free losses skip this. Then for each optimizer step: the step's pairs
 * (B * A of them: {@code batchSize} per micro-batch, {@code gradAccum} micro-batches) in a seeded
 * shuffled order per epoch; per micro-batch one forward and backward over its chosen and rejected
 * sequences, with d(loss)/d(sum) from {@link PreferenceLoss} scaled by 1 / (pairs in the step), so the
 * loss is the mean over the step's pairs (TRL's mean per micro-batch divided by the accumulation count
 * is the same thing when micro-batches are full; the last step of an epoch may have fewer pairs). Then
 * {@link GradClip}, the {@link LrSchedule} rate for the step, {@link AdamW} (no decay on norm weights,
 * as Hugging Face's Trainer). With {@code rpoAlpha} > 0 each pair's loss also has RPO's NLL term,
 * rpoAlpha * -logp_chosen / L_chosen (TRL's {@code rpo_alpha} adds the same weight times the token-mean
 * NLL over the batch's chosen completions; per pair here, as {@link PreferenceLoss}'s sft and orpo), and
 * the {@code loss} metric includes it, as TRL's does.
 *
 * <p>Each step appends a metrics line ({@link DpoStep}, TRL's names) to {@code metrics}; progress goes
 * to {@code log} at most once a second. Every {@code saveEvery} steps and at the end a
 * {@link RunCheckpoint} is written; {@code resume} continues from it and gives the same weights, bit for
 * bit, as a run that was never stopped (everything a step computes is a function of the checkpoint, the
 * pairs and the seed; the trainer's sums do not depend on the thread count). At the end: the model
 * ({@code out}), the plot (loss, margin and accuracy against step, beside the metrics).
 *
 * <p>With {@code lora} set, the policy's weights stay frozen in their file type (mapped) and the run
 * trains only a LoRA adapter over them ({@link LoraParams}; B starts at zero, so the initial policy, and
 * the default reference, is the base); the same loop, optimizer and checkpoints act on the adapter's
 * tensors, and {@code out} is the adapter ({@link LoraExport}). With {@code initialAdapter} the adapter
 * starts as that file's instead; the reference stays the base.
 */
public final class DpoJob {
    private static final String JOB = "dpo";

    /**
     * What a run did.
     *
     * @param steps     optimizer steps in the run, in all (a resumed run counts those before it)
     * @param stepsRun  steps this invocation took
     * @param tokens    tokens this invocation's forward and backward passes covered
     * @param seconds   this invocation's training time (from the first step to the last, so tokens / seconds
     *                  is the training rate; loading, the reference pass and writing files are not in it)
     * @param reference where the reference log-probs came from, in words
     * @param timings   where the training time went (the trainer's passes, its matmuls, the optimizer)
     * @param first     this invocation's first step, null if it took none
     * @param last      its last step, null if it took none
     */
    public record Result(int steps, int stepsRun, int pairs, long skipped, long tokens, double seconds, String reference,
                         TrainerTimings timings, DpoStep first, DpoStep last, Path out, Path metrics, Path plot,
                         Path checkpoint) {
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }

        /** {@code dpo: 300 steps on 64 pairs (2 skipped), ... ; last step: loss ..., accuracy ..., margin ...}. */
        @Override
        public String toString() {
            String s = String.format(Locale.ROOT, "dpo: %d steps (%d this run) on %d pairs (%d skipped), %d tokens in %.1f s, %.0f tokens/s",
                    steps, stepsRun, pairs, skipped, tokens, seconds, tokensPerSecond());
            if (last != null) {
                s += String.format(Locale.ROOT, "; last step: loss %.4f, accuracy %.3f, margin %.4f", last.loss(),
                        last.accuracy(), last.margin());
            }
            return s;
        }
    }

    private final DpoOptions o;
    private final PrintWriter log;

    /** @param log progress and notes (the CLI's stderr) */
    public DpoJob(DpoOptions options, PrintWriter log) {
        this.o = Objects.requireNonNull(options, "options");
        this.log = Objects.requireNonNull(log, "log");
    }

    public Result run() {
        return run(step -> {});
    }

    /**
     * Runs the job; {@code onStep} sees each step's metrics once they are written (and after any
     * checkpoint at that step). An exception from it stops the run where it is, as a crash would: the
     * last checkpoint stays, and {@code resume} continues from it.
     */
    public Result run(Consumer<DpoStep> onStep) {
        return TrainingRun.run(JOB, o, log, run -> train(run, onStep));
    }

    private Result train(TrainingRun run, Consumer<DpoStep> onStep) {
        TrainedModel trained = run.trained();
        int maxLen = run.maxLen();
        PreferenceLoss loss = o.loss();
        DpoData data = readData(maxLen, trained.vocabSize());

        int n = data.size();
        StepOrder order = new StepOrder(n, o.perStep(), o.seed());
        TrainingRun.Plan plan = run.plan(order);
        int total = plan.total();
        Map<String, String> settings = settings(loss, o.rpoAlpha(), run.settings(plan, maxLen));
        String fingerprint = data.fingerprint();
        int start = run.start(fingerprint, settings, "pairs");
        Reference ref = reference(data, run.resumed());
        run.logStart(String.format(Locale.ROOT, "dpo: %d pairs (%d skipped), %d steps of %d pairs (%d per epoch), loss %s beta %s, reference: %s",
                n, data.skipped(), total, o.perStep(), order.stepsPerEpoch(), loss.kind().cliName(), loss.beta(), ref.source()), start);
        double[][] reference = ref.logps();

        try (LlamaTrainer trainer = trained.trainer(o.threads())) {
            Training t = new Training(data, order, reference, loss, trainer, run.optimizer(trainer, plan.schedule()));
            TrainingRun.Outcome<DpoStep> done = run.steps(t.update, RunCheckpoint.start(JOB, fingerprint, settings).withReference(reference),
                    start, total, t::step, DpoJob::figures, onStep);
            trained.write();
            Path plot = plot(run);
            return new Result(total, total - start, n, data.skipped(), done.tokens(), done.seconds(), ref.source(),
                    trainer.timings(), done.first(), done.last(), o.out(), o.metrics(), plot, o.checkpoint());
        }
    }

    /** Reference log-prob sums, (2, N) chosen then rejected (null for reference-free losses), and where they came from. */
    private record Reference(double[][] logps, String source) {}

    private DpoData readData(int maxLen, int vocabSize) {
        try (Model vocab = Model.load(o.policy(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(o.out())) {
            DpoData data = DpoData.read(o.data(), vocab.vocab(), new LlamaChatRenderer(vocab), maxLen, vocabSize,
                    o.onError(), rejects);
            if (data.size() == 0) {
                throw new Align4jException(o.data() + ": no usable preference pairs" + (data.skipped() > 0
                        ? " (" + data.skipped() + " skipped, see " + rejects.file() + ")" : ""));
            }
            return data;
        }
    }

    // Reference-free: none. Resumed: the checkpoint's, as first obtained. Else the columns when every pair
    // has them, else llama.cpp on --ref or the initial policy.
    private Reference reference(DpoData data, RunCheckpoint.Loaded resumed) {
        PreferenceLoss.Kind kind = o.loss().kind();
        if (!kind.usesReference()) {
            return new Reference(null, "none (" + kind.cliName() + " is reference-free" + (o.reference() != null ? "; --ref is not used)" : ")"));
        }
        if (resumed != null) {
            return new Reference(resumed.state().reference(), "the checkpoint's (as first obtained)");
        }
        if (data.allHaveReferenceColumns()) {
            return new Reference(data.referenceColumns(), "the dataset's " + DpoData.REF_CHOSEN + "/" + DpoData.REF_REJECTED
                    + " columns" + (o.reference() != null ? " (--ref is not used)" : ""));
        }
        if (data.withReferenceColumns() > 0 && !o.quiet()) {
            log.println("dpo: only " + data.withReferenceColumns() + " of " + data.size() + " pairs have "
                    + DpoData.REF_CHOSEN + "/" + DpoData.REF_REJECTED + "; computing the reference for all");
        }
        Path model = o.reference() != null ? o.reference() : o.policy();
        if (o.reference() != null) {
            VocabCompatibility.check(o.policy(), o.reference());
        }
        // A LoRA run's reference is the base, the adapter off (its initial policy too, unless it continues an adapter).
        String what = o.reference() != null ? "the reference " : o.lora() != null ? "the base (adapter off) " : "the initial policy ";
        return new Reference(data.scoreWith(model, o.threads(), o.gpuLayers()), "computed with llama.cpp on " + what + model);
    }

    /** The optimizer-step loop's state: the pairs, their order, the reference and the trainer. */
    private final class Training {
        final DpoData data;
        final StepOrder order;
        final double[][] reference; // (2, N), null for reference-free losses
        final PreferenceLoss loss;
        final LlamaTrainer trainer;
        final OptimizerStep update;

        Training(DpoData data, StepOrder order, double[][] reference, PreferenceLoss loss, LlamaTrainer trainer,
                 OptimizerStep update) {
            this.data = data;
            this.order = order;
            this.reference = reference;
            this.loss = loss;
            this.trainer = trainer;
            this.update = update;
        }

        /** Optimizer step s (0-based): the pairs it covers, forward and backward, clip, update. */
        DpoStep step(int s) {
            int[] taken = order.step(s);
            int pairs = taken.length;
            double lossSum = 0, chosenReward = 0, rejectedReward = 0, correct = 0, chosenLogp = 0, rejectedLogp = 0;
            long tokens = 0;
            for (int mb = 0; mb < pairs; mb += o.batchSize()) {
                int m = Math.min(pairs, mb + o.batchSize()) - mb;
                List<Sequence> batch = new ArrayList<>(2 * m);
                for (int j = 0; j < m; j++) {
                    DpoData.Pair p = data.pairs().get(taken[mb + j]);
                    batch.add(p.chosenSequence());
                    batch.add(p.rejectedSequence());
                    tokens += p.tokens();
                }
                double[] sums = trainer.forward(batch, LoraDropout.passKey(o.seed(), s, mb / o.batchSize())).sums(); // (2m,): chosen, rejected of each pair
                double[] dLossDSum = new double[2 * m];
                for (int j = 0; j < m; j++) {
                    int i = taken[mb + j];
                    DpoData.Pair p = data.pairs().get(i);
                    PreferenceLoss.Result r = compute(p, sums[2 * j], sums[2 * j + 1], i);
                    // RPO's term: rpoAlpha * the chosen completion's NLL per token, -logp_c / L_c.
                    dLossDSum[2 * j] = (r.dPolicyChosen() - o.rpoAlpha() / p.chosen().length) / pairs;
                    dLossDSum[2 * j + 1] = r.dPolicyRejected() / pairs;
                    lossSum += r.loss() - o.rpoAlpha() * sums[2 * j] / p.chosen().length;
                    chosenReward += r.chosenReward();
                    rejectedReward += r.rejectedReward();
                    correct += r.chosenReward() > r.rejectedReward() ? 1 : 0;
                    chosenLogp += sums[2 * j];
                    rejectedLogp += sums[2 * j + 1];
                }
                trainer.backward(dLossDSum);
            }
            long optimizerStart = System.nanoTime();
            OptimizerStep.Update u = update.apply(s);
            trainer.timings().addOptimizer(System.nanoTime() - optimizerStart);
            return new DpoStep(s + 1, order.epochs(s + 1), lossSum / pairs, chosenReward / pairs,
                    rejectedReward / pairs, correct / pairs, chosenLogp / pairs, rejectedLogp / pairs, u.gradNorm(),
                    u.learningRate(), pairs, tokens);
        }

        private PreferenceLoss.Result compute(DpoData.Pair p, double chosen, double rejected, int i) {
            double refChosen = reference != null ? reference[0][i] : 0;
            double refRejected = reference != null ? reference[1][i] : 0;
            try {
                return loss.compute(new PreferenceLoss.Pair(chosen, rejected, refChosen, refRejected, p.chosen().length,
                        p.rejected().length));
            } catch (IllegalArgumentException ex) {
                throw new Align4jException(p.location() + ": " + ex.getMessage(), ex);
            }
        }
    }

    // The settings a resumed run must share with the run it continues: the loss's, then the run's.
    private static Map<String, String> settings(PreferenceLoss loss, double rpoAlpha, Map<String, String> run) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("loss", loss.kind().cliName());
        m.put("beta", Double.toString(loss.beta()));
        m.put("label_smoothing", Double.toString(loss.labelSmoothing()));
        m.put("rpo_alpha", Double.toString(rpoAlpha));
        m.put("simpo_gamma", Double.toString(loss.simpoGamma()));
        m.putAll(run);
        return m;
    }

    // Loss, margin and accuracy against step, from the metrics file (so a resumed run's plot has every step).
    private Path plot(TrainingRun run) {
        List<DpoStep> steps = run.metrics(DpoStep::fromJson);
        if (steps.isEmpty()) {
            return null;
        }
        Path png = run.plotFile();
        double[] x = steps.stream().mapToDouble(DpoStep::step).toArray();
        new LinePlot("dpo: " + o.loss().kind().cliName() + " on " + o.data().getFileName(), "step", "")
                .series("loss", x, steps.stream().mapToDouble(DpoStep::loss).toArray())
                .series("rewards/margins", x, steps.stream().mapToDouble(DpoStep::margin).toArray())
                .series("rewards/accuracies", x, steps.stream().mapToDouble(DpoStep::accuracy).toArray())
                .writePng(png);
        return png;
    }

    private static String figures(DpoStep s) {
        return String.format(Locale.ROOT, "loss %.4f, accuracy %.3f, margin %.4f", s.loss(), s.accuracy(), s.margin());
    }
}
