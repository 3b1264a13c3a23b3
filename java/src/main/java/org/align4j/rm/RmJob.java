package org.align4j.rm;

import java.io.IOException;
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
import org.align4j.IoMessages;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.align4j.job.AdapterFile;
import org.align4j.job.LinePlot;
import org.align4j.job.MetricsFile;
import org.align4j.job.OutputLock;
import org.align4j.job.RejectsWriter;
import org.align4j.job.TrainingResume;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.AdamW;
import org.align4j.train.LlamaExport;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraDropout;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraMerge;
import org.align4j.train.LoraParams;
import org.align4j.train.LrSchedule;
import org.align4j.train.OptimizerStep;
import org.align4j.train.RewardLoss;
import org.align4j.train.ScalarHead;
import org.align4j.train.Sequence;
import org.align4j.train.StepOrder;
import org.align4j.train.TrainerTimings;

/**
 * {@code align4j rm train}: trains a reward model on preference pairs and writes it as an RM file.
 *
 * <p>The model is the base with a scalar head on the final hidden state at the last token of prompt +
 * response, the EOS appended to it ({@link ScalarHead}; w starts seeded, b at 0). Each optimizer step
 * takes B * A pairs in a seeded shuffled order per epoch ({@link StepOrder}); per micro-batch one forward
 * and backward over its chosen and rejected sequences, with {@link RewardLoss} (ranking loss with the
 * record's margin, plus {@code lmCoef} times the chosen response's NLL per token) averaged over the
 * step's pairs; then clipping, the schedule's rate and AdamW over the transformer (or a LoRA adapter)
 * and the head ({@link OptimizerStep}). Metrics per step, checkpoints every {@code saveEvery} steps and
 * at the end, and {@code resume} bit for bit, as {@code dpo}.
 *
 * <p>The RM file: a full run writes the trained model ({@link LlamaExport}) with the head's keys; a LoRA
 * run writes the base merged with the adapter ({@link LoraMerge}) with the head's keys
 * ({@link RewardModelFile}). Either way llama.cpp loads it as the base architecture.
 */
public final class RmJob {
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

    /**
     * What a run did.
     *
     * @param steps    optimizer steps in the run, in all (a resumed run counts those before it)
     * @param stepsRun steps this invocation took
     * @param tokens   tokens this invocation's passes covered
     * @param seconds  this invocation's training time (first step to last)
     * @param first    this invocation's first step, null if it took none
     * @param last     its last step, null if it took none
     */
    public record Result(int steps, int stepsRun, int pairs, long skipped, long tokens, double seconds, TrainerTimings timings,
                         RmStep first, RmStep last, Path out, Path metrics, Path plot, Path checkpoint) {
        /** {@code rm: 30 steps (30 this run) on 64 pairs (0 skipped), ...; last step: loss ..., accuracy ..., margin ...}. */
        @Override
        public String toString() {
            String s = String.format(Locale.ROOT, "rm: %d steps (%d this run) on %d pairs (%d skipped), %d tokens in %.1f s",
                    steps, stepsRun, pairs, skipped, tokens, seconds);
            if (last != null) {
                s += String.format(Locale.ROOT, "; last step: loss %.4f, accuracy %.3f, margin %.4f", last.loss(), last.accuracy(),
                        last.margin());
            }
            return s;
        }
    }

    private final RmOptions o;
    private final PrintWriter log;

    /** @param log progress and notes (the CLI's stderr) */
    public RmJob(RmOptions options, PrintWriter log) {
        this.o = Objects.requireNonNull(options, "options");
        this.log = Objects.requireNonNull(log, "log");
    }

    public Result run() {
        return run(step -> {});
    }

    /**
     * Runs the job; {@code onStep} sees each step's metrics once they are written (and after any checkpoint
     * at that step). An exception from it stops the run where it is, as a crash would.
     */
    public Result run(Consumer<RmStep> onStep) {
        if (Files.isDirectory(o.out())) {
            throw new Align4jException(o.out() + " is a directory: --out names the reward model file to write, such as "
                    + o.out().resolve("rm.gguf"));
        }
        try (OutputLock lock = OutputLock.take(o.out(), "rm train")) {
            if (!o.resume() && Files.exists(o.checkpoint())) {
                throw new Align4jException("a checkpoint of an earlier run is at " + o.checkpoint()
                        + ": pass --resume to continue that run, or remove it");
            }
            RmCheckpoint.Loaded resumed = o.resume() ? RmCheckpoint.read(o.checkpoint()) : null;
            try (Trained trained = open(resumed)) {
                return train(trained, resumed, onStep);
            }
        }
    }

