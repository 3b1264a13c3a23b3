package org.align4j.dpo;

import org.align4j.train.AdamW;
import org.align4j.train.GradClip;
import org.align4j.train.LlamaExport;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraMerge;
import org.align4j.train.PeftAdapter;
import org.align4j.train.LoraParams;
import org.align4j.train.LrSchedule;
import org.align4j.train.OptimizerStep;
import org.align4j.train.PreferenceLoss;
import org.align4j.train.Sequence;
import org.align4j.train.TrainerTimings;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.data.JsonlWriter;
import org.align4j.job.LinePlot;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.job.MetricsFile;
import org.align4j.job.OutputLock;
import org.align4j.job.TrainingResume;
import org.align4j.job.RejectsWriter;
import org.align4j.engine.VocabCompatibility;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
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
 * {@link DpoCheckpoint} is written; {@code resume} continues from it and gives the same weights, bit for
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
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

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
        if (Files.isDirectory(o.out())) {
            throw new Align4jException(o.out() + " is a directory: --out names the model file to write, such as "
                    + o.out().resolve("model.gguf"));
        }
        try (OutputLock lock = OutputLock.take(o.out(), "dpo")) {
            return train(onStep);
        }
    }

    // The run, once it holds its output.
    private Result train(Consumer<DpoStep> onStep) {
        if (!o.resume() && Files.exists(o.checkpoint())) {
            throw new Align4jException("a checkpoint of an earlier run is at " + o.checkpoint()
                    + ": pass --resume to continue that run, or remove it");
        }
        DpoCheckpoint.Loaded resumed = o.resume() ? DpoCheckpoint.read(o.checkpoint()) : null;
        try (Trained trained = open(resumed)) {
            return train(trained, resumed, onStep);
        }
    }

    private Result train(Trained trained, DpoCheckpoint.Loaded resumed, Consumer<DpoStep> onStep) {
        int maxLen = o.maxLen() > 0 ? o.maxLen() : trained.shape().ctx();
        PreferenceLoss loss = o.loss();
        DpoData data = readData(maxLen, trained.vocabSize());

        int n = data.size();
        int stepsPerEpoch = (int) ((n + (long) o.pairsPerStep() - 1) / o.pairsPerStep());
        int total = o.maxSteps() > 0 ? o.maxSteps() : Math.multiplyExact(o.epochs(), stepsPerEpoch);
        int warmup = o.warmupSteps() > 0 ? o.warmupSteps() : (int) Math.ceil(o.warmupRatio() * total);
        LrSchedule schedule = new LrSchedule(o.schedule(), o.learningRate(), Math.min(warmup, total), total);
        Map<String, String> settings = settings(loss, warmup, maxLen, total);
        String fingerprint = data.fingerprint();
        int start = resumed != null ? checkResumable(resumed.state(), fingerprint, settings) : 0;
        if (resumed != null) {
            trained.restore(resumed);
        }
        Reference ref = reference(data, resumed);
        if (!o.quiet()) {
            log.printf(Locale.ROOT, "dpo: %d pairs (%d skipped), %d steps of %d pairs (%d per epoch), loss %s beta %s, reference: %s%s%n",
                    n, data.skipped(), total, o.pairsPerStep(), stepsPerEpoch, loss.kind().cliName(), loss.beta(), ref.source(),
                    trained.describe());
            if (start > 0) {
                log.println("dpo: resuming at step " + start + " from " + o.checkpoint());
            }
            log.flush();
        }
        double[][] reference = ref.logps();

        try (LlamaTrainer trainer = trained.trainer(o.threads())) {
            OptimizerStep update = new OptimizerStep(trainer, schedule, o.weightDecay(), o.maxGradNorm());
            AdamW adam = update.adam();
            if (resumed != null) {
                adam.loadState(resumed.state().optimizerSteps(), resumed.optimizerState());
            }
            Training t = new Training(data, reference, loss, trainer, update, stepsPerEpoch, total);
            long startNanos = System.nanoTime();
            long lastPrint = startNanos;
            DpoStep first = null;
            DpoStep last = null;
            long tokens = 0;
            try (JsonlWriter metrics = MetricsFile.open(o.metrics(), start)) {
                for (int s = start; s < total; s++) {
                    DpoStep step = t.step(s);
                    tokens += step.tokens();
                    first = first == null ? step : first;
                    last = step;
                    metrics.write(step.toJson());
                    if (o.saveEvery() > 0 && step.step() % o.saveEvery() == 0 && step.step() < total) {
                        trained.checkpoint(new DpoCheckpoint(step.step(), adam.steps(), fingerprint, settings, reference), adam);
                    }
                    long now = System.nanoTime();
                    if (!o.quiet() && (now - lastPrint >= PROGRESS_INTERVAL_NANOS || step.step() == total)) {
                        lastPrint = now;
                        log.println(progressLine(step, total, tokens, (now - startNanos) / 1e9, step.step() - start));
                        log.flush();
                    }
                    onStep.accept(step);
                }
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            trained.checkpoint(new DpoCheckpoint(total, adam.steps(), fingerprint, settings, reference), adam);
            trained.write();
            Path plot = plot();
            return new Result(total, total - start, n, data.skipped(), tokens, seconds, ref.source(), trainer.timings(),
                    first, last, o.out(), o.metrics(), plot, o.checkpoint());
        }
    }

    // A LoRA checkpoint resumes only as a LoRA run and a full one only as a full run.
    private Trained open(DpoCheckpoint.Loaded resumed) {
        if (resumed != null && (resumed.adapter() != null) != (o.lora() != null)) {
            throw new Align4jException(o.checkpoint() + (resumed.adapter() != null
                    ? " is of a LoRA run: resume it with the same --lora-rank, --lora-alpha and --lora-targets"
                    : " is of a full fine-tuning run: resume it without --lora-rank"));
        }
        if (o.lora() == null) {
            LlamaParams params = resumed != null ? resumed.params() : LlamaParams.load(o.policy());
            return new FullModel(params, o.outType() != null ? o.outType() : LlamaExport.defaultType(o.policy()));
        }
        GgufFile base = GgufFile.open(o.policy());
        try {
            LoraConfig c = o.lora();
            LoraParams lora = LoraParams.create(LlamaWeights.frozen(base), c.targets(), c.rank(), c.alpha(), o.seed());
            if (o.initialAdapter() != null) {
                AdapterFile.readInto(lora, o.initialAdapter());
            }
            return new Adapter(base, lora);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /** What a run trains: every parameter of the policy in f32, or a LoRA adapter over its frozen weights. */
    private sealed interface Trained extends AutoCloseable permits FullModel, Adapter {
        LlamaShape shape();

        int vocabSize();

        LlamaTrainer trainer(int threads);

        /** Takes the trained tensors of a checkpoint whose settings were checked. */
        void restore(DpoCheckpoint.Loaded resumed);

        void checkpoint(DpoCheckpoint state, AdamW adam);

        /** Writes the result to --out. */
        void write();

        /** For the first log line: "" or "; LoRA ...". */
        String describe();

        @Override
        void close();
    }

    // The policy loaded into f32 (or the checkpoint's parameters), all of it trained and written as a model.
    private final class FullModel implements Trained {
        final LlamaParams params;
        final GgmlType outType;

        FullModel(LlamaParams params, GgmlType outType) {
            this.params = params;
            this.outType = outType;
        }

        @Override public LlamaShape shape() { return params.shape(); }
        @Override public int vocabSize() { return params.vocabSize(); }
        @Override public LlamaTrainer trainer(int threads) { return new LlamaTrainer(params, threads); }
        @Override public void restore(DpoCheckpoint.Loaded resumed) {} // loaded from it
        @Override public void checkpoint(DpoCheckpoint state, AdamW adam) { state.write(o.checkpoint(), params, adam); }
        @Override public void write() { LlamaExport.write(params, o.out(), outType); }
        @Override public String describe() { return ""; }
        @Override public void close() {}
    }

    // An adapter over the policy file's weights as they are in the file (mapped, never written), written as a LoRA GGUF.
    private final class Adapter implements Trained {
        final GgufFile base;
        final LoraParams lora;

        Adapter(GgufFile base, LoraParams lora) {
            this.base = base;
            this.lora = lora;
        }

        @Override public LlamaShape shape() { return lora.shape(); }
        @Override public int vocabSize() { return lora.base().vocabSize(); }
        @Override public LlamaTrainer trainer(int threads) { return new LlamaTrainer(lora, threads); }
        @Override public void checkpoint(DpoCheckpoint state, AdamW adam) { state.write(o.checkpoint(), lora, adam); }
        @Override
        public void write() {
            LoraExport.write(lora, o.out());
            if (o.peft() != null) {
                PeftAdapter.write(o.out(), lora.shape(), base.has("general.name") ? base.string("general.name") : null, o.peft());
            }
            if (o.merge() != null) {
                try (GgufFile adapter = GgufFile.open(o.out())) {
                    LoraMerge.write(base, adapter, 1f, o.merge());
                }
            }
        }

        @Override
        public void restore(DpoCheckpoint.Loaded resumed) {
            try {
                lora.set(resumed.adapter()::get);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(o.checkpoint() + ": not an adapter of these settings: " + e.getMessage(), e);
            }
        }

        @Override
        public String describe() {
            long trained = lora.tensors().stream().mapToLong(t -> t.data().length).sum();
            return String.format(Locale.ROOT, "; %s (%d trained parameters) over %s%s", o.lora(), trained, o.policy(),
                    o.initialAdapter() != null ? ", continuing from " + o.initialAdapter() : "");
        }

        @Override
        public void close() {
            base.close();
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
    private Reference reference(DpoData data, DpoCheckpoint.Loaded resumed) {
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

    /** The optimizer-step loop's state: the pairs, reference and trainer, and the current epoch's order. */
    private final class Training {
        final DpoData data;
        final double[][] reference; // (2, N), null for reference-free losses
        final PreferenceLoss loss;
        final LlamaTrainer trainer;
        final OptimizerStep update;
        final int stepsPerEpoch;
        final int total;
        int epoch = -1;
        int[] order; // (N,) this epoch's pair indices

        Training(DpoData data, double[][] reference, PreferenceLoss loss, LlamaTrainer trainer, OptimizerStep update,
                 int stepsPerEpoch, int total) {
            this.data = data;
            this.reference = reference;
            this.loss = loss;
            this.trainer = trainer;
            this.update = update;
            this.stepsPerEpoch = stepsPerEpoch;
            this.total = total;
        }

        /** Optimizer step s (0-based): the pairs it covers, forward and backward, clip, update. */
        DpoStep step(int s) {
            int e = s / stepsPerEpoch;
            if (e != epoch) {
                epoch = e;
                order = OptimizerStep.shuffled(data.size(), o.seed(), e);
            }
            int from = (s % stepsPerEpoch) * o.pairsPerStep();
            int to = Math.min(data.size(), from + o.pairsPerStep());
            int pairs = to - from;
            double lossSum = 0, chosenReward = 0, rejectedReward = 0, correct = 0, chosenLogp = 0, rejectedLogp = 0;
            long tokens = 0;
            for (int mb = from; mb < to; mb += o.batchSize()) {
                int m = Math.min(to, mb + o.batchSize()) - mb;
                List<Sequence> batch = new ArrayList<>(2 * m);
                for (int j = 0; j < m; j++) {
                    DpoData.Pair p = data.pairs().get(order[mb + j]);
                    batch.add(p.chosenSequence());
                    batch.add(p.rejectedSequence());
                    tokens += p.tokens();
                }
                double[] sums = trainer.forward(batch).sums(); // (2m,): chosen, rejected of each pair
                double[] dLossDSum = new double[2 * m];
                for (int j = 0; j < m; j++) {
                    int i = order[mb + j];
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
            return new DpoStep(s + 1, (double) (s + 1) / stepsPerEpoch, lossSum / pairs, chosenReward / pairs,
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

    // The settings a resumed run must share with the run it continues; total_steps (from --epochs or
    // --max-steps) among them, since the learning-rate schedule is laid out over it.
    private Map<String, String> settings(PreferenceLoss loss, int warmup, int maxLen, int total) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("loss", loss.kind().cliName());
        m.put("beta", Double.toString(loss.beta()));
        m.put("label_smoothing", Double.toString(loss.labelSmoothing()));
        m.put("rpo_alpha", Double.toString(o.rpoAlpha()));
        m.put("simpo_gamma", Double.toString(loss.simpoGamma()));
        m.put("learning_rate", Double.toString(o.learningRate()));
        m.put("weight_decay", Double.toString(o.weightDecay()));
        m.put("max_grad_norm", Double.toString(o.maxGradNorm()));
        m.put("batch_size", Integer.toString(o.batchSize()));
        m.put("grad_accum", Integer.toString(o.gradAccum()));
        m.put("schedule", o.schedule().cliName());
        m.put("warmup_steps", Integer.toString(warmup));
        m.put("seed", Long.toString(o.seed()));
        m.put("max_len", Integer.toString(maxLen));
        m.put("total_steps", Integer.toString(total));
        if (o.lora() != null) {
            m.put(DpoCheckpoint.LORA_RANK, Integer.toString(o.lora().rank()));
            m.put("lora_alpha", Float.toString(o.lora().alpha()));
            m.put("lora_targets", o.lora().targetNames());
            if (o.initialAdapter() != null) {
                m.put("lora_initial_adapter", o.initialAdapter().toString());
            }
        }
        return m;
    }

    // The step to go on from; the checkpoint must be of this data and these settings.
    private int checkResumable(DpoCheckpoint c, String fingerprint, Map<String, String> settings) {
        TrainingResume.check(o.checkpoint(), o.data(), c.dataFingerprint(), fingerprint, c.settings(), settings);
        return c.step();
    }

    // Loss, margin and accuracy against step, from the metrics file (so a resumed run's plot has every step).
    private Path plot() {
        List<DpoStep> steps = MetricsFile.read(o.metrics()).stream().map(DpoStep::fromJson).toList();
        Path png = MetricsFile.plotFor(o.metrics());
        if (steps.isEmpty()) {
            return null;
        }
        double[] x = steps.stream().mapToDouble(DpoStep::step).toArray();
        new LinePlot("dpo: " + o.loss().kind().cliName() + " on " + o.data().getFileName(), "step", "")
                .series("loss", x, steps.stream().mapToDouble(DpoStep::loss).toArray())
                .series("rewards/margins", x, steps.stream().mapToDouble(DpoStep::margin).toArray())
                .series("rewards/accuracies", x, steps.stream().mapToDouble(DpoStep::accuracy).toArray())
                .writePng(png);
        return png;
    }

    private static String progressLine(DpoStep s, int total, long tokens, double seconds, int stepsRun) {
        long eta = stepsRun > 0 ? Math.round((total - s.step()) * seconds / stepsRun) : 0;
        return String.format(Locale.ROOT, "dpo: step %d/%d (epoch %.2f), loss %.4f, accuracy %.3f, margin %.4f, %.0f tokens/s, ETA %d:%02d:%02d",
                s.step(), total, s.epoch(), s.loss(), s.accuracy(), s.margin(), seconds > 0 ? tokens / seconds : 0.0,
                eta / 3600, eta / 60 % 60, eta % 60);
    }
}