    private Result train(Trained trained, RmCheckpoint.Loaded resumed, Consumer<RmStep> onStep) {
        int maxLen = o.maxLen() > 0 ? o.maxLen() : trained.shape().ctx();
        RmData data = readData(maxLen, trained.vocabSize());
        int n = data.size();
        StepOrder order = new StepOrder(n, o.pairsPerStep(), o.seed());
        int total = o.maxSteps() > 0 ? o.maxSteps() : Math.multiplyExact(o.epochs(), order.stepsPerEpoch());
        int warmup = o.warmupSteps() > 0 ? o.warmupSteps() : (int) Math.ceil(o.warmupRatio() * total);
        LrSchedule schedule = new LrSchedule(o.schedule(), o.learningRate(), Math.min(warmup, total), total);
        Map<String, String> settings = settings(warmup, maxLen, total);
        String fingerprint = data.fingerprint();
        int start = 0;
        ScalarHead head = ScalarHead.initial(trained.shape().embd(), o.seed());
        if (resumed != null) {
            TrainingResume.check(o.checkpoint(), o.data(), "pairs", resumed.state().dataFingerprint(), fingerprint, resumed.state().settings(),
                    settings);
            start = resumed.state().step();
            trained.restore(resumed);
            head.set(resumed.state().head());
        }
        if (!o.quiet()) {
            log.printf(Locale.ROOT, "rm: %d pairs (%d skipped), %d steps of %d pairs (%d per epoch), lm_coef %s%s%n", n, data.skipped(),
                    total, o.pairsPerStep(), order.stepsPerEpoch(), o.lmCoef(), trained.describe());
            if (start > 0) {
                log.println("rm: resuming at step " + start + " from " + o.checkpoint());
            }
            log.flush();
        }
        try (LlamaTrainer trainer = trained.trainer(o.threads()).withHead(head)) {
            OptimizerStep update = new OptimizerStep(trainer, schedule, o.weightDecay(), o.maxGradNorm());
            AdamW adam = update.adam();
            if (resumed != null) {
                adam.loadState(resumed.state().optimizerSteps(), resumed.optimizerState());
            }
            RewardLoss loss = new RewardLoss(o.lmCoef());
            long startNanos = System.nanoTime();
            long lastPrint = startNanos;
            RmStep first = null;
            RmStep last = null;
            long tokens = 0;
            try (JsonlWriter metrics = MetricsFile.open(o.metrics(), start)) {
                for (int s = start; s < total; s++) {
                    RmStep step = step(s, order, data, trainer, loss, update);
                    tokens += step.tokens();
                    first = first == null ? step : first;
                    last = step;
                    metrics.write(step.toJson());
                    if (o.saveEvery() > 0 && step.step() % o.saveEvery() == 0 && step.step() < total) {
                        trained.checkpoint(new RmCheckpoint(step.step(), adam.steps(), fingerprint, settings, head.toRewardHead()), adam);
                    }
                    long now = System.nanoTime();
                    if (!o.quiet() && (now - lastPrint >= PROGRESS_INTERVAL_NANOS || step.step() == total)) {
                        lastPrint = now;
                        log.println(progressLine(step, total));
                        log.flush();
                    }
                    onStep.accept(step);
                }
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            trained.checkpoint(new RmCheckpoint(total, adam.steps(), fingerprint, settings, head.toRewardHead()), adam);
            trained.write(head.toRewardHead());
            return new Result(total, total - start, n, data.skipped(), tokens, seconds, trainer.timings(), first, last, o.out(),
                    o.metrics(), plot(), o.checkpoint());
        }
    }

    // Optimizer step s (0-based): the pairs it covers, forward and backward, clip, update.
    private RmStep step(int s, StepOrder order, RmData data, LlamaTrainer trainer, RewardLoss loss, OptimizerStep update) {
        int[] indices = order.step(s);
        int pairs = indices.length;
        boolean imitation = o.lmCoef() > 0;
        double lossSum = 0, chosenReward = 0, rejectedReward = 0, correct = 0;
        long tokens = 0;
        for (int mb = 0; mb < pairs; mb += o.batchSize()) {
            int m = Math.min(pairs, mb + o.batchSize()) - mb;
            List<Sequence> batch = new ArrayList<>(2 * m);
            for (int j = 0; j < m; j++) {
                RmData.Pair p = data.pairs().get(indices[mb + j]);
                batch.add(p.chosenSequence(imitation));
                batch.add(p.rejectedSequence());
                tokens += p.tokens();
            }
            double[] sums = trainer.forward(batch, LoraDropout.passKey(o.seed(), s, mb / o.batchSize())).sums(); // (2m,): chosen, rejected of each pair
            double[] rewards = trainer.rewards(); // (2m,)
            double[] dLossDSum = new double[2 * m];
            double[] dLossDReward = new double[2 * m];
            for (int j = 0; j < m; j++) {
                RmData.Pair p = data.pairs().get(indices[mb + j]);
                RewardLoss.Result r;
                try {
                    r = loss.compute(new RewardLoss.Pair(rewards[2 * j], rewards[2 * j + 1], p.margin(), sums[2 * j], p.chosen().length));
                } catch (IllegalArgumentException ex) {
                    throw new Align4jException(p.location() + ": " + ex.getMessage() + " (step " + (s + 1) + "; try a lower --lr)", ex);
                }
                dLossDSum[2 * j] = r.dChosenLogp() / pairs;
                dLossDReward[2 * j] = r.dChosenReward() / pairs;
                dLossDReward[2 * j + 1] = r.dRejectedReward() / pairs;
                lossSum += r.loss();
                chosenReward += rewards[2 * j];
                rejectedReward += rewards[2 * j + 1];
                correct += rewards[2 * j] > rewards[2 * j + 1] ? 1 : 0;
            }
            trainer.backward(dLossDSum, dLossDReward);
        }
        long optimizerStart = System.nanoTime();
        OptimizerStep.Update u = update.apply(s);
        trainer.timings().addOptimizer(System.nanoTime() - optimizerStart);
        return new RmStep(s + 1, order.epochs(s + 1), lossSum / pairs, correct / pairs, chosenReward / pairs, rejectedReward / pairs,
                u.gradNorm(), u.learningRate(), pairs, tokens);
    }

    private RmData readData(int maxLen, int vocabSize) {
        try (Model vocab = Model.load(o.model(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(o.out())) {
            RmData data = RmData.read(o.data(), vocab.vocab(), new LlamaChatRenderer(vocab), maxLen, vocabSize, o.onError(), rejects);
            if (data.size() == 0) {
                throw new Align4jException(o.data() + ": no usable preference pairs" + (data.skipped() > 0
                        ? " (" + data.skipped() + " skipped, see " + rejects.file() + ")" : ""));
            }
            return data;
        }
    }

    // The settings a resumed run must share with the run it continues.
    private Map<String, String> settings(int warmup, int maxLen, int total) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("lm_coef", Double.toString(o.lmCoef()));
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
            m.put(RmCheckpoint.LORA_RANK, Integer.toString(o.lora().rank()));
            m.put("lora_alpha", Float.toString(o.lora().alpha()));
            m.put("lora_targets", o.lora().targetNames());
            if (o.lora().dropout() > 0) { // absent at 0, as dpo's and sft's
                m.put("lora_dropout", Float.toString(o.lora().dropout()));
            }
            if (o.initialAdapter() != null) {
                m.put("lora_initial_adapter", o.initialAdapter().toString());
            }
        }
        return m;
    }

    // Loss, margin and accuracy against step, from the metrics file (so a resumed run's plot has every step).
    private Path plot() {
        List<RmStep> steps = MetricsFile.read(o.metrics()).stream().map(RmStep::fromJson).toList();
        if (steps.isEmpty()) {
            return null;
        }
        Path png = MetricsFile.plotFor(o.metrics());
        double[] x = steps.stream().mapToDouble(RmStep::step).toArray();
        new LinePlot("rm train on " + o.data().getFileName(), "step", "")
                .series("loss", x, steps.stream().mapToDouble(RmStep::loss).toArray())
                .series("margin", x, steps.stream().mapToDouble(RmStep::margin).toArray())
                .series("accuracy", x, steps.stream().mapToDouble(RmStep::accuracy).toArray())
                .writePng(png);
        return png;
    }

    private static String progressLine(RmStep s, int total) {
        return String.format(Locale.ROOT, "rm: step %d/%d (epoch %.2f), loss %.4f, accuracy %.3f, margin %.4f", s.step(), total, s.epoch(),
                s.loss(), s.accuracy(), s.margin());
    }

    // A LoRA checkpoint resumes only as a LoRA run and a full one only as a full run.
    private Trained open(RmCheckpoint.Loaded resumed) {
        if (resumed != null && (resumed.adapter() != null) != (o.lora() != null)) {
            throw new Align4jException(o.checkpoint() + (resumed.adapter() != null
                    ? " is of a LoRA run: resume it with the same --lora-rank, --lora-alpha and --lora-targets"
                    : " is of a full fine-tuning run: resume it without --lora-rank"));
        }
        if (o.lora() == null) {
            LlamaParams params = resumed != null ? resumed.params() : LlamaParams.load(o.model());
            return new FullModel(params, o.outType() != null ? o.outType() : LlamaExport.defaultType(o.model()));
        }
        GgufFile base = GgufFile.open(o.model());
        try {
            LoraConfig c = o.lora();
            LoraParams lora = LoraParams.create(LlamaWeights.frozen(base), c, o.seed());
            if (o.initialAdapter() != null) {
                AdapterFile.readInto(lora, o.initialAdapter());
            }
            return new Adapter(base, lora);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /** What a run trains besides the head: every parameter in f32, or a LoRA adapter over the frozen base. */
    private sealed interface Trained extends AutoCloseable permits FullModel, Adapter {
        LlamaShape shape();

        int vocabSize();

        LlamaTrainer trainer(int threads);

        /** Takes the trained tensors of a checkpoint whose settings were checked. */
        void restore(RmCheckpoint.Loaded resumed);

        void checkpoint(RmCheckpoint state, AdamW adam);

        /** Writes the RM file to --out. */
        void write(RewardHead head);

        /** For the first log line: "" or "; LoRA ...". */
        String describe();

        @Override
        void close();
    }

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
        @Override public void restore(RmCheckpoint.Loaded resumed) {} // loaded from it
        @Override public void checkpoint(RmCheckpoint state, AdamW adam) { state.write(o.checkpoint(), params, adam); }
        @Override public void write(RewardHead head) { LlamaExport.write(params, o.out(), outType, head.metadata()); }
        @Override public String describe() { return ""; }
        @Override public void close() {}
    }

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
        @Override public void checkpoint(RmCheckpoint state, AdamW adam) { state.write(o.checkpoint(), lora, adam); }

        // The adapter and the merge go through files beside --out, removed whatever happens.
        @Override
        public void write(RewardHead head) {
            Path adapter = o.out().resolveSibling(o.out().getFileName() + ".adapter.tmp");
            Path merged = o.out().resolveSibling(o.out().getFileName() + ".merged.tmp");
            try {
                LoraExport.write(lora, adapter);
                try (GgufFile a = GgufFile.open(adapter)) {
                    LoraMerge.write(base, a, 1f, merged, LoraMerge.Type.F16, o.threads());
                }
                try (GgufFile m = GgufFile.open(merged)) {
                    RewardModelFile.write(m, head, o.out());
                }
            } finally {
                delete(adapter);
                delete(merged);
            }
        }

        @Override
        public void restore(RmCheckpoint.Loaded resumed) {
            try {
                lora.set(resumed.adapter()::get);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(o.checkpoint() + ": not an adapter of these settings: " + e.getMessage(), e);
            }
        }

        @Override
        public String describe() {
            long trained = lora.tensors().stream().mapToLong(t -> t.data().length).sum();
            return String.format(Locale.ROOT, "; %s (%d trained parameters) over %s%s", o.lora(), trained, o.model(),
                    o.initialAdapter() != null ? ", continuing from " + o.initialAdapter() : "");
        }

        @Override
        public void close() {
            base.close();
        }
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new Align4jException(p + ": cannot remove: " + IoMessages.describe(e), e);
        }
    }
}
